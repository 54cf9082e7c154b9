"""The behavioural contract every destination keeps, run through the console script."""
from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from destination_databricks.naming import suffixed

from .harness import catalog, global_state, lines, record, run, stream, stream_state, stream_status, write_json

USERS = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}


def sync(destination, tmp_path, cat, messages, env=None, **config):
    config_path = write_json(tmp_path / "config.json", destination.config(**config))
    catalog_path = write_json(tmp_path / "catalog.json", cat)
    return run(["write", "--config", config_path, "--catalog", catalog_path], lines(*messages), env=env)


def ids(rows):
    return sorted(r["id"] for r in rows)


def test_append_then_second_sync_appends(destination, tmp_path):
    cat = catalog(stream("users", USERS))
    first = sync(destination, tmp_path, cat, [record("users", {"id": i, "name": f"u{i}"}) for i in range(3)]
                 + [stream_state("users", 3)])
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.states[-1]["stream"]["stream_state"] == {"cursor": 3}
    assert first.states[-1]["destinationStats"]["recordCount"] == 3
    second = sync(destination, tmp_path, cat, [record("users", {"id": i}) for i in range(3, 5)] + [stream_state("users", 5)])
    assert second.returncode == 0, second.stdout
    rows = destination.rows("default", "users")
    assert ids(rows) == [0, 1, 2, 3, 4]
    assert {r["name"] for r in rows} == {"u0", "u1", "u2", None}
    assert all(len(r["_airbyte_ab_id"]) == 36 for r in rows) and len({r["_airbyte_ab_id"] for r in rows}) == 5


def test_overwrite_replaces_the_table(destination, tmp_path):
    cat = catalog(stream("users", USERS, mode="overwrite"))
    sync(destination, tmp_path, cat, [record("users", {"id": i}) for i in range(5)])
    result = sync(destination, tmp_path, cat, [record("users", {"id": 100}), record("users", {"id": 101}),
                                               stream_state("users", "done")])
    assert result.returncode == 0, result.stdout
    assert ids(destination.rows("default", "users")) == [100, 101]
    assert [s["stream"]["stream_state"] for s in result.states] == [{"cursor": "done"}]


def test_a_stream_that_does_not_complete_keeps_its_table_and_fails_the_sync(destination, tmp_path):
    cat = catalog(stream("users", USERS, mode="overwrite"), stream("events", USERS), stream("done", USERS, mode="overwrite"))
    first = sync(destination, tmp_path, cat, [record("users", {"id": i}) for i in range(3)] + [record("done", {"id": 0})])
    assert first.returncode == 0, first.stdout
    # The source fails: 'users' ends INCOMPLETE, 'events' (append) never says COMPLETE, 'done' completes.
    second = sync(destination, tmp_path, cat, [
        stream_status("users", "STARTED"), stream_status("events", "STARTED"), stream_status("done", "STARTED"),
        record("users", {"id": 100}), record("events", {"id": 7}), stream_state("events", 7),
        record("done", {"id": 1}), stream_status("done", "COMPLETE"), stream_status("users", "INCOMPLETE")])
    assert second.returncode == 1
    (error,) = second.errors
    assert error["failure_type"] == "system_error"
    assert "'users' (INCOMPLETE; its table keeps its previous data)" in error["message"]
    assert "'events' (STARTED)" in error["message"] and "'done'" not in error["message"]
    assert ids(destination.rows("default", "users")) == [0, 1, 2]  # not replaced by the one record that came
    assert ids(destination.rows("default", "done")) == [1]  # completed: replaced
    assert ids(destination.rows("default", "events")) == [7]  # append: what arrived is committed, its STATE out
    assert [s["stream"]["stream_state"] for s in second.states] == [{"cursor": 7}]
    # Cut off mid-stream (no final status at all): the same, and a complete rerun replaces the table.
    cut = sync(destination, tmp_path, cat, [stream_status("users", "STARTED"), record("users", {"id": 200})])
    assert cut.returncode == 1 and ids(destination.rows("default", "users")) == [0, 1, 2]
    rerun = sync(destination, tmp_path, cat, [stream_status(s, "STARTED") for s in ("users", "events", "done")] + [
        record("users", {"id": 300}), *[stream_status(s, "COMPLETE") for s in ("users", "events", "done")]])
    assert rerun.returncode == 0, rerun.stdout
    assert ids(destination.rows("default", "users")) == [300] and ids(destination.rows("default", "done")) == []


def test_states_come_back_value_for_value(destination, tmp_path):
    config_path = write_json(tmp_path / "config.json", destination.config())
    catalog_path = write_json(tmp_path / "catalog.json", catalog(stream("users", USERS)))
    state = ('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":'
             '{"cursor":123456789012345678.5,"ts":1700000000.123456789,"huge":1e400,"nan":NaN,"s":"\\ud800"}}}}')
    result = run(["write", "--config", config_path, "--catalog", catalog_path],
                 lines(record("users", {"id": 1})) + state.encode() + b"\n")
    assert result.returncode == 0, result.stdout
    (out,) = [line for line in result.stdout.splitlines() if '"STATE"' in line]
    assert ('"stream_state":{"cursor":123456789012345678.5,"ts":1700000000.123456789,"huge":1e400,"nan":NaN,'
            '"s":"\\ud800"}') in out
    assert ids(destination.rows("default", "users")) == [1]


