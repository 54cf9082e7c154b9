"""Deterministic, realistic Airbyte messages for benchmarks: mixed types, nested objects, arrays,
strings of varied length, a per-stream STATE every N records, streams interleaved.

    python -m bench.generate --records 200000 --streams 1 --out /tmp/bench
writes messages.jsonl and catalog.json there.
"""
from __future__ import annotations

import argparse
import json
import os
import random

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua zoë café 名前 ✓").split()

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "uuid": {"type": "string"},
        "name": {"type": ["null", "string"]},
        "email": {"type": ["null", "string"]},
        "age": {"type": ["null", "integer"]},
        "score": {"type": ["null", "number"]},
        "active": {"type": ["null", "boolean"]},
        "created_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "birthday": {"type": ["null", "string"], "format": "date"},
        "description": {"type": ["null", "string"]},
        "address": {"type": ["null", "object"], "properties": {
            "street": {"type": "string"}, "city": {"type": "string"}, "zip": {"type": "string"},
            "geo": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}}}},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        "orders": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "sku": {"type": "string"}, "qty": {"type": "integer"}, "price": {"type": "number"}}}},
    },
}


def record_data(rng: random.Random, i: int) -> dict:
    return {
        "id": i,
        "uuid": "%032x" % rng.getrandbits(128),
        "name": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))).title(),
        "email": None if rng.random() < 0.1 else f"user{i}@example.com",
        "age": rng.randint(18, 90) if rng.random() < 0.9 else None,
        "score": round(rng.random() * 100, 3),
        "active": rng.random() < 0.5,
        "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "birthday": f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "description": " ".join(rng.choice(WORDS) for _ in range(rng.choice((0, 2, 4, 8)))),
        "address": {"street": f"{rng.randint(1, 999)} {rng.choice(WORDS)} st", "city": rng.choice(WORDS),
                    "zip": f"{rng.randint(10000, 99999)}", "geo": {"lat": round(rng.uniform(-90, 90), 4), "lon": round(rng.uniform(-180, 180), 4)}},
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 4))],
        "orders": [{"sku": f"SKU-{rng.randint(1, 9999)}", "qty": rng.randint(1, 5), "price": round(rng.random() * 200, 2)}
                   for _ in range(rng.randint(0, 1))],
    }


def stream_name(s: int) -> str:
    return f"stream_{s:05d}"


def catalog(streams: int) -> dict:
    return {"streams": [{"stream": {"name": stream_name(s), "json_schema": SCHEMA,
                                    "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": "incremental", "destination_sync_mode": "append"} for s in range(streams)]}


def generate(out: str, records: int, streams: int, state_every: int = 1000, seed: int = 42) -> dict:
    """Write messages.jsonl and catalog.json under ``out``; return their paths and sizes."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    messages = os.path.join(out, "messages.jsonl")
    emitted = 1_732_147_200_000
    counts = [0] * streams
    with open(messages, "w") as f:
        for i in range(records):
            s = i % streams
            line = {"type": "RECORD", "record": {"stream": stream_name(s), "data": record_data(rng, i), "emitted_at": emitted + i}}
            f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            counts[s] += 1
            if counts[s] % state_every == 0 or i == records - 1 and counts[s] % state_every:
                f.write(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                    "stream_descriptor": {"name": stream_name(s)}, "stream_state": {"id": i}}}}) + "\n")
        for s in range(streams):  # a final state for every stream, as sources send
            f.write(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": stream_name(s)}, "stream_state": {"done": True}}}}) + "\n")
    catalog_path = os.path.join(out, "catalog.json")
    with open(catalog_path, "w") as f:
        json.dump(catalog(streams), f)
    return {"messages": messages, "catalog": catalog_path, "bytes": os.path.getsize(messages), "records": records}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--state-every", type=int, default=1000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(json.dumps(generate(args.out, args.records, args.streams, args.state_every)))
