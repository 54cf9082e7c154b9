"""What every backend offers: a loader with declared capabilities, a stager, and one lifecycle around a sync."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from ..catalog import StreamPlan, SyncMode
from ..config import Config
from ..dedup import Merge
from ..layout import TableLayout
from ..naming import StreamKey, TableName, sanitize
from ..records.columns import Column
from ..refresh import Refresh
from ..staging.base import StagedTable, Stager


@dataclass(frozen=True)
class Capabilities:
    """What a loader can do, declared once; the sync asks this, never the loader's attributes."""

    concurrent_loads: int = 1  # loads of different tables it runs at once, one per thread
    dedup_commit_bytes: int | None = None  # append_dedup input per commit round (None: the sync's commit_bytes)
    change_data_feed: bool = False  # can create tables with Change Data Feed on (Vector Search indexes them)


class Loader(Protocol):
    capabilities: Capabilities

    def table_schema(self, table: TableName) -> pa.Schema | None:
        """The destination table's current schema, or None if it does not exist."""

    def prefetch(self, tables: Iterable[TableName]) -> None:
        """Read these tables' schemas ahead, as few and as overlapped statements as the engine allows."""

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None) -> None:
        """Commit the staged rows into ``staged.table``: append adds them, overwrite replaces its rows; a
        deduplicated stream (``merge``) merges the newest row per key in, or replaces the rows by them
        (overwrite_dedup)."""

    def configure(self, layouts: Mapping[TableName, TableLayout]) -> None:
        """The layouts the config's `streams` asks of these tables (layout.py), before any load."""

    def swap(self, refresh: Refresh, table: TableName, schema: pa.Schema, merge: Merge | None,
             staged: StagedTable | None = None, comment: str = "") -> None:
        """A truncating refresh's end (refresh.py): in one commit, ``table`` loses its rows of older generations
        (all of them for an overwrite) and gains the rows of ``refresh.shadow`` (if any: nothing may have committed
        before the stream's end) and of ``staged`` (the stream's last round, not loaded into the shadow), merged by
        key with ``merge``. The shadow stays: it is dropped once the STATEs the swap covers are out. Run again
        (a crash before those STATEs left), the same table. ``schema``: the stream's columns, for a table created
        empty."""

    def drop(self, table: TableName) -> None:
        """Drop one of the connector's own tables (a stale shadow) with its data."""

    def shadows(self, tables: Iterable[TableName]) -> list[TableName]:
        """The shadow tables in the schemas of ``tables``."""

    def retype(self, table: TableName, columns: Sequence[Column], merge: Merge | None) -> None:
        """Give ``columns`` (columns of the existing ``table``) their new types, in one commit or in place, old
        values converted (records/types.py `retyping` says which change each is)."""

    def key_parts(self, table: TableName) -> int | None:
        """How many primary key parts a row's `_airbyte_key` holds in ``table`` (None: no row has one)."""

    def tables(self) -> dict[TableName, pa.Schema]:
        """The tables this destination has written in the configured catalog and schema(s)."""

    def enable_change_data_feed(self, table: TableName) -> None:
        """Turn Change Data Feed on for an existing table (harmless when it is on)."""

    def close(self) -> None:
        """Release connections."""


@dataclass
class Backend:
    """A data source's backend, made from the config and its data source part (config.Storage)."""

    config: Config
    storage: Any  # the config's data source, of the class the registry maps to this backend

    def connect(self, sync_id: str, change_data_feed: frozenset[TableName] = frozenset(),
                plans: Mapping[StreamKey, StreamPlan] | None = None
                ) -> contextlib.AbstractContextManager[tuple[Stager, Loader]]:
        """The sync's (stager, loader), cleaned up whatever happens; ``change_data_feed``: tables to create
        with Change Data Feed on; ``plans``: the sync's streams (a backend may route them: direct ingest)."""
        raise NotImplementedError

    def check(self) -> None:
        """Prove the destination is writable end to end, or raise ConfigError naming the field."""
        raise NotImplementedError

    def loader(self) -> Loader:
        """A loader for discover (closed by the caller)."""
        raise NotImplementedError


def configured_schemas(config: Config) -> set[str]:
    """The schemas this destination writes in (and discover looks in)."""
    return {sanitize(config.schema, lowercase=True)}


@contextlib.contextmanager
def staged_sync(stager: Stager, loader: Loader, purge: bool) -> Iterator[tuple[Stager, Loader]]:
    """One sync's stager and loader, started, then released whatever happens: the loader first, then staging
    purged (``purge``) or kept and closed."""
    try:
        stager.start()
        yield stager, loader
    finally:
        try:
            loader.close()
        finally:
            if purge:
                stager.purge()
            else:
                try:
                    stager.keep()
                finally:
                    stager.close()
