"""What every stager offers the sync: its lifecycle, and files written per batch, sealed per load, freed once loaded."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import pyarrow as pa

from ..naming import TableName


class StagedFormat(str, Enum):
    """How a sealed load's files are read by the loader."""

    DELTA = "delta"  # a Delta table at the location (S3: deltalake wrote its log)
    PARQUET = "parquet"  # a folder of Parquet files
    CSV = "csv"  # a folder of CSV files with a header (Azure)
    DIRECT = "direct"  # no files: the rows are in the table already, acknowledged by Zerobus (backends/zerobus/)


@dataclass(frozen=True)
class StagedFile:
    name: str  # file name inside the load's staging folder
    location: str  # full path or URI of the file
    size: int
    rows: int
    first_id: str = ""  # the _airbyte_ab_id of its first row: tells whether a load of the file has committed


def first_id(batch: pa.RecordBatch) -> str:
    return batch.column("_airbyte_ab_id")[0].as_py() if batch.num_rows else ""


@dataclass(frozen=True)
class StagedTable:
    """A sealed load: exactly ``files``, at ``location``, ready to be loaded into ``table``."""

    table: TableName
    location: str
    files: list[StagedFile]
    schema: pa.Schema
    format: StagedFormat


# Marks syncs leave on a refresh's shadow (sync/rounds.py): CLAIM, it commits into the shadow (before its first
# commit, until it ends); DROP, it is deciding whether to drop the shadow and doing so.
CLAIM, DROP = "claims", "drops"


class Stager(Protocol):
    """One sync's staging. The backend drives the lifecycle: ``start`` before the first write; at the end
    ``purge`` (purge_staging_data on) or ``keep`` then ``close`` (off), whatever happened in between."""

    def start(self) -> None:
        """Claim this sync's staging and clear what dead syncs left behind."""

    def ahead(self, tables: Iterable[TableName], batch_schema: Callable[[TableName], pa.Schema]) -> None:
        """Before any input, after the tables' schemas are read: the sync's tables, and how the schema of a table's
        batches is had (making its stream's batch builder). A stager that needs tables ready before their first
        batch makes them so here, at once (direct ingest); staging in files needs nothing."""

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        """Stage one batch as one new file of ``table``'s current load."""

    def cut(self, table: TableName) -> Any:
        """Close the table's current load: files written after this go to the next one. Called in order with
        ``write`` (on the writer thread), so it waits for nothing; what it returns is handed to ``seal``."""

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema, cut: Any = None) -> StagedTable:
        """The load closed by ``cut`` (None: the current one, closed now), ready to be loaded: exactly ``files``,
        once they are all staged."""

    def loaded(self, staged: StagedTable) -> None:
        """``staged`` is committed to its table (its files may go)."""

    def mark(self, kind: str, names: list[str]) -> None:
        """Leave marks of ``kind`` (CLAIM, DROP) on the connector's tables ``names`` (refreshes' shadows) in this
        sync's staging, where other running syncs see them (``marked_by_others``) until ``unmark`` or the end."""

    def unmark(self, kind: str) -> None:
        """Take this sync's marks of ``kind`` away."""

    def marked_by_others(self, kind: str) -> set[str] | None:
        """The names other running syncs have marks of ``kind`` on; None: unsure (a staging could not be read)."""

    def purge(self) -> None:
        """Remove everything this sync staged, and release the staging."""

    def keep(self) -> None:
        """Leave this sync's staging in place on purpose (no later sync sweeps it away)."""

    def close(self) -> None:
        """Release the staging without removing it (after ``keep``)."""
