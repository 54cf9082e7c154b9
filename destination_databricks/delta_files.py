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
