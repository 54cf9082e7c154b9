"""LOCAL, the embedded default: Parquet staged in a folder, committed into Delta tables there by delta-rs.

Layout: tables at `<local_path>/<schema>/<table>`; staging at `<local_path>/.airbyte-staging/<sync id>/<schema>/
<table>/`, each batch one Parquet file named by the file-name pattern. The staging folder's name has a `.` and
a `-`, which no sanitized schema name has, so staging can never collide with a table. No staging Delta log is
written: the loader links exactly the sealed files into the table and commits them there (a staging log per
stream cost half the commit time of a sync with thousands of streams).
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from typing import Iterator

import pyarrow as pa

from ..config import LocalStorage
from ..errors import ConfigError
from ..loading.deltars import DeltaRsLoader
from ..naming import TableName
from ..staging.base import StagedFile, StagedTable, first_id
from ..staging.filename import DEFAULT_PATTERN, FileNamer, sync_namer
from ..staging.parquet import write_parquet
from . import DataSource, configured_schemas

logger = logging.getLogger("airbyte")
STAGING_FOLDER = ".airbyte-staging"


class LocalStager:
    def __init__(self, root: str, sync_id: str, namer: FileNamer):
        self.sync_root = os.path.join(root, STAGING_FOLDER, sync_id)
        self.namer = namer
        self._parts: dict[TableName, int] = {}

    def folder(self, table: TableName) -> str:
        return os.path.join(self.sync_root, table.schema, table.table)

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        folder = self.folder(table)
        os.makedirs(folder, exist_ok=True)
        name = self.namer.name(part)
        location = os.path.join(folder, name)
        write_parquet(location, batch, avro_schema_json)
        return StagedFile(table, name, location, os.path.getsize(location), batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        return StagedTable(table, self.folder(table), files, schema, format="parquet")

    def loaded(self, staged: StagedTable) -> None:
        """Loaded files stay until the purge: a local folder is removed in one call."""

    def purge(self) -> None:
        shutil.rmtree(self.sync_root, ignore_errors=True)


@contextlib.contextmanager
def staging_lock(root: str, sync_id: str) -> Iterator[None]:
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


class LocalSource(DataSource):
    storage: LocalStorage

    def loader(self, sync_id: str = "discover") -> DeltaRsLoader:
        return DeltaRsLoader(self.storage.path, sync_id, configured_schemas(self.config))

    @contextlib.contextmanager
    def connect(self, sync_id: str):
        try:
            os.makedirs(self.storage.path, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"Config field 'data_source.local_path': cannot create {self.storage.path!r}: "
                              f"{exc.strerror}.") from None
        with staging_lock(self.storage.path, sync_id):
            stager = LocalStager(self.storage.path, sync_id, sync_namer(DEFAULT_PATTERN, sync_id))
            try:
                yield stager, self.loader(sync_id)
            finally:
                if self.config.purge_staging_data:
                    stager.purge()

    def check(self) -> None:
        from deltalake import DeltaTable, QueryBuilder, write_deltalake

        path = self.storage.path
        check_id = uuid.uuid4().hex
        try:
            os.makedirs(path, exist_ok=True)
            location = os.path.join(path, STAGING_FOLDER, f"_airbyte_connection_test_{check_id}")
            write_deltalake(location, pa.table({"_airbyte_ab_id": [check_id]}))
            # QueryBuilder, not to_pyarrow_table(): the latter can abort the interpreter at exit (delta-rs #2184).
            read = QueryBuilder().register("t", DeltaTable(location)).execute("SELECT _airbyte_ab_id FROM t").read_all()
            if pa.table(read).column(0).to_pylist() != [check_id]:
                raise ConfigError(f"Config field 'data_source.local_path': a test table written to {path!r} did not read back.")
            shutil.rmtree(location)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(location))  # only when no sync is staging here
        except OSError as exc:
            raise ConfigError(f"Config field 'data_source.local_path': {path!r} is not writable: {exc.strerror}.") from None
