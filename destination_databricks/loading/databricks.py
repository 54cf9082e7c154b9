"""The Databricks loader: staged files → destination tables, by SQL on a warehouse.

Each load commits once: a table's first load creates it from its rows (CREATE TABLE … AS SELECT), then
INSERT for append, INSERT OVERWRITE for overwrite, MERGE … WITH SCHEMA EVOLUTION for an append that brings
new columns, MERGE for a deduplicated stream (merge.py), MERGE … WHEN NOT MATCHED BY SOURCE … DELETE for the
last load of a truncating refresh. Some cases take more statements but still commit the rows once: new
columns a replacing or merging load brings are added first (a MERGE that inserts nothing), and staged CSV
is read through a temporary table created before and dropped after the load. An unmanaged table's schema
is read from its Delta log, a managed one's with SELECT … LIMIT 0.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

import pyarrow as pa

from ..catalog import SyncMode
from ..naming import TableName, sanitize
from ..records.columns import AIRBYTE_SCHEMA
from ..records.types import canonical_schema
from ..staging.base import StagedTable
from . import sql
from .merge import GENERATION, Merge
from .sql_client import SchemaNotFound, SqlClient, TableNotFound


def temporary_table(table: TableName, sync_id: str, location: str) -> TableName:
    """The temporary CSV table of one load: named by the sync and the load's own folder, so a retried CREATE
    (IF NOT EXISTS) finds its own table and never one of another load whose DROP failed."""
    load = hashlib.sha256(location.encode()).hexdigest()[:8]
    return TableName(table.schema, f"_airbyte_tmp_{sync_id.replace('-', '')[:12]}_{load}_{table.table}"[:120])


LOG_READERS = 32  # Delta logs read at once before a sync (object-store GETs; the warehouse is not involved)


@dataclass(frozen=True)
class _Load:
    staged: StagedTable
    mode: SyncMode
    merge: Merge | None  # a deduplicated stream's rules
    drop_below: int | None  # a truncating refresh's end: generations below it go in the same commit
    grows: bool  # the staged files have columns the table lacks
    columns: list[str]  # the source's columns
    has_generations: bool  # the table has `_airbyte_generation_id` already
    creates: bool = False  # the table does not exist: CREATE TABLE … AS SELECT the load's rows
    location: str | None = None  # where the table lives (None: managed)


class DatabricksLoader:
    def __init__(self, connect: Callable[[], SqlClient], catalog: str, location: Callable[[TableName], str | None],
                 schema_at: Callable[[str], pa.Schema | None], schemas: set[str], csv_options: dict | None = None,
                 sync_id: str = "", concurrency: int = 1):
        """``connect``: a new SQL client (each thread gets its own: the driver's connections are not thread-safe);
        ``concurrency``: how many statements may run at once (loads of different tables, schema reads)."""
        self._connect = connect
        self.concurrent_loads = concurrency
        self.catalog = catalog
        self.location = location  # where a table lives (None: managed)
        self.schema_at = schema_at  # the Delta schema at a location, if a table is there
        self.schemas = schemas
        self.csv_options = csv_options or {}
        self.sync_id = sync_id
        self._known: dict[TableName, pa.Schema | None] = {}
        self.change_data_feed: set[TableName] = set()  # tables created with Change Data Feed on (Vector Search)
        self._created_schemas: set[str] = set()
        self._schema_lock = threading.Lock()
        self._local = threading.local()
        self._clients: list[SqlClient] = []
        self._clients_lock = threading.Lock()

    @property
    def client(self) -> SqlClient:
        """This thread's SQL client."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._connect()
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _columns(self, table: TableName) -> pa.Schema:
        return canonical_schema(self.client.execute(sql.table_columns(self.catalog, table), f"read the columns of {table}").schema)

    def table_schema(self, table: TableName) -> pa.Schema | None:
        if table not in self._known:
            self._known[table] = self._read(table)
        return self._known[table]

    def _read(self, table: TableName, listed: bool = True) -> pa.Schema | None:
        """``listed`` False: the metastore does not list the table, so its columns are not asked for."""
        location = self.location(table)
        if listed and location:
            # An unmanaged table's schema is in its Delta log: read there, not by a statement (about a second each).
            # (This trusts that the metastore's table lives where the connector puts it, as it created it there.)
            found = self.schema_at(location)
            if found is not None:
                return canonical_schema(found)
        if listed:
            try:
                return self._columns(table)
            except (TableNotFound, SchemaNotFound):
                pass
        if location and self.schema_at(location) is not None:
            # The data is there but the name is not (a dropped table, a new metastore): adopt it.
            self.ensure_schema(table.schema)
            self.client.execute(sql.adopt_table(self.catalog, table, location), f"register the existing table {table}")
            return self._columns(table)
        return None

    def prefetch(self, tables: Iterable[TableName]) -> None:
        """Read the schemas of ``tables`` before any input, in few statements: one listing per schema, then the
        columns of the tables that exist, ``concurrency`` at a time (a statement costs about a second)."""
        tables = [t for t in dict.fromkeys(tables) if t not in self._known]
        listed: dict[str, set[str]] = {}
        for schema in sorted({t.schema for t in tables}):
            try:
                answer = self.client.execute(sql.show_tables(self.catalog, schema), f"list the tables of {schema}")
                listed[schema] = {name.lower() for name in answer.column("tableName").to_pylist()}
            except SchemaNotFound:
                listed[schema] = set()

        def from_log(table: TableName) -> None:
            location = self.location(table)
            found = self.schema_at(location) if location and table.table.lower() in listed[table.schema] else None
            if found is not None:
                self._known[table] = canonical_schema(found)

        def read(table: TableName) -> None:
            self._known[table] = self._read(table, listed=table.table.lower() in listed[table.schema])

        # First the Delta logs (object-store reads, not statements: more at once), then statements for the rest.
        if len(tables) > 1:
            with ThreadPoolExecutor(max_workers=min(LOG_READERS, len(tables)), thread_name_prefix="log") as pool:
                list(pool.map(from_log, tables))
        rest = [t for t in tables if t not in self._known]
        if self.concurrent_loads > 1 and len(rest) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrent_loads, len(rest)), thread_name_prefix="schema") as pool:
                list(pool.map(read, rest))
        else:
            for table in rest:
                read(table)

    def ensure_schema(self, schema: str) -> None:
        with self._schema_lock:  # once per sync, whichever thread needs it first
            if schema not in self._created_schemas:
                self.client.execute(sql.create_schema(self.catalog, schema), f"create schema {schema}")
                self._created_schemas.add(schema)

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None,
             drop_below: int | None = None) -> None:
        table = staged.table
        existing = self.table_schema(table)
        location = self.location(table)
        creates = existing is None and bool(staged.files)  # the load's statement creates the table (CTAS)
        if existing is None:
            self.ensure_schema(table.schema)
            if not creates:  # no rows to create it from: an empty table of the staged shape
                self.client.execute(sql.create_table(self.catalog, table, staged.schema, location, comment,
                                                     cluster_by=merge.keys if merge else (),
                                                     change_data_feed=table in self.change_data_feed),
                                    f"create table {table}")
            existing = staged.schema
        load = _Load(staged, mode, merge, None if mode.replaces else drop_below,
                     grows=any(name not in existing.names for name in staged.schema.names),
                     columns=staged.schema.names, has_generations=GENERATION in existing.names,
                     creates=creates, location=location)
        if staged.format != "delta" and not staged.files:  # no folder of files: an empty source of the table's shape
            empty = replace(load, grows=False, columns=existing.names)
            self._load_from(f"(SELECT * FROM {sql.table_ref(self.catalog, table)} WHERE FALSE)", empty)
            self._known[table] = canonical_schema(existing)  # no column was added: the table is as it was (or new)
            return
        if staged.format == "csv":
            self._load_csv(load)
        elif staged.format == "parquet":
            self._load_from(sql.parquet_path(staged.location), load)
        else:
            self._load_from(sql.delta_path(staged.location), load)
        self._known[table] = canonical_schema(staged.schema)

    def _load_csv(self, load: "_Load") -> None:
        """Staged CSV is read through a temporary table typed like the destination, dropped afterwards."""
        table, staged = load.staged.table, load.staged
        tmp = temporary_table(table, self.sync_id, staged.location)
        self.client.execute(sql.create_csv_table(self.catalog, tmp, staged.schema, staged.location, self.csv_options),
                            f"read the staged CSV of {table}")
        try:
            self._load_from(sql.table_ref(self.catalog, tmp), load)
        finally:
            self.client.execute(sql.drop_table(self.catalog, tmp), f"drop the temporary table of {table}")

    def _load_from(self, source: str, load: "_Load") -> None:
        """The statements of one load (one commit of rows; a first one only adds columns when the table grows)."""
        staged, table, catalog = load.staged, load.staged.table, self.catalog
        files = bool(staged.files)
        if load.creates:  # one statement creates the table from the first rows (a replay finds it and adds nothing)
            rows = sql.latest_rows(source, load.columns, load.merge) if load.merge else f"SELECT * FROM {source}"
            statement = sql.create_table_as(catalog, table, rows, load.location,
                                            cluster_by=load.merge.keys if load.merge else (),
                                            change_data_feed=table in self.change_data_feed)
            self.client.execute(statement, f"create {table} from {len(staged.files)} staged files")
            return
        if load.grows and (load.mode.replaces or load.merge is not None or load.drop_below is not None):
            # first, so the commit's conditions can name a column (a key, the generation) the table gains now
            self.client.execute(sql.add_columns_from(catalog, table, source), f"add new columns to {table}")
        drop = load.drop_below
        if drop is not None and not load.has_generations and not load.grows:
            drop = -1  # the table has no generation column: every row predates generations (see delete_…)
        if load.merge is not None and load.mode.replaces:
            statement = sql.overwrite_latest(catalog, table, source, load.columns, load.merge)
        elif load.merge is not None and files:
            statement = sql.merge_latest(catalog, table, source, load.columns, load.merge, drop_below=drop)
        elif load.mode.replaces:
            statement = sql.overwrite(catalog, table, source)
        elif files and drop is not None:
            statement = sql.append_dropping_generations(catalog, table, source, self._marker(staged), drop)
        elif files and load.grows:
            statement = sql.append_with_new_columns(catalog, table, source, self._marker(staged))
        elif files:
            statement = sql.append(catalog, table, source, self._marker(staged))
        elif drop is not None:  # nothing new, but the refresh truncates
            statement = sql.delete_generations_below(catalog, table, drop, has_column=drop >= 0)
        else:
            return
        self.client.execute(statement, f"load {len(staged.files)} staged files into {table}")

    @staticmethod
    def _marker(staged: StagedTable) -> str:
        """One record id of this load: the append runs only while it is absent, so a replay adds nothing."""
        return next((f.first_id for f in staged.files if f.first_id), "")

    def enable_change_data_feed(self, table: TableName) -> None:
        """Turn Change Data Feed on for a table (a Delta Sync index reads it); harmless when it is on."""
        self.client.execute(sql.enable_change_data_feed(self.catalog, table),
                            f"turn on Change Data Feed for {table} (Vector Search)")

    def tables(self) -> dict[TableName, pa.Schema]:
        found = {}
        for schema in sorted(self.schemas):
            try:
                listing = self.client.execute(sql.show_tables(self.catalog, schema), f"list the tables of {schema}")
            except SchemaNotFound:
                continue
            for name in sorted(listing.column("tableName").to_pylist()):
                if name.startswith(("_airbyte_tmp_", "_airbyte_connection_test_")):
                    continue  # the connector's own scratch tables, not streams
                table = TableName(schema, name)
                found[table] = self._columns(table)
        return found

    def ensure_volume(self, schema: str, volume: str) -> None:
        """The Unity Catalog volume that stages files (and its schema), created if missing."""
        self.ensure_schema(schema)
        self.client.execute(sql.create_volume(self.catalog, schema, volume, "Airbyte staging files"),
                            f"create the staging volume {self.catalog}.{schema}.{volume} (data_source.volume_name)")

    def check(self, schema: str, location: str | None, check_id: str) -> None:
        """Create and drop a uniquely named table at ``location`` (None: managed), so concurrent checks cannot collide."""
        table = TableName(sanitize(schema, lowercase=True), f"_airbyte_connection_test_{check_id}")
        self.ensure_schema(table.schema)
        self.client.execute(sql.create_table(self.catalog, table, AIRBYTE_SCHEMA, location, "Airbyte connection check"),
                            "create a test table")
        self.client.execute(sql.drop_table(self.catalog, table), "drop the test table")

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
