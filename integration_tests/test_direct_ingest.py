"""Direct ingest (data_source.direct_ingest): append streams through the local warehouse's Zerobus server, other
modes staged in the volume in the same sync; no statement and no volume once the tables exist; new columns added
before the rows that carry them; the SDK's recovery from refused, reset and closed streams; a persistent failure
ends the sync with one TRACE naming Zerobus and the table. (The contract suite runs on this destination too.)"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from .destinations import ZerobusDestination
from .harness import catalog, lines, record, run, stream, stream_state, write_json

USERS = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}


@pytest.fixture
def zerobus(warehouse):
    return ZerobusDestination(warehouse)


def stats(w: dict) -> dict:
    with urllib.request.urlopen(f"{w['hostname']}:{w['port']}/_local/stats", timeout=30) as answer:
        return json.load(answer)


def sync(destination, tmp_path, cat, messages, env=None, **config):
    config_path = write_json(tmp_path / "config.json", destination.config(**config))
    return run(["write", "--config", config_path, "--catalog", write_json(tmp_path / "catalog.json", cat)],
               lines(*messages), env=env)


def ids(rows):
    return sorted(r["id"] for r in rows)


def test_a_steady_state_sync_sends_no_statement_and_touches_no_volume(zerobus, tmp_path):
    cat = catalog(stream("events", USERS), stream("clicks", USERS))
    first = sync(zerobus, tmp_path, cat, [record(n, {"id": i, "name": "x"}) for i in range(5) for n in ("events", "clicks")]
                 + [stream_state("events", 1)])
    assert first.returncode == 0, first.stdout + first.stderr
    before, served = stats(zerobus.w)["statements"], zerobus.zerobus()["rows"]
    second = sync(zerobus, tmp_path, cat, [record(n, {"id": i, "name": "y"}) for i in range(5, 9) for n in ("events", "clicks")]
                  + [stream_state("events", 2)])
    assert second.returncode == 0, second.stdout + second.stderr
    assert stats(zerobus.w)["statements"] == before  # listing through Unity Catalog's API, rows through Zerobus
    assert zerobus.zerobus()["rows"] == served + 8
    assert [s["stream"]["stream_state"] for s in second.states] == [{"cursor": 2}]
    for name in ("events", "clicks"):
        assert ids(zerobus.rows("default", name)) == list(range(9))
    assert zerobus.keys() == []  # no staging file, not even the volume's sync folder


def test_other_modes_are_staged_in_the_same_sync(zerobus, tmp_path):
    cat = catalog(stream("log", USERS), stream("people", USERS, mode="append_dedup", primary_key=[["id"]]),
                  stream("snapshot", USERS, mode="overwrite"),
                  stream("refreshed", USERS, generation_id=2, minimum_generation_id=2, sync_id=7))
    messages = [record(n, {"id": i % 3, "name": f"{n}{i}"}) for i in range(6)
                for n in ("log", "people", "snapshot", "refreshed")]
    result = sync(zerobus, tmp_path, cat, messages + [stream_state("log", 1)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert zerobus.zerobus()["rows"] == 6  # the append stream's, and only those
    assert ids(zerobus.rows("default", "log")) == [0, 0, 1, 1, 2, 2]
    assert ids(zerobus.rows("default", "people")) == [0, 1, 2]
    assert ids(zerobus.rows("default", "snapshot")) == [0, 0, 1, 1, 2, 2]
    assert ids(zerobus.rows("default", "refreshed")) == [0, 0, 1, 1, 2, 2]
    logs = [m["log"]["message"] for m in result.messages if m["type"] == "LOG"]
    assert any("people" in text and "append_dedup" in text for text in logs), logs
    assert zerobus.staging_leftovers() == []


def test_new_columns_are_added_before_the_rows_that_carry_them(zerobus, tmp_path):
    zerobus.query("CREATE SCHEMA IF NOT EXISTS `main`.`default`")
    first = sync(zerobus, tmp_path, catalog(stream("grow", USERS)), [record("grow", {"id": 1, "name": "a"})])
    assert first.returncode == 0, first.stdout + first.stderr
    grown = {**USERS, "score": {"type": "number"}, "seen": {"type": "string", "format": "date-time"}}
    second = sync(zerobus, tmp_path, catalog(stream("grow", grown)),
                  [record("grow", {"id": 2, "name": "b", "score": 23.796462709189136, "seen": "2024-05-01T10:00:00.1234567Z"})],
                  enable_schema_evolution=True)
    assert second.returncode == 0, second.stdout + second.stderr
    rows = sorted(zerobus.rows("default", "grow"), key=lambda r: r["id"])
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [(1, "a", None), (2, "b", 23.796462709189136)]
    assert rows[1]["seen"].isoformat().startswith("2024-05-01T10:00:00.123456")
    assert json.loads(rows[1]["_airbyte_meta"])["changes"]  # the 7th fraction digit, recorded
    assert zerobus.zerobus()["rows"] == 2


def test_a_column_type_zerobus_does_not_map_falls_back_to_staging_saying_why(zerobus, tmp_path):
    nested = {**USERS, "address": {"type": "object", "properties": {"city": {"type": "string"}}}}
    result = sync(zerobus, tmp_path, catalog(stream("places", nested)),
                  [record("places", {"id": i, "address": {"city": f"c{i}"}}) for i in range(3)], json_column_type="VARIANT")
    assert result.returncode == 0, result.stdout + result.stderr
    assert zerobus.zerobus()["rows"] == 0
    assert ids(zerobus.rows("default", "places")) == [0, 1, 2]
    logs = [m["log"]["message"] for m in result.messages if m["type"] == "LOG"]
    assert any("places" in text and "address" in text and "not sent through Zerobus" in text for text in logs), logs


@pytest.mark.parametrize("faults", [{"refuse": 2}, {"end_after": 1}, {"end_after": 1, "close_signal": True},
                                    {"ack_delay_seconds": 1.5}], ids=["refused", "reset", "close-signal", "slow-acks"])
def test_the_sdk_recovers_and_no_state_leaves_before_its_records_are_acknowledged(zerobus, tmp_path, faults):
    zerobus.zerobus(**faults)
    env = {"DESTINATION_DATABRICKS_BATCH_ROWS": "10", "DESTINATION_DATABRICKS_RETRY_BACKOFF_SECONDS": "0.2"}
    messages = []
    for i in range(60):
        messages.append(record("events", {"id": i, "name": "n"}))
        if i % 20 == 19:
            messages.append(stream_state("events", i))
    result = sync(zerobus, tmp_path, catalog(stream("events", USERS)), messages, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(ids(zerobus.rows("default", "events"))) == set(range(60))  # a resent batch may repeat, none is lost
    assert [s["stream"]["stream_state"]["cursor"] for s in result.states][-1] == 59


def test_a_persistent_failure_ends_the_sync_naming_zerobus_and_the_table(zerobus, tmp_path):
    zerobus.zerobus(refuse=1000)
    env = {"DESTINATION_DATABRICKS_RETRY_ATTEMPTS": "2", "DESTINATION_DATABRICKS_RETRY_BACKOFF_SECONDS": "0.2"}
    started = time.monotonic()
    result = sync(zerobus, tmp_path, catalog(stream("events", USERS)),
                  [record("events", {"id": 1}), stream_state("events", 1)], env=env)
    assert result.returncode != 0
    traces = [m for m in result.messages if m["type"] == "TRACE"]
    assert len(traces) == 1 and traces[0]["trace"]["error"]["failure_type"] in ("system_error", "transient_error")
    assert "Zerobus" in traces[0]["trace"]["error"]["message"] and "main.default.events" in traces[0]["trace"]["error"]["message"]
    assert result.states == []
    assert zerobus.w["client_secret"] not in result.stdout + result.stderr
    assert time.monotonic() - started < 120


def test_a_server_that_never_answers_ends_the_sync_in_bounded_time(zerobus, tmp_path):
    zerobus.zerobus(stall=1000)
    env = {"DESTINATION_DATABRICKS_RETRY_ATTEMPTS": "1", "DESTINATION_DATABRICKS_RETRY_BACKOFF_SECONDS": "0.2"}
    started = time.monotonic()
    result = sync(zerobus, tmp_path, catalog(stream("events", USERS)),
                  [record("events", {"id": 1}), stream_state("events", 1)], env=env)
    assert result.returncode != 0 and time.monotonic() - started < 120
    traces = [m for m in result.messages if m["type"] == "TRACE"]
    message = traces[0]["trace"]["error"]["message"] if len(traces) == 1 else ""
    # (the SDK's own deadline answers first here; ingest.py's watchdog is there for a call the SDK would not end)
    assert "Zerobus" in message and "open a stream on the table main.default.events" in message and result.states == []


def test_check_opens_a_stream_as_the_service_principal(zerobus, tmp_path):
    result = run(["check", "--config", write_json(tmp_path / "c.json", zerobus.config())], timeout=300)
    assert result.messages[-1]["connectionStatus"] == {"status": "SUCCEEDED"}, result.stdout + result.stderr
    assert zerobus.zerobus()["streams"] == 1
    assert zerobus.query("SHOW TABLES IN `main`.`default`").num_rows == 0  # the test table is gone
    zerobus.zerobus(refuse=1000)
    refused = run(["check", "--config", write_json(tmp_path / "c.json", zerobus.config())], timeout=300)
    status = refused.messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "direct_ingest.zerobus_endpoint" in status["message"], status
