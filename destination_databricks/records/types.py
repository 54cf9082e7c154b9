"""The one table of column types: for each kind of column, its Arrow type, its Delta/SQL type, the JSON
schema `discover` reports, how JSON values convert into it, and how an existing table's column type is
read back as it. Every layer (Avro → columns, batches, SQL, discover, reading a warehouse's schemas) asks
this module; none decides a type on its own.

A *kind* says how values become column values. Several kinds may share a column type: a STRING column
holds the stream's strings (`string`), nested values as JSON text (`json`), or, for an existing STRING
column the stream now types otherwise, strings as they are and other values as JSON text (`text`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import ConfigError
from . import convert

TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
# A Databricks VARIANT column (json_column_type VARIANT): in the connector's schemas, Arrow's JSON type; in staged
# files, the JSON text (its storage, a STRING), which the load statement turns into VARIANT (parse_json).
VARIANT = pa.json_(pa.string())
# `number` properties as exact decimals (number_column_type DECIMAL), as other tools type them.
NUMBER_DECIMAL = pa.decimal128(38, 10)
# How engines hand a VARIANT column to Arrow (Spark Connect engines: the binary encoding).
_VARIANT_STRUCT = pa.struct([pa.field("value", pa.binary(), nullable=False), pa.field("metadata", pa.binary(), nullable=False)])


@dataclass(frozen=True)
class Kind:
    name: str
    arrow: pa.DataType | None  # None: parametrised (DECIMAL(p,s)), the column's own type
    sql: str  # the Delta/SQL type name (DECIMAL takes its precision and scale)
    json_schema: dict  # what discover says a column of this kind holds
    convert: Callable[[Sequence, pa.DataType], pa.Array]  # a batch's JSON values → the column
    read_back: bool = True  # an existing column of this Arrow type is given this kind (else another kind of it)


def _nullable(json_type: str, **more: Any) -> dict:
    return {"type": ["null", json_type], **more}


def _json_texts_only(values: Sequence, arrow_type: pa.DataType) -> pa.Array:
    raise AssertionError("JSON columns are built from the buffer's texts (records/batch.py), not from values")


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("string", pa.string(), "STRING", _nullable("string"), convert.string, read_back=False),
    Kind("json", pa.string(), "STRING", _nullable("string"), _json_texts_only, read_back=False),
    Kind("text", pa.string(), "STRING", _nullable("string"), convert.text),
    Kind("long", pa.int64(), "BIGINT", _nullable("integer"), convert.integer),
    Kind("int", pa.int32(), "INT", _nullable("integer"), convert.integer),
    Kind("smallint", pa.int16(), "SMALLINT", _nullable("integer"), convert.integer),
    Kind("tinyint", pa.int8(), "TINYINT", _nullable("integer"), convert.integer),
    Kind("double", pa.float64(), "DOUBLE", _nullable("number"), convert.floating),
    Kind("float", pa.float32(), "FLOAT", _nullable("number"), convert.floating),
    Kind("boolean", pa.bool_(), "BOOLEAN", _nullable("boolean"), convert.boolean),
    Kind("decimal", None, "DECIMAL", _nullable("integer"), convert.decimal),
    Kind("date", pa.date32(), "DATE", _nullable("string", format="date"), convert.date),
    Kind("timestamp", TIMESTAMP_TYPE, "TIMESTAMP",
         _nullable("string", format="date-time", airbyte_type="timestamp_with_timezone"), convert.timestamp),
    Kind("variant", VARIANT, "VARIANT", {"type": ["null", "object", "array", "string", "number", "boolean"]},
         _json_texts_only),
    # A Vector Search embedding column: only a column the vector_search config names is typed so (vector_kind).
    Kind("vector", convert.VECTOR, "ARRAY<FLOAT>", _nullable("array", items={"type": "number"}), convert.vector),
)}


def vector_kind(dimension: int) -> str:
    """The kind of an embedding column of ``dimension`` floats (a value of another length is null)."""
    name = f"vector{dimension}"
    if name not in KINDS:
        KINDS[name] = Kind(name, convert.VECTOR, "ARRAY<FLOAT>", KINDS["vector"].json_schema,
                           lambda values, arrow_type: convert.vector(values, arrow_type, dimension), read_back=False)
    return name

# What the stream's Avro schema proposes (records/avro_schema.py writes exactly these).
_AVRO_PRIMITIVES = {"string": "string", "long": "long", "double": "double", "boolean": "boolean"}
_AVRO_LOGICAL = {"date": "date", "timestamp-micros": "timestamp", "local-timestamp-micros": "timestamp"}


def canonical(arrow_type: pa.DataType) -> pa.DataType:
    """A type as read from an engine → the connector's own spelling (engines differ in time zones and
    string layouts)."""
    if pa.types.is_timestamp(arrow_type):
        return TIMESTAMP_TYPE
    if arrow_type in (pa.string_view(), pa.large_string()):
        return pa.string()
    if arrow_type == _VARIANT_STRUCT or (pa.types.is_struct(arrow_type) and {f.name for f in arrow_type} == {"value", "metadata"}
                                         and all(pa.types.is_binary(f.type) for f in arrow_type)):
        return VARIANT
    return arrow_type


STORED_AS = b"airbyte.stored_as"  # field metadata of a staged column whose table type is another (b"variant")


def stored(schema: pa.Schema) -> pa.Schema:
    """The schema of staged files for a table of ``schema``: a VARIANT column is its JSON text (marked so)."""
    if not any(f.type == VARIANT for f in schema):
        return schema
    return pa.schema([f.with_type(pa.string()).with_metadata({**(f.metadata or {}), STORED_AS: b"variant"})
                      if f.type == VARIANT else f for f in schema], metadata=schema.metadata)


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, canonical(f.type), nullable=True) for f in schema])


def _kinds_of(arrow_type: pa.DataType) -> list[Kind]:
    if pa.types.is_decimal(arrow_type):
        return [KINDS["decimal"]]
    return [k for k in KINDS.values() if k.arrow == arrow_type]


def of_avro(avro: Any) -> tuple[str, pa.DataType]:
    """The kind and Arrow type of a column the stream's Avro field type proposes."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            return "json", pa.string()
        avro = branches[0]
    if isinstance(avro, str):
        name = _AVRO_PRIMITIVES.get(avro, "json")
        return name, KINDS[name].arrow
    logical = avro.get("logicalType")
    if logical == "decimal":
        return "decimal", pa.decimal128(avro["precision"], avro.get("scale", 0))
    if logical in _AVRO_LOGICAL:
        name = _AVRO_LOGICAL[logical]
        return name, KINDS[name].arrow
    if avro.get("type") == "string" and not avro.get("x-airbyte-json"):
        return "string", pa.string()
    return "json", pa.string()


