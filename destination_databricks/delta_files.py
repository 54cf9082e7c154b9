"""Commit Parquet files we named ourselves into a Delta table, through deltalake's transaction API.

The `_delta_log` is always written by deltalake; we only say which files the new version holds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
import pyarrow as pa
from deltalake import DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions


@dataclass(frozen=True)
class DataFile:
    """A Parquet file inside a table's folder, by its path relative to the table root."""

    path: str
    size: int
    rows: int


def _adds(files: list[DataFile]) -> list[AddAction]:
    now_ms = int(time.time() * 1000)
    return [
        AddAction(f.path, f.size, {}, now_ms, True, orjson.dumps({"numRecords": f.rows}).decode())
        for f in files
    ]


def read_schema(uri: str, storage_options: dict | None = None) -> pa.Schema | None:
    """The table's Arrow schema, or None when no Delta table is there."""
    if not DeltaTable.is_deltatable(uri, storage_options=storage_options):
        return None
    return pa.schema(DeltaTable(uri, storage_options=storage_options).schema().to_arrow())


def commit(
    uri: str,
    files: list[DataFile],
    schema: pa.Schema,
    mode: str,
    *,
    storage_options: dict | None = None,
    description: str | None = None,
) -> None:
    """One Delta commit: ``mode`` "append" adds ``files``; "overwrite" makes them the whole table.

    A missing table is created by this very commit. In append mode, columns of ``schema`` the table
    lacks are added first (nullable); column types are never changed.
    """
    delta_schema = Schema.from_arrow(schema)
    if not DeltaTable.is_deltatable(uri, storage_options=storage_options):
        create_table_with_add_actions(
            uri, delta_schema, _adds(files), mode="error", description=description,
            storage_options=storage_options,
        )
        return
    table = DeltaTable(uri, storage_options=storage_options)
    if mode == "append":
        current = {f.name for f in table.schema().fields}
        new_fields = [f for f in delta_schema.fields if f.name not in current]
        if new_fields:
            table.alter.add_columns(new_fields)
        if not files:
            return
    table.create_write_transaction(list[AddAction | RemoveAction](_adds(files)), mode=mode, schema=delta_schema)


def largest(uri: str, column: str, storage_options: dict | None = None) -> int | float | None:
    """The largest value of ``column`` in the table at ``uri``, from its files' statistics in the Delta log (no data
    read): None when no row has a value. Raises LookupError when a file holding values has no statistics of the
    column (its writer kept none) or the log cannot be read here: the answer then takes a query."""
    try:
        actions = pa.table(DeltaTable(uri, storage_options=storage_options).get_add_actions(flatten=True))
    except Exception as exc:  # no log there that delta-rs reads (a table the warehouse keeps elsewhere, say)
        raise LookupError(f"the Delta log at {uri} cannot be read here: {type(exc).__name__}") from exc
    if not actions.num_rows:
        return None
    names = set(actions.column_names)
    if f"max.{column}" not in names or f"null_count.{column}" not in names:
        raise LookupError(f"no statistics of {column} at {uri}")
    largest_value = None
    for rows, top, nulls in zip(actions.column("num_records").to_pylist(), actions.column(f"max.{column}").to_pylist(),
                                actions.column(f"null_count.{column}").to_pylist()):
        if top is None:
            if rows is None or nulls is None or nulls < rows:
                raise LookupError(f"no statistics of {column} in a file at {uri}")
            continue  # every row of the file is null there
        largest_value = top if largest_value is None else max(largest_value, top)
    return largest_value


@dataclass(frozen=True)
class DeltaLogs:
    """The Delta logs of tables on a store the connector reaches itself (``readable`` False: none, as for managed
    tables, whose files only the warehouse reads)."""

    storage_options: dict | None = None
    readable: bool = True

    def schema(self, uri: str) -> pa.Schema | None:
        """The schema of the table at ``uri``; None when none is there (or its log is not readable here)."""
        return read_schema(uri, self.storage_options) if self.readable else None

    def largest(self, uri: str, column: str) -> int | float | None:
        """``largest`` of the table at ``uri``; LookupError when its log is not readable here."""
        if not self.readable:
            raise LookupError(f"the Delta log at {uri} is read by the warehouse only")
        return largest(uri, column, self.storage_options)


UNREADABLE = DeltaLogs(readable=False)
