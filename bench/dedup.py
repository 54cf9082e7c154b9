"""Deduplicated streams on LOCAL: dedup throughput against plain append, and a second sync of updates.

    python -m bench.dedup [--records 1000000] [--keys 100000] [--updates 100000]

1. The same input (``--records`` records of ``--keys`` keys, each key updated about records/keys times, 1 %
   of records CDC deletes) synced once as `append` and once as `append_dedup` (key `id`, cursor `updated`).
2. A table of ``--records`` distinct keys, then a second sync of ``--updates`` updates of random keys into
   it: its time, and how many bytes of Parquet the merge wrote against the table's size (delta-rs writes no
   deletion vectors, so a merge rewrites every file that holds an updated key).
Whole processes, the connector's console script; peak RSS from wait4.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

from .common import machine, measure, table

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")
SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "updated": {"type": "integer"}, "name": {"type": "string"},
    "score": {"type": "number"}, "active": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
    "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}}


def write_input(path: str, ids, seed: int, deletes: float, start: int = 0) -> int:
    """Records of the keys ``ids`` in order, their cursor `updated` counting up from ``start``."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for n, key in enumerate(ids):
            data = {"id": key, "updated": start + n, "name": f"user {key} v{n}", "score": rng.random() * 100,
                    "active": rng.random() < 0.5, "tags": ["a", "b"][: rng.randint(0, 2)]}
            if rng.random() < deletes:
                data["_ab_cdc_deleted_at"] = "2024-06-01T00:00:00Z"
            f.write(json.dumps({"type": "RECORD", "record": {"stream": "users", "data": data,
                                                             "emitted_at": 1_732_147_200_000 + n}}) + "\n")
            if n % 10_000 == 9_999:
                f.write(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                    "stream_descriptor": {"name": "users"}, "stream_state": {"n": n}}}}) + "\n")
    return os.path.getsize(path)


def files(folder: str) -> dict[str, int]:
    return {name: os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder) if name.endswith(".parquet")}


def sync(work: str, messages: str, mode: str, out: str):
    config = os.path.join(work, f"config-{os.path.basename(out)}.json")
    catalog = os.path.join(work, f"catalog-{mode}.json")
    with open(config, "w") as f:
        json.dump({"data_source": {"data_source_type": "LOCAL", "local_path": out}}, f)
    configured = {"stream": {"name": "users", "json_schema": SCHEMA, "supported_sync_modes": ["incremental"]},
                  "sync_mode": "incremental", "destination_sync_mode": mode}
    if mode.endswith("dedup"):
        configured |= {"primary_key": [["id"]], "cursor_field": ["updated"]}
    with open(catalog, "w") as f:
        json.dump({"streams": [configured]}, f)
    run = measure([CONNECTOR, "write", "--config", config, "--catalog", catalog], messages)
    if run.returncode:
        raise SystemExit(f"the {mode} sync failed (exit {run.returncode})")
    return run


def table_rows(out: str) -> int:
    from deltalake import DeltaTable

    return DeltaTable(os.path.join(out, "default", "users")).to_pyarrow_dataset().count_rows()


def main(argv: list[str] | None = None) -> list[list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=100_000)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-dedup-")
    try:
        rng = random.Random(1)
        updates_in = os.path.join(work, "updates.jsonl")
        size = write_input(updates_in, [rng.randrange(args.keys) for _ in range(args.records)], 2, 0.01)
        rows = []
        for mode in ("append", "append_dedup"):
            run = sync(work, updates_in, mode, os.path.join(work, mode))
            rows.append([mode, f"{args.records:,}", f"{size / 1e6:.0f}", f"{run.seconds:.1f}",
                         f"{args.records / run.seconds:,.0f}", f"{run.peak_rss_mb:.0f}",
                         f"{table_rows(os.path.join(work, mode)):,}"])
        ratio = float(rows[0][3]) / float(rows[1][3])
        print(f"{machine()}\n\n{args.records:,} records of {args.keys:,} keys (1 % deletes), one sync each:\n")
        print(table(["mode", "records", "input MB", "seconds", "records/s", "peak RSS MB", "rows in table"], rows))
        print(f"\nappend_dedup runs at {ratio:.2f}x the speed of append on the same input.\n")

        base_in, second_in = os.path.join(work, "base.jsonl"), os.path.join(work, "second.jsonl")
        write_input(base_in, range(args.records), 3, 0.0)
        write_input(second_in, [rng.randrange(args.records) for _ in range(args.updates)], 4, 0.0, start=args.records)
        out = os.path.join(work, "table")
        first = sync(work, base_in, "append_dedup", out)
        folder = os.path.join(out, "default", "users")
        before = files(folder)
        second = sync(work, second_in, "append_dedup", out)
        rows.append(["second sync", f"{args.updates:,}", "", f"{second.seconds:.1f}", "", f"{second.peak_rss_mb:.0f}",
                     f"{table_rows(out):,}"])
        written = sum(size for name, size in files(folder).items() if name not in before)
        from deltalake import DeltaTable

        metrics = DeltaTable(folder).history(1)[0].get("operationMetrics", {})
        updated = int(metrics.get("num_target_rows_updated", -1))
        rows[-1].append(f"{updated:,}")
        print(f"A table of {args.records:,} keys, then {args.updates:,} updates of random keys:\n")
        print(f"(the merge updated {updated:,} rows: the distinct keys among the updates)\n")
        print(table(["sync", "records", "seconds", "peak RSS MB", "Parquet MB written", "of the table's MB"], [
            ["first (creates)", f"{args.records:,}", f"{first.seconds:.1f}", f"{first.peak_rss_mb:.0f}",
             f"{sum(before.values()) / 1e6:.1f}", f"{sum(before.values()) / 1e6:.1f}"],
            ["second (merge)", f"{args.updates:,}", f"{second.seconds:.1f}", f"{second.peak_rss_mb:.0f}",
             f"{written / 1e6:.1f}", f"{sum(before.values()) / 1e6:.1f}"]]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
