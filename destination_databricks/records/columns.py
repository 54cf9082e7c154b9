"""Which typed columns a stream's table has, and how each value is converted into its column.

The stream's Avro schema proposes columns; the existing table (if any) has the last word: an existing
column keeps its type, a new column is added only when schema evolution is on (or the table is new),
and a column of the table the stream no longer sends is written as null. So every Parquet file of a
sync has exactly the table's schema, and files can be committed into the table as they are.

Nested records, arrays, maps and multi-type unions become STRING columns holding JSON text: their
shape drifts between syncs more than top-level columns do, Delta cannot change a nested field's type,
and one misfit nested value would otherwise null the whole struct. Databricks reads them with the
`col:path` syntax or `from_json`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa

from ..naming import AIRBYTE_COLUMNS

TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
AIRBYTE_SCHEMA = pa.schema(
    [
        pa.field(AIRBYTE_COLUMNS[0], pa.string(), nullable=False),
        pa.field(AIRBYTE_COLUMNS[1], TIMESTAMP_TYPE, nullable=False),
        pa.field(AIRBYTE_COLUMNS[2], pa.string(), nullable=False),
    ]
)

@dataclass(frozen=True)
class Column:
    name: str  # the column in the table
    key: str | None  # the record property it is read from; None for a table column the stream lacks
    kind: str  # how a value becomes a column value: see column_array in records/batch.py
    type: pa.DataType


def _kind_and_type(avro: Any) -> tuple[str, pa.DataType]:
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            return "json", pa.string()
        avro = branches[0]
    if isinstance(avro, str):
        simple = {
            "string": ("string", pa.string()),
            "long": ("long", pa.int64()),
            "int": ("long", pa.int64()),
            "double": ("double", pa.float64()),
            "float": ("double", pa.float64()),
            "boolean": ("boolean", pa.bool_()),
        }
        return simple.get(avro, ("json", pa.string()))
    logical = avro.get("logicalType")
    if logical == "decimal":
        return "decimal", pa.decimal128(avro["precision"], avro.get("scale", 0))
    if logical == "date":
        return "date", pa.date32()
    if logical in ("timestamp-micros", "local-timestamp-micros"):
        return "timestamp", TIMESTAMP_TYPE
    if avro.get("type") == "string" and not avro.get("x-airbyte-json"):
        return "string", pa.string()
    return "json", pa.string()


def stream_columns(avro_schema: dict) -> list[Column]:
    """The typed columns the stream's Avro schema proposes (after the `_airbyte_*` ones)."""
    columns = []
    for field in avro_schema["fields"][len(AIRBYTE_COLUMNS):]:
        kind, arrow_type = _kind_and_type(field["type"])
        columns.append(Column(field["name"], field.get("x-json-name", field["name"]), kind, arrow_type))
    return columns


def _kind_for_existing(arrow_type: pa.DataType, proposed: Column | None) -> str:
    if proposed is not None and proposed.type == arrow_type:
        return proposed.kind
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if arrow_type == pa.int64():
        return "long"
    if arrow_type == pa.float64():
        return "double"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_date32(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return "other"


def table_columns(proposed: Sequence[Column], existing: pa.Schema | None, evolve: bool) -> list[Column]:
    """The typed columns the staged files will have: the table's, plus new ones if allowed."""
    if existing is None:
        return list(proposed)
    by_lower = {c.name.lower(): c for c in proposed}
    columns = []
    seen = set()
    for field in existing:
        if field.name in AIRBYTE_COLUMNS:
            continue
        match = by_lower.get(field.name.lower())
        seen.add(field.name.lower())
        columns.append(
            Column(field.name, match.key if match else None, _kind_for_existing(field.type, match), field.type)
        )
    if evolve:
        columns += [c for c in proposed if c.name.lower() not in seen]
    return columns


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema(list(AIRBYTE_SCHEMA) + [pa.field(c.name, c.type, nullable=True) for c in columns])
