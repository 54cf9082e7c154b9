"""Print what a LOCAL sync landed: every Delta table under a folder, its schema and first rows."""
from __future__ import annotations

import os
import sys

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder


def main(root: str, limit: int = 5) -> None:
    for dirpath, dirnames, _ in sorted(os.walk(root)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if "_delta_log" not in dirnames:
            continue
        dirnames.clear()
        delta = DeltaTable(dirpath)
        # QueryBuilder rather than to_pyarrow_table(), which can abort at exit (delta-rs #2184).
        table = pa.table(QueryBuilder().register("t", delta).execute("SELECT * FROM t").read_all())
        print(f"\n== {os.path.relpath(dirpath, root)}  ({table.num_rows} rows)")
        print("   " + ", ".join(f"{f.name} {f.type.type}" for f in delta.schema().fields))
        for row in table.slice(0, limit).to_pylist():
            print("   ", {k: (str(v) if v is not None else None) for k, v in row.items() if k != "_airbyte_ab_id"})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo-output")
