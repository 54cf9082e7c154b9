"""Staging in a local folder: Parquet files, each batch one file named by the file-name pattern.

Layout: `<local_path>/.airbyte-staging/<sync id>/<schema>/<table>/`. The folder name has a `.` and a
`-`, which no sanitized schema name has, so staging can never collide with a table.

Unlike S3 staging, no `_delta_log` is written here: the loader links exactly the sealed files into the
table and commits them there, so a staging log would be read by nobody, and creating one Delta table
per stream cost half the commit time of a sync with thousands of streams.
"""
from __future__ import annotations

import os
import shutil

import pyarrow as pa

from ..naming import TableName
from .base import StagedFile, StagedTable, first_id
from .filename import FileNamer
from .parquet import write_parquet

STAGING_FOLDER = ".airbyte-staging"


class LocalStager:
    def __init__(self, root: str, sync_id: str, namer: FileNamer):
        self.sync_root = os.path.join(root, STAGING_FOLDER, sync_id)
        self.namer = namer
        self._parts: dict[TableName, int] = {}

    def folder(self, table: TableName) -> str:
        return os.path.join(self.sync_root, table.schema, table.table)

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        folder = self.folder(table)
        os.makedirs(folder, exist_ok=True)
        name = self.namer.name(part)
        location = os.path.join(folder, name)
        write_parquet(location, batch, avro_schema_json)
        return StagedFile(table, name, location, os.path.getsize(location), batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        return StagedTable(table, self.folder(table), files, schema, format="parquet")

    def purge(self) -> None:
        shutil.rmtree(self.sync_root, ignore_errors=True)