def test_a_quiet_source_gets_its_states_back_without_sending_more(destination, tmp_path):
    """A CDC source sends changes and a STATE, then waits: the time-based commit runs while input is idle."""
    import os
    import selectors
    import subprocess
    import time

    from .harness import CONNECTOR

    config_path = write_json(tmp_path / "config.json", destination.config())
    catalog_path = write_json(tmp_path / "catalog.json", catalog(stream("users", USERS)))
    # Unbuffered stdout: a buffered reader would keep lines the selector no longer sees.
    proc = subprocess.Popen([CONNECTOR, "write", "--config", config_path, "--catalog", catalog_path], bufsize=0,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "DESTINATION_DATABRICKS_COMMIT_SECONDS": "2"})
    try:
        # Records and their STATE at once, at the sync's start: no commit is due yet when the STATE arrives,
        # and nothing else follows, so only the clock running while input is idle can release it.
        proc.stdin.write(lines(record("users", {"id": 1}), record("users", {"id": 2}), stream_state("users", 2)))
        proc.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline, state = time.monotonic() + 60, None
        while state is None and time.monotonic() < deadline:
            if selector.select(timeout=1):
                message = json.loads(proc.stdout.readline())
                state = message if message["type"] == "STATE" else None
        assert state is not None, "no STATE while the input stayed open"
        assert state["state"]["stream"]["stream_state"] == {"cursor": 2}
        assert ids(destination.rows("default", "users")) == [1, 2]  # committed before the STATE left
    finally:
        proc.stdin.close()
        proc.wait(60)
    assert proc.returncode == 0


def test_airbyte_data_keeps_every_digit_as_it_came(destination, tmp_path):
    """NUMERIC sources: decimals past double precision, exponents beyond its range, integers past 64 bits."""
    config_path = write_json(tmp_path / "config.json", destination.config())
    cat = catalog(stream("s", {"id": {"type": "integer"}, "n": {"type": "number"}}))
    catalog_path = write_json(tmp_path / "catalog.json", cat)
    data = ('{"id":1,"n":12345678901234.123456789012,"huge":1E400,"big":123456789012345678901234567890,'
            '"p":0.1000000000000000055511151231257827}')
    line = '{"type":"RECORD","record":{"stream":"s","emitted_at":1700000000000,"data":' + data + '}}\n'
    result = run(["write", "--config", config_path, "--catalog", catalog_path], line.encode())
    assert result.returncode == 0, result.stdout
    (row,) = destination.rows("default", "s")
    assert row["_airbyte_data"] == data and row["id"] == 1
    assert row["n"] == 12345678901234.123  # the typed column is a DOUBLE; _airbyte_data is the truth


def test_empty_stream_makes_an_empty_table_and_empties_an_overwritten_one(destination, tmp_path):
    sync(destination, tmp_path, catalog(stream("filled", USERS, mode="overwrite")), [record("filled", {"id": 1})])
    result = sync(destination, tmp_path, catalog(stream("filled", USERS, mode="overwrite"), stream("never", USERS)),
                  [stream_state("never", 0)])
    assert result.returncode == 0, result.stdout
    assert destination.rows("default", "filled") == [] and destination.rows("default", "never") == []
    assert len(result.states) == 1


def test_namespaces_and_same_name_in_two_namespaces(destination, tmp_path):
    cat = catalog(stream("users", USERS, namespace="crm"), stream("users", USERS, namespace="Billing DB"), stream("users", USERS))
    result = sync(destination, tmp_path, cat, [
        record("users", {"id": 1}, namespace="crm"), record("users", {"id": 2}, namespace="Billing DB"),
        record("users", {"id": 3}), stream_state("users", 1, namespace="crm"), global_state("g"),
    ])
    assert result.returncode == 0, result.stdout
    assert ids(destination.rows("crm", "users")) == [1]
    assert ids(destination.rows("billing_db", "users")) == [2]
    assert ids(destination.rows("default", "users")) == [3]
    assert [s.get("type") for s in result.states] == ["STREAM", "GLOBAL"]
    assert result.states[-1]["destinationStats"]["recordCount"] == 3


@pytest.mark.parametrize("name, table", [
    ("it's `quoted`; DROP TABLE x --", "it_s__quoted___drop_table_x___"),
    ("../../escape", "______escape"),
    ("Zoë Café", "zoe_cafe"),
    ('back`tick"dq', "back_tick_dq"),
])
def test_special_stream_names_land_in_safe_tables(destination, tmp_path, name, table):
    result = sync(destination, tmp_path, catalog(stream(name, USERS)), [record(name, {"id": 7}), stream_state(name, 1)])
    assert result.returncode == 0, result.stdout
    assert ids(destination.rows("default", table)) == [7]


def test_streams_that_collide_after_sanitizing_are_refused(destination, tmp_path):
    result = sync(destination, tmp_path, catalog(stream("a b", USERS), stream("a-b", USERS)), [])
    assert result.returncode != 0
    assert result.errors[0]["failure_type"] == "config_error" and "a_b" in result.errors[0]["message"]


