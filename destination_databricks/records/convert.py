"""JSON values → Arrow arrays, one function per column kind, each over a whole batch's values.

Each works per column; a value that does not fit its column becomes null there (the record is always
whole in `_airbyte_data`). Every function takes ``(values, arrow_type)``: records/types.py names which
one serves which kind.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from array import array
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..jsontext import dumps_bytes

_WIDE = Context(prec=80)  # room for 38 digits and exponents; the default has 28


def _array(values: Sequence, arrow_type: pa.DataType, fit: Callable[[Any], Any]) -> pa.Array:
    """Fast conversion; if Arrow refuses any value, check value by value and null the misfits."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def _inferred(values: Sequence) -> pa.Array | None:
    """Arrow's own C-level type inference; None when the values are of mixed kinds."""
    try:
        return pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None


# A JSON number written as a string ("15001.000000000": PyAirbyte's cache path sends decimals so).
_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_EXACT_DOUBLE_INTEGERS = 2 ** 53  # every integer up to this is one double, and a double this small is exact


def _whole(v: Any) -> int | None:
    """An integer value: an int; a float that is a whole number (`2.0`, `1e3`) small enough to be exact; a numeric
    text whose value is a whole number (`"15"`, `"15.000"`). Anything else is None."""
    if v.__class__ is int:
        return v
    if v.__class__ is float:
        return int(v) if v.is_integer() and abs(v) <= _EXACT_DOUBLE_INTEGERS else None
    if v.__class__ is str and _NUMBER_TEXT.fullmatch(v):
        d = Decimal(v)
        return int(d) if d == d.to_integral_value() and d.adjusted() < 40 else None
    return None


def integer(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    """BIGINT (and INT, SMALLINT, TINYINT of existing tables): integers in range, written as integers, whole
    floats or numeric texts (``_whole``); anything else is null."""
    inferred = _inferred(values)
    if inferred is not None and (inferred.type == pa.int64() or inferred.type == pa.null()):
        try:
            return inferred.cast(arrow_type)  # safe cast: an out-of-range value raises
        except pa.ArrowInvalid:
            pass
    low, high = -(2 ** (arrow_type.bit_width - 1)), 2 ** (arrow_type.bit_width - 1) - 1
    kept = [v if v.__class__ is int else _whole(v) for v in values]
    return _array(kept, arrow_type, lambda v: v if v is not None and low <= v <= high else None)


def _double_fit(v: Any) -> float | None:
    try:
        return float(v)
    except (OverflowError, TypeError):
        return None


def floating(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    """DOUBLE (and FLOAT of existing tables): JSON numbers, and numbers written as texts; NaN and ±Infinity kept;
    true/false are not numbers."""
    inferred = _inferred(values)
    # Arrow's inference reads true as 1.0 once a float came first: booleans take the strict path.
    if inferred is not None and inferred.type in (pa.float64(), pa.int64(), pa.null()) and bool not in set(map(type, values)):
        doubles = inferred.cast(pa.float64(), safe=False)  # an integer past 2^53: its nearest double, as float() reads it
    else:
        kept = [v if v.__class__ is float or v.__class__ is int else
                float(v) if v.__class__ is str and _NUMBER_TEXT.fullmatch(v) else None for v in values]
        doubles = _array(kept, pa.float64(), _double_fit)
    if arrow_type == pa.float64():
        return doubles
    # FLOAT: a finite double beyond float32's range is a misfit, not an infinity.
    narrow = doubles.cast(arrow_type, safe=False)
    overflow = pc.and_(pc.is_inf(narrow), pc.invert(pc.is_inf(doubles)))
    return pc.if_else(overflow, pa.scalar(None, arrow_type), narrow)


def boolean(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    inferred = _inferred(values)
    if inferred is not None and inferred.type in (pa.bool_(), pa.null()):
        return inferred.cast(pa.bool_())
    return pa.array([v if v.__class__ is bool else None for v in values], pa.bool_())


STRING = pa.string()


def string(values: Sequence, arrow_type: pa.DataType = STRING) -> pa.Array:
    """JSON strings; anything else is null."""
    inferred = _inferred(values)
    if inferred is not None and inferred.type in (pa.string(), pa.null()):
        return inferred.cast(pa.string())
    return pa.array([v if v.__class__ is str else None for v in values], pa.string())


def text(values: Sequence, arrow_type: pa.DataType = STRING) -> pa.Array:
    """An existing STRING column the stream now types otherwise: strings as they are, other values as JSON text."""
    return pa.array([v if v.__class__ is str or v is None else dumps_bytes(v) for v in values], pa.string())


@functools.cache
def _null_string() -> pa.Scalar:
    return pa.scalar(None, pa.string())  # not at import: see arrow_runtime (pa.scalar imports pandas)


def utf8_array(texts: bytes | bytearray, offsets: array, n: int) -> pa.Array:
    """``n`` strings stored back to back in ``texts``, string i at ``offsets[i]:offsets[i + 1]`` (no copy)."""
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(texts)])


def utf8_list(texts: list[bytes]) -> pa.Array:
    """Strings from UTF-8 texts, as one buffer (``pa.array`` of bytes objects would check and copy each)."""
    n = len(texts)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int32, count=n), out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(b"".join(texts)))


