"""LOCAL specifics: staged Parquet files carry the Avro schema and are linked, not copied, into tables."""
from __future__ import annotations

import glob
import json
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
    assert metadata["description"] == "Created from stream s"
