"""A table made ready for Zerobus's rows: Zerobus writes only into existing tables and never changes their columns,
so a table is created (one statement, with its layout and comments) or given the columns it lacks (one statement,
the same schema evolution as a staged load) before its first batch is sent. A table that has them costs nothing."""
from __future__ import annotations

import pyarrow as pa

from ...naming import TableName
from ..databricks import ddl, sql
from ..databricks.loader import DatabricksLoader


def prepare(loader: DatabricksLoader, table: TableName, schema: pa.Schema, comment: str) -> None:
    """Make ``table`` hold every column of ``schema`` (the stream's batches, which keep the table's columns first)."""
    existing = loader.table_schema(table)
    if existing is None:
        loader.ensure_schema(table.schema)
        layout = loader.layouts.new_table(table, (), schema, comment)
        loader.client.execute(ddl.create_table(loader.catalog, table, schema, None, comment, layout),
                              f"create table {table} for Zerobus")
    else:
        loader.layouts.existing_table(loader.client, table, (), schema, comment)
        if any(name not in existing.names for name in schema.names):
            loader.client.execute(sql.add_columns_from(loader.catalog, table, sql.no_rows(schema)),
                                  f"add new columns to {table} for Zerobus")
    loader.known(table, schema)
