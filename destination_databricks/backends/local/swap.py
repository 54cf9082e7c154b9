"""A truncating refresh's swap on LOCAL (refresh.py): the shadow's rows become the table's in one delta-rs commit.

The common cases move no data: when none of the table's rows is kept (an overwrite, a refresh past every older
generation) the shadow's files are linked into the table and committed as its whole content; when none goes
(PyAirbyte sends generation 1 = minimum 1 on every sync) they are added. Run again after a crash, both commit the
same files. A table that keeps some rows and loses others, or a deduplicated table that keeps rows, is merged
(`DeltaTable.merge`): the rows come in (by key for a deduplicated stream, older generations never taking part),
older generations go, in one commit.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, Schema, write_deltalake

from ... import delta_files
from ...dedup import ARRIVAL, GENERATION, Action, Clause, Merge, Truncation, When, key_match, merge_clauses
from ...naming import quote
from ...refresh import Refresh
from .merge import prunes_exactly, with_clauses


def _generations(table: DeltaTable, truncation: Truncation) -> tuple[int, int]:
    """How many of the table's rows the swap keeps, and how many go (one column read)."""
    files = table.file_uris()
    if not files:
        return 0, 0
    column = ds.dataset(files, format="parquet", schema=pa.schema([(GENERATION, pa.int64())])).to_table().column(0)
    kept = pc.sum(pc.fill_null(pc.greater_equal(column, truncation.minimum), False).cast(pa.int64())).as_py() or 0
    return kept, len(column) - kept


def link(source: str, target: str) -> None:
    """A data file put into a table's folder: hard-linked (written once), or copied across devices."""
    try:
        os.link(source, target)
    except OSError:  # another device
        shutil.copyfile(source, target)


def _link(shadow: DeltaTable, uri: str, present: set[str]) -> list[delta_files.DataFile]:
    """The shadow's files, hard-linked (or copied) into the table's folder under the same names."""
    found = pa.table(shadow.get_add_actions(flatten=True)).select(["path", "size_bytes", "num_records"]).to_pylist()
    data = []
    for f in found:
        name = os.path.basename(f["path"])
        target = os.path.join(uri, name)
        if name not in present and not os.path.exists(target):
            link(os.path.join(shadow.table_uri.removeprefix("file://"), f["path"]), target)
        data.append(delta_files.DataFile(name, f["size_bytes"], f["num_records"] or 0))
    return data


def _rows(shadow: DeltaTable, target: pa.Schema, keep: pc.Expression | None = None) -> pa.RecordBatchReader:
    """The shadow's rows in ``target``'s columns (null where the shadow has none), a batch at a time."""
    source = ds.dataset(shadow.file_uris(), format="parquet", schema=pa.schema(shadow.schema().to_arrow()))
    names = set(source.schema.names)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source.to_batches(filter=keep):
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) if f.name in names else pa.nulls(batch.num_rows, f.type) for f in target],
                schema=target)

    return pa.RecordBatchReader.from_batches(target, batches())


def swap(refresh: Refresh, uri: str, shadow_uri: str, schema: pa.Schema, merge: Merge | None, description: str) -> None:
    """Make the table at ``uri`` hold the refresh's rows (``schema``: the stream's columns, for an empty table)."""
    truncation = refresh.truncation
    exists = DeltaTable.is_deltatable(uri)
    table = DeltaTable(uri) if exists else None
    if table is not None and truncation is not None and GENERATION not in {f.name for f in table.schema().fields}:
        truncation = None  # the table predates generations: every row of it is older than any
    if not DeltaTable.is_deltatable(shadow_uri):  # no rows came: only older generations go
        if table is None:
            delta_files.commit(uri, [], schema, "append", description=description)
        else:
            table.delete(truncation.stale(target=None) if truncation else None)
        return
    shadow = DeltaTable(shadow_uri)
    shadow_schema = pa.schema(shadow.schema().to_arrow())
    kept, stale = _generations(table, truncation) if table is not None and truncation is not None else (0, 0)
    deleted = merge.deleted if merge is not None and merge.deletes else None
    if kept == 0:  # nothing of the table stays: the shadow's rows are the table
        if deleted is None:
            os.makedirs(uri, exist_ok=True)
            delta_files.commit(uri, _link(shadow, uri, set()), shadow_schema, "overwrite", description=description)
        else:  # a deduplicated stream's hard deletes stay out
            write_deltalake(uri, _rows(shadow, shadow_schema, pc.field(deleted).is_null()), mode="overwrite",
                            schema_mode="overwrite", description=description)
        return
    assert table is not None and truncation is not None
    if stale == 0 and merge is None:  # nothing goes: the shadow's files are added (those already in are not)
        present = {os.path.basename(p) for p in table.file_uris()}
        delta_files.commit(uri, _link(shadow, uri, present), shadow_schema, "append", description=description)
        return
    _merge(table, shadow, shadow_schema, truncation, merge)


def _merge(table: DeltaTable, shadow: DeltaTable, shadow_schema: pa.Schema, truncation: Truncation,
           merge: Merge | None) -> None:
    """One merge commit: the shadow's rows in (by record id, or by key), the table's older generations out."""
    present = {f.name for f in table.schema().fields}
    new = [f for f in Schema.from_arrow(shadow_schema).fields if f.name not in present]
    if new:  # first, so the rows and conditions can name the columns the table gains now
        table.alter.add_columns(new)
    target = pa.schema(table.schema().to_arrow())
    if merge is None:  # by record id: a row already in (a swap run again) does not come twice
        predicate = f"t.{quote(ARRIVAL)} = s.{quote(ARRIVAL)}"
        clauses = [Clause(When.NOT_MATCHED, Action.INSERT, None)]
    else:
        predicate = f"{key_match(merge)} AND NOT {truncation.stale()}"
        clauses = merge_clauses(merge)
    clauses.append(Clause(When.NOT_MATCHED_BY_SOURCE, Action.DELETE, truncation.stale()))
    exact = merge is None or prunes_exactly(target, merge.keys)
    merger = table.merge(_rows(shadow, target), predicate, source_alias="s", target_alias="t", streamed_exec=not exact)
    with_clauses(merger, clauses).execute()