def test_values_with_line_breaks_quotes_and_unicode_are_intact(destination, tmp_path):
    values = ["line\nbreak", "tab\tand \"quotes\", commas", "名前 ✓ 🚀", "back\\slash", "", "\r\n"]
    cat = catalog(stream("s", {"id": {"type": "integer"}, "v": {"type": "string"}}))
    result = sync(destination, tmp_path, cat, [record("s", {"id": i, "v": v}) for i, v in enumerate(values)])
    assert result.returncode == 0, result.stdout
    rows = sorted(destination.rows("default", "s"), key=lambda r: r["id"])
    assert [r["v"] for r in rows] == [v if v or destination.empty_strings_kept else None for v in values]
    assert [json.loads(r["_airbyte_data"])["v"] for r in rows] == values


def test_a_10_mb_record(destination, tmp_path):
    big = "x" * (10 * 1024 * 1024)
    cat = catalog(stream("s", {"id": {"type": "integer"}, "blob": {"type": "string"}}))
    result = sync(destination, tmp_path, cat, [record("s", {"id": 1, "blob": big}), record("s", {"id": 2, "blob": "small"})])
    assert result.returncode == 0, result.stdout
    rows = sorted(destination.rows("default", "s"), key=lambda r: r["id"])
    assert rows[0]["blob"] == big and len(rows[0]["_airbyte_data"]) > 10 * 1024 * 1024 and rows[1]["blob"] == "small"


def test_nan_infinity_and_huge_integers(destination, tmp_path):
    cat = catalog(stream("s", {"id": {"type": "integer"}, "n": {"type": "number"}, "big": {"type": "integer"}}))
    result = sync(destination, tmp_path, cat, [
        record("s", {"id": 1, "n": math.nan, "big": 123456789012345678901234567890}),
        record("s", {"id": 2, "n": math.inf, "big": 9223372036854775807}),
        record("s", {"id": 3, "n": -math.inf, "big": -9223372036854775809}),
    ])
    assert result.returncode == 0, result.stdout
    rows = sorted(destination.rows("default", "s"), key=lambda r: r["id"])
    assert math.isnan(rows[0]["n"]) and rows[1]["n"] == math.inf and rows[2]["n"] == -math.inf
    assert [r["big"] for r in rows] == [None, 9223372036854775807, None]
    assert json.loads(rows[0]["_airbyte_data"])["big"] == 123456789012345678901234567890
    assert json.loads(rows[2]["_airbyte_data"])["big"] == -9223372036854775809
    assert "NaN" in rows[0]["_airbyte_data"] and "Infinity" in rows[1]["_airbyte_data"]


def test_record_violating_its_schema_is_kept_whole(destination, tmp_path):
    cat = catalog(stream("s", {"id": {"type": "integer"}, "when": {"type": "string", "format": "date-time"}}))
    bad = {"id": "not-an-int", "when": 12, "surprise": [1, {"x": None}]}
    result = sync(destination, tmp_path, cat, [record("s", bad), record("s", {"id": 2, "when": "2024-01-01T00:00:00Z"})])
    assert result.returncode == 0, result.stdout
    rows = sorted(destination.rows("default", "s"), key=lambda r: str(r["id"]))
    kept = [r for r in rows if r["id"] is None][0]
    assert kept["when"] is None and json.loads(kept["_airbyte_data"]) == bad


def test_an_integer_column_that_becomes_big_integer_is_widened_in_place(destination, tmp_path):
    """BIGINT → DECIMAL(38,0): Delta's type widening, no row rewritten on Databricks; values past 64 bits are no
    longer nulled. (Changes that rewrite the table: test_local_staging.py and docs/local-warehouse.md.)"""
    v1 = {"id": {"type": "integer"}, "big": {"type": "integer"}}
    v2 = {"id": {"type": "integer"}, "big": {"type": "integer", "airbyte_type": "big_integer"}}
    assert sync(destination, tmp_path, catalog(stream("t", v1)), [record("t", {"id": 1, "big": 5})]).returncode == 0
    second = sync(destination, tmp_path, catalog(stream("t", v2)), [record("t", {"id": 2, "big": 2 ** 70})])
    assert second.returncode == 0, second.stdout
    rows = sorted(destination.rows("default", "t"), key=lambda r: r["id"])
    assert [int(r["big"]) for r in rows] == [5, 2 ** 70]
    assert all(json.loads(r["_airbyte_meta"])["changes"] == [] for r in rows)


def test_schema_evolution_adds_columns_only_when_enabled(destination, tmp_path):
    v1 = catalog(stream("s", {"id": {"type": "integer"}}))
    v2 = catalog(stream("s", {"id": {"type": "integer"}, "added": {"type": "string"}}))
    sync(destination, tmp_path, v1, [record("s", {"id": 1})])
    sync(destination, tmp_path, v2, [record("s", {"id": "two", "added": "no"})], enable_schema_evolution=False)
    rows = {json.loads(r["_airbyte_data"])["id"]: r for r in destination.rows("default", "s")}
    assert "added" not in rows[1]
    assert rows["two"]["id"] is None  # a value that does not fit its column; it lives in _airbyte_data
    sync(destination, tmp_path, v2, [record("s", {"id": 3, "added": "yes"})], enable_schema_evolution=True)
    rows = {json.loads(r["_airbyte_data"])["id"]: r for r in destination.rows("default", "s")}
    assert [(rows[k]["id"], rows[k]["added"]) for k in (1, "two", 3)] == [(1, None), (None, None), (3, "yes")]


