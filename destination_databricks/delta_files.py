"""Commit Parquet files we named ourselves into a Delta table, through deltalake's transaction API.

The `_delta_log` is always written by deltalake; we only say which files the new version holds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, Schema
from deltalake.transaction import AddAction, create_table_with_add_actions


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
    table.create_write_transaction(_adds(files), mode=mode, schema=delta_schema)


def delete_generations_below(uri: str, minimum: int, *, storage_options: dict | None = None) -> None:
    """Delete rows of a generation below ``minimum`` and rows of no generation, in one commit (a truncate
    refresh). Files whose rows all go are removed whole; delta-rs rewrites a file that keeps some rows."""
    from .loading.merge import GENERATION, older_generation

    table = DeltaTable(uri, storage_options=storage_options)
    if GENERATION not in {f.name for f in table.schema().fields}:
        table.delete()  # every row predates generations
    else:
        table.delete(older_generation(minimum, target=None))



# A deduplicated table's files: delta-rs buffers a whole file's rows before writing it, in its merges too, so
# smaller files bound a merge's memory (bench/dedup.py: a merge into 1 M rows, 1.3 GB → see README).
MERGED_TABLE = {"delta.targetFileSize": str(8 << 20)}


def write_latest(uri: str, files: list[str], schema: pa.Schema, merge, replace: bool, *,
                 storage_options: dict | None = None, description: str | None = None,
                 drop_below: int | None = None) -> None:
    """A deduplicated stream's load in one commit: the newest row per key of ``files`` (Parquet, ``schema``)
    merged into the table by ``DeltaTable.merge`` (merge.py's rules), or, with ``replace`` or no table yet,
    written as the table's whole content without hard-deleted keys. Files are read one at a time."""
    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    from .loading.merge import EMITTED, is_deleted, key_match, latest_rows, older, older_generation

    wanted = list(dict.fromkeys(merge.keys + ((merge.cursor,) if merge.cursor else ()) + (EMITTED,)))
    winners = latest_rows([pq.read_table(f, columns=wanted) for f in files], merge)
    exists = DeltaTable.is_deltatable(uri, storage_options=storage_options)
    drop_deleted = (replace or not exists) and merge.deletes

    def batches():
        for i, path in enumerate(files):
            if i not in winners:
                continue
            rows = pq.read_table(path, schema=schema).take(pa.array(winners[i]))
            if drop_deleted:
                rows = rows.filter(pc.is_null(rows.column(merge.deleted)))
            yield from rows.to_batches()

    source = pa.RecordBatchReader.from_batches(schema, batches())
    if replace or not exists:
        write_deltalake(uri, source, mode="overwrite" if exists else "error", schema_mode="overwrite" if exists else None,
                        storage_options=storage_options, description=description,
                        configuration=None if exists else MERGED_TABLE,
                        target_file_size=int(MERGED_TABLE["delta.targetFileSize"]))
        return
    table = DeltaTable(uri, storage_options=storage_options)
    grows = bool({f.name for f in schema} - {f.name for f in table.schema().fields})
    if grows:  # first, so the key condition can name a key column the table gains now
        table.alter.add_columns([f for f in Schema.from_arrow(schema).fields
                                 if f.name not in {g.name for g in table.schema().fields}])
    # Not streamed: delta-rs then reads the source's key ranges and skips the table's files outside them (a
    # first sync's new keys touch no file; streamed, a merge of 300 k new keys into 3 M rows peaked at 1.7 GB).
    merger = table.merge(source, key_match(merge), source_alias="s", target_alias="t", streamed_exec=False)
    old = older(merge)
    if merge.deletes:
        merger = merger.when_matched_delete(predicate=f"{is_deleted(merge)} AND NOT {old}")
    merger = merger.when_matched_update_all(predicate=f"NOT {old}")
    merger = merger.when_not_matched_insert_all(predicate=f"NOT {is_deleted(merge)}" if merge.deletes else None)
    if drop_below is not None:  # a truncating refresh's end: older generations go in the same commit
        merger = merger.when_not_matched_by_source_delete(predicate=older_generation(drop_below))
    merger.execute()
