"""The LOCAL loader: delta-rs commits staged files into unmanaged tables under a local folder.

The staged Parquet files already have the table's exact schema, so a load links (or, across devices,
copies) them into the table folder and commits them; the data is never re-encoded. Deduplicated loads merge
(merge.py).
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence

import orjson
import pyarrow as pa
import pyarrow.dataset as ds

from ... import delta_files
from ...catalog import SyncMode
from ...dedup import KEY_COLUMN, Merge
from ...layout import TableLayout
from ...naming import TableName
from ...records.columns import Column
from ...refresh import Refresh, into_shadow, is_internal, shadowed
from ...staging.base import StagedTable
from ..base import Capabilities
from . import merge as merging
from . import metadata
from . import retype as retyping
from . import swap as swapping
from .commits import retried

logger = logging.getLogger("airbyte")
CAPABILITIES = Capabilities(
    concurrent_loads=4,  # loads of different tables are independent Delta commits; delta-rs releases the GIL
    # A merge holds its source (the load's newest rows) in memory, so deduplicated loads commit every 64 MiB of
    # input rather than 256: a first sync of 3 M distinct keys peaked at 486 MB this way, 844 MB with 256 MiB
    # (bench.dedup --records 3000000, docs/benchmarks.md).
    dedup_commit_bytes=64 << 20,
)


class DeltaRsLoader:
    capabilities = CAPABILITIES

    def __init__(self, root: str, sync_id: str, schemas: set[str]):
        self.root = root
        self.sync_id = sync_id
        self.schemas = schemas
        self.layouts: Mapping[TableName, TableLayout] = {}
        self._laid_out: set[TableName] = set()

    def configure(self, layouts: Mapping[TableName, TableLayout]) -> None:
        """Table properties apply; clustering and partitioning are Databricks' (delta-rs writes neither)."""
        self.layouts = layouts
        for table, layout in layouts.items():
            if layout.cluster_by is not None or layout.partition_by:
                logger.info("%s: cluster_by and partition_by apply on the Databricks data sources; LOCAL writes "
                            "unpartitioned, unclustered tables (delta-rs has neither).", table)

    def _lay_out(self, table: TableName, schema: pa.Schema, comment: str) -> None:
        """After a table's first commit of the sync: its properties and comments as asked (metadata.py)."""
        if table not in self._laid_out and shadowed(table) is None:
            self._laid_out.add(table)
            metadata.lay_out(self.location(table), self.layouts.get(table), schema, comment)

    def location(self, table: TableName) -> str:
        return os.path.join(self.root, table.schema, table.table)

    def table_schema(self, table: TableName) -> pa.Schema | None:
        return delta_files.read_schema(self.location(table))

    def prefetch(self, tables) -> None:
        """Nothing to do: a local table's schema is read when needed, in a millisecond."""

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None) -> None:
        location = self.location(staged.table)
        os.makedirs(location, exist_ok=True)
        if merge is not None:  # the staged files are read, deduplicated and merged; the table writes its own files
            if staged.files or mode.replaces:
                retried(staged.table, location, lambda: merging.write_latest(
                    location, [f.location for f in staged.files], staged.schema, merge, mode.replaces,
                    description=comment))
                self._lay_out(staged.table, staged.schema, comment)
            return
        data = []
        for file in staged.files:
            name = f"part-{self.sync_id}-{file.name}"
            target = os.path.join(location, name)
            swapping.link(file.location, target)
            data.append(delta_files.DataFile(name, file.size, file.rows))
        retried(staged.table, location, lambda: delta_files.commit(
            location, data, staged.schema, "overwrite" if mode.replaces else "append", description=comment))
        self._lay_out(staged.table, staged.schema, comment)

    def swap(self, refresh: Refresh, table: TableName, schema: pa.Schema, merge: Merge | None,
             staged: StagedTable | None = None, comment: str = "") -> None:
        if staged is not None and staged.files:  # into the shadow first: linking files there costs nothing here
            into, mode, soft = into_shadow(staged, refresh, merge)
            self.load(into, mode, f"Refresh of {table}", soft)
        retried(table, self.location(table), lambda: swapping.swap(
            refresh, self.location(table), self.location(refresh.shadow), schema, merge,
            description=comment or f"Refreshed from {refresh.shadow.table}"))
        if os.path.isdir(os.path.join(self.location(table), "_delta_log")):
            self._lay_out(table, schema, comment)

    def drop(self, table: TableName) -> None:
        if shadowed(table) is None:
            raise ValueError(f"{table} is not a table of the connector's own")
        shutil.rmtree(self.location(table), ignore_errors=True)

    def shadows(self, tables) -> list[TableName]:
        found = []
        for schema in sorted({t.schema for t in tables}):
            folder = os.path.join(self.root, schema)
            names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            found += [TableName(schema, name) for name in names if shadowed(TableName(schema, name))]
        return found

    def retype(self, table: TableName, columns: Sequence[Column], merge: Merge | None) -> None:
        described = "Column types changed: " + ", ".join(f"{c.name} {c.type}" for c in columns)
        retried(table, self.location(table), lambda: retyping.rebuild(self.location(table), columns, described))

    def key_parts(self, table: TableName) -> int | None:
        from deltalake import DeltaTable

        files = DeltaTable(self.location(table)).file_uris()
        schema = pa.schema([(KEY_COLUMN, pa.string())])
        for batch in ds.dataset(files, format="parquet", schema=schema).to_batches(filter=ds.field(KEY_COLUMN).is_valid()):
            if batch.num_rows:
                return len(orjson.loads(batch.column(0)[0].as_py()))
        return None

    def tables(self) -> dict[TableName, pa.Schema]:
        found = {}
        for schema in sorted(self.schemas):
            folder = os.path.join(self.root, schema)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if is_internal(name):
                    continue  # a refresh's shadow, not a stream
                table = TableName(schema, name)
                table_schema = self.table_schema(table)
                if table_schema is not None:
                    found[table] = table_schema
        return found

    def enable_change_data_feed(self, table: TableName) -> None:
        from deltalake import DeltaTable

        DeltaTable(self.location(table)).alter.set_table_properties({"delta.enableChangeDataFeed": "true"})

    def close(self) -> None:
        pass