def test_malformed_input_fails_clearly_and_commits_nothing_unacknowledged(destination, tmp_path):
    cat = catalog(stream("s", USERS))
    messages = lines(record("s", {"id": 1}), stream_state("s", 1), record("s", {"id": 2})) + b"{this is not json\n"
    config_path = write_json(tmp_path / "config.json", destination.config())
    catalog_path = write_json(tmp_path / "catalog.json", cat)
    result = run(["write", "--config", config_path, "--catalog", catalog_path], messages)
    assert result.returncode != 0
    (error,) = result.errors
    assert error["failure_type"] == "system_error" and "line 4" in error["message"]
    if destination.name != "zerobus":  # (direct ingest creates its tables before any input: Zerobus needs them)
        assert ids(destination.rows("default", "s")) if destination.table_exists("default", "s") else True
    committed = ids(destination.rows("default", "s")) if destination.table_exists("default", "s") else []
    emitted = [s["stream"]["stream_state"]["cursor"] for s in result.states]
    assert 2 not in committed  # the record after the last STATE is not committed
    assert all(c <= (emitted[-1] if emitted else 0) for c in committed)
    assert destination.staging_leftovers() == []


def test_record_for_an_unknown_stream_is_an_error(destination, tmp_path):
    result = sync(destination, tmp_path, catalog(stream("s", USERS)), [record("other", {"id": 1})])
    assert result.returncode != 0 and "'other'" in result.errors[0]["message"]


@pytest.mark.parametrize("purge", [True, False])
def test_staging_is_purged_unless_turned_off(destination, tmp_path, purge):
    mode = "overwrite" if destination.name == "zerobus" else "append"  # (direct ingest stages no append stream)
    result = sync(destination, tmp_path, catalog(stream("s", USERS, mode=mode)), [record("s", {"id": 1})],
                  purge_staging_data=purge)
    assert result.returncode == 0
    assert bool(destination.staging_leftovers()) is (not purge)


def test_many_batches_and_commits_lose_nothing(destination, tmp_path):
    """Small batch and commit sizes force many files and many commits in one sync."""
    env = {"DESTINATION_DATABRICKS_BATCH_ROWS": "7", "DESTINATION_DATABRICKS_COMMIT_BYTES": "2000",
           "DESTINATION_DATABRICKS_BUFFER_BYTES": "3000"}
    cat = catalog(stream("a", USERS), stream("b", USERS), stream("c", USERS, mode="overwrite"))
    messages = []
    for i in range(300):
        name = "abc"[i % 3]
        messages.append(record(name, {"id": i, "name": "n" * (i % 40)}))
        if i % 25 == 24:
            messages.append(stream_state(name, i))
    result = sync(destination, tmp_path, cat, messages, env=env)
    assert result.returncode == 0, result.stdout
    for name in "abc":
        assert ids(destination.rows("default", name)) == list(range("abc".index(name), 300, 3))
    emitted = [(s["stream"]["stream_descriptor"]["name"], s["stream"]["stream_state"]["cursor"]) for s in result.states]
    received = [(m["state"]["stream"]["stream_descriptor"]["name"], m["state"]["stream"]["stream_state"]["cursor"])
                for m in messages if m["type"] == "STATE"]
    assert sorted(emitted) == sorted(received) and emitted[-1] == received[-1]
    for name in "abc":  # each stream's counts add up to its records before its last STATE
        last = max(i for i, m in enumerate(messages) if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == name)
        expected = sum(1 for m in messages[:last] if m["type"] == "RECORD" and m["record"]["stream"] == name)
        counted = sum(s["destinationStats"]["recordCount"] for s in result.states if s["stream"]["stream_descriptor"]["name"] == name)
        assert counted == expected


def test_overwrite_keeps_the_old_table_readable_until_the_new_data_commits(destination, tmp_path):
    import os
    import subprocess

    from .harness import CONNECTOR

    cat = catalog(stream("users", USERS, mode="overwrite"))
    sync(destination, tmp_path, cat, [record("users", {"id": i}) for i in range(3)])
    proc = subprocess.Popen([CONNECTOR, "write", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "DESTINATION_DATABRICKS_BATCH_ROWS": "10"})
    proc.stdin.write(lines(*[record("users", {"id": 100 + i}) for i in range(50)], stream_state("users", 1)))
    proc.stdin.flush()
    import time

    time.sleep(2)  # the connector has staged several files by now
    assert ids(destination.rows("default", "users")) == [0, 1, 2]
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert ids(destination.rows("default", "users")) == list(range(100, 150))


def test_overwrite_that_brings_new_columns(destination, tmp_path):
    v1 = catalog(stream("s", {"id": {"type": "integer"}}, mode="overwrite"))
    v2 = catalog(stream("s", {"id": {"type": "integer"}, "added": {"type": "boolean"}}, mode="overwrite"))
    sync(destination, tmp_path, v1, [record("s", {"id": 1})])
    result = sync(destination, tmp_path, v2, [record("s", {"id": 2, "added": True})], enable_schema_evolution=True)
    assert result.returncode == 0, result.stdout
    assert [(r["id"], r["added"]) for r in destination.rows("default", "s")] == [(2, True)]


