"""Staging on an object store, written once: S3, Azure Blob Storage and Unity Catalog volumes differ only in
the small ObjectStore adapter each data source supplies (sources/).

Layout: `_airbyte_staging/<sync id>/<schema>/<table>/load_<n>/<file>` under the store's root (bucket path,
container, volume). Each seal closes a `load_<n>` folder, so a load reads exactly the files staged since the
previous one. The sync's heartbeat is its first object, so every folder of ours carries it; dead syncs' folders
are swept at start (liveness.py) and nothing without our heartbeat is ever deleted; staging kept on purpose is
marked. Uploads run on a pool with back-pressure (16 files, 64 MiB at most) while the next batch is encoded.
"""
from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future
from typing import Callable, Protocol, Union

import pyarrow as pa

from ..bounded import BoundedExecutor
from ..errors import ConfigError, SystemFailure
from ..naming import TableName
from .base import StagedFile, StagedTable, first_id
from .filename import FileNamer
from .liveness import HEARTBEAT, KEPT, STAGING_ROOT, Heartbeat, sweep

logger = logging.getLogger("airbyte")
Body = Union[bytes, pa.Buffer]


class ObjectStore(Protocol):
    """What staging needs of a store; paths are relative to its staging root and use `/`."""

    where: str  # the store in the user's words, for messages: "S3 bucket 'b'"

    def uri(self, path: str) -> str:
        """How the warehouse names ``path`` (s3://…, abfss://…, /Volumes/…)."""

    def put(self, path: str, body: Body) -> None:
        """Write one object, replacing any at ``path``."""

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders right under ``prefix/`` (none when it does not exist)."""

    def modified(self, path: str) -> dt.datetime | None:
        """When the object at ``path`` was last written; None when there is none."""

    def delete_prefix(self, folder: str) -> int:
        """Delete everything under ``folder/``; how many objects went."""


def _size(body: Body) -> int:
    return body.size if isinstance(body, pa.Buffer) else len(body)


class RemoteStager:
    def __init__(self, store: ObjectStore, sync_id: str, namer: FileNamer, encode: Callable[[pa.RecordBatch, str], Body],
                 format: str, seal: Callable[[str, list[StagedFile], pa.Schema], str] | None = None,
                 max_in_flight: int = 16, max_bytes_in_flight: int = 64 << 20):
        """``encode``: a batch and its Avro schema → the file's bytes; ``format``: how the warehouse reads a load
        folder ("parquet", "csv"); ``seal``: more to do once a folder's files are up (S3 commits a staging Delta
        log there), returning the format it leaves."""
        self.store = store
        self.sync_id = sync_id
        self.namer = namer
        self.encode = encode
        self.format = format
        self._seal = seal
        # Uploads wait on the network (a Files API call takes about a second), so many small files go at once;
        # the byte budget keeps big ones to a few (a file over the budget goes alone).
        self._uploads = BoundedExecutor(max_in_flight, max_in_flight, "upload", budget=max_bytes_in_flight)
        self._pending: dict[TableName, list[Future]] = {}
        self._parts: dict[TableName, int] = {}
        self._loads: dict[TableName, int] = {}
        self.base = f"{STAGING_ROOT}/{sync_id}"  # everything this sync stages
        self._heartbeat = Heartbeat(lambda: store.put(f"{self.base}/{HEARTBEAT}", b""))

    def start(self) -> None:
        """Mark this sync's staging alive, keep it so, and clear staging left by dead syncs."""
        self._heartbeat.start()
        sweep(self.store, self.sync_id)

    def keep(self) -> None:
        """purge_staging_data is off: mark this staging as kept, so no later sync sweeps it away."""
        self.store.put(f"{self.base}/{KEPT}", b"")

    def folder(self, table: TableName) -> str:
        return f"{self.base}/{table.schema}/{table.table}/load_{self._loads.get(table, 0)}"

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        name = self.namer.name(part)
        body = self.encode(batch, avro_schema_json)
        path = f"{self.folder(table)}/{name}"
        self._pending.setdefault(table, []).append(self._uploads.submit(self.store.put, path, body, weight=_size(body)))
        return StagedFile(table, name, self.store.uri(path), _size(body), batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        for upload in self._pending.pop(table, []):
            try:
                upload.result()
            except ConfigError:
                raise
            except Exception as exc:
                raise SystemFailure(f"Uploading a staged file of {table} to {self.store.where} failed: {exc}") from exc
        location = self.store.uri(self.folder(table))
        form = self._seal(location, files, schema) if self._seal else self.format
        self._loads[table] = self._loads.get(table, 0) + 1  # the next files go to a folder of their own
        return StagedTable(table, location, files, schema, format=form)

    def purge(self) -> None:
        self.close()
        deleted = self.store.delete_prefix(self.base)
        logger.info("Purged %d staged objects under %s/%s/", deleted, self.store.where, self.base)

    def close(self) -> None:
        self._heartbeat.stop()
        self._uploads.close()
