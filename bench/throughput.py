"""Throughput: the connector on LOCAL against the floor and against dlt, on generated inputs.

    python -m bench.throughput --records 200000 [--input short realistic realistic-short-numbers] [--peers] [--repeat 3]

Whole processes, same input, the median of --repeat runs, one table per input: "short" rounds every number,
"realistic" has what real sources send (full-precision doubles, 19-digit ids, 3–9 fraction digits, long
digit strings in text; bench/generate.py), "realistic-short-numbers" is the same records with short numbers.
With both of the last two, a last line gives the connector's records/s on realistic over its twin's. --peers builds a virtualenv per peer under bench/.venvs (dlt with
deltalake) on first use.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from .common import ROOT, machine, measure, table
from .generate import INPUTS, generate

VENVS = os.path.join(ROOT, "bench", ".venvs")
FLOOR = "floor (orjson + 3 columns + write_table)"
CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")
CONNECTOR_RUN = "destination-databricks write (LOCAL)"


def peer_python() -> str:
    python = os.path.join(VENVS, "dlt", "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", os.path.join(VENVS, "dlt")], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "dlt[deltalake]", "orjson"], check=True)
    return python


def contenders(work: str, data: dict, peers: bool) -> dict[str, tuple[list[str], str | None]]:
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump({"data_source": {"data_source_type": "LOCAL", "local_path": os.path.join(work, "out")}}, f)
    runs = {
        FLOOR: ([sys.executable, "-m", "bench.floor", data["messages"], os.path.join(work, "floor.parquet")], None),
        CONNECTOR_RUN: ([CONNECTOR, "write", "--config", config, "--catalog", data["catalog"]], data["messages"]),
    }
    if peers:
        python = peer_python()
        script = os.path.join(ROOT, "bench", "peers", "dlt_load.py")
        runs["dlt, default path (dicts)"] = ([python, script, data["messages"], os.path.join(work, "dlt_dicts"), "dicts"], None)
        runs["dlt, Arrow path (pyarrow tables)"] = ([python, script, data["messages"], os.path.join(work, "dlt_arrow"), "arrow"], None)
    return runs


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--input", nargs="*", choices=sorted(INPUTS), default=["short", "realistic", "realistic-short-numbers"])
    parser.add_argument("--peers", action="store_true", help="also run dlt (installs it in bench/.venvs)")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-throughput-")
    rows: list[list] = []
    try:
        for kind in args.input:
            data = generate(os.path.join(work, f"input-{kind}"), args.records, args.streams, kind=kind)
            mb = data["bytes"] / 1e6
            results = {name: _median(name, command, stdin, args.repeat, work)
                       for name, (command, stdin) in contenders(work, data, args.peers).items()}
            floor = results[FLOOR][0]
            table_rows = [[kind, name, f"{s:.2f}", f"{args.records / s:,.0f}", f"{mb / s:.1f}", f"{floor / s:.2f}x",
                           f"{rss:.0f}"] for name, (s, rss) in results.items()]
            print(f"Throughput, {args.records:,} records in {args.streams} stream(s), {mb:.0f} MB of {kind} messages; "
                  f"{machine()}")
            print(table(["input", "run", "seconds", "records/s", "MB/s", "vs floor (speed)", "peak RSS MB"], table_rows))
            rows += table_rows
        speed = {r[0]: float(r[3].replace(",", "")) for r in rows if r[1] == CONNECTOR_RUN}
        if "realistic" in speed and "realistic-short-numbers" in speed:
            print(f"The connector on realistic records against the same records with short numbers: "
                  f"{speed['realistic'] / speed['realistic-short-numbers']:.2f}x the records/s")
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(name: str, command: list[str], stdin: str | None, repeat: int, work: str) -> tuple[float, float]:
    """The median seconds of ``repeat`` runs, and the largest peak RSS."""
    runs = []
    for _ in range(repeat):
        for leftover in ("out", "dlt_dicts", "dlt_arrow"):
            shutil.rmtree(os.path.join(work, leftover), ignore_errors=True)
        run = measure(command, stdin)
        if run.returncode != 0:
            raise SystemExit(f"{name} failed with exit code {run.returncode}")
        runs.append(run)
    return statistics.median(r.seconds for r in runs), max(r.peak_rss_mb for r in runs)


if __name__ == "__main__":
    main()
