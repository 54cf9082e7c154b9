"""Every statement the connector sends to Databricks, as pure functions of quoted names and literals: the ones that
move rows here, the ones that define tables in ddl.py (with the quoting both use; imported from here too).

Nothing else in the code base writes statements (dedup.py spells a deduplicated stream's rules as clauses
with SQL conditions, which both backends render: MERGE text here, delta-rs merge calls for LOCAL).
Statements that both Databricks and the local test engine run were preferred (docs/local-warehouse.md:
"Not verified locally" lists the ones it cannot run).
"""
from __future__ import annotations

import pyarrow as pa

from ...dedup import ARRIVAL, Merge, Truncation, is_deleted, key_match, latest_first, merge_clauses
from ...naming import TableName, quote
from ...records.types import VARIANT, canonical, sql_type, stored
from .ddl import (  # noqa: F401  (the statements that define tables, for sql's callers)
    Layout,
    adopt_table,
    alter_column_type,
    cluster_by,
    column_list,
    comment_column,
    comment_table,
    create_schema,
    create_table,
    create_table_as,
    create_volume,
    drop_table,
    enable_change_data_feed,
    enable_type_widening,
    has_comments,
    literal,
    set_properties,
    table_ref,
)


def delta_path(location: str) -> str:
    """A Delta table read by path: delta.`s3://…`."""
    return f"delta.{quote(location)}"


def parquet_path(location: str) -> str:
    """The Parquet files of a folder read by path: parquet.`/Volumes/…`."""
    return f"parquet.{quote(location)}"


def table_columns(catalog: str, table: TableName) -> str:
    """No rows; the result's schema is the table's."""
    return f"SELECT * FROM {table_ref(catalog, table)} LIMIT 0"


def _once(catalog: str, table: TableName, marker: str) -> str:
    """A condition that holds until a record with _airbyte_ab_id ``marker`` is in the table."""
    if not marker:
        return ""
    return (f" WHERE NOT EXISTS (SELECT 1 FROM {table_ref(catalog, table)} "
            f"WHERE `_airbyte_ab_id` = {literal(marker)})")


def append(catalog: str, table: TableName, source: str, marker: str = "") -> str:
    """Add the rows of ``source`` (same columns, same order) in one commit.

    With ``marker`` (the id of one of its records) the statement is idempotent: run again — by the driver
    replaying a request whose answer was lost, or by our retry — it adds nothing once the rows are in.
    """
    return f"INSERT INTO {table_ref(catalog, table)} SELECT * FROM {source}{_once(catalog, table, marker)}"


def append_with_new_columns(catalog: str, table: TableName, source: str, marker: str = "") -> str:
    """Add the rows of ``source``, whose columns extend the table's, adding the new ones, in one commit.

    MERGE … WITH SCHEMA EVOLUTION rather than ALTER TABLE ADD COLUMNS + INSERT: one commit, and the local
    engine runs it too. ``marker`` as for ``append``.
    """
    return (f"MERGE WITH SCHEMA EVOLUTION INTO {table_ref(catalog, table)} AS target "
            f"USING (SELECT * FROM {source}{_once(catalog, table, marker)}) AS source "
            "ON FALSE WHEN NOT MATCHED THEN INSERT *")


def overwrite(catalog: str, table: TableName, source: str) -> str:
    """Replace every row of the table by the rows of ``source`` in one commit."""
    return f"INSERT OVERWRITE TABLE {table_ref(catalog, table)} SELECT * FROM {source}"


def table_typed(source: str, schema: pa.Schema) -> str:
    """``source`` (staged files of ``schema``'s columns, a VARIANT column as its JSON text) with the table's types: each
    VARIANT column parsed (``try_parse_json``: a text the warehouse cannot hold as VARIANT is null, never a failed
    load; it is whole in `_airbyte_data`)."""
    if not any(f.type == VARIANT for f in schema):
        return source
    columns = ", ".join(f"try_parse_json({quote(f.name)}) AS {quote(f.name)}" if f.type == VARIANT else quote(f.name)
                        for f in schema)
    return f"(SELECT {columns} FROM {source})"


