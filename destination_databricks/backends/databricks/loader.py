"""The Databricks loader: staged files → destination tables, by SQL on a warehouse.

Each load commits once: CREATE TABLE … AS SELECT for a table's first, then INSERT (append), INSERT OVERWRITE
(overwrite), MERGE … WITH SCHEMA EVOLUTION (an append with new columns), MERGE (dedup.py's rules); new columns a
replacing or merging load brings are added first. A refresh loads into its shadow, swapped in at its end (swap.py);
column types change in retype.py. Schemas come from the schema's listing (SHOW TABLE EXTENDED or Unity Catalog's
API, listing.py), else an unmanaged table's Delta log or SELECT … LIMIT 0. Zerobus loads (DIRECT) need nothing."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import orjson
import pyarrow as pa

from ...bounded import each
from ...catalog import SyncMode
from ...dedup import Merge
from ...delta_files import DeltaLogs
from ...errors import SystemFailure
from ...layout import TableLayout
from ...naming import TableName
from ...records.columns import Column
from ...records.types import canonical_schema
from ...refresh import Refresh, is_internal, shadowed
from ...staging.base import StagedFormat, StagedTable
from ..base import Capabilities
from . import listing, retype, sql, swap
from .layouts import Layouts
from .listing import Lister
from .sql_client import SchemaNotFound, SqlClient, TableExists, TableNotFound, ThreadClients

logger = logging.getLogger("airbyte")
LOG_READERS = 32  # Delta logs read at once before a sync (object-store GETs; the warehouse is not involved)


@dataclass(frozen=True)
class _Load:
    staged: StagedTable
    mode: SyncMode
    merge: Merge | None  # a deduplicated stream's rules
    grows: bool  # the staged files have columns the table lacks
    columns: list[str]  # the source's columns
    creates: bool = False  # the table does not exist: CREATE TABLE … AS SELECT the load's rows
    location: str | None = None  # where the table lives (None: managed)
    comment: str = ""  # the table's, if the load creates it


class DatabricksLoader:
    def __init__(self, connect: Callable[[], SqlClient], catalog: str, location: Callable[[TableName], str | None],
                 logs: DeltaLogs, schemas: set[str], csv_options: dict | None = None,
                 concurrency: int = 1, change_data_feed: frozenset[TableName] = frozenset(),
                 remove_data: Callable[[TableName], None] | None = None, lister: Lister | None = None):
        """``connect``: a new SQL client (each thread gets its own: the driver's connections are not thread-safe);
        ``concurrency``: how many statements may run at once (loads of different tables, schema reads);
        ``change_data_feed``: tables created with Change Data Feed on (Vector Search indexes them);
        ``remove_data``: deletes an unmanaged table's files at its location (None: tables are managed);
        ``lister``: lists a schema's tables without a statement (Unity Catalog's REST API; None: SHOW TABLE EXTENDED)."""
        self.capabilities = Capabilities(concurrent_loads=concurrency, change_data_feed=True)
        self.catalog = catalog
        self.location = location  # where a table lives (None: managed)
        self.logs = logs  # the Delta logs of unmanaged tables, where the connector reads them itself
        self.schemas = schemas
        self.csv_options = csv_options or {}
        self._known: dict[TableName, pa.Schema | None] = {}
        self.change_data_feed = change_data_feed
        self.remove_data = remove_data
        self.lister = lister
        self.layouts = Layouts(catalog, {}, change_data_feed)  # the config's (configure)
        self._listed: dict[str, list[str]] = {}  # the table names of each schema listed so far
        self._schemas_there: set[str] = set()  # created by this sync, or listed: no CREATE SCHEMA needed
        self._schema_lock = threading.Lock()
        self._clients = ThreadClients(connect)

    @property
    def client(self) -> SqlClient:  # this thread's
        return self._clients.get()

    def _columns(self, table: TableName) -> pa.Schema:  # (a statement)
        answer = self.client.execute(sql.table_columns(self.catalog, table), f"read the columns of {table}")
        return canonical_schema(answer.schema)

    def table_schema(self, table: TableName) -> pa.Schema | None:
        if table not in self._known:
            self._known[table] = self._read(table)
        return self._known[table]

    def known(self, table: TableName, schema: pa.Schema | None) -> None:  # (None: it is gone)
        self._known[table] = canonical_schema(schema) if schema is not None else None

    def reread(self, table: TableName) -> pa.Schema | None:
        self._known[table] = self._read(table)
        return self._known[table]

    def _read(self, table: TableName, listed: bool = True) -> pa.Schema | None:
        """``listed`` False: the metastore does not list the table, so its columns are not asked for."""
        location = self.location(table)
        if listed and location:
            # An unmanaged table's schema is in its Delta log (trusting it lives where the connector put it): read
            # there, not by a statement (about a second each).
            found = self.logs.schema(location)
            if found is not None:
                return canonical_schema(found)
        if listed:
            try:
                return self._columns(table)
            except (TableNotFound, SchemaNotFound):
                pass
        if location and self.logs.schema(location) is not None:
            # The data is there but the name is not (a dropped table, a new metastore): adopt it.
            self.ensure_schema(table.schema)
            self.client.execute(sql.adopt_table(self.catalog, table, location), f"register the existing table {table}")
            return self._columns(table)
        return None

    def _listing(self, schema: str) -> dict[str, pa.Schema | None]:
        """The tables of ``schema`` (lower-cased names) and the columns each has, from one statement; a table's
        schema is None when the listing does not spell it in full (its columns are then read another way)."""
        try:
            if self.lister is not None:
                schemas, properties = self.lister(self.catalog, schema)
            else:
                answer = self.client.execute(sql.show_tables_extended(self.catalog, schema), f"list the tables of {schema}")
                schemas, properties = listing.tables_with_schemas(answer), listing.tables_with_properties(answer)
        except SchemaNotFound:
            self._listed[schema] = []
            return {}
        self._schemas_there.add(schema)
        self.layouts.listed.update((TableName(schema, name.lower()), found) for name, found in properties.items())
        tables = {name.lower(): found for name, found in schemas.items()}
        self._listed[schema] = sorted(tables)
        return tables

    def prefetch(self, tables: Iterable[TableName]) -> None:
        """Read the schemas of ``tables`` before any input: one listing per schema carries its tables' columns; a
        table it does not spell out costs its Delta log or a statement, one not listed a look at its location."""
        tables = [t for t in dict.fromkeys(tables) if t not in self._known]
        listed = {schema: self._listing(schema) for schema in sorted({t.schema for t in tables})}
        unlisted: list[TableName] = []
        for table in tables:
            name = table.table.lower()
            if name not in listed[table.schema]:
                unlisted.append(table)
            elif listed[table.schema][name] is not None:
                self._known[table] = canonical_schema(listed[table.schema][name])
        orphans: set[TableName] = set()  # not listed, but Delta data is at the table's location: adopted below

        def look(table: TableName) -> None:
            location = self.location(table)
            if location and self.logs.schema(location) is not None:
                orphans.add(table)
            else:
                self._known[table] = None

        each(look, unlisted, LOG_READERS)

        def read(table: TableName) -> None:
            self._known[table] = self._read(table, listed=table not in orphans)

        each(read, [t for t in tables if t not in self._known], self.capabilities.concurrent_loads)

    def ensure_schema(self, schema: str, exists: bool = False) -> None:
        """Create the schema unless this sync did or listed it (or ``exists``: it is known to exist now)."""
        with self._schema_lock:  # once per sync, whichever thread needs it first
            if schema not in self._schemas_there and not exists:
                self.client.execute(sql.create_schema(self.catalog, schema), f"create schema {schema}")
            self._schemas_there.add(schema)

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None,
             recreating: bool = False) -> None:  # recreating: the table was dropped since this sync read it
        table = staged.table
        if staged.format is StagedFormat.DIRECT and staged.files:  # Zerobus put them in (backends/zerobus/): no statement
            return
        existing = self.table_schema(table)
        location = self.location(table)
        # The load's statement creates the table (CTAS), unless its columns have comments (a CTAS cannot give them).
        creates = existing is None and bool(staged.files) and not sql.has_comments(staged.schema)
        if existing is None:
            self.ensure_schema(table.schema)
            if not creates:  # no rows to create it from: an empty table of the staged shape
                layout = self.layouts.new_table(table, merge.keys if merge else (), staged.schema, comment)
                self.client.execute(sql.create_table(self.catalog, table, staged.schema, location, comment, layout),
                                    f"create table {table}")
            existing = staged.schema
        else:
            self.layouts.existing_table(self.client, table, merge.keys if merge else (), staged.schema, comment)
        grows = any(name not in existing.names for name in staged.schema.names)
        load = _Load(staged, mode, merge, grows=grows, columns=staged.schema.names, creates=creates, location=location,
                     comment=comment)
        if staged.format is not StagedFormat.DELTA and not staged.files:  # no folder: an empty source of the table's shape
            empty = replace(load, grows=False, columns=existing.names)
            self._load_from(f"(SELECT * FROM {sql.table_ref(self.catalog, table)} WHERE FALSE)", empty)
            self._known[table] = canonical_schema(existing)  # no column was added: the table is as it was (or new)
            return
        raced = ""  # (decided outside the handlers: a failure of the load below must not chain to their answer)
        try:
            self._load_from(self.source(staged), load)
        except (TableExists, TableNotFound) as exc:
            raced = "created" if isinstance(exc, TableExists) else "dropped"
            if (raced == "created") != creates or (raced == "dropped" and recreating):
                raise
        if raced == "dropped":  # by another writer (another attempt of a refresh swapped their shadow in): anew
            logger.warning("%s was dropped while this sync loaded it: created anew from this load's rows.", table)
            self.known(table, None)
            return self.load(staged, mode, comment, merge, recreating=True)
        if raced:  # created meanwhile, by another writer or a replay of our own statement: loaded into as it is now
            if self.reread(table) is None:
                raise SystemFailure(f"Creating {table} failed as if it existed, yet no table of that name can be "
                                    f"read (is other data at its location, {location}?).")
            self.load(staged, mode, comment, merge)
            return
        self._known[table] = canonical_schema(staged.schema)

    def source(self, staged: StagedTable) -> str:
        """How the load's statement reads its staged files (CSV in the load's own statement), typed like the table."""
        if staged.format is StagedFormat.CSV:
            return sql.table_typed(sql.csv_files(staged.location, staged.schema, self.csv_options), staged.schema)
        path = sql.parquet_path if staged.format is StagedFormat.PARQUET else sql.delta_path
        return sql.table_typed(path(staged.location), staged.schema)

    def _load_from(self, source: str, load: _Load) -> None:
        """The statements of one load (one commit of rows; a first one only adds columns when the table grows)."""
        staged, table, catalog = load.staged, load.staged.table, self.catalog
        files = bool(staged.files)
        if load.creates:  # one statement creates the table from the first rows (sql.create_table_as: if it exists …)
            rows = sql.latest_rows(source, load.columns, load.merge) if load.merge else f"SELECT * FROM {source}"
            layout = self.layouts.new_table(table, load.merge.keys if load.merge else ())
            statement = sql.create_table_as(catalog, table, rows, load.location, layout, load.comment)
            self.client.execute(statement, f"create {table} from {len(staged.files)} staged files")
            return
        if load.grows and (load.mode.replaces or load.merge is not None):
            # first, so the commit's conditions can name a column (a key) the table gains now
            self.client.execute(sql.add_columns_from(catalog, table, source), f"add new columns to {table}")
        if load.merge is not None and load.mode.replaces:
            statement = sql.overwrite_latest(catalog, table, source, load.columns, load.merge)
        elif load.merge is not None and files:
            statement = sql.merge_latest(catalog, table, source, load.columns, load.merge)
        elif load.mode.replaces:
            statement = sql.overwrite(catalog, table, source)
        elif files and load.grows:
            statement = sql.append_with_new_columns(catalog, table, source, self._marker(staged))
        elif files:
            statement = sql.append(catalog, table, source, self._marker(staged))
        else:
            return
        self.client.execute(statement, f"load {len(staged.files)} staged files into {table}")

    @staticmethod
    def _marker(staged: StagedTable) -> str:  # a record id of the load: its append runs only while it is absent
        return next((f.first_id for f in staged.files if f.first_id), "")

    def configure(self, layouts: Mapping[TableName, TableLayout]) -> None:
        self.layouts.configured = layouts

    def swap(self, refresh: Refresh, table: TableName, schema: pa.Schema, merge: Merge | None,
             staged: StagedTable | None = None, comment: str = "") -> None:  # (one commit, swap.py)
        swap.swap(self, refresh, table, schema, merge, staged, comment)

    def drop(self, table: TableName) -> None:
        """Drop a table of the connector's own (a shadow), and its data where the table is unmanaged."""
        if shadowed(table) is None:
            raise ValueError(f"{table} is not a table of the connector's own")
        self.client.execute(sql.drop_table(self.catalog, table), f"drop {table}")
        self.known(table, None)
        if self.remove_data is not None:
            self.remove_data(table)

    def shadows(self, tables: Iterable[TableName]) -> list[TableName]:  # (refresh.py's, in the schemas of ``tables``)
        found = []
        for schema in sorted({t.schema for t in tables}):
            if schema not in self._listed:
                self._listing(schema)
            found += [TableName(schema, name) for name in self._listed[schema] if shadowed(TableName(schema, name))]
        return found

    def retype(self, table: TableName, columns: Sequence[Column], merge: Merge | None) -> None:
        retype.retype(self, table, columns, merge)

    def key_parts(self, table: TableName) -> int | None:
        sample = self.client.execute(sql.key_sample(self.catalog, table), f"read a key of {table}").column(0)
        return len(orjson.loads(sample[0].as_py())) if len(sample) else None

    def enable_change_data_feed(self, table: TableName) -> None:  # (a Delta Sync index reads it; harmless when on)
        self.client.execute(sql.enable_change_data_feed(self.catalog, table),
                            f"turn on Change Data Feed for {table} (Vector Search)")

    def tables(self) -> dict[TableName, pa.Schema]:
        found = {}
        for schema in sorted(self.schemas):
            for name, columns in sorted(self._listing(schema).items()):
                if is_internal(name):
                    continue  # a check's test table or a refresh's shadow, not a stream
                table = TableName(schema, name)
                found[table] = canonical_schema(columns) if columns is not None else self._columns(table)
        return found

    def close(self) -> None:
        self._clients.close()
