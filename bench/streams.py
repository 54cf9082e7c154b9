"""Memory and time of whole syncs against stream count and record count (LOCAL).

    python -m bench.streams                      # 1, 100, 1,000, 10,000 streams x 20 records; 1 stream x 1M records
    python -m bench.streams --streams 1 100 --records-per-stream 20 --big 100000

Peak RSS must not grow with records (compare the 1-stream rows) and stays bounded with streams.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

from .common import machine, measure, table
from .generate import generate

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")


def sync(work: str, records: int, streams: int) -> list:
    data = generate(os.path.join(work, f"in-{streams}-{records}"), records, streams, state_every=10)
    config = os.path.join(work, "config.json")
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    with open(config, "w") as f:
        json.dump({"data_source": {"data_source_type": "LOCAL", "local_path": out}}, f)
    run = measure([CONNECTOR, "write", "--config", config, "--catalog", data["catalog"]], data["messages"])
    shutil.rmtree(os.path.dirname(data["messages"]), ignore_errors=True)
    if run.returncode != 0:
        raise SystemExit(f"sync of {streams} streams failed with exit code {run.returncode}")
    return [f"{streams:,}", f"{records:,}", f"{data['bytes'] / 1e6:.1f}", f"{run.seconds:.1f}", f"{run.peak_rss_mb:.0f}"]


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="*", default=[1, 100, 1000, 10000])
    parser.add_argument("--records-per-stream", type=int, default=20)
    parser.add_argument("--big", type=int, nargs="*", default=[1_000_000], help="record counts for one stream")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-streams-")
    try:
        rows = [sync(work, n * args.records_per_stream, n) for n in args.streams]
        rows += [sync(work, records, 1) for records in args.big]
        print(f"Whole syncs on LOCAL, interleaved streams, a STATE every 10 records per stream; {machine()}")
        print(table(["streams", "records", "input MB", "seconds", "peak RSS MB"], rows))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
