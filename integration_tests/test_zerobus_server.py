"""The local warehouse serves Zerobus Ingest to the official SDK (`databricks-zerobus-ingest-sdk`): a stream on a
managed table, signed in with the service principal's OAuth token, JSON and Avro record batches appended to the
table before their acks, and the faults tests need (a refused stream, a stream ended mid-way) recovered by the
SDK without losing an acknowledged record."""
from __future__ import annotations

import json
import urllib.request

import pytest
import zerobus  # noqa: F401  (the official SDK: a test dependency, pyproject.toml)

from .destinations import ManagedDestination


def _faults(w: dict, **faults) -> dict:
    request = urllib.request.Request(f"{w['hostname']}:{w['port']}/_local/zerobus", data=json.dumps(faults).encode(),
                                     method="POST" if faults else "GET")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.fixture
def table(warehouse):
    managed = ManagedDestination(warehouse)
    managed.query("CREATE SCHEMA IF NOT EXISTS `main`.`zb`")
    managed.query("CREATE TABLE `main`.`zb`.`events` (id BIGINT, name STRING, score DOUBLE) USING DELTA")
    return managed


def _sdk(w: dict):
    from zerobus.sdk.sync import ZerobusSdk

    return ZerobusSdk(w["zerobus_endpoint"], f"{w['hostname']}:{w['port']}", application_name="destination-databricks/test")


def _options(record_type, **more):
    from zerobus.sdk.shared import StreamConfigurationOptions

    return StreamConfigurationOptions(record_type=record_type, server_lack_of_ack_timeout_ms=20_000, **more)


def test_json_and_avro_batches_land_in_the_table_before_their_acks(warehouse, table):
    from zerobus.sdk.shared import RecordType, TableProperties

    sdk = _sdk(warehouse)
    stream = sdk.create_stream(warehouse["client_id"], warehouse["client_secret"], TableProperties("main.zb.events"),
                               _options(RecordType.JSON))
    offset = stream.ingest_records_offset([json.dumps({"id": i, "name": f"n{i}", "score": i / 3}) for i in range(5)])
    stream.wait_for_offset(offset)
    stream.close()
    schema = {"type": "record", "name": "events", "fields": [
        {"name": "id", "type": "long"}, {"name": "name", "type": ["null", "string"]}, {"name": "score", "type": "double"}]}
    stream = sdk.create_stream(warehouse["client_id"], warehouse["client_secret"],
                               TableProperties("main.zb.events", avro_schema=json.dumps(schema)), _options(RecordType.AVRO))
    stream.ingest_records_offset([{"id": 5, "name": None, "score": 2.5}, {"id": 6, "name": "z", "score": -0.1}])
    stream.flush()
    stream.close()
    rows = sorted(table.query("SELECT * FROM `main`.`zb`.`events`").to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["name"], r["score"]) for r in rows] == (
        [(i, f"n{i}", i / 3) for i in range(5)] + [(5, None, 2.5), (6, "z", -0.1)])
    stats = _faults(warehouse)
    assert stats["streams"] == 2 and stats["rows"] == 7
    assert all(agent.startswith("zerobus-sdk-py/") and "destination-databricks/test" in agent for agent in stats["user_agents"])


def test_a_stream_needs_an_issued_token_and_an_existing_table(warehouse, table):
    from zerobus import ZerobusException
    from zerobus.sdk.shared import RecordType, TableProperties

    sdk = _sdk(warehouse)
    with pytest.raises(ZerobusException):
        sdk.create_stream(warehouse["client_id"], "not-the-secret", TableProperties("main.zb.events"),
                          _options(RecordType.JSON, recovery=False))
    with pytest.raises(ZerobusException, match="does not exist"):
        sdk.create_stream(warehouse["client_id"], warehouse["client_secret"], TableProperties("main.zb.missing"),
                          _options(RecordType.JSON, recovery=False))
    assert table.query("SELECT count(*) AS n FROM `main`.`zb`.`events`").to_pylist() == [{"n": 0}]


@pytest.mark.parametrize("faults", [{"refuse": 1}, {"end_after": 1}, {"end_after": 1, "close_signal": True}],
                         ids=["refused", "reset", "close-signal"])
def test_the_sdk_recovers_from_a_refused_or_ended_stream_and_loses_no_acknowledged_record(warehouse, table, faults):
    from zerobus.sdk.shared import RecordType, TableProperties

    _faults(warehouse, **faults)
    sdk = _sdk(warehouse)
    stream = sdk.create_stream(warehouse["client_id"], warehouse["client_secret"], TableProperties("main.zb.events"),
                               _options(RecordType.JSON, recovery=True, recovery_backoff_ms=100, recovery_retries=5))
    last = 0
    for start in range(0, 30, 10):
        last = stream.ingest_records_offset([json.dumps({"id": i, "name": "x", "score": 0.0}) for i in range(start, start + 10)])
    stream.wait_for_offset(last)
    stream.close()
    ids = [r["id"] for r in table.query("SELECT id FROM `main`.`zb`.`events`").to_pylist()]
    assert set(ids) == set(range(30))  # every acknowledged record is there (a batch resent after a reset may repeat)


def test_arrow_batches_through_the_flight_endpoint(warehouse, table):
    import pyarrow as pa

    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
    stream = _sdk(warehouse).create_arrow_stream("main.zb.events", schema, warehouse["client_id"],
                                                 warehouse["client_secret"])
    last = 0
    for start in (0, 3):
        last = stream.ingest_batch(pa.record_batch({"id": [start, start + 1, start + 2], "name": ["a", None, "c"],
                                                    "score": [0.5, 1.5, 23.796462709189136]}, schema=schema))
    stream.wait_for_offset(last)
    stream.close()
    rows = sorted(table.query("SELECT * FROM `main`.`zb`.`events`").to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [
        (i, ["a", None, "c"][i % 3], [0.5, 1.5, 23.796462709189136][i % 3]) for i in range(6)]
    assert _faults(warehouse)["batches"] == 2


def test_acks_can_be_delayed_and_the_sdk_waits_for_them(warehouse, table):
    import time

    from zerobus.sdk.shared import RecordType, TableProperties

    _faults(warehouse, ack_delay_seconds=1.0)
    stream = _sdk(warehouse).create_stream(warehouse["client_id"], warehouse["client_secret"],
                                           TableProperties("main.zb.events"), _options(RecordType.JSON))
    started = time.monotonic()
    stream.wait_for_offset(stream.ingest_records_offset([json.dumps({"id": 1, "name": "x", "score": 1.0})]))
    assert time.monotonic() - started >= 1.0  # the record counts only once its ack came
    stream.close()
    assert table.query("SELECT count(*) AS n FROM `main`.`zb`.`events`").to_pylist() == [{"n": 1}]
