"""A batch of records → one Arrow record batch with the table's schema, column by column.

Work is per column over the whole batch (each column's kind converts it: records/types.py). A value
that does not fit its column is null there; the record is always kept whole in `_airbyte_data`.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..naming import AIRBYTE_COLUMNS
from . import reading, types
from .buffer import Layout, StreamBuffer
from .columns import Column, file_schema
from .convert import decimals, finer_than_microseconds, json_texts, utf8_array, utf8_list
from .meta import NULLED, TRUNCATED, Marks, meta_array
from .types import TIMESTAMP_TYPE


class _Clock:
    """The time and counter of the ids made last: ids made later sort after them (within the process)."""

    ms = 0
    counter = int.from_bytes(os.urandom(5), "big") >> 3  # a random start, far below the 40-bit limit


def new_ids(n: int) -> pa.Array:
    """``n`` time-ordered (version 7) UUID strings, built as one buffer: 50x faster than uuid per row.

    Unix ms in the first 48 bits, then a 40-bit counter (RFC 9562's "fixed bit-length dedicated counter"), then
    random bits: ids sort in the order they were made, also within one millisecond and across batches. So a
    deduplicated stream's rows that tie on cursor and emitted_at are ordered by arrival, and each Parquet file's
    min/max statistics of `_airbyte_ab_id` cover a narrow range (the append's marker lookup skips most files).
    """
    _Clock.ms = ms = max(int(time.time() * 1000), _Clock.ms)
    counter = (np.uint64(_Clock.counter) + np.arange(n, dtype=np.uint64)) & np.uint64((1 << 40) - 1)
    _Clock.counter = (_Clock.counter + n) % (1 << 40)
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, :6] = np.frombuffer(ms.to_bytes(6, "big"), dtype=np.uint8)  # Unix ms, big-endian
    byte = lambda shift, mask=0xFF: ((counter >> np.uint64(shift)) & np.uint64(mask)).astype(np.uint8)  # noqa: E731
    raw[:, 6] = 0x70 | byte(36, 0x0F)  # version 7, then the counter's top 4 bits
    raw[:, 7] = byte(28)
    raw[:, 8] = 0x80 | byte(22, 0x3F)  # RFC 4122 variant, 6 more bits
    raw[:, 9] = byte(14)
    raw[:, 10] = byte(6)
    raw[:, 11] = (byte(0, 0x3F) << 2) | (raw[:, 11] & 0x03)
    hex_digits = np.frombuffer(raw.tobytes().hex().encode(), dtype=np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for (start, end), at in zip(((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)), (0, 9, 14, 19, 24)):
        text[:, at:at + end - start] = hex_digits[:, start:end]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


class BatchBuilder:
    """Builds record batches of one fixed schema: the `_airbyte_*` columns and ``columns``, in ``schema``'s order."""

    def __init__(self, columns: list[Column], schema: pa.Schema | None = None, key: PrimaryKey | None = None):
        """``key``: the primary key of a deduplicated stream (its parts must be there and fit their columns)."""
        self.columns = columns
        self.schema = schema if schema is not None else file_schema(columns)  # the table's (VARIANT as such)
        self.stored = types.stored(self.schema)  # the batches' (VARIANT as its JSON text)
        self.key = key
        self.layout = Layout(
            tuple(c.key for c in columns if c.key is not None and c.kind not in JSON_KINDS),
            tuple(c.key for c in columns if c.key is not None and c.kind in JSON_KINDS),
            tuple(dict.fromkeys(path[0] for path in key.paths)) if key else (),
            key.nested if key else (),
            tuple(c.key for c in columns if c.key is not None and c.kind == "decimal"),
        )

    def build(self, buffer: StreamBuffer, generation_id: int | None = None, sync_id: int | None = None,
              prefix: bytes | None = None) -> pa.RecordBatch:
        """The buffered records as one batch; ``buffer`` was laid out by this builder's ``layout`` (``prefix``: how
        the stream's record lines begin, for a text that must be read again from its line: reading.py)."""
        with reading.no_collector():
            return self._build(buffer, generation_id, sync_id, prefix)

    def _build(self, buffer: StreamBuffer, generation_id: int | None, sync_id: int | None,
               prefix: bytes | None) -> pa.RecordBatch:
        n = len(buffer)
        got = reading.columns(buffer, self.layout, prefix)
        emitted_ms = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(buffer.emitted_at)])
        arrays = {AIRBYTE_COLUMNS[0]: new_ids(n),
                  AIRBYTE_COLUMNS[1]: pc.multiply(emitted_ms, 1000).cast(TIMESTAMP_TYPE),
                  AIRBYTE_COLUMNS[2]: _data_texts(buffer, got, n),
                  AIRBYTE_COLUMNS[4]: pa.repeat(pa.scalar(generation_id, pa.int64()), n)}
        ours = Marks()  # the changes made to values (nulled, truncated)
        scalars, texts = iter(got.scalars), iter(got.json)
        for column in self.columns:
            if column.kind == "key":  # the nested primary key parts, as one JSON text per row
                arrays[column.name] = utf8_list(got.keys or [])
            elif column.key is None:
                arrays[column.name] = pa.nulls(n, column.type)
            elif column.kind in JSON_KINDS:
                arrays[column.name] = json_texts(*next(texts), n)
                if column.kind == "variant":
                    arrays[column.name] = _variant(arrays[column.name], column.key, ours)
            else:
                arrays[column.name] = _typed(column, next(scalars), n, ours)
        if self.key is not None:
            for name in self.key.columns:  # a key part that did not fit its column would merge with other keyless rows
                if arrays[name].null_count:
                    first = next(i for i, valid in enumerate(arrays[name].is_valid().to_pylist()) if not valid)
                    raise KeyMisfit(name, str(self.schema.field(name).type), first)
        source = {**buffer.changes, **got.changes} if got.changes else buffer.changes
        arrays[AIRBYTE_COLUMNS[3]] = meta_array(n, sync_id, source, ours)
        return pa.RecordBatch.from_arrays([arrays[name] for name in self.stored.names], schema=self.stored)


