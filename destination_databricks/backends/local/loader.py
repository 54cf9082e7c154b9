"""The LOCAL loader: delta-rs commits staged files into unmanaged tables under a local folder.

The staged Parquet files already have the table's exact schema, so a load links (or, across devices,
copies) them into the table folder and commits them; the data is never re-encoded. Deduplicated loads merge
(merge.py).
"""
from __future__ import annotations

import os
import shutil

import pyarrow as pa

from ... import delta_files
from ...catalog import SyncMode
from ...dedup import Merge, Truncation
from ...naming import TableName
from ...staging.base import StagedTable
from ..base import Capabilities
from . import merge as merging

CAPABILITIES = Capabilities(
    concurrent_loads=4,  # loads of different tables are independent Delta commits; delta-rs releases the GIL
    # A merge holds its source (the load's newest rows) in memory, so deduplicated loads commit every 64 MiB of
    # input rather than 256: a first sync of 3 M distinct keys peaked at 486 MB this way, 844 MB with 256 MiB
    # (bench.dedup --records 3000000, docs/benchmarks.md).
    dedup_commit_bytes=64 << 20,
    # delta-rs cannot add files it did not write and delete rows in one transaction: an append that truncates
    # commits twice (a merge could, by rewriting the new rows; locally the gap between the two is milliseconds).
    atomic_truncate=False,
)


class DeltaRsLoader:
    capabilities = CAPABILITIES

    def __init__(self, root: str, sync_id: str, schemas: set[str]):
        self.root = root
        self.sync_id = sync_id
        self.schemas = schemas

    def location(self, table: TableName) -> str:
        return os.path.join(self.root, table.schema, table.table)

    def table_schema(self, table: TableName) -> pa.Schema | None:
        return delta_files.read_schema(self.location(table))

    def prefetch(self, tables) -> None:
        """Nothing to do: a local table's schema is read when needed, in a millisecond."""

    def load(self, staged: StagedTable, mode: SyncMode, comment: str, merge: Merge | None = None,
             truncation: Truncation | None = None) -> None:
        location = self.location(staged.table)
        os.makedirs(location, exist_ok=True)
        if mode.replaces:
            truncation = None  # every row goes anyway
        if merge is not None:  # the staged files are read, deduplicated and merged; the table writes its own files
            if staged.files or mode.replaces:
                merging.write_latest(location, [f.location for f in staged.files], staged.schema, merge,
                                     mode.replaces, description=comment, truncation=truncation)
            elif truncation is not None and delta_files.read_schema(location) is not None:
                merging.truncate(location, truncation)
            return
        data = []
        for file in staged.files:
            name = f"part-{self.sync_id}-{file.name}"
            target = os.path.join(location, name)
            try:
                os.link(file.location, target)
            except OSError:  # another device: copy
                shutil.copyfile(file.location, target)
            data.append(delta_files.DataFile(name, file.size, file.rows))
        delta_files.commit(location, data, staged.schema, "overwrite" if mode.replaces else "append",
                           description=comment)
        if truncation is not None:
            merging.truncate(location, truncation)

    def tables(self) -> dict[TableName, pa.Schema]:
        found = {}
        for schema in sorted(self.schemas):
            folder = os.path.join(self.root, schema)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
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
