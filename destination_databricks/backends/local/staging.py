"""LOCAL staging: each batch one Parquet file in `<local_path>/.airbyte-staging/<sync id>/<schema>/<table>/`.

The staging folder's name has a `.` and a `-`, which no sanitized schema name has, so staging can never collide
with a table. No staging Delta log is written: the loader links exactly the sealed files into the table and
commits them there (a staging log per stream cost half the commit time of a sync with thousands of streams).
A lock file per sync, held for its lifetime, tells a dead sync's leftovers from a running one's: the kernel
releases the lock of a killed process.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from typing import IO

import pyarrow as pa

from ...naming import TableName
from ...staging.base import StagedFile, StagedFormat, StagedTable, first_id
from ...staging.filename import FileNamer
from ...staging.parquet import write_parquet

logger = logging.getLogger("airbyte")
STAGING_FOLDER = ".airbyte-staging"
MARKS = "_marks"  # a sync's marks on the connector's tables (staging/base.py), one empty file each


def _held(lock: str, stager: LocalStager) -> bool:
    """Whether a running sync holds the lock file ``lock`` (of the staging folder)."""
    try:
        with open(os.path.join(stager.folder_root, lock)) as other:
            fcntl.flock(other, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released as the file closes
            return False
    except FileNotFoundError:  # it ended meanwhile
        return False
    except OSError:
        return True


class LocalStager:
    def __init__(self, root: str, sync_id: str, namer: FileNamer):
        self.folder_root = os.path.join(root, STAGING_FOLDER)
        self.sync_id = sync_id
        self.sync_root = os.path.join(self.folder_root, sync_id)
        self.namer = namer
        self._parts: dict[TableName, int] = {}
        self._lock: IO[str] | None = None

    def start(self) -> None:
        """Hold this sync's lock, and clear staging left by dead syncs (whose locks nobody holds)."""
        os.makedirs(self.folder_root, exist_ok=True)
        self._lock = open(os.path.join(self.folder_root, f"{self.sync_id}.lock"), "w")  # noqa: SIM115 (held until close)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for name in os.listdir(self.folder_root):
            if name.endswith(".lock") and name != f"{self.sync_id}.lock":
                self._sweep(os.path.join(self.folder_root, name))

    def ahead(self, tables, batch_schema) -> None:  # (files need no table ready before them)
        pass

    def _sweep(self, lock_path: str) -> None:
        with open(lock_path) as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # a live sync holds it
            shutil.rmtree(lock_path[: -len(".lock")], ignore_errors=True)
            os.unlink(lock_path)
            logger.info("Removed staging left by an earlier, interrupted sync: %s",
                        os.path.basename(lock_path)[: -len(".lock")])

    def mark(self, kind: str, names: list[str]) -> None:
        os.makedirs(os.path.join(self.sync_root, MARKS, kind), exist_ok=True)
        for name in names:
            with open(os.path.join(self.sync_root, MARKS, kind, name), "w"):
                pass

    def unmark(self, kind: str) -> None:
        shutil.rmtree(os.path.join(self.sync_root, MARKS, kind), ignore_errors=True)

    def marked_by_others(self, kind: str) -> set[str] | None:
        """Marks in the staging of syncs whose locks are held (they run)."""
        found: set[str] = set()
        for lock in os.listdir(self.folder_root):
            other = lock[: -len(".lock")]
            folder = os.path.join(self.folder_root, other, MARKS, kind)
            if lock.endswith(".lock") and other != self.sync_id and os.path.isdir(folder) and _held(lock, self):
                with contextlib.suppress(FileNotFoundError):  # it ended meanwhile
                    found.update(os.listdir(folder))
        return found

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
        return StagedFile(name, location, os.path.getsize(location), batch.num_rows, first_id(batch))

    def cut(self, table: TableName) -> None:
        """Nothing to close: a load is exactly its files (one folder per table holds them all)."""

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema, cut: None = None) -> StagedTable:
        return StagedTable(table, self.folder(table), files, schema, StagedFormat.PARQUET)

    def loaded(self, staged: StagedTable) -> None:
        """Loaded files stay until the purge: a local folder is removed in one call."""

    def purge(self) -> None:
        shutil.rmtree(self.sync_root, ignore_errors=True)
        self.close()

    def keep(self) -> None:
        """Kept staging has no lock file once the sync ends, so no later sync sweeps it."""

    def close(self) -> None:
        if self._lock is None:
            return
        os.unlink(self._lock.name)
        self._lock.close()
        self._lock = None
        with contextlib.suppress(OSError):
            os.rmdir(self.folder_root)  # only when no other sync is staging here