def generation(value, minimum, sync_id=1):
    return {"generation_id": value, "minimum_generation_id": minimum, "sync_id": sync_id}


def test_a_truncate_refresh_leaves_only_the_new_generation_and_resumes_across_attempts(destination, tmp_path):
    first = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(1, 0))),
                 [record("users", {"id": i}) for i in range(3)] + [stream_state("users", 3)])
    assert first.returncode == 0, first.stdout
    assert {r["_airbyte_generation_id"] for r in destination.rows("default", "users")} == {1}
    # A refresh that removes records (minimum = generation 2): its first attempt fails after a STATE.
    refresh = catalog(stream("users", USERS, **generation(2, 2, sync_id=2)))
    failed = sync(destination, tmp_path, refresh, [stream_status("users", "STARTED"), record("users", {"id": 10}),
                                                   record("users", {"id": 11}), stream_state("users", 11),
                                                   stream_status("users", "INCOMPLETE")])
    assert failed.returncode == 1 and [s["stream"]["stream_state"] for s in failed.states] == [{"cursor": 11}]
    # The table is as it was, previous generation whole and alone, until the refresh completes.
    assert ids(destination.rows("default", "users")) == [0, 1, 2]
    assert destination.table_exists("default", "_airbyte_tmp_g2_users")  # its rows wait there for the next attempt
    # The retried attempt of generation 2 resumes after that STATE: the earlier attempt's rows stay.
    retried = sync(destination, tmp_path, refresh, [stream_status("users", "STARTED"), record("users", {"id": 12}),
                                                    stream_state("users", 12), stream_status("users", "COMPLETE")])
    assert retried.returncode == 0, retried.stdout
    rows = destination.rows("default", "users")
    assert ids(rows) == [10, 11, 12] and {r["_airbyte_generation_id"] for r in rows} == {2}
    assert not destination.table_exists("default", "_airbyte_tmp_g2_users")  # swapped in, then dropped
    # A refresh that keeps records (minimum 0) adds generation 3 to what is there.
    kept = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(3, 0, sync_id=3))),
                [record("users", {"id": 20})])
    assert kept.returncode == 0 and ids(destination.rows("default", "users")) == [10, 11, 12, 20]
    # Truncating to a generation with no records yet empties the table.
    empty = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(4, 4, sync_id=4))), [])
    assert empty.returncode == 0, empty.stdout
    assert destination.rows("default", "users") == []


def test_airbyte_meta_records_the_sources_changes_and_every_value_nulled(destination, tmp_path):
    cat = catalog(stream("users", {**USERS, "age": {"type": "integer"}, "ok": {"type": "boolean"}}, sync_id=77))
    truncated = {"changes": [{"field": "name", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}]}
    result = sync(destination, tmp_path, cat, [
        record("users", {"id": 1, "name": "a", "age": 30, "ok": True}),
        record("users", {"id": 2, "name": "b", "age": "thirty", "ok": 1}),  # two values that do not fit
        record("users", {"id": 3, "name": "c…", "age": None}, meta=truncated)])
    assert result.returncode == 0, result.stdout
    rows = {r["id"]: r for r in destination.rows("default", "users")}
    meta = {i: json.loads(r["_airbyte_meta"]) for i, r in rows.items()}
    assert meta[1] == {"sync_id": 77, "changes": []}
    assert meta[2] == {"sync_id": 77, "changes": [
        {"field": "age", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"},
        {"field": "ok", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]}
    assert rows[2]["age"] is None and json.loads(rows[2]["_airbyte_data"])["age"] == "thirty"
    assert meta[3] == {"sync_id": 77, **truncated}  # a null the source sent is no change of ours


def test_colliding_property_names_keep_their_columns_whatever_the_catalog_order(destination, tmp_path):
    props = {"ID": {"type": "string"}, "id": {"type": "integer"}}
    first = sync(destination, tmp_path, catalog(stream("t", {"ID": props["ID"]})), [record("t", {"ID": "only"})])
    assert first.returncode == 0, first.stdout
    for order in (["ID", "id"], ["id", "ID"]):  # a re-discovered catalog may list them either way
        cat = catalog(stream("t", {name: props[name] for name in order}))
        result = sync(destination, tmp_path, cat, [record("t", {"ID": f"upper-{order[0]}", "id": 7})],
                      enable_schema_evolution=True)
        assert result.returncode == 0, result.stdout
    rows = destination.rows("default", "t")
    columns = sorted(k for k in rows[0] if not k.startswith("_airbyte"))
    assert columns == sorted(["ID", suffixed("id")])
    assert sorted((r["ID"], r[suffixed("id")]) for r in rows) == [
        ("only", None), ("upper-ID", 7), ("upper-id", 7)]


def test_a_table_written_before_meta_and_generations_gains_them(destination, tmp_path):
    import datetime as dt

    import pyarrow as pa

    old = pa.table({"_airbyte_ab_id": ["old-1"], "_airbyte_emitted_at": [dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)],
                    "_airbyte_data": ['{"id":1}'], "id": pa.array([1], pa.int64())})
    destination.create_table("default", "users", old)
    result = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(5, 0, sync_id=9))),
                  [record("users", {"id": 2, "name": "new"})])
    assert result.returncode == 0, result.stdout
    rows = {r["id"]: r for r in destination.rows("default", "users")}
    assert rows[1]["_airbyte_meta"] is None and rows[1]["_airbyte_generation_id"] is None
    assert json.loads(rows[2]["_airbyte_meta"]) == {"sync_id": 9, "changes": []} and rows[2]["_airbyte_generation_id"] == 5
    assert "name" not in rows[2]  # schema evolution is off by default: the new property lives in _airbyte_data
    # A truncate refresh removes rows of no generation too: they predate every generation.
    refresh = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(6, 6, sync_id=10))),
                   [record("users", {"id": 3})])
    assert refresh.returncode == 0, refresh.stdout
    assert ids(destination.rows("default", "users")) == [3]


