"""One record batch → one CSV file, which the load's statement reads with read_files (Azure staging).

RFC 4180: a header, `"` quoting where needed, `""` escapes, line breaks kept inside quotes; timestamps as
ISO 8601 in UTC (`2024-01-01T10:00:00.123456Z`); integers of any size stay digits in `_airbyte_data`
(JSON text) and in DECIMAL(38,0) columns.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# What `csv_bytes` writes, for the reader on the warehouse.
CSV_OPTIONS = {"header": "true", "multiLine": "true", "escape": '"', "nanValue": "nan", "positiveInf": "inf",
               "negativeInf": "-inf"}


def csv_bytes(batch: pa.RecordBatch, avro_schema_json: str = "") -> bytes:
    """The batch as CSV (CSV has no place for the Avro schema; the table's typed columns carry the types)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=batch.schema.names)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=True, quoting_style="needed"))
    return sink.getvalue().to_pybytes()
