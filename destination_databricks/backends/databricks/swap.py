"""The statements of a truncating refresh's swap on Databricks (refresh.py): the shadow's rows become the table's
in one commit (a first one may add the columns the shadow brings, touching no row)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from ...dedup import GENERATION, Merge, Truncation, is_deleted
from ...naming import TableName
from ...refresh import Refresh
from . import sql
from .sql_client import TableExists

if TYPE_CHECKING:
    from .loader import DatabricksLoader


def swap(loader: DatabricksLoader, refresh: Refresh, table: TableName, schema: pa.Schema, merge: Merge | None) -> None:
    """Make ``table`` hold the refresh's rows (``schema``: the stream's columns, for a table created empty)."""
    shadow, catalog = refresh.shadow, loader.catalog
    found = loader.table_schema(shadow)
    existing = loader.table_schema(table)
    if existing is None:
        loader.ensure_schema(table.schema)
        cdf = table in loader.change_data_feed
        if found is None:  # no rows came: an empty table of the stream's shape
            statement = sql.create_table(catalog, table, schema, loader.location(table), "Created by a refresh",
                                         cluster_by=merge.keys if merge else (), change_data_feed=cdf)
        else:
            statement = create_statement(catalog, table, shadow, found, loader.location(table), merge, cdf)
        try:
            loader.client.execute(statement, f"create {table} from its refresh")
            loader.known(table, found if found is not None else schema)
            return
        except TableExists:
            pass
        existing = loader.reread(table)  # created meanwhile (outside the handler): swapped into as it is now
        if existing is None:
            raise TableExists(f"{table} exists, yet its columns cannot be read")
    truncation = refresh.truncation
    if truncation is not None and found is not None and GENERATION in existing.names and not len(
            loader.client.execute(sql.kept_row(catalog, table, truncation), f"look for rows {table} keeps")):
        truncation = None  # no row stays: the shadow's rows replace the table's, with no join to match them
    for statement in swap_statements(catalog, table, existing, shadow, found, truncation, merge):
        loader.client.execute(statement, f"replace the rows of {table} by its refresh")
    grown = [f for f in (found or []) if f.name not in existing.names]
    loader.known(table, pa.schema(list(existing) + grown))


def _kept_rows(merge: Merge | None) -> str | None:
    """The shadow's rows that reach the table: a deduplicated stream's hard deletes do not (the shadow keeps them,
    so a delete applies to the table's row of its key at the swap)."""
    return f"NOT ({is_deleted(merge)})" if merge is not None and merge.deletes else None


def create_statement(catalog: str, table: TableName, shadow: TableName, shadow_schema: pa.Schema,
                     location: str | None, merge: Merge | None, change_data_feed: bool) -> str:
    """The table did not exist: it is created from the shadow's rows."""
    rows = sql.shadow_rows(catalog, shadow, shadow_schema.names, shadow_schema, _kept_rows(merge))
    return sql.create_table_as(catalog, table, rows, location, cluster_by=merge.keys if merge else (),
                               change_data_feed=change_data_feed)


def swap_statements(catalog: str, table: TableName, existing: pa.Schema, shadow: TableName,
                    shadow_schema: pa.Schema | None, truncation: Truncation | None, merge: Merge | None
                    ) -> list[str]:
    """The statements that make the existing ``table`` hold the new generation; ``truncation`` None: the shadow's
    rows replace every row (an overwrite); ``shadow_schema`` None: no rows came, so only older generations go."""
    if truncation is not None and GENERATION not in existing.names:
        truncation = None  # the table predates generations: every row of it is older than any
    if shadow_schema is None:
        return [sql.truncate(catalog, table, truncation or Truncation(0, column=False))]
    statements = []
    new = [f for f in shadow_schema if f.name not in existing.names]
    if new:  # first, so the commit's conditions and its rows can name the columns the table gains now
        statements.append(sql.add_columns_from(catalog, table, sql.table_ref(catalog, shadow)))
    target = pa.schema(list(existing) + new)
    if truncation is None:
        rows = sql.shadow_rows(catalog, shadow, shadow_schema.names, target, _kept_rows(merge))
        statements.append(sql.replace_rows(catalog, table, rows))
    elif merge is None:
        rows = sql.shadow_rows(catalog, shadow, shadow_schema.names, target)
        statements.append(sql.swap_appending(catalog, table, rows, truncation))
    else:
        rows = sql.shadow_rows(catalog, shadow, shadow_schema.names, target)
        statements.append(sql.swap_merging(catalog, table, rows, merge, truncation))
    return statements
