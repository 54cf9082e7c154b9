"""What every loader offers the sync."""
from __future__ import annotations

from typing import Iterable, Protocol

import pyarrow as pa

from ..catalog import SyncMode
from ..naming import TableName
from ..staging.base import StagedTable
from .merge import Merge


class Loader(Protocol):
    concurrent_loads: int  # how many tables it may load at once, from as many threads
    def table_schema(self, table: TableName) -> pa.Schema | None:
        """The destination table's current schema, or None if it does not exist."""

    def prefetch(self, tables: Iterable[TableName]) -> None:
        """Read these tables' schemas ahead, as few and as overlapped statements as the engine allows."""

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None,
             drop_below: int | None = None) -> None:
        """Commit the staged rows into the table: append adds them, overwrite replaces its rows; a deduplicated
        stream (``merge``) merges the newest row per key in, or replaces the rows by them (overwrite_dedup).
        ``drop_below`` (a refresh that truncates, at the stream's end): rows of generations below it, and of
        none, go too, in the same commit where the engine allows."""

    def tables(self) -> dict[TableName, pa.Schema]:
        """The tables this destination has written in the configured catalog and schema(s)."""

    def close(self) -> None:
        """Release connections."""
