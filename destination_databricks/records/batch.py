"""A batch of records → one Arrow record batch with the table's schema, column by column.

Work is per column over the whole batch. A value that does not fit its column is null there; the
record is always kept whole in `_airbyte_data`.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import time
from array import array
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..jsontext import dumps_bytes
from .columns import Column, arrow_schema

if TYPE_CHECKING:
    from .buffer import StreamBuffer

_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
_DECIMAL_LIMIT = 10**38
_WIDE = Context(prec=80)  # room for 38 digits and exponents; the default has 28


def _array(values: list, arrow_type: pa.DataType, fit: Callable[[Any], Any]) -> pa.Array:
    """Fast conversion; if Arrow refuses any value, check value by value and null the misfits."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def _inferred(values: list) -> pa.Array | None:
    """Arrow's own C-level type inference; None when the values are of mixed kinds."""
    try:
        return pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None


def _long(values: list) -> pa.Array:
    inferred = _inferred(values)
    if inferred is not None and (inferred.type == pa.int64() or inferred.type == pa.null()):
        return inferred.cast(pa.int64())
    kept = [v if v.__class__ is int else None for v in values]
    return _array(kept, pa.int64(), lambda v: v if v is not None and _MIN_LONG <= v <= _MAX_LONG else None)


def _double_fit(v: Any) -> float | None:
    try:
        return float(v)
    except (OverflowError, TypeError):
        return None


def _double(values: list) -> pa.Array:
    inferred = _inferred(values)
    if inferred is not None and inferred.type in (pa.float64(), pa.int64(), pa.null()):
        return inferred.cast(pa.float64())
    kept = [v if v.__class__ is float or v.__class__ is int else None for v in values]
    return _array(kept, pa.float64(), _double_fit)


def _boolean(values: list) -> pa.Array:
    inferred = _inferred(values)
    if inferred is not None and inferred.type in (pa.bool_(), pa.null()):
        return inferred.cast(pa.bool_())
    return pa.array([v if v.__class__ is bool else None for v in values], pa.bool_())


def _string(values: list) -> pa.Array:
    inferred = _inferred(values)
    if inferred is not None and inferred.type in (pa.string(), pa.null()):
        return inferred.cast(pa.string())
    return pa.array([v if v.__class__ is str else None for v in values], pa.string())


@functools.cache
def _null_string() -> pa.Scalar:
    return pa.scalar(None, pa.string())  # not at import: see arrow_runtime (pa.scalar imports pandas)


def utf8_array(texts: bytes | bytearray, offsets: array, n: int) -> pa.Array:
    """``n`` strings stored back to back in ``texts``, string i at ``offsets[i]:offsets[i + 1]`` (no copy)."""
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(texts)])


def _json(texts: bytearray, offsets: array, n: int) -> pa.Array:
    values = utf8_array(texts, offsets, n)
    return pc.if_else(pc.equal(values, "null"), _null_string(), values)  # JSON null (or absent) is SQL NULL


def _text(values: list) -> pa.Array:
    return pa.array([v if v.__class__ is str or v is None else dumps_bytes(v) for v in values], pa.string())


def _decimal_fit(v: Any) -> Decimal | None:
    if v.__class__ is int or v.__class__ is str:
        try:
            d = Decimal(v)
        except InvalidOperation:
            return None
        if d.is_finite() and d == d.to_integral_value(context=_WIDE) and abs(d) < _DECIMAL_LIMIT:
            return d.quantize(Decimal(1), context=_WIDE)
    return None


def _decimal(values: list, arrow_type: pa.DataType) -> pa.Array:
    return pa.array([_decimal_fit(v) for v in values], arrow_type)


def _date_fit(v: Any) -> dt.date | None:
    if v.__class__ is str:
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            try:
                return dt.datetime.fromisoformat(v).date()
            except ValueError:
                return None
    return None


def _timestamp_fit(v: Any) -> dt.datetime | None:
    if v.__class__ is str:
        try:
            parsed = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


def _temporal(values: list, arrow_type: pa.DataType, fit: Callable[[Any], Any]) -> pa.Array:
    try:
        return _string(values).cast(arrow_type)
    except (pa.ArrowException, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def _other(values: list, arrow_type: pa.DataType) -> pa.Array:
    def fit(v: Any) -> Any:
        try:
            return pa.scalar(v, arrow_type).as_py()
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return None

    return _array(values, arrow_type, fit)


def column_array(column: Column, values: Sequence) -> pa.Array:
    """The column of a scalar kind (JSON columns arrive as text: see BatchBuilder.build)."""
    kind = column.kind
    if kind == "long":
        return _long(values)
    if kind == "double":
        return _double(values)
    if kind == "boolean":
        return _boolean(values)
    if kind == "string":
        return _string(values)
    if kind == "text":
        return _text(values)
    if kind == "decimal":
        return _decimal(values, column.type)
    if kind == "date":
        return _temporal(values, column.type, _date_fit)
    if kind == "timestamp":
        return _temporal(values, column.type, _timestamp_fit)
    return _other(values, column.type)


def new_ids(n: int) -> pa.Array:
    """``n`` time-ordered (version 7) UUID strings, built as one buffer: 50x faster than uuid per row.

    Time-ordered, so each Parquet file's min/max statistics of `_airbyte_ab_id` cover a narrow range and a
    lookup of one id (the append's "did this load already commit?" test) skips almost every file.
    """
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, :6] = np.frombuffer(int(time.time() * 1000).to_bytes(6, "big"), dtype=np.uint8)  # Unix ms, big-endian
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70  # version 7
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hex_digits = np.frombuffer(raw.tobytes().hex().encode(), dtype=np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for (start, end), at in zip(((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)), (0, 9, 14, 19, 24)):
        text[:, at:at + end - start] = hex_digits[:, start:end]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


@dataclass(frozen=True)
class Layout:
    """Which record properties a buffer keeps as values (scalar columns) and which as JSON text."""

    scalar_keys: tuple[str, ...]
    json_keys: tuple[str, ...]


class BatchBuilder:
    """Builds record batches of one fixed schema: the `_airbyte_*` columns, then ``columns``."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.schema = arrow_schema(columns)
        self.layout = Layout(
            tuple(c.key for c in columns if c.key is not None and c.kind != "json"),
            tuple(c.key for c in columns if c.key is not None and c.kind == "json"),
        )

    def build(self, buffer: "StreamBuffer") -> pa.RecordBatch:
        """The buffered records as one batch; ``buffer`` was laid out by this builder's ``layout``."""
        n = len(buffer)
        emitted_ms = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(buffer.emitted_at)])
        arrays = [new_ids(n), pc.multiply(emitted_ms, 1000).cast(self.schema.field(1).type),
                  utf8_array(buffer.data, buffer.data_ends, n)]
        scalars = zip(*buffer.rows)
        json_texts = iter(buffer.json)
        for column in self.columns:
            if column.key is None:
                arrays.append(pa.nulls(n, column.type))
            elif column.kind == "json":
                arrays.append(_json(*next(json_texts), n))
            else:
                arrays.append(column_array(column, next(scalars)))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)
