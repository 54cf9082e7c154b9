"""The statements that change a table's column types on Databricks (records/types.py `retyping`): Delta's type
widening in place where it allows every change, else one CREATE OR REPLACE TABLE … AS SELECT (one atomic commit;
the table's history stays) with each changed column's values taken anew from `_airbyte_data`."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from ...dedup import Merge
from ...naming import AIRBYTE_COLUMNS, TableName, quote
from ...records import types
from ...records.columns import Column
from . import sql

if TYPE_CHECKING:
    from .loader import DatabricksLoader

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _value(column: Column, current: str) -> str:
    """A changed column's value: its property's JSON value in `_airbyte_data` (a string as it is, anything else as
    JSON text), cast to the new type; the column's current value where the property's name is no plain JSON path."""
    key = column.key or column.name
    if _PLAIN.fullmatch(key):
        raw = f"get_json_object({quote(AIRBYTE_COLUMNS[2])}, {sql.literal('$.' + key)})"
    else:
        raw = f"CAST({quote(current)} AS STRING)"
    kind_sql = types.sql_type(column.type)
    return raw if kind_sql == "STRING" else f"TRY_CAST({raw} AS {kind_sql})"


def statements(catalog: str, table: TableName, existing: pa.Schema, columns: Sequence[Column],
               location: str | None, layout: sql.Layout) -> list[str]:
    """The statements that give ``columns`` (columns of ``table`` whose type changes) their new types."""
    changes = [types.retyping(existing.field(c.name).type, c.kind, c.type) for c in columns]
    if all(change == "widen" for change in changes):
        return [sql.enable_type_widening(catalog, table)] + [
            sql.alter_column_type(catalog, table, c.name, c.type) for c in columns]
    changed = {c.name: c for c in columns}
    select = ", ".join(f"{_value(changed[f.name], f.name)} AS {quote(f.name)}" if f.name in changed else quote(f.name)
                       for f in existing)
    return [sql.create_table_as(catalog, table, f"SELECT {select} FROM {sql.table_ref(catalog, table)}", location,
                                layout, replace=True)]


def retype(loader: DatabricksLoader, table: TableName, columns: Sequence[Column], merge: Merge | None) -> None:
    """Give ``columns`` of ``table`` their new types; the loader then knows the table's new schema."""
    existing = loader.table_schema(table)
    assert existing is not None
    for statement in statements(loader.catalog, table, existing, columns, loader.location(table),
                                loader.layouts.new_table(table, merge.keys if merge else ())):
        loader.client.execute(statement, f"change the types of columns of {table}")
    changed = {c.name: c.type for c in columns}
    loader.known(table, pa.schema([pa.field(f.name, changed.get(f.name, f.type)) for f in existing]))
