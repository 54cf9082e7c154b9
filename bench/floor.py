"""The floor: the least work that produces the same raw Parquet as the connector's `_airbyte_*` columns.

Parse each line with orjson, keep records, build `_airbyte_ab_id`, `_airbyte_emitted_at`,
`_airbyte_data`, one `pyarrow.parquet.write_table`.

    python -m bench.floor messages.jsonl out.parquet
"""
import sys
import uuid

import orjson
import pyarrow as pa
import pyarrow.parquet as pq


def main(messages: str, out: str) -> None:
    ids, emitted, data = [], [], []
    with open(messages, "rb") as f:
        for line in f:
            message = orjson.loads(line)
            if message.get("type") == "RECORD":
                record = message["record"]
                ids.append(str(uuid.uuid4()))
                emitted.append(record["emitted_at"] * 1000)
                data.append(orjson.dumps(record["data"]).decode())
    table = pa.table({
        "_airbyte_ab_id": pa.array(ids, pa.string()),
        "_airbyte_emitted_at": pa.array(emitted, pa.int64()).cast(pa.timestamp("us", "UTC")),
        "_airbyte_data": pa.array(data, pa.string()),
    })
    pq.write_table(table, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