def csv_files(location: str, schema: pa.Schema, options: dict[str, str]) -> str:
    """The staged CSV files of a load folder as a source of rows typed like ``schema`` (Databricks' read_files;
    only the named columns, so a rescued-data column the reader may add never reaches the table)."""
    schema = stored(schema)  # a VARIANT column's JSON text (table_typed parses it)
    opts = "".join(f", {k} => {literal(v)}" for k, v in {"format": "csv", "schema": column_list(schema), **options}.items())
    return f"(SELECT {', '.join(quote(n) for n in schema.names)} FROM read_files({literal(location)}{opts}))"


def add_columns_from(catalog: str, table: TableName, source: str) -> str:
    """Add the columns of ``source`` the table lacks (nullable), touching no row.

    Used before an overwrite that brings new columns, so the overwrite itself stays one INSERT
    OVERWRITE commit. (CREATE OR REPLACE … AS SELECT would do both at once, but would drop the table's
    comment and properties, and the local engine refuses COMMENT in CTAS.)
    """
    return (f"MERGE WITH SCHEMA EVOLUTION INTO {table_ref(catalog, table)} AS target "
            f"USING (SELECT * FROM {source} WHERE FALSE) AS source ON FALSE WHEN NOT MATCHED THEN INSERT *")


def no_rows(schema: pa.Schema) -> str:
    """A source of ``schema``'s columns and no row (for add_columns_from when no file has them)."""
    columns = ", ".join(f"CAST(NULL AS {sql_type(f.type)}) AS {quote(f.name)}" for f in schema)
    return f"(SELECT {columns})"


def show_tables_extended(catalog: str, schema: str) -> str:
    """Every table of the schema with its columns (in its `information`, Spark's tree notation)."""
    return f"SHOW TABLE EXTENDED IN {quote(catalog)}.{quote(schema)} LIKE '*'"


def truncate(catalog: str, table: TableName, truncation: Truncation) -> str:
    """Rows of a generation below the minimum, and rows of no generation (written before generations), go."""
    stale = truncation.stale(target=None)
    return f"DELETE FROM {table_ref(catalog, table)}" + (f" WHERE {stale}" if stale else "")


def _clause(when: str, action: str, predicate: str | None) -> str:
    return f"WHEN {when}{f' AND {predicate}' if predicate else ''} THEN {action}"


def _dropping(truncation: Truncation) -> str:
    """The MERGE clause of a truncating refresh's swap: the table's rows of older generations go in the same
    commit as the new rows arrive."""
    return _clause("NOT MATCHED BY SOURCE", "DELETE", truncation.stale())


def newest_rows(source: str, columns: list[str], merge: Merge) -> str:
    """The newest row per key of ``source``, deletes included (they delete the table's row of their key)."""
    return _latest(source, columns, merge)


def latest_rows(source: str, columns: list[str], merge: Merge) -> str:
    """The newest row per key of ``source``, hard deletes left out: a deduplicated table's first content."""
    return _latest(source, columns, merge, drop_deleted=True)


def _latest(source: str, columns: list[str], merge: Merge, drop_deleted: bool = False) -> str:
    """The rows of ``source``, one per key: the newest (merge.py's order); with ``drop_deleted``, none whose
    newest row is a hard delete."""
    names = ", ".join(quote(c) for c in columns)
    keys = ", ".join(quote(k) for k in merge.keys)
    where = f" AND NOT ({is_deleted(merge, source='ranked')})" if drop_deleted and merge.deletes else ""
    return (f"SELECT {names} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {latest_first(merge)}) "
            f"AS `_airbyte_rank` FROM {source}) AS ranked WHERE `_airbyte_rank` = 1{where}")


def merge_latest(catalog: str, table: TableName, source: str, columns: list[str], merge: Merge) -> str:
    """Apply ``source`` to a deduplicated table in one commit: per key its newest row updates the table's row
    (unless older), inserts a missing key, or deletes the key's row (a CDC delete, hard mode): dedup.py's
    clauses. Run twice, the same table: replaying a MERGE is harmless by construction."""
    clauses = [_clause(c.when.value, c.action.value, c.predicate) for c in merge_clauses(merge)]
    return (f"MERGE INTO {table_ref(catalog, table)} AS t USING ({_latest(source, columns, merge)}) AS s "
            f"ON {key_match(merge)} " + " ".join(clauses))


