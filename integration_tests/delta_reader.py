"""A deliberately independent Delta reader for tests: replays `_delta_log` itself, reads Parquet with pyarrow.

It shares no code with deltalake (which the connector writes with), so a table that reads back here
is a valid Delta table by the protocol, not merely by the writer's own reading of it.
"""
from __future__ import annotations

import json
import os
import urllib.parse

import pyarrow as pa
import pyarrow.parquet as pq


def _actions(log: str):
    names = sorted(os.listdir(log))
    checkpoints = [n for n in names if n.endswith(".checkpoint.parquet")]
    start = -1
    if checkpoints:
        last = checkpoints[-1]
        start = int(last.split(".")[0])
        for row in pq.read_table(os.path.join(log, last)).to_pylist():
            if row.get("add"):
                yield "add", row["add"]
            if row.get("metaData"):
                yield "metaData", row["metaData"]
    for name in names:
        if name.endswith(".json") and int(name.split(".")[0]) > start:
            with open(os.path.join(log, name)) as f:
                for line in f:
                    if line.strip():
                        action = json.loads(line)
                        for kind, body in action.items():
                            yield kind, body


def _plain(arrow_type: pa.DataType) -> pa.DataType:
    if arrow_type == pa.string_view():
        return pa.string()
    if arrow_type == pa.binary_view():
        return pa.binary()
    return arrow_type


def read_delta(location: str) -> tuple[pa.Table, dict]:
    """All current rows of the table, and its metaData action (schemaString etc.)."""
    files: dict[str, dict] = {}
    metadata: dict = {}
    for kind, body in _actions(os.path.join(location, "_delta_log")):
        if kind == "add":
            files[body["path"]] = body
        elif kind == "remove":
            files.pop(body["path"], None)
        elif kind == "metaData":
            metadata = body
    fields = json.loads(metadata["schemaString"])["fields"]
    names = [f["name"] for f in fields]
    tables = []
    for path in sorted(files):
        table = pq.read_table(os.path.join(location, urllib.parse.unquote(path)))
        # delta-rs' merge stores Arrow view types in its files' Arrow schema; Parquet itself says "string".
        table = table.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in table.schema]))
        # Delta reads columns by name; a file missing a column reads it as null.
        by_name = dict(zip(table.column_names, table.columns))
        columns = [by_name[n] if n in by_name else pa.nulls(table.num_rows) for n in names]
        tables.append(pa.table(columns, names=names))
    if not tables:
        return pa.table({n: [] for n in names}), metadata
    return pa.concat_tables(tables, promote_options="permissive"), metadata


def rows(location: str) -> list[dict]:
    return read_delta(location)[0].to_pylist()