def json_texts(texts: bytearray, offsets: array, n: int) -> pa.Array:
    """A JSON column from each record's JSON text of it (records/reading.py); JSON null (or absent) is SQL NULL."""
    values = utf8_array(texts, offsets, n)
    return pc.if_else(pc.equal(values, "null"), _null_string(), values)


def _exact_decimal(v: Any) -> Decimal | None:
    """A value as an exact decimal: an int; a numeric text; a float by its shortest text, which is the source's
    value when the source wrote at most 15 significant digits (records/reading.py reads longer numbers of DECIMAL
    columns from their text, so they arrive here as texts). NaN, ±Infinity and anything else: None."""
    cls = v.__class__
    if cls is int:
        return Decimal(v)
    if cls is float:
        return Decimal(repr(v)) if math.isfinite(v) else None
    if cls is str and _NUMBER_TEXT.fullmatch(v):
        return Decimal(v)
    return None


def decimals(values: Sequence, arrow_type: pa.DataType) -> tuple[pa.Array, np.ndarray | None]:
    """DECIMAL(p,s): numbers and numeric texts by their exact value; with more fraction digits than ``s`` they are
    rounded half up to it (as Databricks casts), and the second result marks them (None: none was); a value with
    more integer digits than ``p - s``, or a fraction in a DECIMAL(p,0), is null."""
    scale, digits = arrow_type.scale, arrow_type.precision - arrow_type.scale
    limit = Decimal(10) ** digits
    exponent = Decimal(1).scaleb(-scale)
    kept: list[Decimal | None] = []
    rounded = []
    for v in values:
        d = _exact_decimal(v) if v is not None else None
        if d is None or d.adjusted() >= digits:
            kept.append(None)
            continue
        q = d.quantize(exponent, rounding=ROUND_HALF_UP, context=_WIDE)
        if (q != d and scale == 0) or abs(q) >= limit:
            kept.append(None)  # an integer column's fraction, or too large for the column
            continue
        if q != d:
            rounded.append(len(kept))
        kept.append(q)
    array = pa.array(kept, arrow_type)
    if not rounded:
        return array, None
    mask = np.zeros(len(kept), dtype=bool)
    mask[rounded] = True
    return array, mask


