"""One record batch → one Parquet file, with the stream's Avro schema in the file's metadata."""
from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

AVRO_SCHEMA_KEY = b"avro.schema"


def write_parquet(sink: Any, batch: pa.RecordBatch, avro_schema_json: str) -> None:
    """Write ``batch`` to ``sink`` (a path or a writable file object)."""
    schema = batch.schema.with_metadata({AVRO_SCHEMA_KEY: avro_schema_json.encode()})
    with pq.ParquetWriter(sink, schema, compression="snappy", write_statistics=True) as writer:
        writer.write_batch(batch.replace_schema_metadata(schema.metadata), row_group_size=1 << 20)


def parquet_bytes(batch: pa.RecordBatch, avro_schema_json: str) -> pa.Buffer:
    """The batch as one Parquet file in memory (object-store staging uploads it from there)."""
    sink = pa.BufferOutputStream()
    write_parquet(sink, batch, avro_schema_json)
    return sink.getvalue()