def of_existing(arrow_type: pa.DataType, proposed_kind: str | None, proposed_type: pa.DataType | None,
                where: str) -> str:
    """The kind of an existing table column of ``arrow_type``: the stream's own when the types agree, else
    the table's. ``proposed_kind`` None: the stream does not send the column (it is written null).
    A type this connector cannot write values into is a ConfigError naming ``where`` (table and column)."""
    arrow_type = canonical(arrow_type)
    if proposed_kind is not None and proposed_type == arrow_type:
        return proposed_kind
    kinds = _kinds_of(arrow_type)
    if kinds:
        return next(k.name for k in kinds if k.read_back)
    if proposed_kind is None:
        return "absent"  # e.g. a STRUCT added by another tool: the stream never fills it
    raise ConfigError(f"{where} has type {arrow_type}, which this connector cannot write values into; "
                      "drop or rename that column, or leave the property out of the stream.")


def sql_type(arrow_type: pa.DataType) -> str:
    """The Delta/SQL type of a column (nested types, from tables written by other tools, spelled out too)."""
    arrow_type = canonical(arrow_type)
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    kinds = _kinds_of(arrow_type)
    if kinds:
        return kinds[0].sql
    if pa.types.is_struct(arrow_type):
        return "STRUCT<" + ", ".join(f"`{f.name.replace('`', '``')}`: {sql_type(f.type)}" for f in arrow_type) + ">"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"ARRAY<{sql_type(arrow_type.value_type)}>"
    if pa.types.is_map(arrow_type):
        return f"MAP<{sql_type(arrow_type.key_type)}, {sql_type(arrow_type.item_type)}>"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BINARY"
    raise ConfigError(f"Arrow type {arrow_type} has no Delta/SQL type this connector knows.")


