"""Syncs on the Databricks path against a warehouse that waits per statement, as a real one does (~1 s).

    python -m bench.warehouse                                  # 10 and 100 streams x 20 records, S3, 1 s per statement
    python -m bench.warehouse --streams 1000 --statement-seconds 1 --source s3 azure managed

Each row is one whole sync (first: tables created; second: the same streams appended again): wall time,
the time the local engine spent running the statements (one at a time: it is one process on this machine; a
real warehouse runs them side by side, within its per-statement time), statements the warehouse received (and
per stream), the most statements it ran at once during the sync, the most Files API (REST) calls it served at
once, and the connector's peak RSS. The local warehouse (integration_tests/local_warehouse) runs on this machine; its engine answers in
milliseconds, so the figures are dominated by the per-statement wait, which is the point.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.request
import uuid

from .common import ROOT, machine, measure, table
from .generate import generate

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")


def _config(w: dict, source: str) -> dict:
    base = {"accept_terms": True, "databricks_server_hostname": w["hostname"], "databricks_port": str(w["port"]),
            "databricks_http_path": w["http_path"], "databricks_personal_access_token": w["token"], "schema": "bench"}
    if source == "s3":
        return {**base, "database": "hive_metastore", "data_source": {
            "data_source_type": "S3_STORAGE", "s3_bucket_name": w["s3_bucket"], "s3_bucket_path": f"bench/{uuid.uuid4().hex[:8]}",
            "s3_bucket_region": w["s3_region"], "s3_access_key_id": w["s3_access_key_id"],
            "s3_secret_access_key": w["s3_secret_access_key"], "s3_endpoint": w["s3_endpoint"]}}
    if source == "azure":
        return {**base, "database": "hive_metastore", "data_source": {
            "data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": w["azure_account"],
            "azure_blob_storage_container_name": w["azure_container"], "azure_blob_storage_sas_token": w["azure_sas_token"],
            "azure_blob_storage_endpoint_domain_name": w["azure_endpoint"]}}
    return {**base, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}}


def _stats(w: dict, reset: bool = False) -> dict:
    """The warehouse's counts; ``reset``: its most-at-once counts start afresh."""
    url = f"{w['hostname']}:{w['port']}/_local/stats" + ("/reset" if reset else "")
    with urllib.request.urlopen(urllib.request.Request(url, method="POST" if reset else "GET"), timeout=30) as answer:
        return json.loads(answer.read())


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="*", default=[10, 100])
    parser.add_argument("--records-per-stream", type=int, default=20)
    parser.add_argument("--statement-seconds", type=float, default=1.0)
    parser.add_argument("--source", nargs="*", default=["s3"], choices=["s3", "azure", "managed"])
    parser.add_argument("--concurrency", type=int, default=None,
                        help="max_concurrent_statements for the syncs (default: the connector's own, 8)")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from integration_tests.warehouse_fixture import local_warehouse

    work = tempfile.mkdtemp(prefix="bench-warehouse-")
    rows = []
    try:
        with local_warehouse(statement_seconds=args.statement_seconds) as w:
            for source in args.source:
                for n in args.streams:
                    data = generate(os.path.join(work, f"in-{n}"), n * args.records_per_stream, n, state_every=10)
                    config = os.path.join(work, "config.json")
                    with open(config, "w") as f:
                        json.dump({**_config(w, source), **({"max_concurrent_statements": args.concurrency}
                                                             if args.concurrency else {})}, f)
                    for attempt in ("first", "second"):
                        before = _stats(w, reset=True)
                        run = measure([CONNECTOR, "write", "--config", config, "--catalog", data["catalog"]],
                                      data["messages"])
                        if run.returncode != 0:
                            raise SystemExit(f"{source} sync of {n} streams failed with exit code {run.returncode}")
                        after = _stats(w)
                        statements = after["statements"] - before["statements"]
                        engine = after["engine_seconds"] - before["engine_seconds"]
                        rows.append([source, f"{n:,}", attempt, f"{run.seconds:.1f}", f"{engine:.1f}", f"{statements:,}",
                                     f"{statements / n:.1f}", str(after["max_in_flight"]),
                                     str(after["max_api_calls_in_flight"]), f"{run.peak_rss_mb:.0f}"])
                    shutil.rmtree(os.path.dirname(data["messages"]), ignore_errors=True)
        print(f"Syncs of N streams x {args.records_per_stream} records (append), warehouse waiting "
              f"{args.statement_seconds:g} s per statement; {machine()}")
        print(table(["source", "streams", "sync", "seconds", "engine busy s", "statements", "per stream",
                     "most at once", "Files API at once", "peak RSS MB"], rows))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
