"""What every stager offers the sync: write a batch as a named file, seal a table's files, purge."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from ..naming import TableName


@dataclass(frozen=True)
class StagedFile:
    table: TableName
    name: str  # file name inside the stream's staging folder
    location: str  # full path or URI of the file
    size: int
    rows: int
    first_id: str = ""  # the _airbyte_ab_id of its first row: tells whether a load of the file has committed


def first_id(batch: pa.RecordBatch) -> str:
    return batch.column("_airbyte_ab_id")[0].as_py() if batch.num_rows else ""


@dataclass(frozen=True)
class StagedTable:
    """A sealed staging Delta table: exactly ``files``, ready to be loaded."""

    table: TableName
    location: str
    files: list[StagedFile]
    schema: pa.Schema
    # "delta": a Delta table at location; "csv": a folder of CSV files with a header; "parquet": a folder of Parquet files
    format: str = "delta"


class Stager(Protocol):
    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        """Stage one batch as one new file of ``table``'s staging folder."""

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        """Make ``files`` the whole content of the table's staging Delta table."""

    def loaded(self, staged: StagedTable) -> None:
        """``staged`` is committed to its table (its files may go)."""

    def purge(self) -> None:
        """Remove everything this sync staged."""
