"""A truncating refresh's swap on Databricks (refresh.py): the shadow's rows and those of the stream's last round
(still staged: they go straight into the swap, not into the shadow first) become the table's in one commit (a
first statement may add the columns they bring, touching no row)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ...dedup import GENERATION, Merge, Truncation, is_deleted
from ...naming import TableName
from ...refresh import Refresh
from ...staging.base import StagedTable
from . import sql
from .sql_client import TableExists

if TYPE_CHECKING:
    from .loader import DatabricksLoader


@dataclass(frozen=True)
class Rows:
    """Where a swap's rows come from (the shadow table, the last round's staged files, or both as one), one row per
    key for a deduplicated stream; ``source`` can follow FROM."""

    source: str
    schema: pa.Schema


def swap(loader: DatabricksLoader, refresh: Refresh, table: TableName, schema: pa.Schema, merge: Merge | None,
         staged: StagedTable | None, comment: str = "") -> None:
    """Make ``table`` hold the refresh's rows: its shadow's and ``staged``'s (the rows of its last round, which
    go straight into the swap rather than into the shadow first). ``schema``: the stream's columns, for a table
    created empty."""
    shadow = loader.table_schema(refresh.shadow)
    replace_rows(loader, refresh, table, schema, merge, rows_of(loader, refresh.shadow, shadow, staged, merge), comment)


def rows_of(loader: DatabricksLoader, shadow: TableName, found: pa.Schema | None, staged: StagedTable | None,
            merge: Merge | None) -> Rows | None:
    """The refresh's rows: the shadow's (``found``: its columns; None: there is none) and the staged ones, one row
    per key for a deduplicated stream (the newest of both: the shadow holds earlier rounds' rows); None: no rows."""
    last = Rows(loader.source(staged), staged.schema) if staged is not None and staged.files else None
    if found is None:
        if last is None or merge is None:
            return last
        return Rows(f"({sql.newest_rows(last.source, last.schema.names, merge)})", last.schema)
    earlier = Rows(sql.table_ref(loader.catalog, shadow), found)
    if last is None:  # the shadow holds one row per key already
        return earlier
    # The last round's columns, in their types, then those only earlier rounds had.
    columns = pa.schema(list(last.schema) + [f for f in found if f.name not in last.schema.names])
    source = f"({sql.union_rows([(earlier.source, earlier.schema), (last.source, last.schema)], columns)})"
    if merge is not None:
        source = f"({sql.newest_rows(source, columns.names, merge)})"
    return Rows(source, columns)


def replace_rows(loader: DatabricksLoader, refresh: Refresh, table: TableName, schema: pa.Schema,
                 merge: Merge | None, rows: Rows | None, comment: str = "") -> None:
    """Make ``table`` hold ``rows`` (None: no row came) in one commit (``comment``: a new table's)."""
    catalog = loader.catalog
    existing = loader.table_schema(table)
    if existing is None:
        loader.ensure_schema(table.schema)
        layout = loader.layouts.new_table(table, merge.keys if merge else (), schema, comment)
        # From the rows in one statement, unless there are none or columns need comments (a CTAS cannot give them):
        # then an empty table of the stream's shape, which the rows come into as into an existing table.
        from_rows = rows if rows is not None and not sql.has_comments(schema) else None
        statement = (create_statement(catalog, table, from_rows, loader.location(table), merge, layout, comment)
                     if from_rows is not None else
                     sql.create_table(catalog, table, schema, loader.location(table), comment, layout))
        try:
            loader.client.execute(statement, f"create {table} from its refresh")
        except TableExists:
            existing = None  # created meanwhile by another writer: swapped into as it is now (read below)
        else:
            loader.known(table, from_rows.schema if from_rows is not None else schema)
            if rows is None or from_rows is not None:
                return
            existing = schema
        existing = existing or loader.reread(table)
        if existing is None:
            raise TableExists(f"{table} exists, yet its columns cannot be read")
    else:
        loader.layouts.existing_table(loader.client, table, merge.keys if merge else (), schema, comment)
    truncation = refresh.truncation
    if truncation is not None and rows is not None and GENERATION in existing.names and not keeps_rows(
            loader, table, truncation):
        truncation = None  # no row stays: the refresh's rows replace the table's, with no join to match them
    for statement in swap_statements(catalog, table, existing, rows, truncation, merge):
        loader.client.execute(statement, f"replace the rows of {table} by its refresh")
    grown = [f for f in (rows.schema if rows is not None else []) if f.name not in existing.names]
    loader.known(table, pa.schema(list(existing) + grown))


def keeps_rows(loader: DatabricksLoader, table: TableName, truncation: Truncation) -> bool:
    """Whether the swap keeps a row of ``table`` (of a generation at or above the minimum): from the statistics in
    its Delta log where the connector reads it (no statement), else by a look for one row."""
    location = loader.location(table)
    if location is not None:
        try:
            newest = loader.logs.largest(location, GENERATION)
            return newest is not None and newest >= truncation.minimum
        except LookupError:
            pass
    return bool(len(loader.client.execute(sql.kept_row(loader.catalog, table, truncation),
                                          f"look for rows {table} keeps")))


def _kept_rows(merge: Merge | None) -> str | None:
    """The shadow's rows that reach the table: a deduplicated stream's hard deletes do not (the shadow keeps them,
    so a delete applies to the table's row of its key at the swap)."""
    return f"NOT ({is_deleted(merge)})" if merge is not None and merge.deletes else None


def create_statement(catalog: str, table: TableName, rows: Rows, location: str | None, merge: Merge | None,
                     layout: sql.Layout, comment: str) -> str:
    """The table did not exist: it is created from the refresh's rows."""
    select = sql.rows_from(rows.source, rows.schema.names, rows.schema, _kept_rows(merge))
    return sql.create_table_as(catalog, table, select, location, layout, comment)


def swap_statements(catalog: str, table: TableName, existing: pa.Schema, rows: Rows | None,
                    truncation: Truncation | None, merge: Merge | None) -> list[str]:
    """The statements that make the existing ``table`` hold the new generation; ``truncation`` None: the refresh's
    rows replace every row (an overwrite); ``rows`` None: no rows came, so only older generations go."""
    if truncation is not None and GENERATION not in existing.names:
        truncation = None  # the table predates generations: every row of it is older than any
    if rows is None:
        return [sql.truncate(catalog, table, truncation or Truncation(0, column=False))]
    statements = []
    new = [f for f in rows.schema if f.name not in existing.names]
    if new:  # first, so the commit's conditions and its rows can name the columns the table gains now
        statements.append(sql.add_columns_from(catalog, table, rows.source))
    target = pa.schema(list(existing) + new)
    if truncation is None:
        select = sql.rows_from(rows.source, rows.schema.names, target, _kept_rows(merge))
        statements.append(sql.replace_rows(catalog, table, select))
    elif merge is None:
        select = sql.rows_from(rows.source, rows.schema.names, target)
        statements.append(sql.swap_appending(catalog, table, select, truncation))
    else:
        select = sql.rows_from(rows.source, rows.schema.names, target)
        statements.append(sql.swap_merging(catalog, table, select, merge, truncation))
    return statements
