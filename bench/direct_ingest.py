"""Direct ingest through Zerobus against the volume path, on a warehouse that waits per statement as a real one does.

    python -m bench.direct_ingest                      # 1 stream x 1,000,000 and 100 streams x 10,000 records
    python -m bench.direct_ingest --cases 1x100000 --statement-seconds 1

For each case (STREAMSxRECORDS, realistic records from bench/generate.py, append streams, a STATE every 1,000
records of a stream) and each path (`volume`: Managed tables staged in a volume and loaded by SQL; `direct`: the
same with `direct_ingest`, append streams through the local warehouse's Zerobus server), two syncs run: the first
creates the tables, the second appends to them (the steady state). Each row: wall seconds, records per second,
statements the warehouse received, Files API calls, the connector's peak RSS, and the latency from a STATE read
(written into the connector's stdin) to the same STATE released on its stdout (median and largest).

The local Zerobus server appends each batch to the table with delta-rs before it acknowledges it (batches that
wait behind one append commit with it; on this machine it shares the 2 cores with the connector); the real service
acknowledges once a batch is durable and makes it queryable seconds later (docs/benchmarks.md).
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
import threading
import time
import urllib.request

from .common import ROOT, machine, table
from .generate import generate

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")


def _config(w: dict, direct: bool) -> dict:
    source = {"data_source_type": "MANAGED_TABLES_STORAGE"}
    if direct:
        source["direct_ingest"] = {"zerobus_endpoint": w["zerobus_endpoint"]}
    return {"accept_terms": True, "databricks_server_hostname": w["hostname"], "databricks_port": str(w["port"]),
            "databricks_http_path": w["http_path"], "schema": "bench", "database": "main", "data_source": source,
            "authentication": {"auth_type": "OAUTH_M2M", "databricks_client_id": w["client_id"],
                               "databricks_client_secret": w["client_secret"]}}


def _get(w: dict, path: str) -> dict:
    with urllib.request.urlopen(f"{w['hostname']}:{w['port']}{path}", timeout=30) as answer:
        return json.loads(answer.read())


def _counts(w: dict) -> tuple[int, int]:
    """Statements the warehouse received, Files API calls it served."""
    agents = _get(w, "/_local/user_agents")["user_agents"]
    return _get(w, "/_local/stats")["statements"], sum(1 for kind, _ in agents if kind == "files")


def _is_state(line: bytes) -> bool:
    return line.startswith((b'{"type":"STATE"', b'{"type": "STATE"'))


def _sync(config: str, catalog: str, messages: str) -> tuple[float, float, list[float]]:
    """One sync: seconds, peak RSS MB, and each STATE's seconds from written into stdin to read back on stdout."""
    proc = subprocess.Popen([CONNECTOR, "write", "--config", config, "--catalog", catalog], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ.copy(), cwd=ROOT)
    written: list[float] = []
    released: list[float] = []

    def feed() -> None:
        with open(messages, "rb") as f:
            for line in f:
                proc.stdin.write(line)
                if _is_state(line):
                    proc.stdin.flush()
                    written.append(time.perf_counter())
        proc.stdin.close()

    started = time.perf_counter()
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    for line in proc.stdout:
        if _is_state(line):
            released.append(time.perf_counter())
    feeder.join()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0 or len(released) != len(written):
        raise SystemExit(f"the sync failed (exit {os.waitstatus_to_exitcode(status)}, {len(released)} of "
                         f"{len(written)} STATEs released)")
    return seconds, usage.ru_maxrss / 1024, [r - w for w, r in zip(written, released)]


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="*", default=["1x1000000", "100x10000"], help="STREAMSxRECORDS per stream")
    parser.add_argument("--statement-seconds", type=float, default=1.0)
    parser.add_argument("--paths", nargs="*", default=["volume", "direct"], choices=["volume", "direct"])
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from integration_tests.warehouse_fixture import local_warehouse

    work = tempfile.mkdtemp(prefix="bench-direct-")
    rows = []
    try:
        with local_warehouse(statement_seconds=args.statement_seconds) as w:
            for case in args.cases:
                streams, per_stream = (int(part) for part in case.split("x"))
                records = streams * per_stream
                data = generate(os.path.join(work, case), records, streams, state_every=1000, kind="realistic")
                for path in args.paths:
                    config = os.path.join(work, "config.json")
                    with open(config, "w") as f:
                        json.dump(_config(w, path == "direct"), f)
                    for attempt in ("first", "second"):
                        statements, files = _counts(w)
                        seconds, rss, latencies = _sync(config, data["catalog"], data["messages"])
                        after_statements, after_files = _counts(w)
                        rows.append([f"{streams:,} x {per_stream:,}", path, attempt, f"{seconds:.1f}",
                                     f"{records / seconds:,.0f}", f"{after_statements - statements:,}",
                                     f"{after_files - files:,}", f"{rss:.0f}", f"{statistics.median(latencies):.2f}",
                                     f"{max(latencies):.2f}"])
                    _get(w, "/_local/stats")  # (the warehouse still answers)
                    urllib.request.urlopen(urllib.request.Request(f"{w['hostname']}:{w['port']}/_local/reset",
                                                                  method="POST"), timeout=120).read()
                shutil.rmtree(os.path.join(work, case), ignore_errors=True)
        print(f"Append syncs, realistic records, Managed tables (OAuth), warehouse waiting {args.statement_seconds:g} s "
              f"per statement; {machine()}")
        print(table(["streams x records", "path", "sync", "seconds", "records/s", "statements", "Files API calls",
                     "peak RSS MB", "STATE latency median s", "largest s"], rows))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
