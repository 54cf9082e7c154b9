"""Two syncs writing one LOCAL table at once (two connections, or a retry while the earlier attempt still runs):
nothing under an emitted STATE lost, no key twice, no appended record twice. delta-rs refuses the commit that
loses a race; the loser runs it again against the table as it is then (backends/local/commits.py)."""
from __future__ import annotations

import collections
import os
import random
import subprocess

import pytest

from .delta_reader import read_delta
from .harness import CONNECTOR, catalog, lines, parse_stdout, record, stream, stream_state, write_json

PROPS = {"id": {"type": "integer"}, "u": {"type": "integer"}, "w": {"type": "string"}}
SMALL = {"DESTINATION_DATABRICKS_BATCH_ROWS": "50", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"}


def messages(writer: str, base: int) -> list[dict]:
    """A first commit of 3,000 records (both syncs' first loads then overlap: the race of two creates), then
    commits every 50."""
    rng = random.Random(writer)
    out = []
    for n in range(3600):
        out.append(record("t", {"id": rng.randrange(300), "u": base + n, "w": writer}))
        if n >= 2999 and n % 50 == 49:
            out.append(stream_state("t", base + n))
    return out


def together(tmp_path, mode: str, inputs: dict[str, list[dict]], **generations) -> dict[str, list[dict]]:
    """Both syncs started at once; each one's output messages."""
    config = write_json(tmp_path / "c.json", {"data_source": {"data_source_type": "LOCAL",
                                                               "local_path": str(tmp_path / "out")}})
    configured = stream("t", PROPS, mode=mode, **generations,
                        **({"primary_key": [["id"]], "cursor_field": ["u"]} if "dedup" in mode else {}))
    cat = write_json(tmp_path / "k.json", catalog(configured))
    procs = {w: subprocess.Popen([CONNECTOR, "write", "--config", config, "--catalog", cat], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **SMALL})
             for w in inputs}
    outs = {w: p.communicate(lines(*inputs[w]), timeout=300)[0].decode() for w, p in procs.items()}
    for w, p in procs.items():
        assert p.returncode == 0, outs[w][-2000:]
    return {w: parse_stdout(out) for w, out in outs.items()}


@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("attempt", range(2))
def test_two_deduplicated_syncs_at_once_keep_one_row_per_key_the_newest(tmp_path, existing, attempt):
    inputs = {"a": messages("a", 0), "b": messages("b", 100_000)}
    if existing:  # a table both find there
        together(tmp_path, "append_dedup", {"seed": [record("t", {"id": 0, "u": -1, "w": "seed"})]})
    together(tmp_path, "append_dedup", inputs)
    rows = read_delta(str(tmp_path / "out" / "default" / "t"))[0].to_pylist()
    counts = collections.Counter(r["id"] for r in rows)
    assert not [k for k, n in counts.items() if n > 1]
    newest: dict[int, int] = {}
    for m in inputs["a"] + inputs["b"]:
        if m["type"] == "RECORD":
            data = m["record"]["data"]
            newest[data["id"]] = max(newest.get(data["id"], -2), data["u"])
    assert {r["id"]: r["u"] for r in rows} == ({0: -1} if existing else {}) | newest


@pytest.mark.parametrize("attempt", range(2))
def test_two_appending_syncs_at_once_keep_every_record_once(tmp_path, attempt):
    inputs = {"a": messages("a", 0), "b": messages("b", 100_000)}
    together(tmp_path, "append", inputs)
    rows = read_delta(str(tmp_path / "out" / "default" / "t"))[0].to_pylist()
    assert sorted(r["u"] for r in rows) == sorted(m["record"]["data"]["u"] for w in "ab" for m in inputs[w]
                                                  if m["type"] == "RECORD")


@pytest.mark.parametrize("attempt", range(2))
def test_two_truncate_refreshes_of_one_generation_at_once_keep_each_record_once(tmp_path, attempt):
    """A refresh retried while its earlier attempt still runs: both write generation 2's shadow; the table ends
    with generation 2 alone, every record once."""
    together(tmp_path, "append", {"seed": [record("t", {"id": 0, "u": -1, "w": "old"})]})
    inputs = {"a": messages("a", 0), "b": messages("b", 100_000)}
    together(tmp_path, "append", inputs, generation_id=2, minimum_generation_id=2)
    rows = read_delta(str(tmp_path / "out" / "default" / "t"))[0].to_pylist()
    assert sorted(r["u"] for r in rows) == sorted(m["record"]["data"]["u"] for w in "ab" for m in inputs[w]
                                                  if m["type"] == "RECORD")
    assert {r["_airbyte_generation_id"] for r in rows} == {2}
