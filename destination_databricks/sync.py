"""One `write`: messages in, records buffered → staged → loaded, STATEs out once their records commit."""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import orjson
import pyarrow as pa

from .bounded import BoundedExecutor
from .catalog import StreamPlan, SyncMode
from .checkpoint import Checkpoints
from .errors import ConfigError, InputError, SystemFailure
from .loading.base import Loader
from .messages import IDLE, LONG_NUMBER, NUMBER_CHARS, exact_data_text, parse_line
from .naming import StreamKey, TableName
from .loading.merge import CDC_DELETED, KEY_COLUMN, Merge
from .records.batch import BatchBuilder, KeyMisfit, PrimaryKey
from .records.buffer import MissingKey
from .records.buffer import BufferPool
from .records.columns import Column, file_schema, table_columns
from .staging.base import StagedFile, Stager

logger = logging.getLogger("airbyte")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class Tuning:
    """Batch and commit sizes; the environment may override them (tests use small ones)."""

    buffer_bytes: int = 24 << 20  # input bytes buffered across all streams
    batch_bytes: int = 4 << 20  # input bytes that make one stream's file
    batch_rows: int = 200_000
    commit_bytes: int = 256 << 20  # append: commit once this much input is uncommitted…
    commit_seconds: float = 30.0  # …or this long has passed, whichever comes first
    dedup_commit_bytes: int = 0  # append_dedup input that makes a commit due (0: the loader's choice, else commit_bytes)

    @classmethod
    def from_env(cls) -> "Tuning":
        p = "DESTINATION_DATABRICKS_"
        d = cls()
        return cls(
            buffer_bytes=_env_int(p + "BUFFER_BYTES", d.buffer_bytes),
            batch_bytes=_env_int(p + "BATCH_BYTES", d.batch_bytes),
            batch_rows=_env_int(p + "BATCH_ROWS", d.batch_rows),
            commit_bytes=_env_int(p + "COMMIT_BYTES", d.commit_bytes),
            commit_seconds=float(os.environ.get(p + "COMMIT_SECONDS") or d.commit_seconds),
            dedup_commit_bytes=_env_int(p + "DEDUP_COMMIT_BYTES", d.dedup_commit_bytes),
        )


@dataclass
class _Stream:
    plan: StreamPlan
    builder: BatchBuilder | None = None  # made at the first record, from the table's schema then
    received: int = 0
    staged: int = 0  # records in staged files (or on their way there)
    committed: int = 0  # records in the table
    files: list[StagedFile] = field(default_factory=list)  # appended by the writer thread
    writing: Future | None = None  # the stream's last write; earlier ones finished before it
    merge: Merge | None = None  # a deduplicated stream's key, cursor and deletes (made with the builder)


class _Writer:
    """Encodes and stages files on one background thread while the main thread parses input.

    Parquet encoding and uploads release the GIL, so the two cores both work. At most ``depth`` batches
    wait, so memory stays bounded when staging is slower than parsing. Writes run in the order they
    were submitted, so a stream's last write finished means all of its writes did; only that one
    Future is kept per stream (a list of them took ~1 KB per file with thousands of streams).
    """

    def __init__(self, stager: Stager, depth: int = 2):
        self.stager = stager
        self.pool = BoundedExecutor(workers=1, depth=depth, name="stage")
        self.failure: BaseException | None = None

    def submit(self, stream: _Stream, batch) -> None:
        plan = stream.plan

        def work() -> None:
            try:
                stream.files.append(self.stager.write(plan.table, batch, plan.avro_schema_json))
            except BaseException as exc:
                self.failure = self.failure or exc
                raise

        stream.writing = self.pool.submit(work)

    def written(self, stream: _Stream) -> list[StagedFile]:
        """The stream's staged files, once every write submitted for it has finished."""
        if stream.writing is not None:
            stream.writing.result()
        if self.failure is not None:  # a write that failed before the last one
            raise self.failure
        return stream.files

    def close(self) -> None:
        self.pool.close(cancel=True)


# A step run after a commit round, once per table that committed rows in it: (table, rows committed, mode).
# A step with a ``close()`` has it called once at the end of a sync, after the last round's steps.
AfterCommit = Callable[[TableName, int, SyncMode], None]


