"""The client's cost of the two record formats Zerobus takes for the batches the connector builds: Arrow IPC (the
Arrow Flight stream: one message per batch) against Avro (one datum per record, as the SDK's Avro record batches
take them, written by fastavro with the batch's Avro schema).

    python -m bench.zerobus_formats [--records 200000] [--batch-rows 7000]

Realistic records (bench/generate.py) are built into the connector's own Arrow batches (records/batch.py, the
LOCAL sync's path), then each batch is encoded both ways; seconds are the encoding alone (best of 3), bytes what
would go on the wire. Both are exact (Avro's long, double, string, timestamp-micros and decimal bytes carry every
value of these columns as it is).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time

import pyarrow as pa

from .common import machine, table
from .generate import generate


def _avro_type(arrow: pa.DataType) -> object:
    if pa.types.is_timestamp(arrow):
        return {"type": "long", "logicalType": "timestamp-micros"}
    if pa.types.is_date32(arrow):
        return {"type": "int", "logicalType": "date"}
    if pa.types.is_decimal(arrow):
        return {"type": "bytes", "logicalType": "decimal", "precision": arrow.precision, "scale": arrow.scale}
    if pa.types.is_integer(arrow):
        return "long"
    if pa.types.is_floating(arrow):
        return "double"
    if pa.types.is_boolean(arrow):
        return "boolean"
    return "string"


def _batches(records: int, rows: int) -> list[pa.RecordBatch]:
    """The connector's batches of ``records`` realistic records, ``rows`` each (as a sync builds them)."""
    from destination_databricks.catalog import read_catalog
    from destination_databricks.records.batch import BatchBuilder
    from destination_databricks.records.buffer import BufferPool
    from destination_databricks.records.columns import file_schema

    work = tempfile.mkdtemp(prefix="bench-formats-")
    data = generate(work, records, 1, kind="realistic")
    plan = next(iter(read_catalog(data["catalog"], "bench").values()))
    columns = list(plan.proposed_columns)
    builder = BatchBuilder(columns, file_schema(columns), None)
    pool = BufferPool(1 << 40, 1 << 40, rows, lambda key: builder.layout)
    buffers = pool.buffers
    batches = []
    with open(data["messages"], "rb") as f:
        for number, line in enumerate(f, 1):
            message = json.loads(line)
            if message["type"] != "RECORD":
                continue
            text = json.dumps(message["record"]["data"], separators=(",", ":")).encode()
            if pool.add(plan.key, text, message["record"]["emitted_at"], len(line), number):
                batches.append(builder.build(pool.take(plan.key), None, None, b""))
    if plan.key in buffers:
        batches.append(builder.build(pool.take(plan.key), None, None, b""))
    return batches


def _best(work, repeat: int = 3) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = work()
        times.append(time.perf_counter() - started)
    return min(times), size


def main(argv: list[str] | None = None) -> list[list]:
    import fastavro

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=7_000)
    args = parser.parse_args(argv)
    batches = _batches(args.records, args.batch_rows)
    schema = batches[0].schema
    avro = fastavro.parse_schema({"type": "record", "name": "row", "fields": [
        {"name": f.name, "type": ["null", _avro_type(f.type)]} for f in schema]})

    def arrow_ipc() -> int:
        size = 0
        for batch in batches:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            size += sink.getvalue().size
        return size

    def avro_records() -> int:
        size = 0
        for batch in batches:
            for row in batch.to_pylist():
                out = io.BytesIO()
                fastavro.schemaless_writer(out, avro, row)
                size += out.tell()
        return size

    rows = []
    for name, work in (("Arrow IPC (Flight)", arrow_ipc), ("Avro records", avro_records)):
        seconds, size = _best(work)
        rows.append([name, f"{seconds:.3f}", f"{args.records / seconds:,.0f}", f"{size / 1e6:.1f}"])
    print(f"Encoding {args.records:,} realistic records in {len(batches)} batches; {machine()}")
    print(table(["format", "seconds", "records/s", "MB"], rows))
    return rows


if __name__ == "__main__":
    main()
