"""A peer for the throughput benchmark: dlt loading the same records into a local Delta table.

Runs inside its own virtualenv (made by bench/throughput.py --peers):
    python dlt_load.py MESSAGES OUT_DIR dicts|arrow
"""
import sys
import uuid

import dlt
import orjson


def records(path):
    with open(path, "rb") as f:
        for line in f:
            message = orjson.loads(line)
            if message.get("type") == "RECORD":
                yield message["record"]


def main(path: str, out: str, mode: str) -> None:
    pipeline = dlt.pipeline(pipeline_name=f"bench_{mode}", destination=dlt.destinations.filesystem(bucket_url=out),
                            dataset_name="bench", pipelines_dir=out + "/.dlt")
    if mode == "dicts":
        @dlt.resource(name="records", table_format="delta")
        def rows():
            for record in records(path):
                yield {"_airbyte_ab_id": str(uuid.uuid4()), "_airbyte_emitted_at": record["emitted_at"], **record["data"]}
    else:
        import pyarrow as pa

        @dlt.resource(name="records", table_format="delta")
        def rows():
            batch = []
            for record in records(path):
                batch.append({"_airbyte_ab_id": str(uuid.uuid4()), "_airbyte_emitted_at": record["emitted_at"],
                              "_airbyte_data": orjson.dumps(record["data"]).decode(), **record["data"]})
                if len(batch) == 20000:
                    yield pa.Table.from_pylist(batch)
                    batch = []
            if batch:
                yield pa.Table.from_pylist(batch)
    pipeline.run(rows())


if __name__ == "__main__":
    main(*sys.argv[1:4])
