"""LOCAL specifics: staged Parquet files carry the Avro schema and are linked, not copied, into tables."""
from __future__ import annotations

import glob
import json
import math
import os

import pyarrow.parquet as pq

from .delta_reader import read_delta
from .harness import catalog, lines, record, run, stream, write_json


def test_staged_parquet_files_carry_the_avro_schema_and_become_the_tables_files(tmp_path):
    root = tmp_path / "out"
    config = write_json(tmp_path / "c.json", {"data_source": {"data_source_type": "LOCAL", "local_path": str(root)},
                                              "purge_staging_data": False})
    cat = write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}, "o": {"type": "object", "properties": {"x": {"type": "string"}}}})))
    result = run(["write", "--config", config, "--catalog", cat], lines(*[record("s", {"id": i, "o": {"x": str(i)}}) for i in range(4)]))
    assert result.returncode == 0, result.stdout
    (staged,) = glob.glob(str(root / ".airbyte-staging" / "*" / "default" / "s"))
    staged_files = sorted(glob.glob(os.path.join(staged, "*.parquet")))
    assert sorted(i for f in staged_files for i in pq.read_table(f).column("id").to_pylist()) == [0, 1, 2, 3]
    files = glob.glob(os.path.join(str(root), "default", "s", "*.parquet"))
    assert files and all(os.path.dirname(f) == str(root / "default" / "s") for f in files)
    # The table's files are the staged files themselves (hard links: the data is written once).
    assert {os.stat(f).st_ino for f in files} == {os.stat(f).st_ino for f in staged_files}
    avro = json.loads(pq.read_schema(files[0]).metadata[b"avro.schema"])
    assert avro["type"] == "record" and [f["name"] for f in avro["fields"]][5:] == ["id", "o"]
    assert avro["fields"][6]["type"][1]["type"] == "record"
    _, metadata = read_delta(str(root / "default" / "s"))
    assert metadata["description"] == "Synced by destination-databricks from stream 's'."


def loads(root) -> int:
    """The commits of rows into the `merged` table (its empty creation, before its first merge, aside)."""
    from deltalake import DeltaTable

    return sum(h.get("operation") != "CREATE TABLE" for h in DeltaTable(str(root / "default" / "merged")).history())


def test_deduplicated_loads_commit_at_their_own_smaller_input_size(tmp_path):
    """A merge holds its load's rows in memory, so append_dedup input makes a commit due sooner than append input
    (DeltaRsLoader.dedup_commit_bytes, 64 MiB; here a few bytes): each STATE after dedup records is a commit."""
    from .harness import stream_state

    out = tmp_path / "out"
    config = write_json(tmp_path / "config.json", {"data_source": {"data_source_type": "LOCAL", "local_path": str(out)}})
    key = {"primary_key": [["id"]], "cursor_field": ["n"]}
    cat = write_json(tmp_path / "catalog.json", catalog(
        stream("merged", {"id": {"type": "integer"}, "n": {"type": "integer"}}, mode="append_dedup", **key),
        stream("plain", {"id": {"type": "integer"}})))
    messages = []
    for n in range(3):
        messages += [record("merged", {"id": 1, "n": n}), record("plain", {"id": n}), stream_state("merged", n)]
    env = {"DESTINATION_DATABRICKS_DEDUP_COMMIT_BYTES": "1", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "3600"}
    result = run(["write", "--config", config, "--catalog", cat], lines(*messages), env=env)
    assert result.returncode == 0, result.stdout[-2000:]
    assert loads(out) == 3  # one commit per STATE
    assert read_delta(str(out / "default" / "merged"))[0].column("n").to_pylist() == [2]
    assert [s["stream"]["stream_state"] for s in result.states] == [{"cursor": n} for n in range(3)]
    # Without the smaller size, nothing is due before the end: one commit of the newest row.
    again = tmp_path / "again"
    config = write_json(tmp_path / "config2.json", {"data_source": {"data_source_type": "LOCAL", "local_path": str(again)}})
    result = run(["write", "--config", config, "--catalog", cat], lines(*messages),
                 env={"DESTINATION_DATABRICKS_COMMIT_SECONDS": "3600"})
    assert result.returncode == 0 and loads(again) == 1


def test_a_nan_key_is_one_key(tmp_path):
    """As Databricks compares and groups NaN (Spark's NaN semantics: NaN = NaN, one group): within a load (the Arrow
    dedup took NaN != NaN) and across syncs (a merge that skipped files by a float column's ranges inserted it
    again). The local warehouse's engine groups NaN apart in windows, so this runs on LOCAL only
    (docs/local-warehouse.md, not verified locally)."""
    root = tmp_path / "out"
    config = write_json(tmp_path / "c.json", {"data_source": {"data_source_type": "LOCAL", "local_path": str(root)}})
    props = {"f": {"type": "number"}, "v": {"type": "string"}}
    cat = write_json(tmp_path / "k.json", catalog(stream("flt", props, mode="append_dedup", primary_key=[["f"]])))
    nan = float("nan")
    for values in (((nan, "a"), (nan, "a2"), (1.5, "a")), ((nan, "b"), (1.5, "b"))):
        result = run(["write", "--config", config, "--catalog", cat],
                     lines(*[record("flt", {"f": f, "v": v}) for f, v in values]))
        assert result.returncode == 0, result.stdout
        rows = read_delta(str(root / "default" / "flt"))[0].to_pylist()
        assert sorted(("nan" if math.isnan(r["f"]) else str(r["f"]), r["v"]) for r in rows) == [
            ("1.5", values[-1][1]), ("nan", values[-2][1])]


def test_a_column_whose_type_changes_keeps_every_value_typed(tmp_path):
    """integer → number (BIGINT → DOUBLE), date → date-time, boolean → string: changes Delta cannot widen, so the
    table is rewritten in one commit with the new types, old values taken anew from `_airbyte_data`. (On Databricks
    a CREATE OR REPLACE TABLE … AS SELECT, which the local warehouse cannot follow: docs/local-warehouse.md.)"""
    root = tmp_path / "out"
    config = write_json(tmp_path / "c.json", {"data_source": {"data_source_type": "LOCAL", "local_path": str(root)}})
    v1 = {"id": {"type": "integer"}, "n": {"type": "integer"}, "d": {"type": "string", "format": "date"},
          "flag": {"type": "boolean"}}
    v2 = {"id": {"type": "integer"}, "n": {"type": "number"}, "d": {"type": "string", "format": "date-time"},
          "flag": {"type": "string"}}
    for props, data in ((v1, {"id": 1, "n": 7, "d": "2024-01-02", "flag": True}),
                        (v2, {"id": 2, "n": 1.5, "d": "2024-01-03T04:05:06Z", "flag": "yes"})):
        result = run(["write", "--config", config, "--catalog", write_json(tmp_path / "k.json", catalog(stream("t", props)))],
                     lines(record("t", data)))
        assert result.returncode == 0, result.stdout
    rows = sorted(read_delta(str(root / "default" / "t"))[0].to_pylist(), key=lambda r: r["id"])
    assert [r["n"] for r in rows] == [7.0, 1.5] and all(isinstance(r["n"], float) for r in rows)
    assert [r["d"].isoformat() for r in rows] == ["2024-01-02T00:00:00+00:00", "2024-01-03T04:05:06+00:00"]
    assert [r["flag"] for r in rows] == ["true", "yes"]
