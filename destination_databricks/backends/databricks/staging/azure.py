"""Azure staging: the ObjectStore of remote.py on a blob container, from its root, with the SAS token.

Loads are `_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/part_<n>.csv` (csv.py), read by the load's
statement (read_files) through the container's `abfss://` name.
"""
from __future__ import annotations

import datetime as dt

from ....config import AzureStorage
from ....errors import ConfigError
from ....retries import RetryBudget
from .remote import Body


def account_url(storage: AzureStorage) -> str:
    """https://<account>.<domain>; an endpoint given as a URL (an emulator) is used path-style."""
    domain = storage.endpoint_domain
    if domain.startswith(("http://", "https://")):
        return f"{domain.rstrip('/')}/{storage.account}"
    return f"https://{storage.account}.{domain}"


def abfss(storage: AzureStorage, path: str) -> str:
    """The ADLS URI Databricks reads: the blob endpoint domain mapped to its dfs twin."""
    domain = storage.endpoint_domain
    if domain.startswith(("http://", "https://")):
        domain = "blob.core.windows.net"
    dfs = domain.replace("blob.", "dfs.", 1) if domain.startswith("blob.") else domain
    return f"abfss://{storage.container}@{storage.account}.{dfs}/{path}"


def container_client(storage: AzureStorage, *, patient: bool = True):
    """``patient`` for syncs (the SDK's retries); a check answers within seconds."""
    from azure.storage.blob import ContainerClient

    retry = RetryBudget.sync().azure() if patient else {"retry_total": 1, "connection_timeout": 10, "read_timeout": 30}
    return ContainerClient(account_url(storage), storage.container, credential=storage.sas_token.lstrip("?"), **retry)


class AzureStore:
    """The ObjectStore of staging/remote.py on a blob container, from its root."""

    def __init__(self, storage: AzureStorage, *, patient: bool = True):
        self.storage = storage
        self.client = container_client(storage, patient=patient)
        self.where = f"Azure container {storage.container!r}"

    def uri(self, path: str) -> str:
        return abfss(self.storage, path)

    def put(self, path: str, body: Body) -> None:
        self.client.upload_blob(path, bytes(body) if not isinstance(body, bytes) else body, overwrite=True,
                                max_concurrency=4)

    def folders(self, prefix: str) -> list[str]:
        parent = prefix.rstrip("/") + "/"
        return [p.name[len(parent):].rstrip("/") for p in self.client.walk_blobs(name_starts_with=parent, delimiter="/")
                if p.name.endswith("/")]

    def modified(self, path: str) -> dt.datetime | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.client.get_blob_client(path).get_blob_properties().last_modified
        except ResourceNotFoundError:
            return None

    def delete_prefix(self, folder: str) -> int:
        names = [b.name for b in self.client.list_blobs(name_starts_with=folder.rstrip("/") + "/")]
        for start in range(0, len(names), 256):  # the batch API takes 256 blobs a request
            self.client.delete_blobs(*names[start:start + 256])
        return len(names)


def azure_error(exc: Exception, storage: AzureStorage, action: str) -> ConfigError:
    """A failed request at check time → what the user should fix, naming the field."""
    code = getattr(exc, "error_code", None) or ""
    where = f"container {storage.container!r} of account {storage.account!r}"
    if code == "ContainerNotFound":
        return ConfigError(f"Azure has no {where} (azure_blob_storage_container_name).")
    if code == "AuthorizationPermissionMismatch":
        return ConfigError(f"The SAS token lacks the permission to {action} in {where} (azure_blob_storage_sas_token): "
                           "it needs read, write, delete and list.")
    if code in ("AuthenticationFailed", "AuthorizationFailure", "InvalidQueryParameterValue"):
        return ConfigError(f"Azure rejected the SAS token for {where} (azure_blob_storage_sas_token).")
    return ConfigError(f"Could not {action} in {where} ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); "
                       "check azure_blob_storage_account_name and azure_blob_storage_endpoint_domain_name.")


