"""A batch of records → one Arrow record batch with the table's schema, column by column.

Work is per column over the whole batch. A value that does not fit its column is null there; the
record is always kept whole in `_airbyte_data`.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Callable

import orjson
import pyarrow as pa

from .columns import Column, arrow_schema

_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
_DECIMAL_LIMIT = 10**38
_WIDE = Context(prec=80)  # room for 38 digits and exponents; the default has 28


def dumps(value: Any) -> str:
    """JSON text of ``value``; integers beyond 64 bits and NaN/Infinity are written as they came."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _array(values: list, arrow_type: pa.DataType, fit: Callable[[Any], Any]) -> pa.Array:
    """Fast conversion; if Arrow refuses any value, check value by value and null the misfits."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def _long(values: list) -> pa.Array:
    kept = [v if v.__class__ is int else None for v in values]
    return _array(kept, pa.int64(), lambda v: v if v is not None and _MIN_LONG <= v <= _MAX_LONG else None)


def _double_fit(v: Any) -> float | None:
    try:
        return float(v)
    except (OverflowError, TypeError):
        return None


def _double(values: list) -> pa.Array:
    kept = [v if v.__class__ is float or v.__class__ is int else None for v in values]
    return _array(kept, pa.float64(), _double_fit)


def _boolean(values: list) -> pa.Array:
    return pa.array([v if v.__class__ is bool else None for v in values], pa.bool_())


def _string(values: list) -> pa.Array:
    return pa.array([v if v.__class__ is str else None for v in values], pa.string())


def _json(values: list) -> pa.Array:
    return pa.array([None if v is None else dumps(v) for v in values], pa.string())


def _text(values: list) -> pa.Array:
    return pa.array([v if v.__class__ is str or v is None else dumps(v) for v in values], pa.string())


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
    strings = [v if v.__class__ is str else None for v in values]
    try:
        return pa.array(strings, pa.string()).cast(arrow_type)
    except (pa.ArrowException, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def _other(values: list, arrow_type: pa.DataType) -> pa.Array:
    def fit(v: Any) -> Any:
        try:
            return pa.scalar(v, arrow_type).as_py()
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return None

    return _array(values, arrow_type, fit)


def column_array(column: Column, values: list) -> pa.Array:
    kind = column.kind
    if kind == "long":
        return _long(values)
    if kind == "double":
        return _double(values)
    if kind == "boolean":
        return _boolean(values)
    if kind == "string":
        return _string(values)
    if kind == "json":
        return _json(values)
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
    return pa.array([str(uuid.uuid4()) for _ in range(n)], pa.string())


class BatchBuilder:
    """Builds record batches of one fixed schema: the `_airbyte_*` columns, then ``columns``."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.schema = arrow_schema(columns)

    def build(self, records: list[dict], emitted_at_ms: list[int], data_json: list[str]) -> pa.RecordBatch:
        n = len(records)
        emitted = pa.array([ms * 1000 for ms in emitted_at_ms], pa.int64()).cast(self.schema.field(1).type)
        arrays = [new_ids(n), emitted, pa.array(data_json, pa.string())]
        for column in self.columns:
            if column.key is None:
                arrays.append(pa.nulls(n, column.type))
            else:
                key = column.key
                arrays.append(column_array(column, [r.get(key) for r in records]))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)