# --- deduplicated streams -------------------------------------------------------------------------------
EVENTS = {"id": {"type": "integer"}, "updated": {"type": "integer"}, "v": {"type": ["null", "string"]},
          "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}
SMALL_LOADS = {"DESTINATION_DATABRICKS_BATCH_ROWS": "2", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"}


def dedup(name="events", properties=EVENTS, mode="append_dedup", key=(("id",),), cursor=("updated",), **more):
    return stream(name, properties, mode=mode, primary_key=[list(p) for p in key],
                  cursor_field=list(cursor) if cursor else None, **more)


def by_key(rows, key="id"):
    return {r[key]: (r["updated"], r["v"]) for r in rows}


def test_append_dedup_keeps_the_newest_row_per_key(destination, tmp_path):
    cat = catalog(dedup())
    first = sync(destination, tmp_path, cat, [
        record("events", {"id": 1, "updated": 1, "v": "a"}), record("events", {"id": 2, "updated": 1, "v": "b"}),
        record("events", {"id": 1, "updated": 2, "v": "a2"}),  # a newer row of 1 in the same batch
        record("events", {"id": 3, "updated": 5, "v": "c"}), record("events", {"id": 3, "updated": 4, "v": "late"}),
        stream_state("events", 1)], env=SMALL_LOADS)
    assert first.returncode == 0, first.stdout
    assert by_key(destination.rows("default", "events")) == {1: (2, "a2"), 2: (1, "b"), 3: (5, "c")}
    second = sync(destination, tmp_path, cat, [
        record("events", {"id": 2, "updated": 3, "v": "b3"}),  # newer: replaces
        record("events", {"id": 3, "updated": 1, "v": "older"}),  # older than the table's row: ignored
        record("events", {"id": 1, "updated": 2, "v": "same cursor, arrived later"}),  # a tie: the later arrival
        record("events", {"id": 4, "updated": None, "v": "d"}), record("events", {"id": 4, "updated": None, "v": "d2"}),
        stream_state("events", 2)], env=SMALL_LOADS)
    assert second.returncode == 0, second.stdout
    rows = destination.rows("default", "events")
    assert len(rows) == 4
    assert by_key(rows) == {1: (2, "same cursor, arrived later"), 2: (3, "b3"), 3: (5, "c"), 4: (None, "d2")}
    assert [s["stream"]["stream_state"] for s in second.states][-1] == {"cursor": 2}


def test_cdc_deletes_hard_and_soft(destination, tmp_path):
    cat = catalog(dedup())
    deleted = "2024-05-01T00:00:00Z"
    sync(destination, tmp_path, cat, [record("events", {"id": i, "updated": 1, "v": f"v{i}"}) for i in range(1, 5)])
    result = sync(destination, tmp_path, cat, [
        record("events", {"id": 1, "updated": 2, "_ab_cdc_deleted_at": deleted}),  # deletes 1
        record("events", {"id": 2, "updated": 2, "_ab_cdc_deleted_at": deleted}),  # deleted, then re-inserted
        record("events", {"id": 2, "updated": 3, "v": "back"}),
        record("events", {"id": 3, "updated": 0, "_ab_cdc_deleted_at": deleted}),  # older than the row: ignored
        record("events", {"id": 9, "updated": 2, "_ab_cdc_deleted_at": deleted}),  # a key never seen: nothing
    ], env=SMALL_LOADS)
    assert result.returncode == 0, result.stdout
    assert by_key(destination.rows("default", "events")) == {2: (3, "back"), 3: (1, "v3"), 4: (1, "v4")}
    soft = sync(destination, tmp_path, cat, [record("events", {"id": 4, "updated": 5, "_ab_cdc_deleted_at": deleted}),
                                             record("events", {"id": 8, "updated": 5, "_ab_cdc_deleted_at": deleted})],
                cdc_deletion_mode="soft")
    assert soft.returncode == 0, soft.stdout
    rows = {r["id"]: r for r in destination.rows("default", "events")}
    assert sorted(rows) == [2, 3, 4, 8] and rows[4]["_ab_cdc_deleted_at"] is not None and rows[4]["v"] is None


def test_keys_past_2_53_are_one_key_each(destination, tmp_path):
    """delta-rs compares a decimal column's file statistics as doubles: a merge that skipped files by them inserted
    a big_integer key past 2^53 again (LOCAL), and missed its delete."""
    props = {"id": {"type": "integer", "airbyte_type": "big_integer"}, "v": {"type": "string"},
             "_ab_cdc_deleted_at": {"type": ["null", "string"]}}
    cat, big = catalog(dedup("big", props, cursor=())), 2 ** 60 + 1
    first = sync(destination, tmp_path, cat, [
        record("big", {"id": big, "v": "a"}), record("big", {"id": big + 2, "v": "a"}), record("big", {"id": 5, "v": "a"})])
    assert first.returncode == 0, first.stdout
    second = sync(destination, tmp_path, cat, [
        record("big", {"id": big, "v": "b"}), record("big", {"id": big + 2, "_ab_cdc_deleted_at": "2024-01-01T00:00:00Z"})])
    assert second.returncode == 0, second.stdout
    assert sorted((int(r["id"]), r["v"]) for r in destination.rows("default", "big")) == [(5, "a"), (big, "b")]


def test_composite_and_nested_primary_keys(destination, tmp_path):
    props = {"org": {"type": "string"}, "user": {"type": "object", "properties": {"id": {"type": "integer"}}},
             "updated": {"type": "integer"}, "v": {"type": "string"}}
    cat = catalog(dedup("members", props, key=(("org",), ("user", "id"))))
    messages = [record("members", {"org": o, "user": {"id": u, "name": "x"}, "updated": t, "v": f"{o}{u}@{t}"})
                for t in (1, 2) for o in ("a", "b") for u in (1, 2)]
    messages.append(record("members", {"org": "a", "user": {"id": "1"}, "updated": 9, "v": "string 1 is another key"}))
    result = sync(destination, tmp_path, cat, messages, env=SMALL_LOADS)
    assert result.returncode == 0, result.stdout
    rows = destination.rows("default", "members")
    assert sorted(r["v"] for r in rows) == ["a1@2", "a2@2", "b1@2", "b2@2", "string 1 is another key"]
    assert {r["_airbyte_key"] for r in rows} >= {"[1]", "[2]", '["1"]'}


@pytest.mark.parametrize("first", ["declared", "undeclared"])
def test_a_key_that_moves_between_its_column_and_airbyte_key_is_never_doubled(destination, tmp_path, first):
    """A re-discovered schema declares a key property, or no longer does: the key keeps keying as the table's rows
    were keyed (its own column, or `_airbyte_key`)."""
    declared = {"id": {"type": "integer"}, "v": {"type": "string"}}
    undeclared = {"v": {"type": "string"}}
    schemas = [declared, undeclared] if first == "declared" else [undeclared, declared]
    for n, props in enumerate(schemas + schemas):
        result = sync(destination, tmp_path, catalog(dedup("k", props, cursor=())),
                      [record("k", {"id": 1, "v": f"v{n}"}), record("k", {"id": 2, "v": f"v{n}"})],
                      enable_schema_evolution=True)
        assert result.returncode == 0, (n, result.stderr[-3000:])
        assert sorted(r["v"] for r in destination.rows("default", "k")) == [f"v{n}", f"v{n}"], n


def test_a_dedup_record_without_its_key_is_a_clear_error(destination, tmp_path):
    cat = catalog(dedup())
    result = sync(destination, tmp_path, cat, [record("events", {"id": 1, "updated": 1}), stream_state("events", 1),
                                               record("events", {"updated": 2, "v": "no id"})])
    assert result.returncode == 1
    (error,) = result.errors
    assert error["failure_type"] == "config_error"
    assert "Input line 3" in error["message"] and "'events'" in error["message"] and "'id'" in error["message"]
    committed = destination.rows("default", "events") if destination.table_exists("default", "events") else []
    assert all(r["id"] == 1 for r in committed)  # nothing past the last STATE, never the keyless record
    assert not committed or [s["stream"]["stream_state"] for s in result.states] == [{"cursor": 1}]
    misfit = sync(destination, tmp_path, cat, [record("events", {"id": 1, "updated": 1}), stream_state("events", 1),
                                               record("events", {"id": 2, "updated": 1}),
                                               record("events", {"id": "not a number", "updated": 2})])
    assert misfit.returncode == 1 and misfit.errors[0]["failure_type"] == "config_error"
    assert "Input line 4" in misfit.errors[0]["message"] and "'id' that does not fit" in misfit.errors[0]["message"]
    no_key = sync(destination, tmp_path, catalog(stream("events", EVENTS, mode="append_dedup")), [])
    assert no_key.returncode == 1 and "needs a primary_key" in no_key.errors[0]["message"]
    assert no_key.errors[0]["failure_type"] == "config_error"


def test_dedup_with_schema_evolution(destination, tmp_path):
    sync(destination, tmp_path, catalog(dedup()), [record("events", {"id": 1, "updated": 1, "v": "a"})])
    wider = catalog(dedup(properties={**EVENTS, "extra": {"type": "string"}}))
    result = sync(destination, tmp_path, wider, [record("events", {"id": 1, "updated": 2, "v": "a2", "extra": "x"}),
                                                 record("events", {"id": 2, "updated": 1, "v": "b", "extra": "y"})],
                  enable_schema_evolution=True)
    assert result.returncode == 0, result.stdout
    rows = {r["id"]: r for r in destination.rows("default", "events")}
    assert (rows[1]["v"], rows[1]["extra"], rows[2]["extra"]) == ("a2", "x", "y") and len(rows) == 2


def test_overwrite_dedup_replaces_with_the_newest_row_per_key_once_complete(destination, tmp_path):
    cat = catalog(dedup(mode="overwrite_dedup"))
    first = sync(destination, tmp_path, cat, [record("events", {"id": i, "updated": 1, "v": "old"}) for i in range(3)])
    assert first.returncode == 0, first.stdout
    cut = sync(destination, tmp_path, cat, [stream_status("events", "STARTED"), record("events", {"id": 7, "updated": 1})])
    assert cut.returncode == 1 and sorted(by_key(destination.rows("default", "events"))) == [0, 1, 2]
    deleted = "2024-05-01T00:00:00Z"
    result = sync(destination, tmp_path, cat, [
        stream_status("events", "STARTED"),
        record("events", {"id": 5, "updated": 1, "v": "x"}), record("events", {"id": 5, "updated": 2, "v": "y"}),
        record("events", {"id": 6, "updated": 1, "v": "z"}), record("events", {"id": 6, "updated": 2, "_ab_cdc_deleted_at": deleted}),
        stream_status("events", "COMPLETE")], env=SMALL_LOADS)
    assert result.returncode == 0, result.stdout
    assert by_key(destination.rows("default", "events")) == {5: (2, "y")}


def test_a_truncate_refresh_of_a_deduplicated_stream(destination, tmp_path):
    first = sync(destination, tmp_path, catalog(dedup(**generation(1, 0))),
                 [record("events", {"id": i, "updated": 1, "v": "old"}) for i in range(3)])
    assert first.returncode == 0, first.stdout
    refresh = sync(destination, tmp_path, catalog(dedup(**generation(2, 2, sync_id=2))),
                   [record("events", {"id": 2, "updated": 1, "v": "again"}), record("events", {"id": 5, "updated": 1, "v": "new"})])
    assert refresh.returncode == 0, refresh.stdout
    rows = destination.rows("default", "events")
    assert by_key(rows) == {2: (1, "again"), 5: (1, "new")} and {r["_airbyte_generation_id"] for r in rows} == {2}


def _micros(value) -> int:
    """A timestamp read back (zone-aware or not, UTC either way) as microseconds since the epoch, exactly."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (value.replace(tzinfo=dt.timezone.utc) - epoch) // dt.timedelta(microseconds=1)


def test_values_as_real_sources_send_them_fit_their_columns(destination, tmp_path):
    """`2.0` and `"15"` fit an integer column, `"15001.000000000"` (PyAirbyte's decimals) a number column; 7 to 9
    fraction digits are truncated to microseconds and recorded as TRUNCATED; emitted_at in seconds is seconds."""
    props = {"id": {"type": "integer"}, "n": {"type": "integer"}, "x": {"type": "number"},
             "at": {"type": "string", "format": "date-time"}, "big": {"type": "integer", "airbyte_type": "big_integer"}}
    result = sync(destination, tmp_path, catalog(stream("s", props)), [
        record("s", {"id": 1, "n": 2.0, "x": "15001.000000000", "at": "2024-06-04T02:24:06.385451171Z", "big": 3.0},
               emitted_at=1_700_000_000),
        record("s", {"id": 2, "n": "15", "x": "1e3", "at": "2024-06-04T02:24:06.1234567Z", "big": "12"},
               emitted_at=1_700_000_001.5),
        record("s", {"id": 3, "n": 2.5, "x": "abc", "at": "2024-06-04T02:24:06.123456Z", "big": 1e40}),  # 41 digits
        stream_state("s", 3)])
    assert result.returncode == 0, result.stdout[-3000:]
    rows = {r["id"]: r for r in destination.rows("default", "s")}
    assert [(rows[i]["n"], rows[i]["x"]) for i in (1, 2, 3)] == [(2, 15001.0), (15, 1000.0), (None, None)]
    assert [int(rows[i]["big"]) if rows[i]["big"] is not None else None for i in (1, 2, 3)] == [3, 12, None]
    base = _micros(dt.datetime(2024, 6, 4, 2, 24, 6))
    assert [_micros(rows[i]["at"]) - base for i in (1, 2, 3)] == [385451, 123456, 123456]
    assert [_micros(rows[i]["_airbyte_emitted_at"]) for i in (1, 2)] == [1_700_000_000_000_000, 1_700_000_001_500_000]
    truncated = {"field": "at", "change": "TRUNCATED", "reason": "DESTINATION_FIELD_SIZE_LIMITATION"}
    assert [json.loads(rows[i]["_airbyte_meta"])["changes"] for i in (1, 2)] == [[truncated], [truncated]]
    assert {c["field"] for c in json.loads(rows[3]["_airbyte_meta"])["changes"]} == {"n", "x", "big"}
    data = json.loads(rows[1]["_airbyte_data"])
    assert (data["x"], data["at"]) == ("15001.000000000", "2024-06-04T02:24:06.385451171Z")
    assert '"n":2.0' in rows[1]["_airbyte_data"].replace(" ", "")
