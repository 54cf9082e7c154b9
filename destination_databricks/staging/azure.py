"""Staging on Azure Blob Storage as CSV: `<container>/<sync id>/<schema>/<table>/<name>.csv`, uploaded with
the SAS token. CSV is RFC 4180 (header, `"` quoting, `""` escapes, line breaks kept inside quotes);
`_airbyte_emitted_at` and timestamps are ISO 8601 in UTC (`2024-01-01T10:00:00.123456Z`); integers of
any size stay digits in `_airbyte_data` (JSON text) and DECIMAL(38,0) columns.
"""
from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..config import AzureStorage
from ..naming import TableName
from ..retries import RetryBudget
from .base import StagedFile, StagedTable, first_id
from .filename import FileNamer
from .liveness import HEARTBEAT, KEPT, Heartbeat, sweep
from .uploads import Uploads

logger = logging.getLogger("airbyte")
CSV_OPTIONS = {"header": "true", "multiLine": "true", "escape": '"', "nanValue": "nan", "positiveInf": "inf",
               "negativeInf": "-inf"}  # what `csv_bytes` writes, for the reader on the warehouse


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


def csv_bytes(batch: pa.RecordBatch) -> bytes:
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=batch.schema.names)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=True, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def delete_prefix(client, prefix: str) -> int:
    names = [b.name for b in client.list_blobs(name_starts_with=prefix.rstrip("/") + "/")]
    for start in range(0, len(names), 256):  # the batch API takes 256 blobs a request
        client.delete_blobs(*names[start:start + 256])
    return len(names)


class AzureStager:
    def __init__(self, storage: AzureStorage, sync_id: str, namer: FileNamer, max_in_flight: int = 4):
        self.storage = storage
        self.sync_id = sync_id
        self.namer = namer
        self.client = container_client(storage)
        self._uploads = Uploads(max_in_flight)
        self._loads: dict[TableName, int] = {}  # files between two seals share a folder of their own
        self._heartbeat = Heartbeat(lambda: self.client.upload_blob(f"{sync_id}/{HEARTBEAT}", b"", overwrite=True))

    def start(self) -> None:
        """Mark this sync's staging alive, keep it so, and clear staging left by dead syncs (liveness.py)."""
        self._heartbeat.start()
        folders = [p.name.rstrip("/") for p in self.client.walk_blobs(delimiter="/") if p.name.endswith("/")]

        def last_seen(folder: str):
            try:
                return self.client.get_blob_client(f"{folder}/{HEARTBEAT}").get_blob_properties().last_modified
            except Exception:
                return max((b.last_modified for b in self.client.list_blobs(name_starts_with=folder + "/")), default=None)

        def kept(folder: str) -> bool:
            try:
                self.client.get_blob_client(f"{folder}/{KEPT}").get_blob_properties()
                return True
            except Exception:
                return False

        sweep(folders, self.sync_id, last_seen, kept, lambda folder: delete_prefix(self.client, folder),
              self.storage.container)

    def keep(self) -> None:
        """purge_staging_data is off: mark this staging as kept, so no later sync sweeps it away."""
        self.client.upload_blob(f"{self.sync_id}/{KEPT}", b"", overwrite=True)

    def folder(self, table: TableName) -> str:
        return f"{self.sync_id}/{table.schema}/{table.table}/load_{self._loads.get(table, 0)}"

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        name = self.namer.name(self._uploads.next_part(table))
        body = csv_bytes(batch)
        blob = f"{self.folder(table)}/{name}"
        self._uploads.submit(table, self.client.upload_blob, blob, body, overwrite=True, max_concurrency=4)
        return StagedFile(table, name, abfss(self.storage, blob), len(body), batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        self._uploads.wait(table, f"Azure container {self.storage.container!r}")
        # Each load reads exactly these files: the folder of this seal, and the next files go to a new one.
        staged = StagedTable(table, abfss(self.storage, self.folder(table)), files, schema, format="csv")
        self._loads[table] = self._loads.get(table, 0) + 1
        return staged

    def purge(self) -> None:
        self.close()
        deleted = delete_prefix(self.client, self.sync_id)
        logger.info("Purged %d staged blobs under %s/%s/", deleted, self.storage.container, self.sync_id)

    def close(self) -> None:
        self._heartbeat.stop()
        self._uploads.close()