def overwrite_latest(catalog: str, table: TableName, source: str, columns: list[str], merge: Merge) -> str:
    """Replace every row of the table by the newest row per key of ``source`` (hard deletes left out)."""
    return f"INSERT OVERWRITE TABLE {table_ref(catalog, table)} {_latest(source, columns, merge, drop_deleted=True)}"


def rows_from(source: str, names: list[str], target: pa.Schema, where: str | None = None) -> str:
    """The rows of ``source`` (whose columns are ``names``; `s` in ``where``) in the target's columns, in the
    target's order (a column the source lacks is null): what a refresh's swap brings in (refresh.py)."""
    present = set(names)
    columns = ", ".join(quote(f.name) if f.name in present else f"CAST(NULL AS {sql_type(f.type)}) AS {quote(f.name)}"
                        for f in target)
    return f"SELECT {columns} FROM {source} AS s" + (f" WHERE {where}" if where else "")


def union_rows(parts: list[tuple[str, pa.Schema]], target: pa.Schema) -> str:
    """The rows of several sources (each with its own columns) as one, in ``target``'s columns: a column a source
    lacks is null, one it has in another type is cast (a refresh's shadow and its last staged rows, refresh.py)."""
    selects = []
    for source, schema in parts:
        columns = []
        for f in target:
            if f.name not in schema.names:
                columns.append(f"CAST(NULL AS {sql_type(f.type)}) AS {quote(f.name)}")
            elif canonical(schema.field(f.name).type) != canonical(f.type):
                columns.append(f"CAST({quote(f.name)} AS {sql_type(f.type)}) AS {quote(f.name)}")
            else:
                columns.append(quote(f.name))
        selects.append(f"SELECT {', '.join(columns)} FROM {source}")
    return " UNION ALL ".join(selects)


def kept_row(catalog: str, table: TableName, truncation: Truncation) -> str:
    """One row a truncating refresh's swap keeps (of a generation at or above the minimum), if there is one."""
    return f"SELECT 1 FROM {table_ref(catalog, table)} WHERE NOT {truncation.stale(target=None)} LIMIT 1"


def replace_rows(catalog: str, table: TableName, rows: str) -> str:
    """Every row of the table replaced by ``rows`` (a query in the table's column order), in one commit."""
    return f"INSERT OVERWRITE TABLE {table_ref(catalog, table)} {rows}"


def swap_appending(catalog: str, table: TableName, rows: str, truncation: Truncation) -> str:
    """A truncating refresh's swap for an append stream, in one commit: the rows come in (those already in, by
    record id, do not come twice: a swap run again adds nothing) and the table's rows of older generations go."""
    return (f"MERGE INTO {table_ref(catalog, table)} AS t USING ({rows}) AS s "
            f"ON t.{quote(ARRIVAL)} = s.{quote(ARRIVAL)} WHEN NOT MATCHED THEN INSERT * {_dropping(truncation)}")


def swap_merging(catalog: str, table: TableName, rows: str, merge: Merge, truncation: Truncation) -> str:
    """A truncating refresh's swap for a deduplicated stream, in one commit: ``rows`` (one per key) merge by
    dedup.py's rules into the table's rows of kept generations only (older generations never win a cursor
    comparison), and the rows of older generations go."""
    clauses = [_clause(c.when.value, c.action.value, c.predicate) for c in merge_clauses(merge, truncation)]
    return (f"MERGE INTO {table_ref(catalog, table)} AS t USING ({rows}) AS s "
            f"ON {key_match(merge)} AND NOT {truncation.stale()} " + " ".join(clauses))


def key_sample(catalog: str, table: TableName) -> str:
    """One row's `_airbyte_key` (how many key parts it holds tells how the table is keyed)."""
    return (f"SELECT `_airbyte_key` FROM {table_ref(catalog, table)} WHERE `_airbyte_key` IS NOT NULL LIMIT 1")
