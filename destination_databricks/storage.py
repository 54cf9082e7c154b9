"""The config's data source → the stager and loader that serve it, for one sync; check; discover."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from typing import Iterator

import pyarrow as pa

from .config import Config, LocalStorage
from .errors import ConfigError
from .loading.base import Loader
from .loading.deltars import DeltaRsLoader
from .naming import sanitize
from .records.schema_json import json_schema_of
from .staging.base import Stager
from .staging.filename import DEFAULT_PATTERN, FileNamer
from .staging.local import STAGING_FOLDER, LocalStager

logger = logging.getLogger("airbyte")


def _unavailable(config: Config) -> ConfigError:
    kind = type(config.storage).__name__
    names = {"S3Storage": "S3_STORAGE", "AzureStorage": "AZURE_BLOB_STORAGE", "ManagedTablesStorage": "MANAGED_TABLES_STORAGE"}
    return ConfigError(
        f"Data source {names.get(kind, kind)} is not available in this version of the connector yet; "
        "use data_source_type LOCAL."
    )


@contextlib.contextmanager
def _staging_lock(root: str, sync_id: str) -> Iterator[None]:
    """Hold a lock on this sync's staging for its lifetime, and clear staging left by dead syncs.

    A killed process leaves its staging folder behind but its lock is released by the kernel, so the
    next sync can tell a dead sync's leftovers from a running one's.
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
def connect(config: Config, sync_id: str) -> Iterator[tuple[Stager, Loader]]:
    """The stager and loader of one sync; staging is purged on the way out if so configured."""
    storage = config.storage
    if not isinstance(storage, LocalStorage):
        raise _unavailable(config)
    try:
        os.makedirs(storage.path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Config field 'data_source.local_path': cannot create {storage.path!r}: {exc.strerror}.") from None
    with _staging_lock(storage.path, sync_id):
        stager = LocalStager(storage.path, sync_id, FileNamer(DEFAULT_PATTERN, sync_id))
        loader = DeltaRsLoader(storage.path, sync_id, {sanitize(config.schema, lowercase=True)})
        try:
            yield stager, loader
        finally:
            loader.close()
            if config.purge_staging_data:
                stager.purge()


def check_storage(config: Config) -> None:
    """Prove the destination is writable: stage, load, read back and drop a one-row test table."""
    storage = config.storage
    if not isinstance(storage, LocalStorage):
        raise _unavailable(config)
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


def discover_catalog(config: Config) -> dict:
    """One stream per table this destination has written in the configured schema."""
    if not isinstance(config.storage, LocalStorage):
        raise _unavailable(config)
    loader = DeltaRsLoader(config.storage.path, "discover", {sanitize(config.schema, lowercase=True)})
    streams = []
    for table, schema in loader.tables().items():
        streams.append({
            "name": table.table,
            "namespace": table.schema,
            "json_schema": json_schema_of(schema),
            "supported_sync_modes": ["full_refresh", "incremental"],
        })
    return {"streams": streams}
