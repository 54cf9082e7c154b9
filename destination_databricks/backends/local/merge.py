"""LOCAL's deduplicated loads: dedup.py's rules applied by delta-rs (`DeltaTable.merge`)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema, write_deltalake
from deltalake.table import TableMerger

from ...dedup import EMITTED, Action, Clause, Merge, When, key_match, latest_rows, merge_clauses

# A deduplicated table's files: delta-rs buffers a whole file's rows before writing it, in its merges too, so
# smaller files bound a merge's memory (bench/dedup.py: a merge into 1 M rows peaked at 1.3 GB with its default).
MERGED_TABLE = {"delta.targetFileSize": str(8 << 20)}


def write_latest(uri: str, files: list[str], schema: pa.Schema, merge: Merge, replace: bool, *,
                 description: str | None = None) -> None:
    """A deduplicated stream's load in one commit: the newest row per key of ``files`` (Parquet, ``schema``)
    merged into the table by ``DeltaTable.merge`` (dedup.merge_clauses; a missing table is created empty first),
    or, with ``replace``, written as the table's whole content without hard-deleted keys. Files are read one at a
    time. Run again after losing a race (commits.py), it merges against the table as it is then."""
    wanted = list(dict.fromkeys(merge.keys + ((merge.cursor,) if merge.cursor else ()) + (EMITTED,)))
    winners = latest_rows([pq.read_table(f, columns=wanted) for f in files], merge)
    exists = DeltaTable.is_deltatable(uri)
    drop_deleted = replace and merge.deletes

    def batches():
        for i, path in enumerate(files):
            if i not in winners:
                continue
            rows = pq.read_table(path, schema=schema).take(pa.array(winners[i]))
            if drop_deleted and merge.deleted:
                rows = rows.filter(pc.is_null(rows.column(merge.deleted)))
            yield from rows.to_batches()

    if not exists:
        # Created empty, then merged into: delta-rs turns a create-with-rows that loses a race into an append,
        # which doubled every key two first syncs had in common (a create that loses a race does nothing).
        DeltaTable.create(uri, Schema.from_arrow(schema), mode="ignore", configuration=MERGED_TABLE)
    source = pa.RecordBatchReader.from_batches(schema, batches())
    if replace:
        write_deltalake(uri, source, mode="overwrite", schema_mode="overwrite", description=description,
                        target_file_size=int(MERGED_TABLE["delta.targetFileSize"]))
        return
    table = DeltaTable(uri)
    present = {f.name for f in table.schema().fields}
    new = [f for f in Schema.from_arrow(schema).fields if f.name not in present]
    if new:  # first, so the key condition can name a key column the table gains now
        table.alter.add_columns(new)
    merger = table.merge(source, key_match(merge), source_alias="s", target_alias="t",
                         streamed_exec=not prunes_exactly(schema, merge.keys))
    with_clauses(merger, merge_clauses(merge)).execute()


def prunes_exactly(schema: pa.Schema, keys: tuple[str, ...]) -> bool:
    """Whether a merge on these key columns may skip the table's files by the source's key ranges.

    Not streamed, delta-rs reads the source's key ranges and skips the table's files outside them (a first sync's
    new keys touch no file; streamed, a merge of 300 k new keys into 3 M rows peaked at 1.7 GB). It compares a
    decimal column's statistics as doubles, though: a big_integer key past 2^53 then falls outside the rounded
    range of the file that holds it, which is skipped, and the key is inserted twice; a NaN in a floating-point key
    breaks the ranges likewise. Such keys merge streamed."""
    return not any(pa.types.is_decimal(t) or pa.types.is_floating(t)
                   for t in (schema.field(k).type for k in keys if k in schema.names))


def with_clauses(merger: TableMerger, clauses: list[Clause]) -> TableMerger:
    """dedup.py's clauses as delta-rs merge calls."""
    for clause in clauses:
        if clause.when is When.MATCHED and clause.action is Action.DELETE:
            merger = merger.when_matched_delete(predicate=clause.predicate)
        elif clause.when is When.MATCHED:
            merger = merger.when_matched_update_all(predicate=clause.predicate)
        elif clause.when is When.NOT_MATCHED:
            merger = merger.when_not_matched_insert_all(predicate=clause.predicate)
        else:
            merger = merger.when_not_matched_by_source_delete(predicate=clause.predicate)
    return merger
