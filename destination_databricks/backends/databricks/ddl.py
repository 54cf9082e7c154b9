"""The statements that define tables (and schemas and volumes) on Databricks, and the quoting every statement uses:
identifiers backtick-quoted by naming.quote (a backtick inside is doubled), string literals single-quoted with `\\`
and `'` escaped, column types from the type table (records/types.py). sql.py, which writes the statements that move
rows, takes these from here; the two are the only places statements are written."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from ...naming import TableName, quote
from ...records.columns import column_comments
from ...records.types import sql_type


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_ref(catalog: str, table: TableName) -> str:
    return f"{quote(catalog)}.{quote(table.schema)}.{quote(table.table)}"


def column_list(schema: pa.Schema, comments: bool = False) -> str:
    """Each column's name and type (``comments``: and its COMMENT, records/columns.py `column_comments`, if any)."""
    said = column_comments(schema) if comments else {}
    return ", ".join(f"{quote(f.name)} {sql_type(f.type)}"
                     + (f" COMMENT {literal(said[f.name])}" if f.name in said else "") for f in schema)


def has_comments(schema: pa.Schema) -> bool:
    """Whether a column of ``schema`` has a comment (column_list gives it)."""
    return bool(column_comments(schema))


def create_schema(catalog: str, schema: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote(catalog)}.{quote(schema)}"


@dataclass(frozen=True)
class Layout:
    """How a new table is laid out (backends/databricks/layouts.py decides): liquid clustering by columns or AUTO,
    or partitioning, and its table properties."""

    clustering: tuple[str, ...] | str = ()
    partition_by: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()


def _clustering(clustering: tuple[str, ...] | str) -> str:
    if isinstance(clustering, str):
        return clustering  # AUTO, NONE
    return f"({', '.join(quote(c) for c in clustering)})"


def _properties(properties: Iterable[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{literal(k)} = {literal(v)}" for k, v in properties) + ")"


def _layout(layout: Layout) -> str:
    """PARTITIONED BY, CLUSTER BY and TBLPROPERTIES of a new table."""
    text = f" PARTITIONED BY ({', '.join(quote(c) for c in layout.partition_by)})" if layout.partition_by else ""
    text += f" CLUSTER BY {_clustering(layout.clustering)}" if layout.clustering else ""
    return text + (f" TBLPROPERTIES {_properties(layout.properties)}" if layout.properties else "")


def create_table_as(catalog: str, table: TableName, rows: str, location: str | None, layout: Layout = Layout(),
                    comment: str = "", replace: bool = False) -> str:
    """A new table made from ``rows`` (a query) in one statement: the first load of a stream creates its table
    and commits its rows at once. It fails when the table exists (TABLE_OR_VIEW_ALREADY_EXISTS): another writer
    created it first, or a replay of this very statement did; the loader then loads the rows by the ordinary
    statement, whose marker or merge keeps a replay from adding them twice. (IF NOT EXISTS would silently drop
    the rows of a sync that lost the race.) ``replace``: CREATE OR REPLACE, the table rewritten from ``rows`` in one
    commit (a change of column types)."""
    where = f" LOCATION {literal(location)}" if location else ""
    remark = f" COMMENT {literal(comment)}" if comment else ""
    return (f"CREATE {'OR REPLACE ' if replace else ''}TABLE {table_ref(catalog, table)} USING DELTA"
            f"{_layout(layout)}{where}{remark} AS {rows}")


def create_table(catalog: str, table: TableName, schema: pa.Schema, location: str | None, comment: str,
                 layout: Layout = Layout()) -> str:
    """An unmanaged table at ``location``, or a managed one when ``location`` is None, laid out as ``layout`` says
    (a deduplicated stream's table: liquid-clustered by its key with deletion vectors on, so a MERGE or DELETE marks
    rows instead of rewriting whole files), its columns commented with their properties' descriptions."""
    where = f" LOCATION {literal(location)}" if location else ""
    return (f"CREATE TABLE IF NOT EXISTS {table_ref(catalog, table)} ({column_list(schema, comments=True)}) USING DELTA"
            f"{_layout(layout)}{where} COMMENT {literal(comment)}")


def cluster_by(catalog: str, table: TableName, clustering: tuple[str, ...] | str) -> str:
    """Change an existing table's liquid clustering (columns, AUTO, or NONE); later writes follow it."""
    return f"ALTER TABLE {table_ref(catalog, table)} CLUSTER BY {_clustering(clustering or 'NONE')}"


def set_properties(catalog: str, table: TableName, properties: Iterable[tuple[str, str]]) -> str:
    return f"ALTER TABLE {table_ref(catalog, table)} SET TBLPROPERTIES {_properties(properties)}"


def adopt_table(catalog: str, table: TableName, location: str) -> str:
    """Register the Delta table already at ``location`` under this name, with its own schema."""
    return f"CREATE TABLE IF NOT EXISTS {table_ref(catalog, table)} USING DELTA LOCATION {literal(location)}"


def create_volume(catalog: str, schema: str, volume: str, comment: str) -> str:
    """A managed Unity Catalog volume (its files live in the metastore's storage), if it is not there yet."""
    return f"CREATE VOLUME IF NOT EXISTS {quote(catalog)}.{quote(schema)}.{quote(volume)} COMMENT {literal(comment)}"


def drop_table(catalog: str, table: TableName) -> str:
    return f"DROP TABLE IF EXISTS {table_ref(catalog, table)}"


def enable_type_widening(catalog: str, table: TableName) -> str:
    return set_properties(catalog, table, [("delta.enableTypeWidening", "true")])


def alter_column_type(catalog: str, table: TableName, column: str, arrow_type: pa.DataType) -> str:
    """Widen a column's type in place (Delta type widening: no row is rewritten)."""
    return f"ALTER TABLE {table_ref(catalog, table)} ALTER COLUMN {quote(column)} TYPE {sql_type(arrow_type)}"


def enable_change_data_feed(catalog: str, table: TableName) -> str:
    return set_properties(catalog, table, [("delta.enableChangeDataFeed", "true")])


def comment_column(catalog: str, table: TableName, column: str, comment: str) -> str:
    return f"ALTER TABLE {table_ref(catalog, table)} ALTER COLUMN {quote(column)} COMMENT {literal(comment)}"


def comment_table(catalog: str, table: TableName, comment: str) -> str:
    return f"COMMENT ON TABLE {table_ref(catalog, table)} IS {literal(comment)}"
