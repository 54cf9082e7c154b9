"""Staging on an object store, written once: S3, Azure Blob Storage and Unity Catalog volumes differ only in
the small ObjectStore adapter each supplies (s3.py, azure.py, volume.py beside this file).

Layout: `_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/<file>` under the store's root (bucket path,
container, volume): one folder per load, no deeper (names are safe identifiers, so the dots cannot collide).
Each seal closes a load's folder, so a load reads exactly the files staged since the previous one. On a store
whose purge costs calls per folder (a volume), a load's files and folder are deleted as soon as it commits,
beside the next loads, so the purge at the end finds little. The sync's heartbeat is its first object, so every
folder of ours carries it; dead syncs' folders are swept as the sync starts (liveness.py) and nothing without
our heartbeat is ever deleted; staging kept on purpose is marked. Uploads run on a pool with back-pressure
(16 files, 64 MiB at most) while the next batch is encoded.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeAlias

import pyarrow as pa

from ....bounded import BoundedExecutor
from ....errors import ConfigError, ConnectorError, first_line, service_failure
from ....naming import TableName
from ....records.types import stored
from ....staging.base import StagedFile, StagedFormat, StagedTable, first_id
from ....staging.filename import FileNamer
from .liveness import HEARTBEAT, KEPT, MARK, MARKS, STAGING_ROOT, Heartbeat, marked, sweep

logger = logging.getLogger("airbyte")
Body: TypeAlias = bytes | pa.Buffer


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


class FreeingStore(ObjectStore, Protocol):
    """A store that deletes loads' files one by one as they commit (its end-of-sync purge would pay for each
    folder with calls of its own)."""

    def delete_file(self, path: str) -> None:
        """Delete the object at ``path`` (none there: nothing to do)."""

    def delete_empty_folder(self, path: str) -> None:
        """Delete the folder ``path``, which holds nothing any more."""


def _size(body: Body) -> int:
    return body.size if isinstance(body, pa.Buffer) else len(body)


class RemoteStager:
    def __init__(self, store: ObjectStore, sync_id: str, namer: FileNamer, encode: Callable[[pa.RecordBatch, str], Body],
                 format: StagedFormat, seal: Callable[[str, list[StagedFile], pa.Schema], StagedFormat] | None = None,
                 max_in_flight: int = 16, max_bytes_in_flight: int = 64 << 20, free_loaded: bool = False):
        """``encode``: a batch and its Avro schema → the file's bytes; ``format``: how the warehouse reads a load
        folder; ``seal``: more to do once a folder's files are up (S3 commits a staging Delta
        log there), returning the format it leaves; ``free_loaded``: delete a load's files once it committed
        (``store`` is then a FreeingStore)."""
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
        self._sealed: dict[str, str] = {}  # a sealed load's location → its folder, until the load commits
        self._freeing = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="free") if free_loaded else None
        self._heartbeat = Heartbeat(lambda: store.put(f"{self.base}/{HEARTBEAT}", b""))
        self._alive: Future | None = None  # the first heartbeat, which every other object of ours waits for
        self._swept: Future | None = None
        self._freed = 0
        self._left_behind = False  # a loaded file or folder that could not be deleted (the purge lists then)
        self._count = threading.Lock()

    def start(self) -> None:
        """Mark this sync's staging alive and keep it so, and clear staging left by dead syncs: on a thread, beside
        the sync's first statements (each of these takes a round trip); the first object staged waits for the mark,
        so every folder of ours carries it."""
        starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging-start")
        self._alive = starter.submit(self._heartbeat.start)
        self._swept = starter.submit(self._sweep)
        starter.shutdown(wait=False)

    def ahead(self, tables, batch_schema) -> None:  # (files need no table ready before them)
        pass

    def _sweep(self) -> None:
        if self._alive is not None and self._alive.exception() is None:
            try:
                sweep(self.store, self.sync_id)
            except Exception as exc:  # others' leftovers; the next sync tries again
                logger.warning("Could not clear staging left by interrupted syncs in %s: %s", self.store.where,
                               first_line(exc))

    def _wait_alive(self) -> None:
        if self._alive is None:
            return
        try:
            self._alive.result()
        except ConnectorError:
            raise
        except Exception as exc:
            raise service_failure(f"Writing this sync's staging heartbeat to {self.store.where} failed: "
                                  f"{first_line(exc, 300)}", exc) from exc

    def keep(self) -> None:
        """purge_staging_data is off: mark this staging as kept, so no later sync sweeps it away."""
        self._wait_alive()
        self.store.put(f"{self.base}/{KEPT}", b"")

    def mark(self, kind: str, names: list[str]) -> None:
        self._wait_alive()
        puts = [self._uploads.submit(self.store.put, f"{self.base}/{MARKS}/{kind}/{name}/{MARK}", b"", weight=0)
                for name in names]
        for put in puts:
            put.result()

    def unmark(self, kind: str) -> None:
        self.store.delete_prefix(f"{self.base}/{MARKS}/{kind}")

    def marked_by_others(self, kind: str) -> set[str] | None:
        return marked(self.store, self.sync_id, f"{MARKS}/{kind}")

    def folder(self, table: TableName) -> str:
        return f"{self.base}/{table.schema}.{table.table}.load_{self._loads.get(table, 0)}"

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        name = self.namer.name(part)
        body = self.encode(batch, avro_schema_json)
        self._wait_alive()
        path = f"{self.folder(table)}/{name}"
        self._pending.setdefault(table, []).append(self._uploads.submit(self.store.put, path, body, weight=_size(body)))
        return StagedFile(name, self.store.uri(path), _size(body), batch.num_rows, first_id(batch))

    def cut(self, table: TableName) -> tuple[str, list[Future]]:
        """The table's current load folder and its uploads; the next files go to a folder of their own."""
        cut = self.folder(table), self._pending.pop(table, [])
        self._loads[table] = self._loads.get(table, 0) + 1
        return cut

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema,
             cut: tuple[str, list[Future]] | None = None) -> StagedTable:
        self._wait_alive()
        folder, uploads = cut if cut is not None else self.cut(table)
        for upload in uploads:
            try:
                upload.result()
            except ConfigError:
                raise
            except Exception as exc:
                raise service_failure(f"Uploading a staged file of {table} to {self.store.where} failed: {exc}",
                                      exc) from exc
        location = self.store.uri(folder)
        form = self._seal(location, files, stored(schema)) if self._seal else self.format
        if self._freeing is not None and files:
            self._sealed[location] = folder
        return StagedTable(table, location, files, schema, form)

    def loaded(self, staged: StagedTable) -> None:
        """``staged`` is committed to its table: with ``free_loaded``, its files and folder are deleted now, on
        threads of their own (a file a time; the last one done removes the folder). A deletion that fails is
        left to the purge at the end of the sync, which lists what is left."""
        folder = self._sealed.pop(staged.location, None)
        if folder is None or self._freeing is None:
            return
        store: FreeingStore = self.store  # type: ignore[assignment]
        left = [len(staged.files)]
        lock = threading.Lock()

        def free(name: str) -> None:
            if self._delete(store.delete_file, f"{folder}/{name}"):
                with self._count:
                    self._freed += 1
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            self._delete(store.delete_empty_folder, folder)

        for file in staged.files:
            self._freeing.submit(free, file.name)

    def _delete(self, delete: Callable[[str], None], path: str) -> bool:
        try:
            delete(path)
            return True
        except Exception as exc:
            self._left_behind = True
            logger.info("Could not delete the staged %s yet, so the purge lists what is left: %s", path, first_line(exc))
            return False

    def purge(self) -> None:
        """Delete everything this sync staged. Where loads' files were deleted as they committed, only the
        heartbeat and the sync's folder are left (two calls, the first beside the last loads' deletions); the
        folder is listed only when something could not be deleted."""
        self._stop_starting()
        self._uploads.close()
        if self._freeing is not None:
            store: FreeingStore = self.store  # type: ignore[assignment]
            heartbeat_gone = self._freeing.submit(self._delete, store.delete_file, f"{self.base}/{HEARTBEAT}")
            self._freeing.shutdown(wait=True)
            if heartbeat_gone.result() and not self._left_behind and self._delete(store.delete_empty_folder, self.base):
                logger.info("Purged %d staged objects under %s/%s/", self._freed + 1, self.store.where, self.base)
                return
        deleted = self.store.delete_prefix(self.base)
        logger.info("Purged %d staged objects under %s/%s/", self._freed + deleted, self.store.where, self.base)

    def _stop_starting(self) -> None:
        """No heartbeat after this, and the start's sweep is over."""
        self._heartbeat.stop()
        for started in (self._alive, self._swept):
            if started is not None:
                started.exception()  # waits; a failed first heartbeat was reported where staging waited for it

    def close(self) -> None:
        self._stop_starting()
        self._uploads.close()
        if self._freeing is not None:
            self._freeing.shutdown(wait=True)

