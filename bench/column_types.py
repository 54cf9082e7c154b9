"""The column-type options on the warehouse path and on LOCAL: loading, and reading one nested field back.

    python -m bench.column_types [--records 1000000] [--statement-seconds 1] [--repeat 3]

One stream of ``--records`` realistic records (bench/generate.py: nested `address`, full-precision doubles) is
synced through S3 into the local warehouse (waiting ``--statement-seconds`` per statement) once per option:
- json_column_type STRING (JSON text) and VARIANT: the load's seconds and statements, then the median of
  ``--repeat`` runs of one query summing a nested double of every row — `get_json_object` on the text,
  `variant_get` on the VARIANT (Databricks' `address:geo.lat` is the same function; the local engine has no `:`);
- number_column_type DOUBLE and DECIMAL, on LOCAL: the sync's seconds and peak RSS (DECIMAL reads every number of
  16+ digits from its text).
Query times are the engine's own (its wait per statement is subtracted).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from .common import ROOT, machine, measure, table
from .generate import generate, stream_name

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")
QUERIES = {
    "STRING": "SELECT sum(CAST(get_json_object(`address`, '$.geo.lat') AS DOUBLE)) FROM {table}",
    "VARIANT": "SELECT sum(variant_get(`address`, '$.geo.lat', 'double')) FROM {table}",
}


def _sync(config: dict, catalog: str, messages: str, work: str) -> tuple[float, float]:
    path = os.path.join(work, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    run = measure([CONNECTOR, "write", "--config", path, "--catalog", catalog], messages)
    if run.returncode != 0:
        raise SystemExit(f"the sync failed with exit code {run.returncode}")
    return run.seconds, run.peak_rss_mb


def _query(w: dict, statement: str, wait: float) -> tuple[float, object]:
    from databricks import sql

    with sql.connect(server_hostname="127.0.0.1", http_path=w["http_path"], access_token=w["token"],
                     _connection_uri=f"{w['hostname']}:{w['port']}/{w['http_path']}", enable_telemetry=False) as c:
        with c.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(statement)
            value = cursor.fetchall()[0][0]
            return time.perf_counter() - started - wait, value


def warehouse_rows(data: dict, work: str, statement_seconds: float, repeat: int) -> list[list]:
    sys.path.insert(0, ROOT)
    from integration_tests.warehouse_fixture import local_warehouse

    from .warehouse import _config, _stats

    rows = []
    with local_warehouse(statement_seconds=statement_seconds) as w:
        for option in ("STRING", "VARIANT"):
            config = {**_config(w, "s3"), "schema": f"bench_{option.lower()}", "json_column_type": option}
            before = _stats(w, reset=True)["statements"]
            seconds, _ = _sync(config, data["catalog"], data["messages"], work)
            statements = _stats(w)["statements"] - before
            query = QUERIES[option].format(table=f"`hive_metastore`.`bench_{option.lower()}`.`{stream_name(0)}`")
            times, value = zip(*[_query(w, query, statement_seconds) for _ in range(repeat)])
            rows.append([f"json_column_type {option}", "s3 + warehouse", f"{seconds:.2f}", str(statements), "-",
                         f"{statistics.median(times):.3f}", f"{value[0]:.6f}"])
    return rows


def local_rows(data: dict, work: str) -> list[list]:
    rows = []
    for option in ("DOUBLE", "DECIMAL"):
        root = os.path.join(work, f"local-{option}")
        config = {"data_source": {"data_source_type": "LOCAL", "local_path": root}, "number_column_type": option}
        seconds, rss = _sync(config, data["catalog"], data["messages"], work)
        rows.append([f"number_column_type {option}", "local", f"{seconds:.2f}", "-", f"{rss:.0f}", "-", "-"])
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--statement-seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-column-types-")
    try:
        data = generate(os.path.join(work, "in"), args.records, 1, state_every=10_000, kind="realistic")
        rows = local_rows(data, work) + warehouse_rows(data, work, args.statement_seconds, args.repeat)
        print(f"{args.records:,} realistic records, one stream; warehouse waiting {args.statement_seconds:g} s per "
              f"statement; query: the median of {args.repeat}; {machine()}")
        print(table(["option", "destination", "sync seconds", "statements", "peak RSS MB", "query seconds",
                     "query result"], rows))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
