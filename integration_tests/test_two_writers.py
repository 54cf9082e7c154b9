"""Two syncs writing one table at once (two connections, or a retry while the earlier attempt still runs), on LOCAL
and on the SQL path: nothing under an emitted STATE lost, no key twice, no appended record twice.

LOCAL: delta-rs refuses the commit that loses a race; the loser runs it again against the table as it is then
(backends/local/commits.py). SQL path: the local warehouse runs one statement at a time, so the two syncs' statements
interleave as they arrive; it also answers some commits as the loser of a concurrent commit (Delta's
`DELTA_CONCURRENT_APPEND`), after they committed, so each retry must find its own commit and not apply it twice.

Each case runs once per suite; `TWO_WRITERS_RUNS=5` runs each five times.
"""
from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import urllib.request

import pytest

from .destinations import LocalDestination, ManagedDestination, S3DatabricksDestination
from .harness import CONNECTOR, catalog, lines, parse_stdout, record, stream, stream_state, write_json

PROPS = {"id": {"type": "integer"}, "u": {"type": "integer"}, "w": {"type": "string"}}
SMALL = {"DESTINATION_DATABRICKS_BATCH_ROWS": "50", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"}
RUNS = int(os.environ.get("TWO_WRITERS_RUNS") or 1)
# (records per sync, records before the first STATE): both syncs' first loads overlap (the race of two creates),
# then each commits every 50. The SQL path runs fewer: each of its commits is a statement or two.
SIZES = {"local": (3600, 3000), "s3": (1100, 1000), "managed": (1100, 1000)}
# How each case's sync is configured: (destination sync mode, generation fields). "refresh" is a truncate refresh
# as platforms with refreshes send Overwrite; "overwrite" is the older protocol's.
MODES = {"append": ("append", {}), "append_dedup": ("append_dedup", {}), "overwrite": ("overwrite", {}),
         "refresh": ("append", {"generation_id": 2, "minimum_generation_id": 2})}
SEED = record("t", {"id": 0, "u": -1, "w": "seed"})


@pytest.fixture(params=list(SIZES))
def target(request, tmp_path):
    if request.param == "local":
        return LocalDestination(tmp_path / "out")
    warehouse = request.getfixturevalue("warehouse")
    return (S3DatabricksDestination if request.param == "s3" else ManagedDestination)(warehouse)


def messages(writer: str, base: int, total: int, first: int) -> list[dict]:
    rng = random.Random(writer)
    out = []
    for n in range(total):
        out.append(record("t", {"id": rng.randrange(300), "u": base + n, "w": writer}))
        if n >= first - 1 and n % 50 == 49:
            out.append(stream_state("t", base + n))
    return out


def together(target, tmp_path, mode: str, inputs: dict[str, list[dict]], **generations) -> dict[str, list[dict]]:
    """The syncs started at once; each one's output messages. Every sync must succeed."""
    config = write_json(tmp_path / "c.json", target.config())
    configured = stream("t", PROPS, mode=mode, **generations,
                        **({"primary_key": [["id"]], "cursor_field": ["u"]} if "dedup" in mode else {}))
    cat = write_json(tmp_path / "k.json", catalog(configured))
    procs = {w: subprocess.Popen([CONNECTOR, "write", "--config", config, "--catalog", cat], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **SMALL})
             for w in inputs}
    outs = {w: p.communicate(lines(*inputs[w]), timeout=600)[0].decode() for w, p in procs.items()}
    for w, p in procs.items():
        assert p.returncode == 0, outs[w][-2000:]
    return {w: parse_stdout(out) for w, out in outs.items()}


def lose_some_races(target) -> None:
    """On the SQL path: two commits of each kind answer as the loser of a concurrent commit, after committing."""
    if isinstance(target, LocalDestination):
        return
    w = target.w
    for match in ("INSERT INTO", "MERGE INTO"):
        body = json.dumps({"match": match, "times": 2}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{w['hostname']}:{w['port']}/_local/conflict", data=body,
                                                      method="POST"), timeout=30).close()


def sent(inputs: dict[str, list[dict]], writer: str | None = None) -> list[dict]:
    return [m["record"]["data"] for w, ms in inputs.items() if writer in (None, w) for m in ms if m["type"] == "RECORD"]


