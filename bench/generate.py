"""Deterministic Airbyte messages for benchmarks: mixed types, nested objects, arrays, strings of varied
length, a per-stream STATE every N records, streams interleaved.

Three inputs: "short" numbers (every number rounded to 2–4 decimals), "realistic" ones, as real sources
send them: full-precision doubles as `json.dumps` writes them (up to 17 significant digits), 19-digit integer
ids, timestamps with 3 to 9 fraction digits, long digit strings inside text, unicode; and
"realistic-short-numbers", the realistic records with every number short.

    python -m bench.generate --records 200000 --streams 1 --input realistic --out /tmp/bench
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


def realistic_data(rng: random.Random, i: int) -> dict:
    """The same shape with numbers and texts as real sources write them (see the module docstring)."""
    data = record_data(rng, i)
    digits = rng.choice((3, 6, 7, 9))
    data.update({
        "id": (1 << 62) + rng.getrandbits(62),  # 19 digits, as snowflake-style ids have
        "score": rng.random() * 100,  # a computed double, all its digits
        "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                      f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.getrandbits(30) % 10 ** digits:0{digits}d}Z",
        "description": f"{data['description']} account {rng.getrandbits(64):020d} ref {rng.getrandbits(80)}",
    })
    data["address"]["geo"] = {"lat": rng.uniform(-90, 90), "lon": rng.uniform(-180, 180)}
    for order in data["orders"]:
        order["price"] = rng.random() * 200
    return data


def realistic_short_numbers(rng: random.Random, i: int) -> dict:
    """The realistic records with every number short, to compare "the same records with short numbers" against.
    Doubles rounded to 4 decimals, ids below a million, the digit strings in text 6 digits; texts,
    timestamps and shape as in ``realistic_data`` (the same random draws, so the same records otherwise)."""
    data = realistic_data(rng, i)
    data["id"] %= 1_000_000
    data["score"] = round(data["score"], 4)
    words = data["description"].split(" ")
    data["description"] = " ".join(w[:6] if w.isdigit() else w for w in words)
    geo = data["address"]["geo"]
    geo["lat"], geo["lon"] = round(geo["lat"], 4), round(geo["lon"], 4)
    for order in data["orders"]:
        order["price"] = round(order["price"], 2)
    return data


INPUTS = {"short": record_data, "realistic": realistic_data, "realistic-short-numbers": realistic_short_numbers}


def stream_name(s: int) -> str:
    return f"stream_{s:05d}"


def catalog(streams: int) -> dict:
    return {"streams": [{"stream": {"name": stream_name(s), "json_schema": SCHEMA,
                                    "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": "incremental", "destination_sync_mode": "append"} for s in range(streams)]}


def generate(out: str, records: int, streams: int, state_every: int = 1000, seed: int = 42, kind: str = "short") -> dict:
    """Write messages.jsonl and catalog.json under ``out`` (``kind``: a key of INPUTS); return their paths and sizes."""
    data_of = INPUTS[kind]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    messages = os.path.join(out, "messages.jsonl")
    emitted = 1_732_147_200_000
    counts = [0] * streams
    with open(messages, "w") as f:
        for i in range(records):
            s = i % streams
            line = {"type": "RECORD", "record": {"stream": stream_name(s), "data": data_of(rng, i), "emitted_at": emitted + i}}
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
    parser.add_argument("--input", choices=sorted(INPUTS), default="short")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(json.dumps(generate(args.out, args.records, args.streams, args.state_every, kind=args.input)))