def _data_texts(buffer: StreamBuffer, got: reading.Columns, n: int) -> pa.Array:
    """`_airbyte_data`: the texts as buffered (no copy), unless some were read again from their lines."""
    if not got.texts:
        return utf8_array(buffer.data, buffer.data_ends, n)
    view, ends = memoryview(buffer.data), buffer.data_ends
    return utf8_list([got.texts.get(row) or bytes(view[ends[row]:ends[row + 1]]) for row in range(n)])


JSON_KINDS = ("json", "variant")  # columns built from each record's JSON text of the property
VARIANT_BYTES = 16 << 20  # the largest value a Databricks VARIANT holds


def _variant(texts: pa.Array, key: str | None, ours: Marks) -> pa.Array:
    """A VARIANT column's JSON texts: one too large for a VARIANT is null (NULLED; whole in `_airbyte_data`)."""
    too_large = pc.fill_null(pc.greater(pc.binary_length(texts), VARIANT_BYTES), False)
    if not pc.any(too_large).as_py():
        return texts
    ours.mark(too_large.to_numpy(zero_copy_only=False), key or "", NULLED)
    return pc.if_else(too_large, pa.scalar(None, pa.string()), texts)


def _typed(column: Column, values: Sequence, n: int, ours: Marks) -> pa.Array:
    """One typed column of a batch; the values that did not fit are marked in ``ours`` as NULLED, the timestamps
    finer than a microsecond and the decimals with more fraction digits than the column as TRUNCATED (the value is
    whole in `_airbyte_data` either way)."""
    key = column.key or column.name
    if column.kind == "decimal":
        array, rounded = decimals(values, column.type)
        if rounded is not None:
            ours.mark(rounded, key, TRUNCATED)
    else:
        array = types.column_array(column.kind, column.type, values)
    if array.null_count and array.null_count != values.count(None):  # a value was there, and did not fit
        given = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        ours.mark(given & array.is_null().to_numpy(zero_copy_only=False), key, NULLED)
    if column.kind == "timestamp" and n:
        finer = pc.and_(finer_than_microseconds(values), array.is_valid())
        ours.mark(finer.to_numpy(zero_copy_only=False), key, TRUNCATED)
    return array


@dataclass(frozen=True)
class PrimaryKey:
    """A deduplicated stream's primary key as the batch sees it."""

    paths: tuple[tuple[str, ...], ...]  # every key part, as the catalog gives it
    columns: tuple[str, ...]  # the typed columns of the top-level parts
    nested: tuple[tuple[str, ...], ...]  # the nested parts, kept together as JSON text in `_airbyte_key`


class KeyMisfit(ValueError):
    def __init__(self, column: str, column_type: str, row: int):
        super().__init__(column)
        self.column, self.column_type, self.row = column, column_type, row