def acknowledged(inputs: dict[str, list[dict]], outputs: dict[str, list[dict]]) -> list[int]:
    """The `u` of every record under a STATE a sync emitted."""
    found = []
    for w, out in outputs.items():
        states = [m["state"]["stream"]["stream_state"]["cursor"] for m in out if m["type"] == "STATE"]
        last = max(states) if states else None
        found += [d["u"] for d in sent(inputs, w) if last is not None and d["u"] <= last]
    return found


@pytest.mark.parametrize("attempt", range(RUNS))
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
@pytest.mark.parametrize("case", list(MODES))
def test_two_syncs_at_once_lose_nothing_acknowledged_and_double_nothing(target, tmp_path, case, existing, attempt):
    mode, generations = MODES[case]
    total, first = SIZES[target.name]
    inputs = {"a": messages("a", 0, total, first), "b": messages("b", 100_000, total, first)}
    if existing:  # a table both find there, written by an earlier sync
        together(target, tmp_path, "append_dedup" if case == "append_dedup" else "append", {"seed": [SEED]})
    lose_some_races(target)
    outputs = together(target, tmp_path, mode, inputs, **generations)
    rows = target.rows("default", "t")
    us = collections.Counter(r["u"] for r in rows)
    assert not [u for u, n in us.items() if n > 1], "a record is in the table twice"
    if case in ("append", "refresh"):  # (dedup: below, each key holds its newest; an overwrite's STATEs leave once
        # it replaced the table, and the other sync may replace it after)
        assert set(acknowledged(inputs, outputs)) <= set(us), "a record under an emitted STATE is missing"
    if case == "append_dedup":
        assert not [k for k, n in collections.Counter(r["id"] for r in rows).items() if n > 1], "a key is twice"
        newest: dict[int, int] = {0: -1} if existing else {}
        for data in sent(inputs):
            newest[data["id"]] = max(newest.get(data["id"], -2), data["u"])
        assert {r["id"]: r["u"] for r in rows} == newest
    elif case == "overwrite":  # the overwrite that commits last replaces the table whole: one sync's records
        assert set(us) in ({d["u"] for d in sent(inputs, "a")}, {d["u"] for d in sent(inputs, "b")})
    else:
        kept = {-1} if existing and case == "append" else set()
        assert set(us) == kept | {d["u"] for d in sent(inputs)}
    if case == "refresh":  # a refresh retried while its earlier attempt still runs: generation 2 alone
        assert {r["_airbyte_generation_id"] for r in rows} == {2}


def test_a_refresh_done_first_leaves_the_shadow_another_running_attempt_commits_into(target, tmp_path):
    """Two attempts of one refresh generation: the one that completes first swaps the shared shadow in, but leaves
    it in place while the other (running, its claim in its staging) still commits into it; the last one out swaps
    and drops it. Every record under either attempt's STATEs ends in the table, generation 2 alone."""
    together(target, tmp_path, "append", {"seed": [SEED]})
    config = write_json(tmp_path / "c.json", target.config())
    cat = write_json(tmp_path / "k.json", catalog(stream("t", PROPS, mode="append", generation_id=2,
                                                         minimum_generation_id=2)))
    command = [CONNECTOR, "write", "--config", config, "--catalog", cat]
    late = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **SMALL})
    first = [record("t", {"id": n, "u": 200 + n, "w": "late"}) for n in range(5)] + [stream_state("t", 204)]
    late.stdin.write(lines(*first))
    late.stdin.flush()
    while b'"type":"STATE"' not in (line := late.stdout.readline()):  # its first round is in the shadow
        assert line, "the late attempt ended before its first STATE"
    done = subprocess.run(command, input=lines(*[record("t", {"id": n, "u": 100 + n, "w": "early"}) for n in range(5)],
                                               stream_state("t", 104)), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert target.table_exists("default", "_airbyte_tmp_g2_t"), "the shadow went while another attempt used it"
    rest = [record("t", {"id": n, "u": 205 + n, "w": "late"}) for n in range(5)] + [stream_state("t", 209)]
    out = late.communicate(lines(*rest), timeout=300)[0]
    assert late.returncode == 0, out[-2000:]
    rows = target.rows("default", "t")
    assert sorted(r["u"] for r in rows) == list(range(100, 105)) + list(range(200, 210))
    assert {r["_airbyte_generation_id"] for r in rows} == {2}
    assert not target.table_exists("default", "_airbyte_tmp_g2_t")
