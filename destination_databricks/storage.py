"""The config's data source → the stager and loader that serve it for one sync; check; discover."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from typing import Iterator

import pyarrow as pa

from .config import AzureStorage, Config, LocalStorage, ManagedTablesStorage, S3Storage
from .errors import ConfigError
from .naming import TableName, sanitize
from .records.schema_json import json_schema_of
from .staging.filename import DEFAULT_PATTERN, FileNamer
from .staging.local import STAGING_FOLDER

logger = logging.getLogger("airbyte")


def _schemas(config: Config) -> set[str]:
    return {sanitize(config.schema, lowercase=True)}


def platform_sync_id(sync_id: str) -> str:
    """{sync_id} in file names: the platform's job id when it runs us, else this sync's own id."""
    return os.environ.get("WORKER_JOB_ID") or sync_id


# --- LOCAL -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _staging_lock(root: str, sync_id: str) -> Iterator[None]:
    """Hold a lock on this sync's staging for its lifetime, and clear staging left by dead syncs.

    A killed process leaves its staging folder behind but the kernel releases its lock, so the next
    sync can tell a dead sync's leftovers from a running one's.
    """
    folder = os.path.join(root, STAGING_FOLDER)
    os.makedirs(folder, exist_ok=True)
    lock = open(os.path.join(folder, f"{sync_id}.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    for name in os.listdir(folder):
        if name.endswith(".lock") and name != f"{sync_id}.lock":
            path = os.path.join(folder, name)
            with open(path) as other:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live sync holds it
                shutil.rmtree(path[: -len(".lock")], ignore_errors=True)
                os.unlink(path)
                logger.info("Removed staging left by an earlier, interrupted sync: %s", name[: -len(".lock")])
    try:
        yield
    finally:
        os.unlink(lock.name)
        lock.close()
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only when no other sync is staging here


@contextlib.contextmanager
def _local(config: Config, storage: LocalStorage, sync_id: str):
    from .loading.deltars import DeltaRsLoader
    from .staging.local import LocalStager

    try:
        os.makedirs(storage.path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Config field 'data_source.local_path': cannot create {storage.path!r}: {exc.strerror}.") from None
    with _staging_lock(storage.path, sync_id):
        stager = LocalStager(storage.path, sync_id, FileNamer(DEFAULT_PATTERN, platform_sync_id(sync_id)))
        loader = DeltaRsLoader(storage.path, sync_id, _schemas(config))
        try:
            yield stager, loader
        finally:
            if config.purge_staging_data:
                stager.purge()


# --- S3 + Databricks ---------------------------------------------------------------------------------
def _sql_client(config: Config, patient: bool, signin=None):
    """``patient`` for syncs (retry a flaky network for minutes); a check answers within seconds."""
    from .loading.signin import SignIn
    from .loading.sql_client import RetryPolicy, SqlClient

    from .retries import RetryBudget

    retry = RetryPolicy.of(RetryBudget.sync()) if patient else RetryPolicy(attempts=1, driver_attempts=2, driver_seconds=15)
    return SqlClient(signin or SignIn(config.databricks, patient=patient), retry)


def _databricks_loader(config: Config, storage: S3Storage, *, patient: bool = True):
    from . import delta_files
    from .loading.databricks import DatabricksLoader
    from .staging import s3

    options = s3.storage_options(storage)

    def location(table: TableName) -> str:
        return s3.uri(storage, s3.key_prefix(storage, table.schema, table.table))

    def schema_at(where: str) -> pa.Schema | None:
        return delta_files.read_schema(where, options)

    return DatabricksLoader(_sql_client(config, patient), config.catalog, location, schema_at, _schemas(config))


@contextlib.contextmanager
def _remote(config: Config, stager, loader):
    """An object-store stager and the Databricks loader for one sync, cleaned up whatever happens."""
    try:
        stager.start()
        yield stager, loader
    finally:
        try:
            loader.close()
        finally:
            if config.purge_staging_data:
                stager.purge()
            else:
                try:
                    stager.keep()
                finally:
                    stager.close()


def _s3(config: Config, storage: S3Storage, sync_id: str):
    from .staging.s3 import S3Stager

    namer = FileNamer(storage.file_name_pattern, platform_sync_id(sync_id))
    namer.validate()
    return _remote(config, S3Stager(storage, sync_id, namer), _databricks_loader(config, storage))


# --- Azure Blob Storage + Databricks ----------------------------------------------------------------
def _azure_loader(config: Config, storage: AzureStorage, sync_id: str = "", *, patient: bool = True):
    from .loading.databricks import DatabricksLoader
    from .staging import azure

    def location(table: TableName) -> str:
        return azure.abfss(storage, f"{table.schema}/{table.table}")

    # A table whose name is gone is created anew; Delta data left at its location is not read from here.
    return DatabricksLoader(_sql_client(config, patient), config.catalog, location, lambda _: None,
                            _schemas(config), csv_options=azure.CSV_OPTIONS, sync_id=sync_id)


def _azure(config: Config, storage: AzureStorage, sync_id: str):
    from .staging.azure import AzureStager

    namer = FileNamer(DEFAULT_PATTERN, platform_sync_id(sync_id), extension="csv")
    return _remote(config, AzureStager(storage, sync_id, namer), _azure_loader(config, storage, sync_id))


def _azure_error(exc: Exception, storage: AzureStorage, action: str) -> ConfigError:
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


def _check_azure(config: Config, storage: AzureStorage) -> None:
    from .staging import azure

    check_id = uuid.uuid4().hex
    client = azure.container_client(storage, patient=False)
    name = f"_airbyte_check_{check_id}"
    for action, call in (("write a test blob", lambda: client.upload_blob(name, b"airbyte check")),
                         ("list blobs", lambda: list(client.list_blobs(name_starts_with=name))),
                         ("delete a test blob", lambda: client.delete_blob(name))):
        try:
            call()
        except Exception as exc:
            raise _azure_error(exc, storage, action) from None
    loader = _azure_loader(config, storage, patient=False)
    try:
        _check_sql(config, loader, azure.abfss(storage, f"_airbyte_check_{check_id}/table"), check_id)
    finally:
        with contextlib.suppress(Exception):
            azure.delete_prefix(client, f"_airbyte_check_{check_id}")


# --- Managed tables, staged in a Unity Catalog volume -----------------------------------------------
def _managed_loader(config: Config, *, patient: bool = True, signin=None):
    from .loading.databricks import DatabricksLoader

    # Managed tables: no location of ours; the metastore keeps their data.
    return DatabricksLoader(_sql_client(config, patient, signin), config.catalog, lambda _: None, lambda _: None,
                            _schemas(config))


def _volume(config: Config, storage: ManagedTablesStorage, loader) -> str:
    """Create the staging volume (and its schema) if missing; its path, /Volumes/<catalog>/<schema>/<volume>."""
    from .loading import sql
    from .staging.volume import volume_root

    schema = sanitize(config.schema, lowercase=True)
    loader.ensure_schema(schema)
    loader.client.execute(sql.create_volume(config.catalog, schema, storage.volume, "Airbyte staging files"),
                          f"create the staging volume {config.catalog}.{schema}.{storage.volume} (data_source.volume_name)")
    return volume_root(config.catalog, schema, storage.volume)


def _managed(config: Config, storage: ManagedTablesStorage, sync_id: str):
    from .loading.signin import SignIn
    from .staging.volume import VolumeStager

    signin = SignIn(config.databricks)
    loader = _managed_loader(config, signin=signin)
    try:
        root = _volume(config, storage, loader)
        stager = VolumeStager(signin.workspace(), root, sync_id, FileNamer(DEFAULT_PATTERN, platform_sync_id(sync_id)))
    except BaseException:
        loader.close()
        raise
    return _remote(config, stager, loader)


def _check_managed(config: Config, storage: ManagedTablesStorage) -> None:
    import io

    from .loading.signin import SignIn, api_error

    check_id = uuid.uuid4().hex
    signin = SignIn(config.databricks, patient=False)
    loader = _managed_loader(config, patient=False, signin=signin)
    try:
        root = _volume(config, storage, loader)
        files = signin.workspace().files
        path = f"{root}/_airbyte_check_{check_id}"
        for action, call in (("write a test file to", lambda: files.upload(path, io.BytesIO(b"airbyte check"), overwrite=True)),
                             ("delete a test file from", lambda: files.delete(path))):
            try:
                call()
            except Exception as exc:
                raise api_error(exc, f"{action} the staging volume {root} (data_source.volume_name)") from None
    except BaseException:
        loader.close()
        raise
    _check_sql(config, loader, None, check_id)


@contextlib.contextmanager
def connect(config: Config, sync_id: str):
    """The stager and loader of one sync; staging is purged on the way out if so configured."""
    storage = config.storage
    if isinstance(storage, LocalStorage):
        with _local(config, storage, sync_id) as pair:
            yield pair
    elif isinstance(storage, S3Storage):
        with _s3(config, storage, sync_id) as pair:
            yield pair
    elif isinstance(storage, AzureStorage):
        with _azure(config, storage, sync_id) as pair:
            yield pair
    else:
        with _managed(config, storage, sync_id) as pair:
            yield pair


# --- check ---------------------------------------------------------------------------------------
def _check_local(storage: LocalStorage) -> None:
    from deltalake import DeltaTable, QueryBuilder, write_deltalake

    check_id = uuid.uuid4().hex
    try:
        os.makedirs(storage.path, exist_ok=True)
        location = os.path.join(storage.path, STAGING_FOLDER, f"_airbyte_connection_test_{check_id}")
        write_deltalake(location, pa.table({"_airbyte_ab_id": [check_id]}))
        # QueryBuilder, not to_pyarrow_table(): the latter can abort the interpreter at exit (delta-rs #2184).
        read = QueryBuilder().register("t", DeltaTable(location)).execute("SELECT _airbyte_ab_id FROM t").read_all()
        if pa.table(read).column(0).to_pylist() != [check_id]:
            raise ConfigError(f"Config field 'data_source.local_path': a test table written to {storage.path!r} did not read back.")
        shutil.rmtree(location)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(location))  # only when no sync is staging here
    except OSError as exc:
        raise ConfigError(f"Config field 'data_source.local_path': {storage.path!r} is not writable: {exc.strerror}.") from None


def _s3_error(exc: Exception, storage: S3Storage, action: str) -> ConfigError:
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code", "")
    where = f"s3://{storage.bucket}/{storage.path}"
    if code in ("NoSuchBucket",):
        return ConfigError(f"S3 bucket {storage.bucket!r} does not exist (s3_bucket_name).")
    if code in ("InvalidAccessKeyId",):
        return ConfigError("S3 does not know this access key (s3_access_key_id).")
    if code in ("SignatureDoesNotMatch",):
        return ConfigError("S3 rejected the secret key for this access key (s3_secret_access_key).")
    if code in ("AccessDenied", "AllAccessDisabled", "403"):
        return ConfigError(f"S3 denied permission to {action} under {where}: check the key's policy (s3_access_key_id).")
    if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "301"):
        return ConfigError(f"S3 bucket {storage.bucket!r} is in another region than {storage.region!r} (s3_bucket_region).")
    return ConfigError(f"Could not {action} under {where} ({type(exc).__name__}: {str(exc)[:300]}); "
                       "check s3_endpoint, s3_bucket_region and the credentials.")


def _check_s3(config: Config, storage: S3Storage) -> None:
    from .staging import s3

    FileNamer(storage.file_name_pattern, "check").validate()
    check_id = uuid.uuid4().hex
    client = s3.s3_client(storage)
    key = s3.key_prefix(storage, f"_airbyte_check_{check_id}")
    try:
        client.put_object(Bucket=storage.bucket, Key=key, Body=b"airbyte check")
    except Exception as exc:
        raise _s3_error(exc, storage, "write a test object") from None
    try:
        client.delete_object(Bucket=storage.bucket, Key=key)
    except Exception as exc:
        raise _s3_error(exc, storage, "delete a test object") from None
    loader = _databricks_loader(config, storage, patient=False)
    try:
        _check_sql(config, loader, s3.uri(storage, s3.key_prefix(storage, f"_airbyte_check_{check_id}", "table")), check_id)
    finally:
        with contextlib.suppress(Exception):
            s3.delete_prefix(client, storage.bucket, s3.key_prefix(storage, f"_airbyte_check_{check_id}"))


def _check_sql(config: Config, loader, location: str | None, check_id: str) -> None:
    """Create and drop a uniquely named table at ``location`` (None: managed), so concurrent checks cannot collide."""
    from .loading import sql

    table = TableName(sanitize(config.schema, lowercase=True), f"_airbyte_connection_test_{check_id}")
    schema = pa.schema([("_airbyte_ab_id", pa.string()), ("_airbyte_emitted_at", pa.timestamp("us", "UTC")),
                        ("_airbyte_data", pa.string())])
    client = loader.client
    try:
        client.execute(sql.create_schema(config.catalog, table.schema), f"create schema {table.schema}")
        client.execute(sql.create_table(config.catalog, table, schema, location, "Airbyte connection check"),
                       "create a test table")
        client.execute(sql.drop_table(config.catalog, table), "drop the test table")
    finally:
        client.close()


def check_storage(config: Config) -> None:
    """Prove the destination is writable end to end; raise ConfigError naming what failed."""
    storage = config.storage
    if isinstance(storage, LocalStorage):
        _check_local(storage)
    elif isinstance(storage, S3Storage):
        _check_s3(config, storage)
    elif isinstance(storage, AzureStorage):
        _check_azure(config, storage)
    else:
        _check_managed(config, storage)


# --- discover ------------------------------------------------------------------------------------
def discover_catalog(config: Config) -> dict:
    """One stream per table this destination has written in the configured schema."""
    storage = config.storage
    if isinstance(storage, LocalStorage):
        from .loading.deltars import DeltaRsLoader

        loader = DeltaRsLoader(storage.path, "discover", _schemas(config))
    elif isinstance(storage, S3Storage):
        loader = _databricks_loader(config, storage)
    elif isinstance(storage, AzureStorage):
        loader = _azure_loader(config, storage)
    else:
        loader = _managed_loader(config)
    try:
        tables = loader.tables()
    finally:
        loader.close()
    return {"streams": [{"name": t.table, "namespace": t.schema, "json_schema": json_schema_of(s),
                         "supported_sync_modes": ["full_refresh", "incremental"]} for t, s in tables.items()]}
