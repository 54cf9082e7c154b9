"""A truncate refresh against a plain overwrite of the same input, on LOCAL and on the warehouse path.

    python -m bench.refresh [--records 1000000] [--destination local s3] [--statement-seconds 1]

Each destination first holds the table of a first sync (``--records`` records, generation 1). Then, on a copy
of that state each time, one sync of ``--records`` new records (realistic values, a STATE every 10,000):
- `overwrite`: destination_sync_mode overwrite without a generation — staged whole, one commit at its end, STATEs
  held until then;
- `refresh`: append with generation_id = minimum_generation_id = 2, as platforms with refreshes send Overwrite —
  committed round by round into a shadow table, STATEs flowing, one swap at its end.
Columns: wall seconds, peak RSS, MB of Parquet written under LOCAL's root (new files of the table, its shadow
and its staging, each counted once however often it is linked), statements the warehouse received (one stream)
and the seconds its engine was busy running them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

from .common import ROOT, machine, measure, table
from .generate import generate

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")


def _catalog(path: str, source: str, mode: str, generation: int | None, minimum: int | None) -> str:
    with open(source) as f:
        cat = json.load(f)
    for s in cat["streams"]:
        s["destination_sync_mode"] = mode
        if generation is not None:
            s.update(generation_id=generation, minimum_generation_id=minimum, sync_id=generation)
    with open(path, "w") as f:
        json.dump(cat, f)
    return path


def _inodes(root: str) -> dict[int, int]:
    """Every Parquet file under ``root`` by inode (a hard-linked file counts once): its size."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".parquet"):
                stat = os.stat(os.path.join(folder, name))
                found[stat.st_ino] = stat.st_size
    return found


class Local:
    name = "local"

    def __init__(self, work: str):
        self.root = os.path.join(work, "local")
        self.config = os.path.join(work, "local.json")
        with open(self.config, "w") as f:
            json.dump({"data_source": {"data_source_type": "LOCAL", "local_path": self.root},
                       "purge_staging_data": False}, f)

    def sync(self, catalog: str, messages: str) -> tuple[float, float, int]:
        """Seconds, peak RSS, and bytes of Parquet the sync wrote (staging kept until counted)."""
        before = _inodes(self.root)
        seconds, rss = sync(self.config, catalog, messages)
        written = sum(size for ino, size in _inodes(self.root).items() if ino not in before)
        shutil.rmtree(os.path.join(self.root, ".airbyte-staging"), ignore_errors=True)
        return seconds, rss, written

    def snapshot(self) -> str:
        copy = self.root + "-seed"
        shutil.copytree(self.root, copy)
        return copy

    def restore(self, seed: str) -> None:
        shutil.rmtree(self.root)
        shutil.copytree(seed, self.root)


def sync(config: str, catalog: str, messages: str) -> tuple[float, float]:
    """One sync; its seconds and peak RSS."""
    run = measure([CONNECTOR, "write", "--config", config, "--catalog", catalog], messages)
    if run.returncode != 0:
        raise SystemExit(f"the sync failed with exit code {run.returncode}")
    return run.seconds, run.peak_rss_mb


class Warehouse:
    """S3 through the local warehouse, waiting per statement."""

    name = "s3"

    def __init__(self, work: str, w: dict):
        from .warehouse import _config, _stats

        self.w, self.stats = w, _stats
        self.config = os.path.join(work, "s3.json")
        with open(self.config, "w") as f:
            json.dump(_config(w, "s3"), f)

    def sync(self, catalog: str, messages: str) -> tuple[float, float, int, float]:
        """Seconds, peak RSS, statements the warehouse received, and the seconds its engine was busy."""
        before = self.stats(self.w, reset=True)
        seconds, rss = sync(self.config, catalog, messages)
        after = self.stats(self.w)
        return seconds, rss, after["statements"] - before["statements"], after["engine_seconds"] - before["engine_seconds"]


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--destination", nargs="*", default=["local", "s3"], choices=["local", "s3"])
    parser.add_argument("--statement-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-refresh-")
    rows: list[list] = []
    try:
        data = generate(os.path.join(work, "in"), args.records, 1, state_every=10_000, kind="realistic")
        first = _catalog(os.path.join(work, "first.json"), data["catalog"], "append", 1, 0)
        overwrite = _catalog(os.path.join(work, "overwrite.json"), data["catalog"], "overwrite", None, None)
        refresh = _catalog(os.path.join(work, "refresh.json"), data["catalog"], "append", 2, 2)
        if "local" in args.destination:
            local = Local(work)
            sync(local.config, first, data["messages"])
            seed = local.snapshot()
            for name, catalog in (("overwrite", overwrite), ("refresh (min = gen = 2)", refresh)):
                local.restore(seed)
                seconds, rss, written = local.sync(catalog, data["messages"])
                rows.append(["local", name, f"{seconds:.2f}", f"{rss:.0f}", f"{written / 1e6:.1f}", "-", "-"])
        if "s3" in args.destination:
            sys.path.insert(0, ROOT)
            from integration_tests.warehouse_fixture import local_warehouse

            with local_warehouse(statement_seconds=args.statement_seconds) as w:
                dest = Warehouse(work, w)
                sync(dest.config, first, data["messages"])
                for name, catalog in (("overwrite", overwrite), ("refresh (min = gen = 2)", refresh)):
                    seconds, rss, statements, engine = dest.sync(catalog, data["messages"])
                    rows.append(["s3", name, f"{seconds:.2f}", f"{rss:.0f}", "-", str(statements), f"{engine:.1f}"])
        print(f"{args.records:,} realistic records into a table of {args.records:,} (generation 1); "
              f"warehouse waiting {args.statement_seconds:g} s per statement; {machine()}")
        print(table(["destination", "sync", "seconds", "peak RSS MB", "Parquet MB written", "statements",
                     "engine busy s"], rows))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