def decimal(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    return decimals(values, arrow_type)[0]


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


def _temporal(values: Sequence, arrow_type: pa.DataType, fit: Callable[[Any], Any]) -> pa.Array:
    try:
        return string(values).cast(arrow_type)
    except (pa.ArrowException, ValueError):
        return pa.array([fit(v) for v in values], arrow_type)


def date(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    return _temporal(values, arrow_type, _date_fit)


def _cast_each(strings: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """Cast, nulling exactly the values that do not parse: halves are retried, so a batch with k bad values
    costs about k·log2(n) vectorized casts, and every value is read by the same parser."""
    try:
        return strings.cast(arrow_type)
    except (pa.ArrowException, ValueError):
        if len(strings) <= 1:
            return pa.nulls(len(strings), arrow_type)
        middle = len(strings) // 2
        return pa.concat_arrays([_cast_each(strings[:middle], arrow_type), _cast_each(strings[middle:], arrow_type)])


# A zone designator after a time of day: Arrow parses such texts as zoned timestamps, the others as zone-less.
_ZONED = r"[T ]\d{2}:\d{2}.*([Zz]|[+-]\d{2}(:?\d{2})?)$"
# What Delta readers can read: years 0001 to 9999, in microseconds since the epoch.
_FIRST_US, _LAST_US = -62_135_596_800_000_000, 253_402_300_799_999_999


# A fraction of a second with more digits than a microsecond (SQL Server datetime2, .NET, nanosecond sources).
_FINE_FRACTION = r"(\.[0-9]{6})[0-9]+"


def finer_than_microseconds(values: Sequence) -> pa.Array:
    """Which values are texts with more than 6 fraction digits (``timestamp`` truncates them)."""
    return pc.fill_null(pc.match_substring_regex(string(values), r"\.[0-9]{7}"), False)


def timestamp(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    """ISO 8601 texts; zone-less values are read as UTC; fractions finer than a microsecond are truncated to it.
    One parser (Arrow's) for every value of a batch, so a misfit nulls only itself; years outside 0001–9999 are
    misfits too."""
    strings = pc.replace_substring_regex(string(values), _FINE_FRACTION, r"\1")
    try:
        parsed = strings.cast(arrow_type)
    except (pa.ArrowException, ValueError):
        zoned = pc.fill_null(pc.match_substring_regex(strings, _ZONED), False)
        with_zone = _cast_each(pc.if_else(zoned, strings, pa.scalar(None, pa.string())), arrow_type)
        local = _cast_each(pc.if_else(zoned, pa.scalar(None, pa.string()), strings), pa.timestamp(arrow_type.unit))
        parsed = pc.if_else(zoned, with_zone, local.cast(arrow_type))
    micros = parsed.cast(pa.int64())
    outside = pc.fill_null(pc.or_(pc.less(micros, _FIRST_US), pc.greater(micros, _LAST_US)), False)
    return pc.if_else(outside, pa.scalar(None, arrow_type), parsed) if pc.any(outside).as_py() else parsed


def nulls(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    """A column of a type the connector does not write (an existing table's STRUCT, say): always null."""
    return pa.nulls(len(values), arrow_type)


VECTOR = pa.list_(pa.float32())


def vector(values: Sequence, arrow_type: pa.DataType, dimension: int | None = None) -> pa.Array:
    """ARRAY<FLOAT> (a Vector Search embedding): lists of JSON numbers, of exactly ``dimension`` when given;
    any other value (a string, a list holding `true` or text, the wrong length) is null."""
    def fit(v: Any) -> list | None:
        if v.__class__ is not list or (dimension is not None and len(v) != dimension):
            return None
        if not all(x.__class__ is float or x.__class__ is int for x in v):
            return None
        return v

    try:
        array = pa.array(values, VECTOR)
        if any(v.__class__ is list and any(x.__class__ is bool for x in v) for v in values):
            raise TypeError("booleans are not numbers")  # Arrow reads true as 1.0
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        array = pa.array([fit(v) for v in values], VECTOR)
    if dimension is not None and len(array):
        wrong = pc.fill_null(pc.not_equal(pc.list_value_length(array), dimension), False)
        if pc.any(wrong).as_py():
            array = pc.if_else(wrong, pa.scalar(None, VECTOR), array)
    return array
