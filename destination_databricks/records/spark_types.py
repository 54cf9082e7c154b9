"""Column types as warehouses spell them (Spark's `long`, SQL's `bigint`, `decimal(38,9)`, `struct<…>`) → Arrow, for
schemas read from listings (backends/databricks/listing.py); read back through types.of_existing like any other
engine's types."""
from __future__ import annotations

import re

import pyarrow as pa

from .types import TIMESTAMP_TYPE, VARIANT

_SPARK_TYPES = {
    **{name: pa.int64() for name in ("long", "bigint")}, **{name: pa.int32() for name in ("integer", "int")},
    **{name: pa.int16() for name in ("short", "smallint")}, **{name: pa.int8() for name in ("byte", "tinyint")},
    **{name: pa.float32() for name in ("float", "real")}, "double": pa.float64(), "string": pa.string(),
    "boolean": pa.bool_(), "date": pa.date32(), "binary": pa.binary(), "variant": VARIANT,
    **{name: TIMESTAMP_TYPE for name in ("timestamp", "timestamp_ntz", "timestamp_ltz")},
}
_SPARK_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_SPARK_TEXT = re.compile(r"(?:var)?char\(\d+\)")


def of_spark(spelled: str) -> pa.DataType | None:
    """``bigint``, ``decimal(38,9)``, ``array<float>``, ``struct<a:int,b:string>``, ``map<string,bigint>`` → Arrow;
    None for a type not known here (the caller then asks the engine another way)."""
    text = spelled.strip()
    try:
        arrow, rest = _spark_type(text, text.lower(), 0)
    except (ValueError, IndexError):
        return None
    return arrow if rest == len(text) else None


def _after(text: str, at: int, mark: str) -> int:
    """Where the text goes on past ``mark``, which must stand at ``at``."""
    if text[at] != mark:
        raise ValueError(text)
    return at + 1


def _spark_type(text: str, low: str, at: int) -> tuple[pa.DataType, int]:
    """The type spelled at ``at`` and where it ends (``low``: the text in lower case, for type words; names keep
    their case)."""
    if low.startswith("array<", at):
        element, at = _spark_type(text, low, at + len("array<"))
        return pa.list_(element), _after(text, at, ">")
    if low.startswith("map<", at):
        key, at = _spark_type(text, low, at + len("map<"))
        value, at = _spark_type(text, low, _after(text, at, ","))
        return pa.map_(key, value), _after(text, at, ">")
    if low.startswith("struct<", at):
        fields: list[pa.Field] = []
        at += len("struct<")
        while not fields or text[at] == ",":
            start = at + 1 if fields else at
            colon = text.index(":", start)
            child, at = _spark_type(text, low, colon + 1)
            fields.append(pa.field(text[start:colon].strip().strip("`"), child))
        return pa.struct(fields), _after(text, at, ">")
    end = at
    depth = 0
    while end < len(text) and (depth or text[end] not in ",>"):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        end += 1
    word = low[at:end].strip()
    decimal = _SPARK_DECIMAL.fullmatch(word)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2))), end
    if word == "decimal":
        return pa.decimal128(10, 0), end
    if _SPARK_TEXT.fullmatch(word):
        return pa.string(), end
    if word not in _SPARK_TYPES:
        raise ValueError(word)
    return _SPARK_TYPES[word], end
