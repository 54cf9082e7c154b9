"""Records of each stream buffered, built into Arrow batches and staged as files on a background thread."""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from ..backends.base import Loader
from ..bounded import BoundedExecutor
from ..catalog import StreamPlan
from ..dedup import Merge, dedup_columns, dedup_properties
from ..errors import ConfigError, InputError
from ..naming import StreamKey
from ..records.batch import BatchBuilder, KeyMisfit, PrimaryKey
from ..records.buffer import BufferPool
from ..records.columns import file_schema, table_columns
from ..records.reading import BadRecord, MissingKey
from ..records.types import canonical
from ..refresh import Refresh, refresh_of
from ..settings import Settings
from ..staging.base import StagedFile, Stager


@dataclass
class StreamState:
    plan: StreamPlan
    builder: BatchBuilder | None = None  # made at the first record, from the table's schema then
    received: int = 0
    staged: int = 0  # records in staged files (or on their way there)
    committed: int = 0  # records in the table
    files: list[StagedFile] = field(default_factory=list)  # appended by the writer thread
    writing: Future | None = None  # the stream's last write; earlier ones finished before it
    merge: Merge | None = None  # a deduplicated stream's key, cursor and deletes (made with the builder)
    refresh: Refresh | None = None  # a truncating refresh: its rounds commit into a shadow table, swapped in at its end
    # Its records commit in every round (asked per record): all but an overwrite without a generation, which
    # replaces its table at the end from everything staged.
    commits_as_it_goes: bool = False
    dedup: bool = False
    claimed: bool = False  # a refresh: this sync claimed its shadow (staging/base.py), before committing into it
    prefix: bytes = b""  # how its record lines begin as sources write them, up to the `data` value (sync/loop.py)

    def __post_init__(self) -> None:
        namespace, name = self.plan.key
        self.prefix = (b'{"type":"RECORD","record":{' + (b'"namespace":%s,' % orjson.dumps(namespace) if namespace else b"")
                       + b'"stream":' + orjson.dumps(name) + b',"data":')
        self.refresh = refresh_of(self.plan)
        self.commits_as_it_goes = not self.plan.mode.replaces or self.refresh is not None
        self.dedup = self.plan.mode.dedup


class Writer:
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

    def submit(self, stream: StreamState, batch: pa.RecordBatch) -> None:
        plan, files = stream.plan, stream.files  # the list of the round the batch's records belong to

        def work() -> None:
            try:
                files.append(self.stager.write(plan.table, batch, plan.avro_schema_json))
            except BaseException as exc:
                self.failure = self.failure or exc
                raise

        stream.writing = self.pool.submit(work)

    def written(self, stream: StreamState) -> list[StagedFile]:
        """The stream's staged files, once every write submitted for it has finished."""
        if stream.writing is not None:
            stream.writing.result()
        if self.failure is not None:  # a write that failed before the last one
            raise self.failure
        return stream.files

    def cut(self, stream: StreamState) -> tuple[Future, list[StagedFile]]:
        """Close the stream's current load after the writes submitted so far, in their order on the writer thread
        (files written later go to the next load): a Future of the stager's cut, and the load's files (complete once
        the cut is done)."""
        plan, files = stream.plan, stream.files
        stream.files = []

        def work() -> Any:
            if self.failure is not None:  # a write of these files failed
                raise self.failure
            return self.stager.cut(plan.table)

        stream.writing = self.pool.submit(work)
        return stream.writing, files

    def close(self) -> None:
        self.pool.close(cancel=True)


class Batches:
    """The streams' buffers (one memory budget for all), their batch builders, and the writer that stages them."""

    def __init__(self, streams: Mapping[StreamKey, StreamState], stager: Stager, loader: Loader, settings: Settings,
                 *, evolve: bool, cdc_hard_delete: bool):
        self.streams = streams
        self.loader = loader
        self.evolve = evolve
        self.cdc_hard_delete = cdc_hard_delete
        self.pool = BufferPool(settings.buffer_bytes, settings.batch_bytes, settings.batch_rows,
                               lambda key: self.builder(self.streams[key]).layout)
        self.writer = Writer(stager)
        self._builders: dict[tuple, BatchBuilder] = {}

    def builder(self, stream: StreamState) -> BatchBuilder:
        """The stream's batch builder, made from its table's schema as it is when the stream's first batch is due."""
        if stream.builder is None:
            existing = self.loader.table_schema(stream.plan.table)
            plan = stream.plan
            columns = tuple(table_columns(plan.proposed_columns, existing, self.evolve, plan.table,
                                          required=dedup_properties(plan) if plan.mode.dedup else ()))
            primary_key: PrimaryKey | None = None
            if stream.plan.mode.dedup:
                columns, primary_key, stream.merge = dedup_columns(stream.plan, columns, self.cdc_hard_delete,
                                                                   lambda: self.loader.key_parts(plan.table))
            retyped = [c for c in columns if existing is not None and c.name in existing.names
                       and canonical(existing.field(c.name).type) != c.type]
            if retyped:  # the stream's schema changed these columns' types: the table's change first
                self.loader.retype(plan.table, retyped, stream.merge)
                existing = self.loader.table_schema(plan.table)
            schema = file_schema(columns, existing)
            shape = (columns, tuple(schema.names), primary_key)
            builder = self._builders.get(shape)  # streams alike share one (stateless) builder
            if builder is None:
                builder = self._builders[shape] = BatchBuilder(list(columns), schema, primary_key)
            stream.builder = builder
        return stream.builder

    def added(self, stream: StreamState, full: bool) -> None:
        """A record of ``stream`` was buffered (``full``: its buffer or the budget may need a flush)."""
        if not full:
            return
        pool = self.pool
        if pool.full(pool.buffers[stream.plan.key]):
            self.flush(stream)
        if pool.over_budget():
            for evicted in pool.to_evict():
                self.flush(self.streams[evicted])

    def flush(self, stream: StreamState) -> None:
        """Stage the stream's buffered records as one file."""
        if stream.plan.key not in self.pool.buffers:
            return
        buffer = self.pool.take(stream.plan.key)
        key = stream.plan.key
        try:
            batch = self.builder(stream).build(buffer, stream.plan.generation_id, stream.plan.sync_id, stream.prefix)
        except BadRecord as bad:
            raise InputError(f"Input line {buffer.lines[bad.row]}: {bad.message[:1].lower()}{bad.message[1:]}"
                             .replace("the record's 'data'", f"the record's 'data' of stream '{key}'")) from None
        except MissingKey as missing:
            raise ConfigError(f"Input line {buffer.lines[missing.row]}: a record of stream '{key}' has no value for its "
                              f"primary key '{'.'.join(missing.path)}' (missing or null), so it cannot be "
                              "deduplicated.") from None
        except KeyMisfit as misfit:
            raise ConfigError(f"Input line {buffer.lines[misfit.row]}: a record of stream '{key}' has a primary key "
                              f"'{misfit.column}' that does not fit its column ({misfit.column_type}), so it cannot be "
                              "deduplicated; the value is in _airbyte_data.") from None
        self.writer.submit(stream, batch)
        stream.staged = stream.received

    def close(self) -> None:
        self.writer.close()
