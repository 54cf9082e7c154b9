"""The sync's Stager when direct ingest is on: a direct table's batches go to Zerobus as they are built (write),
its load is where its stream stands when the round cuts it (cut), sealed once Zerobus acknowledged it (seal) and
committed already (StagedFormat.DIRECT: the loader runs no statement). Every other table is staged in the volume,
whose stager is made and started only when a table first needs it: a sync of direct tables alone touches no
volume and runs no statement once its tables exist."""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa

from ...bounded import each
from ...naming import TableName
from ...staging.base import StagedFile, StagedFormat, StagedTable, Stager, first_id
from .ingest import Sent, Streams
from .routes import schema_reason

logger = logging.getLogger("airbyte")
MESSAGE_BYTES = 16 << 20  # a batch is sent in slices of about this size (a record larger than it goes alone)


class DirectStager:
    def __init__(self, catalog: str, streams: Streams, direct: set[TableName], comments: Mapping[TableName, str],
                 prepare: Callable[[TableName, pa.Schema, str], None], staged: Callable[[], Stager],
                 concurrency: int = 1):
        """``direct``: the tables that may go through Zerobus (routes.py; their columns are checked at their first
        batch); ``prepare``: makes a table ready for a schema's rows (tables.py); ``staged``: makes the volume stager;
        ``concurrency``: tables made ready at once."""
        self.catalog = catalog
        self.streams = streams
        self.comments = comments
        self.prepare = prepare
        self.concurrency = concurrency
        self._may = set(direct)
        self._going: dict[TableName, bool] = {}  # decided at a table's first batch: direct (True) or staged
        self._sent: dict[TableName, Sent] = {}
        self._prepared: dict[TableName, pa.Schema] = {}
        self._make_staged = staged
        self._staged: Stager | None = None
        self._lock = threading.Lock()

    # --- routing ----------------------------------------------------------------------------------
    def _direct(self, table: TableName, schema: pa.Schema | None = None) -> bool:
        going = self._going.get(table)
        if going is None and schema is not None:
            why = schema_reason(schema) if table in self._may else None
            going = self._going[table] = table in self._may and why is None
            if why:
                logger.info("%s is staged in the volume, not sent through Zerobus: %s.", table, why)
        return bool(going) if going is not None else table in self._may

    def staged(self) -> Stager:
        """The volume stager, started at first use."""
        with self._lock:
            if self._staged is None:
                stager = self._make_staged()
                stager.start()
                self._staged = stager
            return self._staged

    # --- the Stager protocol -------------------------------------------------------------------------
    def start(self) -> None:
        """Nothing yet: the volume is claimed when a staged table first needs it."""

    def ahead(self, tables: Iterable[TableName], batch_schema: Callable[[TableName], pa.Schema]) -> None:
        """The direct tables made ready before any input, several at once (a new table's CREATE TABLE is a statement
        of about a second: one after the other on the writer thread, 100 new tables held the input 100 s)."""
        going = [(table, batch_schema(table)) for table in tables if table in self._may]
        going = [(table, schema) for table, schema in going if self._direct(table, schema)]
        each(lambda item: self._prepare(*item), going, self.concurrency)

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        if not self._direct(table, batch.schema):
            return self.staged().write(table, batch, avro_schema_json)
        if not self._prepared.get(table, pa.schema([])).equals(batch.schema):
            self._prepare(table, batch.schema)
        # (ceil) so that no message is much over MESSAGE_BYTES; its IPC size, not nbytes (which counts the whole
        # buffers a column's values are views into: 100 times too many messages)
        size = batch.nbytes if batch.nbytes <= MESSAGE_BYTES else pa.ipc.get_record_batch_size(batch)
        pieces = max(1, -(-size // MESSAGE_BYTES))
        step = -(-batch.num_rows // pieces)
        for start in range(0, batch.num_rows, step):
            self._sent[table] = self.streams.send(self.full_name(table), batch.slice(start, step))
        sent = self._sent[table]
        return StagedFile(name=f"offset-{sent.offset}", location=self.full_name(table), size=batch.nbytes,
                          rows=batch.num_rows, first_id=first_id(batch))

    def _prepare(self, table: TableName, schema: pa.Schema) -> None:
        self.prepare(table, schema, self.comments.get(table, ""))
        self._prepared[table] = schema

    def cut(self, table: TableName) -> Any:
        return self._sent.get(table, Sent(None)) if self._direct(table) else self.staged().cut(table)

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema, cut: Any = None) -> StagedTable:
        if not self._direct(table):
            return self.staged().seal(table, files, schema, cut)
        self.streams.wait(cut if cut is not None else self._sent.get(table, Sent(None)))
        return StagedTable(table, self.full_name(table), files, schema, StagedFormat.DIRECT)

    def loaded(self, staged: StagedTable) -> None:
        if staged.format is not StagedFormat.DIRECT:
            self.staged().loaded(staged)

    def mark(self, kind: str, names: list[str]) -> None:
        self.staged().mark(kind, names)

    def unmark(self, kind: str) -> None:
        if self._staged is not None:
            self._staged.unmark(kind)

    def marked_by_others(self, kind: str) -> set[str] | None:
        return self.staged().marked_by_others(kind)

    def purge(self) -> None:
        self._end(lambda stager: stager.purge())

    def keep(self) -> None:
        if self._staged is not None:
            self._staged.keep()

    def close(self) -> None:
        self._end(lambda stager: stager.close())

    def _end(self, release: Callable[[Stager], None]) -> None:
        """Zerobus's streams closed (flushed after a sync that succeeded: every seal waited already; dropped after
        one that failed, whose unacknowledged batches no STATE covers), then the volume's staging, if it was used."""
        try:
            self.streams.close(flush=sys.exc_info()[1] is None)
        finally:
            if self._staged is not None:
                release(self._staged)

    def full_name(self, table: TableName) -> str:
        return f"{self.catalog}.{table.schema}.{table.table}"