class Sync:
    def __init__(
        self,
        plans: dict[StreamKey, StreamPlan],
        stager: Stager,
        loader: Loader,
        emit: Callable[[str], None],  # one output line (a released STATE)
        *,
        evolve: bool,
        tuning: Tuning,
        after_commit: Sequence[AfterCommit] = (),
        cdc_hard_delete: bool = True,
    ):
        self.streams = {key: _Stream(plan) for key, plan in plans.items()}
        self.stager = stager
        self.loader = loader
        self.emit = emit
        self.evolve = evolve
        self.cdc_hard_delete = cdc_hard_delete
        self.tuning = tuning
        self.after_commit = tuple(after_commit)
        self.pool = BufferPool(tuning.buffer_bytes, tuning.batch_bytes, tuning.batch_rows,
                               lambda key: self._builder(self.streams[key]).layout)
        self.writer = _Writer(stager)
        self.checkpoints = Checkpoints()
        self.builders: dict[tuple, BatchBuilder] = {}
        self.received: dict[StreamKey, int] = {}
        self.dirty: set[StreamKey] = set()  # append streams with records not yet committed
        self.uncommitted_bytes = 0
        self.uncommitted_dedup_bytes = 0  # of append_dedup streams: a loader may want their loads smaller
        self.last_commit = time.monotonic()
        self.last_commit_took = 0.0
        self.records = 0
        self.statuses: dict[StreamKey, str] = {}  # the last stream status the input gave each stream

    # --- the message loop -------------------------------------------------------------------
    def run(self, lines: Iterable[bytes | None]) -> None:
        """Input lines, and IDLE (None) now and then while the input is quiet."""
        try:
            self.loader.prefetch([stream.plan.table for stream in self.streams.values()])
            self.last_commit = time.monotonic()  # the commit clock starts with the input, not before the schema reads
            self._run(lines)
        finally:
            self.writer.close()

    def _run(self, lines: Iterable[bytes | None]) -> None:
        streams, pool, received = self.streams, self.pool, self.received
        number = 0
        for line in lines:
            if line is IDLE:  # the input is quiet: commit if it is time, so STATEs still flow
                if self._commit_due():
                    self._commit_appends()
                continue
            number += 1
            # The fast path of messages.parse_line, inlined: this loop runs once per input line.
            exact = LONG_NUMBER in line.translate(NUMBER_CHARS)  # messages.needs_exact, inlined
            try:
                message = orjson.loads(line) if not exact else None
            except orjson.JSONDecodeError:
                message = None
            if message.__class__ is not dict:
                if not line.strip():
                    continue
                message, exact = parse_line(line, number)
            kind = message.get("type")
            if kind == "RECORD":
                record = message.get("record")
                if record.__class__ is not dict:
                    raise InputError(f"Input line {number}: a RECORD message without a 'record' object.")
                key = (record.get("namespace") or None, record.get("stream"))
                try:
                    stream = streams.get(key)
                except TypeError:  # a stream "name" that is a list or object
                    stream = None
                if stream is None:
                    name = f"{key[0]}.{key[1]}" if key[0] else f"{key[1]}"
                    raise InputError(
                        f"Input line {number}: a record for stream '{name}', which is not in the configured catalog."
                    )
                data = record.get("data")
                if data.__class__ is not dict:
                    raise InputError(f"Input line {number}: the record's 'data' of stream '{stream.plan.key}' is not an object.")
                emitted_at = record.get("emitted_at")
                if emitted_at.__class__ is not int or not FIRST_MS <= emitted_at <= LAST_MS:
                    emitted_at = _emitted_at(emitted_at)
                size = len(line)
                stream.received += 1
                key = stream.plan.key
                received[key] = stream.received
                self.uncommitted_bytes += size
                if not stream.plan.mode.replaces:
                    self.dirty.add(key)
                    if stream.plan.mode.dedup:
                        self.uncommitted_dedup_bytes += size
                meta = record.get("meta")
                changes = meta.get("changes") if meta.__class__ is dict else None
                try:
                    full = pool.add(key, data, emitted_at, size, exact_data_text(line) if exact else None,
                                    changes if changes.__class__ is list else None)
                except MissingKey as missing:
                    raise ConfigError(f"Input line {number}: a record of stream '{key}' has no value for its primary key "
                                     f"'{'.'.join(missing.path)}' (missing or null), so it cannot be deduplicated.") from None
                if full:
                    if pool.full(pool.buffers[key]):
                        self._flush(stream)
                    if pool.over_budget():
                        for evicted in pool.to_evict():
                            self._flush(streams[evicted])
            elif kind == "STATE":
                self.checkpoints.received(line, received)
                if self._commit_due():
                    self._commit_appends()
            elif kind == "TRACE":
                trace = message.get("trace")
                if trace.__class__ is dict and trace.get("type") == "STREAM_STATUS":
                    self._stream_status(trace.get("stream_status"), number)
            # Other messages (LOG, other TRACEs, …) are the source's business, not the destination's.
        self.records = sum(received.values())
        self._finish()

    def _stream_status(self, status: object, number: int) -> None:
        if status.__class__ is not dict or (status.get("stream_descriptor") or {}).__class__ is not dict:
            raise InputError(f"Input line {number}: a STREAM_STATUS trace without a 'stream_status' object.")
        descriptor = status.get("stream_descriptor") or {}
        key = StreamKey(descriptor.get("namespace") or None, str(descriptor.get("name")))
        if key in self.streams:  # a status of a stream not configured for this destination is not ours to track
            self.statuses[key] = str(status.get("status"))

    # --- stages -----------------------------------------------------------------------------
    def _builder(self, stream: _Stream) -> BatchBuilder:
        if stream.builder is None:
            existing = self.loader.table_schema(stream.plan.table)
            columns = tuple(table_columns(stream.plan.proposed_columns, existing, self.evolve, stream.plan.table))
            primary_key = None
            if stream.plan.mode.dedup:
                columns, primary_key, stream.merge = dedup_columns(stream.plan, columns, self.cdc_hard_delete)
            schema = file_schema(columns, existing)
            shape = (columns, tuple(schema.names), primary_key)
            builder = self.builders.get(shape)  # streams alike share one (stateless) builder
            if builder is None:
                builder = self.builders[shape] = BatchBuilder(list(columns), schema, primary_key)
            stream.builder = builder
        return stream.builder

    def _flush(self, stream: _Stream) -> None:
        """Stage the stream's buffered records as one file."""
        if stream.plan.key not in self.pool.buffers:
            return
        buffer = self.pool.take(stream.plan.key)
        try:
            batch = self._builder(stream).build(buffer, stream.plan.generation_id, stream.plan.sync_id)
        except KeyMisfit as misfit:
            raise ConfigError(f"Stream '{stream.plan.key}': a record's primary key '{misfit.column}' does not fit its "
                             f"column ({misfit.column_type}), so it cannot be deduplicated; the value is in "
                             "_airbyte_data.") from None
        self.writer.submit(stream, batch)
        stream.staged = stream.received

    def _load(self, streams: list[_Stream], truncate: frozenset = frozenset()) -> list[tuple[TableName, int, SyncMode]]:
        """Commit everything these streams have received into their tables; what each committed. Streams in
        ``truncate`` then lose their rows of generations below the stream's minimum (a refresh that truncates).

        Loads of different tables are independent; a loader that allows it runs several at once
        (delta-rs releases the GIL: 1,000 small streams load about twice as fast on two cores). A stream's
        load is handed out as soon as its last file is on its way, so loads overlap the uploads of the
        streams after it.
        """
        def seal_and_load(stream: _Stream) -> _Stream:
            files = self.writer.written(stream)
            staged = self.stager.seal(stream.plan.table, files, self._builder(stream).schema)
            drop_below = stream.plan.minimum_generation_id if stream.plan.key in truncate else None
            self.loader.load(staged, stream.plan.mode, f"Created from stream {stream.plan.key}", stream.merge, drop_below)
            self.stager.loaded(staged)
            return stream

        workers = max(1, min(getattr(self.loader, "concurrent_loads", 1), len(streams)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") if workers > 1 else None
        committed = []
        try:
            if pool is None:
                for stream in streams:
                    self._flush(stream)
                done: Iterable[_Stream] = map(seal_and_load, streams)
            else:
                done = self._handed_out(streams, pool, seal_and_load)
            for stream in done:
                stream.files, stream.writing = [], None
                self.checkpoints.commit(stream.plan.key, stream.staged)
                committed.append((stream.plan.table, stream.staged - stream.committed, stream.plan.mode))
                stream.committed = stream.staged
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return committed

    def _handed_out(self, streams: list[_Stream], pool: ThreadPoolExecutor,
                    seal_and_load: Callable[[_Stream], _Stream]) -> Iterator[_Stream]:
        """Flush each stream (its table schema is read then, on this thread) and hand its load to ``pool`` at once;
        the loaded streams, in the order given."""
        futures = []
        for stream in streams:
            self._flush(stream)
            self._builder(stream)
            futures.append(pool.submit(seal_and_load, stream))
        return (future.result() for future in futures)

    def _after(self, committed: list[tuple[TableName, int, SyncMode]]) -> None:
        """The post-commit steps, once the round's STATEs are out (a failing step cannot hold them back)."""
        for step in self.after_commit:
            for table, rows, mode in committed:
                if rows or mode.replaces:
                    step(table, rows, mode)

    def _close_steps(self) -> None:
        """Post-commit steps that act once per sync (a ``close()``) do so now, everything being committed."""
        for step in self.after_commit:
            close = getattr(step, "close", None)
            if close is not None:
                close()

    def _commit_due(self) -> bool:
        # Commit rounds may not take more than a third of the time: with 10,000 streams one round is
        # 20,000 Delta commits, and a fixed 30 s interval left the sync doing nothing else.
        interval = max(self.tuning.commit_seconds, 2 * self.last_commit_took)
        dedup_bytes = (self.tuning.dedup_commit_bytes or getattr(self.loader, "dedup_commit_bytes", None)
                       or self.tuning.commit_bytes)
        return bool(self.dirty) and (
            self.uncommitted_bytes >= self.tuning.commit_bytes
            or self.uncommitted_dedup_bytes >= min(dedup_bytes, self.tuning.commit_bytes)
            or time.monotonic() - self.last_commit >= interval
        )

    def _commit_appends(self) -> None:
        started = time.monotonic()
        committed = self._load([self.streams[key] for key in sorted(self.dirty, key=str)])
        self.dirty.clear()
        self.uncommitted_bytes = self.uncommitted_dedup_bytes = 0
        self.last_commit = time.monotonic()
        self.last_commit_took = self.last_commit - started
        self._release()
        self._after(committed)

    def _release(self) -> None:
        for message in self.checkpoints.release():
            self.emit(message)

    def _finish(self) -> None:
        """End of input: commit every stream (overwrites replace their tables now), release all STATEs.

        When the input carries stream statuses (platforms forward the source's), a stream that did not end
        COMPLETE keeps its table as it was if it would replace it (overwrite), and the sync fails naming it;
        an append stream's records are committed as usual. Input without any stream status: every stream
        counts as complete at the end of input, as before statuses existed.
        """
        incomplete = [key for key in sorted(self.streams, key=str)
                      if self.statuses and self.statuses.get(key) != "COMPLETE"]
        kept = {key for key in incomplete if self.streams[key].plan.mode.replaces}
        # A completed stream of a refresh that truncates: its older generations go once its rows are in. (An
        # overwrite replaces every row anyway; a stream that did not complete keeps them all.)
        truncate = frozenset(key for key, stream in self.streams.items() if key not in incomplete
                             and not stream.plan.mode.replaces and (stream.plan.minimum_generation_id or 0) > 0)
        committed = self._load([self.streams[key] for key in sorted(self.streams, key=str) if key not in kept and (
            self.streams[key].plan.mode.replaces or key in self.dirty or key in truncate
            or self.loader.table_schema(self.streams[key].plan.table) is None)], truncate)
        self.dirty.clear()
        self._release()
        if self.checkpoints.pending:
            logger.warning("%d STATE messages could not be released.", self.checkpoints.pending)
        self._after(committed)
        self._close_steps()
        if incomplete:
            described = ", ".join(f"'{key}' ({self.statuses.get(key, 'no status')}"
                                  f"{'; its table keeps its previous data' if key in kept else ''})"
                                  for key in incomplete)
            logger.warning("Streams that did not complete: %s", described)
            raise SystemFailure(f"The source did not complete {len(incomplete)} stream(s): {described}. "
                                "Records of completed and append streams were committed.")


# `emitted_at` (ms since the epoch) a Delta reader can read: years 0001 to 9999.
FIRST_MS, LAST_MS = -62_135_596_800_000, 253_402_300_799_999


def _emitted_at(value: object) -> int:
    """A record's emitted_at that is not a whole number of ms in range (a float, nanoseconds, text): the number
    when it is one in range, else the time the record was received."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and FIRST_MS <= value <= LAST_MS:
        return int(value)
    return int(time.time() * 1000)


def dedup_columns(plan: StreamPlan, columns: tuple[Column, ...], hard_delete: bool
                  ) -> tuple[tuple[Column, ...], PrimaryKey, Merge]:
    """A deduplicated stream's columns (with `_airbyte_key` when a key part has no column of its own), its
    primary key as the batches check it, and how its rows merge into the table."""
    by_property = {c.key: c for c in columns if c.key is not None}
    own = [path[0] for path in plan.primary_key if len(path) == 1 and path[0] in by_property]
    nested = tuple(path for path in plan.primary_key if not (len(path) == 1 and path[0] in by_property))
    key_columns = tuple(by_property[name].name for name in own)
    if nested:
        key_column = Column(KEY_COLUMN, None, "key", pa.string())
        columns = tuple(c for c in columns if c.name.lower() != KEY_COLUMN) + (key_column,)
    cursor = by_property.get(plan.cursor_field[0]) if len(plan.cursor_field) == 1 else None
    deleted = by_property.get(CDC_DELETED)
    merge = Merge(key_columns + ((KEY_COLUMN,) if nested else ()), cursor.name if cursor else None,
                  deleted.name if deleted else None, hard_delete)
    return columns, PrimaryKey(plan.primary_key, key_columns, nested), merge
