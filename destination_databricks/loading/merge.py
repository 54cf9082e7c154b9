"""How a deduplicated stream's rows meet its table: which columns are the key, which decide "newer", deletes.

One row per primary key stays: the latest by cursor (a null cursor is oldest), then by `_airbyte_emitted_at`,
then by arrival (`_airbyte_ab_id`: time-ordered, and increasing within a sync). A row whose cursor is older
than the table's row of its key does not replace it. With CDC, a row whose `_ab_cdc_deleted_at` is set deletes
its key's row (hard) or is kept as it is (soft). Both loaders (SQL MERGE and delta-rs' merge) apply exactly
these rules; they are spelled once here, as SQL over a source `s` and a target `t`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..naming import AIRBYTE_COLUMNS, quote

KEY_COLUMN = "_airbyte_key"  # nested key parts (and parts without a column of their own), as JSON text
CDC_DELETED = "_ab_cdc_deleted_at"
EMITTED, ARRIVAL = AIRBYTE_COLUMNS[1], AIRBYTE_COLUMNS[0]


@dataclass(frozen=True)
class Merge:
    keys: tuple[str, ...]  # the columns that together are the primary key
    cursor: str | None  # the cursor column, if the stream has one with a column
    deleted: str | None  # the `_ab_cdc_deleted_at` column, if the stream has one
    hard_delete: bool = True

    @property
    def deletes(self) -> bool:
        return self.deleted is not None and self.hard_delete


def ordering(merge: Merge) -> list[str]:
    """The columns that decide which row of a key wins, most significant first (ascending: oldest first, a null
    cursor oldest of all; emitted_at and the id are never null)."""
    return ([merge.cursor] if merge.cursor else []) + [EMITTED, ARRIVAL]


def latest_first(merge: Merge) -> str:
    """ORDER BY for a window that ranks a key's rows newest first."""
    parts = [f"{quote(merge.cursor)} DESC NULLS LAST"] if merge.cursor else []
    return ", ".join(parts + [f"{quote(EMITTED)} DESC", f"{quote(ARRIVAL)} DESC"])


def key_match(merge: Merge, source: str = "s", target: str = "t") -> str:
    return " AND ".join(f"{target}.{quote(k)} = {source}.{quote(k)}" for k in merge.keys)


def older(merge: Merge, source: str = "s", target: str = "t") -> str:
    """True when the source row is older than the table's row of its key (it must not replace it); never null."""
    e = f"COALESCE({source}.{quote(EMITTED)} < {target}.{quote(EMITTED)}, FALSE)"
    if not merge.cursor:
        return e
    c = quote(merge.cursor)
    return (f"(COALESCE({source}.{c} < {target}.{c}, FALSE) OR ({source}.{c} IS NULL AND {target}.{c} IS NOT NULL) "
            f"OR (COALESCE({source}.{c} = {target}.{c}, FALSE) AND {e}) OR ({source}.{c} IS NULL AND {target}.{c} IS NULL AND {e}))")


GENERATION = AIRBYTE_COLUMNS[4]


def older_generation(minimum: int, target: str | None = "t") -> str:
    """A row a truncating refresh removes: of a generation below ``minimum``, or of none (written before)."""
    column = f"{target}.{quote(GENERATION)}" if target else quote(GENERATION)
    return f"({column} < {int(minimum)} OR {column} IS NULL)"


def is_deleted(merge: Merge, source: str = "s") -> str:
    return f"{source}.{quote(merge.deleted)} IS NOT NULL" if merge.deletes else "FALSE"


def latest_rows(key_tables: list, merge: Merge) -> dict:
    """Which rows win, per file: ``key_tables[i]`` holds file i's key, cursor and emitted_at columns.

    The same rule as the SQL window (newest per key), over the whole load at once, with only these few columns
    in memory; the files themselves are then read one at a time. Arrival order is the files' order and each
    file's row order (record ids increase within a sync in that order), so the id column is not read: a stable
    sort by key, cursor and emitted_at leaves equal rows in arrival order, and the last row of a key wins.
    (A hash group-by of the key instead held 3x the memory: 92 MB against 33 MB for 1 M rows of 100 k keys.)
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = [t.num_rows for t in key_tables]
    n = sum(sizes)
    if n == 0:
        return {}
    table = pa.concat_tables(key_tables)  # the files' chunks as they are, no copy
    order = [(c, "ascending", "at_start") for c in (*merge.keys, *(c for c in ordering(merge) if c != ARRIVAL))]
    ranked = pc.sort_indices(table, sort_keys=order).to_numpy().astype(np.int64)  # stable; a null cursor is oldest
    last = np.zeros(n, dtype=bool)
    last[-1] = True
    for k in merge.keys:  # the last row of each run of equal keys is the key's newest
        column = table.column(k).take(pa.array(ranked)).combine_chunks()
        changed = pc.fill_null(pc.not_equal(column.slice(1), column.slice(0, n - 1)), True)
        last[:-1] |= changed.to_numpy(zero_copy_only=False)
        del column, changed
    won = np.sort(ranked[last])  # rows of the whole load, in order
    offsets = np.cumsum([0] + sizes)
    files = np.searchsorted(offsets, won, side="right") - 1
    rows = won - offsets[files]
    return {int(f): rows[files == f] for f in np.unique(files)}
