"""Which typed columns a stream's table has, and how each value is converted into its column.

The stream's Avro schema proposes columns; the existing table (if any) has the last word: an existing
column keeps its type when it holds the stream's values (types.retyping; else the table changes the column's
type first: Loader.retype), a new column is added only when schema evolution is on (or the table is new),
and a column of the table the stream no longer sends is written as null. So every Parquet file of a
sync has exactly the table's schema, and files can be committed into the table as they are.

Nested records, arrays, maps and multi-type unions become STRING columns holding JSON text: their
shape drifts between syncs more than top-level columns do, Delta cannot change a nested field's type,
and one misfit nested value would otherwise null the whole struct. Databricks reads them with the
`col:path` syntax or `from_json`.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa

from ..naming import AIRBYTE_COLUMNS, TableName, column_names
from . import types
from .types import TIMESTAMP_TYPE

# The connector's own columns, first in a table it creates. A table written before `_airbyte_meta` and
# `_airbyte_generation_id` existed gains them (nullable) at its next load, after its own columns.
AIRBYTE_SCHEMA = pa.schema(
    [
        pa.field(AIRBYTE_COLUMNS[0], pa.string(), nullable=False),
        pa.field(AIRBYTE_COLUMNS[1], TIMESTAMP_TYPE, nullable=False),
        pa.field(AIRBYTE_COLUMNS[2], pa.string(), nullable=False),
        pa.field(AIRBYTE_COLUMNS[3], pa.string(), nullable=True),  # JSON: {"sync_id": …, "changes": […]}
        pa.field(AIRBYTE_COLUMNS[4], pa.int64(), nullable=True),
    ]
)


@dataclass(frozen=True)
class ColumnTypes:
    """How new columns are typed: ``decimal_numbers``, `number` properties as DECIMAL(38,10) (number_column_type
    DECIMAL) instead of DOUBLE; ``variant``, nested values as VARIANT (json_column_type VARIANT) instead of JSON text
    in a STRING. Existing columns keep their types either way."""

    decimal_numbers: bool = False
    variant: bool = False


DEFAULT_TYPES = ColumnTypes()


@dataclass(frozen=True)
class Column:
    name: str  # the column in the table
    key: str | None  # the record property it is read from; None for a table column the stream lacks
    kind: str  # how a value becomes a column value: a kind of records/types.py
    type: pa.DataType
    comment: str = ""  # the property's description (else title) in the stream's schema


def stream_columns(avro_schema: dict, variant: bool = False) -> list[Column]:
    """The typed columns the stream's Avro schema proposes (after the `_airbyte_*` ones); ``variant``: nested values
    as VARIANT, not JSON text."""
    columns = []
    for field in avro_schema["fields"][len(AIRBYTE_COLUMNS):]:
        kind, arrow_type = types.of_avro(field["type"])
        if variant and kind == "json":
            kind, arrow_type = "variant", types.VARIANT
        columns.append(Column(field["name"], field.get("x-json-name", field["name"]), kind, arrow_type,
                              field.get("doc", "")))
    return columns


def table_columns(proposed: Sequence[Column], existing: pa.Schema | None, evolve: bool,
                  table: TableName | None = None, required: Collection[str] = ()) -> list[Column]:
    """The typed columns the staged files will have: the table's, plus new ones if allowed (``evolve``) or
    needed (``required``: properties whose columns a deduplicated stream's rules read, its cursor and deletes)."""
    if existing is None:
        return list(proposed)
    names = column_names([c.key or c.name for c in proposed], [f.name for f in existing])  # read back, not re-derived
    by_lower = {name.lower(): replace(c, name=name) for c, name in zip(proposed, names)}
    columns = []
    seen = set()
    for field in existing:
        if field.name.lower() in AIRBYTE_COLUMNS:
            continue
        match = by_lower.get(field.name.lower())
        seen.add(field.name.lower())
        if match is not None and match.kind == "variant" and types.canonical(field.type) != types.VARIANT:
            match = replace(match, kind="json", type=pa.string())  # only new columns are VARIANT (json_column_type)
        if match is not None and types.retyping(field.type, match.kind, match.type) is not None:
            columns.append(replace(match, name=field.name))  # the column takes the stream's type (Loader.retype)
            continue
        kind = types.of_existing(field.type, match.kind if match else None, match.type if match else None,
                                 f"Column {field.name!r} of table {table}")
        columns.append(Column(field.name, match.key if match else None, kind, types.canonical(field.type),
                              match.comment if match else ""))
    columns += [c for c in by_lower.values() if c.name.lower() not in seen and (evolve or c.key in required)]
    return columns


COMMENT = "comment"  # the field metadata key of a column's comment (Delta's own for column comments)


def column_comments(schema: pa.Schema) -> dict[str, str]:
    """Each commented column of ``schema`` (its field's `comment` metadata) → its comment."""
    return {f.name: f.metadata[COMMENT.encode()].decode() for f in schema
            if f.metadata and f.metadata.get(COMMENT.encode())}


def file_schema(columns: Sequence[Column], existing: pa.Schema | None = None) -> pa.Schema:
    """The staged files' schema: the table's columns in the table's order, then what it lacks (the connector's
    columns first, then new typed ones). Statements that load by position (INSERT … SELECT *) then line up."""
    ours = {f.name: f for f in AIRBYTE_SCHEMA}
    typed = {c.name: pa.field(c.name, c.type, nullable=True, metadata={COMMENT: c.comment} if c.comment else None)
             for c in columns}
    fields = []
    for field in existing or ():
        found = ours.pop(field.name.lower(), None) or typed.pop(field.name, None)
        if found is not None:
            fields.append(found)
    return pa.schema(fields + list(ours.values()) + list(typed.values()))
