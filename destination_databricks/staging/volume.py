"""Staging in a Unity Catalog volume, for managed tables: Parquet files at
`/Volumes/<catalog>/<schema>/<volume>/<sync id>/<schema>/<table>/load_<n>/<name>.parquet`.

Files go up from memory through the Files API of databricks-sdk (no local temporary files), on a small
thread pool with back-pressure. Each seal closes a `load_<n>` folder, so a load reads exactly the files
staged since the previous one; the warehouse reads the folder as ``parquet.`/Volumes/…` ``.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from ..loading.signin import api_error
from ..naming import TableName
from .base import StagedFile, StagedTable, first_id
from .filename import FileNamer
from .liveness import HEARTBEAT, KEPT, Heartbeat, sweep
from .parquet import write_parquet
from .uploads import Uploads

logger = logging.getLogger("airbyte")


def volume_root(catalog: str, schema: str, volume: str) -> str:
    return f"/Volumes/{catalog}/{schema}/{volume}"


def _is_missing(exc: BaseException) -> bool:
    from databricks.sdk import errors

    return isinstance(exc, errors.NotFound)


def delete_tree(files, path: str) -> int:
    """Delete the folder ``path`` and everything in it (the Files API removes only empty folders)."""
    try:
        entries = list(files.list_directory_contents(path))
    except Exception as exc:
        if _is_missing(exc):
            return 0
        raise
    deleted = 0
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="purge") as pool:
        for result in pool.map(lambda e: delete_tree(files, e.path) if e.is_directory else _delete_file(files, e.path),
                               entries):
            deleted += result
    try:
        files.delete_directory(path)
    except Exception as exc:
        if not _is_missing(exc):
            raise
    return deleted


def _delete_file(files, path: str) -> int:
    try:
        files.delete(path)
        return 1
    except Exception as exc:
        if _is_missing(exc):
            return 0
        raise


class VolumeStager:
    def __init__(self, workspace, root: str, sync_id: str, namer: FileNamer, max_in_flight: int = 4):
        """``workspace``: a databricks-sdk WorkspaceClient; ``root``: the volume's path, /Volumes/c/s/v."""
        self.files = workspace.files
        self.root = root
        self.sync_id = sync_id
        self.sync_path = f"{root}/{sync_id}"
        self.namer = namer
        self._uploads = Uploads(max_in_flight)
        self._loads: dict[TableName, int] = {}
        self._heartbeat = Heartbeat(lambda: self._put(f"{self.sync_path}/{HEARTBEAT}", b""))

    def _put(self, path: str, body: bytes) -> None:
        self.files.upload(path, io.BytesIO(body), overwrite=True)

    # --- liveness (see liveness.py) ------------------------------------------------------------------
    def start(self) -> None:
        """Mark this sync's staging alive, keep it so, and clear staging left by dead syncs."""
        try:
            self._heartbeat.start()
            folders = [e.name or e.path.rsplit("/", 1)[-1] for e in self.files.list_directory_contents(self.root)
                       if e.is_directory]
        except Exception as exc:
            raise api_error(exc, f"write to the staging volume {self.root}") from None

        def last_seen(folder: str):
            try:
                modified = self.files.get_metadata(f"{self.root}/{folder}/{HEARTBEAT}").last_modified
                return dt.datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=dt.timezone.utc)
            except Exception:
                return None  # no heartbeat: a sync from before heartbeats, or one killed at its very start

        def kept(folder: str) -> bool:
            try:
                self.files.get_metadata(f"{self.root}/{folder}/{KEPT}")
                return True
            except Exception:
                return False

        sweep(folders, self.sync_id, last_seen, kept, lambda folder: delete_tree(self.files, f"{self.root}/{folder}"),
              self.root)

    def keep(self) -> None:
        """purge_staging_data is off: mark this staging as kept, so no later sync sweeps it away."""
        self._put(f"{self.sync_path}/{KEPT}", b"")

    def folder(self, table: TableName) -> str:
        return f"{self.sync_path}/{table.schema}/{table.table}/load_{self._loads.get(table, 0)}"

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        name = self.namer.name(self._uploads.next_part(table))
        sink = pa.BufferOutputStream()
        write_parquet(sink, batch, avro_schema_json)
        body = sink.getvalue().to_pybytes()
        path = f"{self.folder(table)}/{name}"
        self._uploads.submit(table, self._put, path, body)
        return StagedFile(table, name, path, len(body), batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        self._uploads.wait(table, f"the Databricks volume {self.root}")
        # Each load reads exactly these files: the folder of this seal; the next files go to a new one.
        staged = StagedTable(table, self.folder(table), files, schema, format="parquet")
        self._loads[table] = self._loads.get(table, 0) + 1
        return staged

    def purge(self) -> None:
        self.close()
        deleted = delete_tree(self.files, self.sync_path)
        logger.info("Purged %d staged files under %s/", deleted, self.sync_path)

    def close(self) -> None:
        self._heartbeat.stop()
        self._uploads.close()