def json_schema(arrow_type: pa.DataType) -> dict:
    """What discover reports for a column of ``arrow_type``."""
    arrow_type = canonical(arrow_type)
    if pa.types.is_decimal(arrow_type):
        return _nullable("integer" if arrow_type.scale == 0 else "number")
    kinds = _kinds_of(arrow_type)
    if kinds:
        return dict(kinds[0].json_schema)
    if pa.types.is_struct(arrow_type):
        return _nullable("object", properties={f.name: json_schema(f.type) for f in arrow_type})
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _nullable("array", items=json_schema(arrow_type.value_type))
    return _nullable("string")


def column_array(kind_name: str, arrow_type: pa.DataType, values: Sequence) -> pa.Array:
    """A batch's values of one column → the column, as its kind converts them."""
    if kind_name == "absent":
        return convert.nulls(values, arrow_type)
    return KINDS[kind_name].convert(values, arrow_type)


_INTEGER_DIGITS = {8: 3, 16: 5, 32: 10, 64: 19}  # the decimal digits an integer of that many bits may need


def retyping(existing: pa.DataType, proposed_kind: str, proposed: pa.DataType) -> str | None:
    """How an existing column takes the values the stream now types as ``proposed``: None, it holds them as it is
    (the same type, a STRING, a wider number); "widen", Delta's type widening changes its type in place (integer
    widths, float to double, small integers to double, integers and decimals to wider decimals); "rebuild", the
    table is rewritten with the new type (a STRING for JSON or text, a DOUBLE for BIGINT, a TIMESTAMP for a DATE,
    and any other change), so new values are never all nulled in the old type."""
    existing = canonical(existing)
    if existing == proposed or pa.types.is_string(existing) or not _kinds_of(existing) or proposed_kind == "absent":
        return None  # (a column of a type this table of kinds does not know is not ours to change)
    if existing == VARIANT:
        return None  # a VARIANT holds any JSON value
    if proposed_kind in ("json", "string", "text"):
        return "rebuild"
    integer, decimal = pa.types.is_integer, pa.types.is_decimal
    if integer(existing) and integer(proposed):
        return "widen" if proposed.bit_width > existing.bit_width else None
    if pa.types.is_floating(existing) and (integer(proposed) or decimal(proposed)):
        return None  # a float column holds them (as floats)
    if existing == pa.float32() and proposed == pa.float64():
        return "widen"
    if integer(existing) and proposed == pa.float64():
        return "widen" if existing.bit_width <= 32 else "rebuild"
    if integer(existing) and decimal(proposed):
        fits = proposed.precision - proposed.scale >= _INTEGER_DIGITS[existing.bit_width]
        return "widen" if fits else "rebuild"
    if decimal(existing) and existing.scale > 0 and pa.types.is_floating(proposed):
        return None  # a `number` column made with number_column_type DECIMAL keeps its exact type when it is switched off
    if decimal(existing) and (integer(proposed) or decimal(proposed)):
        digits = _INTEGER_DIGITS[proposed.bit_width] if integer(proposed) else proposed.precision - proposed.scale
        scale = 0 if integer(proposed) else proposed.scale
        if digits <= existing.precision - existing.scale and scale <= existing.scale:
            return None
        wider = decimal(proposed) and proposed.precision - proposed.scale >= existing.precision - existing.scale \
            and proposed.scale >= existing.scale
        return "widen" if wider else "rebuild"
    if pa.types.is_timestamp(existing) and proposed == pa.date32():
        return None
    return "rebuild"
