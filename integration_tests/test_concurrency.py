"""Statements overlap on the warehouse, bounded by max_concurrent_statements; a failing load among concurrent
ones ends the sync naming its table, and no STATE covering an uncommitted record leaves."""
from __future__ import annotations

import json
import urllib.request

import pytest

from .destinations import AzureDatabricksDestination, ManagedDestination, S3DatabricksDestination
from .fault_proxy import Fault, FaultProxy
from .harness import catalog, lines, record, run, stream, stream_state, write_json
from .warehouse_fixture import local_warehouse

STREAMS = [f"t{i}" for i in range(8)]
ID = {"id": {"type": "integer"}}


@pytest.fixture
def slow_warehouse():
    """Each statement waits 0.3 s before it runs, as a (fast) real warehouse would."""
    with local_warehouse(statement_seconds=0.3) as details:
        yield details


def stats(w: dict) -> dict:
    with urllib.request.urlopen(f"{w['hostname']}:{w['port']}/_local/stats", timeout=30) as answer:
        return json.loads(answer.read())


def sync(tmp_path, config: dict, env: dict | None = None, **configured):
    """``configured``: more fields of every configured stream (generation_id, …)."""
    messages = [record(name, {"id": i}) for i in range(2) for name in STREAMS]
    messages += [stream_state(name, 2) for name in STREAMS]
    return run(["write", "--config", write_json(tmp_path / "c.json", config),
                "--catalog", write_json(tmp_path / "k.json", catalog(*[stream(n, ID, **configured) for n in STREAMS]))],
               lines(*messages), env=env)


def gate(w: dict, match: str, at_once: int, seconds: float = 60) -> None:
    """Statements containing ``match`` wait at the warehouse until ``at_once`` are in flight (or ``seconds`` pass)."""
    body = json.dumps({"match": match, "at_once": at_once, "seconds": seconds}).encode()
    request = urllib.request.Request(f"{w['hostname']}:{w['port']}/_local/gate", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass


def test_statements_overlap_up_to_the_configured_bound(tmp_path, slow_warehouse):
    destination = S3DatabricksDestination(slow_warehouse)
    # The loads wait until 4 are running, so reaching the bound does not depend on how fast staging keeps up
    # (on a busy machine it did not, and 3 were seen at once); a 5th would still show as 5.
    gate(slow_warehouse, "USING DELTA", at_once=4)
    result = sync(tmp_path, destination.config(max_concurrent_statements=4))
    assert result.returncode == 0, result.stdout[-3000:]
    seen = stats(slow_warehouse)
    assert seen["gate"]["reached"] and seen["max_in_flight"] == 4  # 8 tables to create and load, 4 at a time, never more
    for name in STREAMS:
        assert sorted(r["id"] for r in destination.rows("default", name)) == [0, 1]
    assert [s["stream"]["stream_descriptor"]["name"] for s in result.states] == STREAMS
    # A second sync of the same tables: their schemas are read together before the input, concurrently too.
    again = sync(tmp_path, destination.config(max_concurrent_statements=4))
    assert again.returncode == 0 and all(len(destination.rows("default", n)) == 4 for n in STREAMS)


def test_a_failing_load_among_concurrent_ones_names_its_table_and_releases_nothing_uncommitted(tmp_path, slow_warehouse):
    destination = S3DatabricksDestination(slow_warehouse)
    proxy = FaultProxy(f"{slow_warehouse['hostname']}:{slow_warehouse['port']}", "databricks")
    proxy.start()
    try:
        # t3's load (its first creates the table from its rows) is refused
        refused = proxy.add(Fault("status", "POST", r"^/sql/", rb"`hive_metastore`.`default`.`t3` USING DELTA",
                                  times=None, status=400))
        config = destination.config(max_concurrent_statements=8)
        config["databricks_port"] = str(proxy.port)
        result = sync(tmp_path, config, env={"DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"})
    finally:
        proxy.stop()
    assert result.returncode == 1 and refused.fired >= 1, result.stdout[-3000:]
    (error,) = result.errors
    assert error["failure_type"] == "system_error" and "default.t3" in error["message"], error["message"]
    emitted = {s["stream"]["stream_descriptor"]["name"] for s in result.states}
    assert "t3" not in emitted
    for name in emitted:  # whatever STATE left is covered by its table
        assert sorted(r["id"] for r in destination.rows("default", name)) == [0, 1]


def statements(w: dict) -> list[str]:
    with urllib.request.urlopen(f"{w['hostname']}:{w['port']}/_local/statements", timeout=30) as answer:
        return json.loads(answer.read())["statements"]


@pytest.mark.parametrize("source", ["s3", "azure", "managed"])
def test_each_stream_costs_one_statement_per_sync(tmp_path, source, request):
    """The first sync creates each table with its rows (one CTAS, reading the staged files, CSV too); the next
    finds every table's columns in its schema's listing and sends one INSERT per table. Besides: one SHOW TABLE
    EXTENDED per schema (a schema it lists is not created again: `default` is there on the first sync too), and on
    managed tables the staging volume's (one statement when it exists)."""
    warehouse = request.getfixturevalue("warehouse")
    destination = {"s3": S3DatabricksDestination, "azure": AzureDatabricksDestination,
                   "managed": ManagedDestination}[source](warehouse)
    setup = ("SHOW TABLE EXTENDED", "CREATE SCHEMA", "CREATE VOLUME")
    for n in range(2):
        before = len(statements(warehouse))
        result = sync(tmp_path, destination.config())
        assert result.returncode == 0, result.stdout[-3000:]
        sent = statements(warehouse)[before:]
        per_table = [s for s in sent if not s.startswith(setup)]
        assert len(per_table) == len(STREAMS), f"sync {n + 1}: {sent}"
        # managed: CREATE VOLUME IF NOT EXISTS each sync (the catalog's `default` schema is there already)
        expected = {"s3": (1, 1), "azure": (1, 1), "managed": (2, 2)}[source][n]
        assert len(sent) - len(per_table) == expected, sent
        assert sum(s.startswith("SHOW TABLE EXTENDED") for s in sent) == 1
        kind = "CREATE TABLE `" if n == 0 else "INSERT INTO"
        assert all(s.startswith(kind) for s in per_table)
    for name in STREAMS:
        assert sorted(r["id"] for r in destination.rows("default", name)) == [0, 0, 1, 1]


@pytest.mark.parametrize("source", ["s3", "managed"])
@pytest.mark.parametrize("rounds", [False, True], ids=["one-round", "rounds"])
def test_a_truncate_refresh_costs_one_statement_per_round_and_its_swap(tmp_path, warehouse, source, rounds):
    """A refresh that commits nothing before its end (its rows fit one round, as most streams' do) has no shadow:
    one statement replaces its table's rows from the staged files. One that commits in rounds sends one statement
    per round (into its shadow), then its swap and the shadow's DROP. Whether the swap keeps rows of the table is
    read from its Delta log's statistics where the connector reads the log (S3); managed tables take one look."""
    destination = {"s3": S3DatabricksDestination, "managed": ManagedDestination}[source](warehouse)
    assert sync(tmp_path, destination.config()).returncode == 0
    before = len(statements(warehouse))
    env = {"DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"} if rounds else None  # a round at the first STATE
    result = sync(tmp_path, destination.config(), env=env, generation_id=2, minimum_generation_id=2)
    assert result.returncode == 0, result.stdout[-3000:]
    sent = [s for s in statements(warehouse)[before:] if not s.startswith(("SHOW TABLE EXTENDED", "CREATE VOLUME"))]
    looks = [s for s in sent if s.startswith("SELECT 1 FROM")]
    assert len(looks) == (len(STREAMS) if source == "managed" else 0), sent
    shadows = [s for s in sent if "_airbyte_tmp_" in s]
    assert len(shadows) == (3 * len(STREAMS) if rounds else 0), sent  # into the shadow, the swap from it, its DROP
    assert sum(s.startswith("DROP TABLE") for s in sent) == (len(STREAMS) if rounds else 0)
    assert len(sent) == len(looks) + (3 if rounds else 1) * len(STREAMS), sent
    assert sum(s.startswith("INSERT OVERWRITE TABLE") for s in sent) == len(STREAMS)
    for name in STREAMS:
        rows = destination.rows("default", name)
        assert sorted(r["id"] for r in rows) == [0, 1] and {r["_airbyte_generation_id"] for r in rows} == {2}


def test_a_table_the_listing_does_not_spell_in_full_has_its_columns_read_by_a_statement(tmp_path, warehouse):
    """A name the listing cannot be trusted with (a backslash: Spark escapes some characters in its tree) sends the
    connector to SELECT … LIMIT 0 for that table alone (not a CTAS as for a missing table); the rows land in it."""
    destination = ManagedDestination(warehouse)
    destination.query("CREATE SCHEMA IF NOT EXISTS `main`.`default`")
    destination.query("CREATE TABLE `main`.`default`.`t0` (`id` BIGINT, `we\\ird` STRING) USING DELTA")
    before = len(statements(warehouse))
    result = sync(tmp_path, destination.config())
    assert result.returncode == 0, result.stdout[-3000:]
    sent = statements(warehouse)[before:]
    column_reads = [s for s in sent if s.startswith("SELECT * FROM") and s.endswith("LIMIT 0")]
    assert column_reads == ["SELECT * FROM `main`.`default`.`t0` LIMIT 0"], sent
    rows = destination.rows("default", "t0")
    assert sorted(r["id"] for r in rows) == [0, 1] and {r["we\\ird"] for r in rows} == {None}
    assert "_airbyte_ab_id" in rows[0]  # the table kept its own column and gained the connector's


def test_a_managed_sync_into_a_new_schema_creates_it_for_its_staging_volume(tmp_path, warehouse):
    """CREATE VOLUME IF NOT EXISTS is the one setup statement of a managed sync; when the schema is missing it fails
    for that, the schema is created and the volume statement runs again (no second CREATE SCHEMA for the tables)."""
    destination = ManagedDestination(warehouse)
    before = len(statements(warehouse))
    result = sync(tmp_path, destination.config(schema="Fresh Schema"))
    assert result.returncode == 0, result.stdout[-3000:]
    setup = [s for s in statements(warehouse)[before:] if s.startswith(("CREATE VOLUME", "CREATE SCHEMA"))]
    volume = "CREATE VOLUME IF NOT EXISTS `main`.`fresh_schema`.`airbyte_staging` COMMENT 'Airbyte staging files'"
    assert setup == [volume, "CREATE SCHEMA IF NOT EXISTS `main`.`fresh_schema`", volume]
    for name in STREAMS:
        assert sorted(r["id"] for r in destination.rows("fresh_schema", name)) == [0, 1]


def test_a_first_load_that_finds_its_table_created_by_another_writer_lands_its_rows(tmp_path, warehouse):
    """Another writer creates t0 (with a row of its own) just before this sync's CREATE TABLE … AS SELECT of it:
    that statement fails, and the rows are loaded into the table as it is now. (IF NOT EXISTS lost them.)"""
    destination = ManagedDestination(warehouse)
    table = "`main`.`default`.`t0`"
    other = [f"CREATE TABLE {table} (`_airbyte_ab_id` STRING, `_airbyte_emitted_at` TIMESTAMP, `_airbyte_data` STRING, "
             "`_airbyte_meta` STRING, `_airbyte_generation_id` BIGINT, `id` BIGINT) USING DELTA",
             f"INSERT INTO {table} VALUES ('another writer', TIMESTAMP '2024-01-01 00:00:00', '{{\"id\":7}}', "
             "'{\"changes\":[]}', NULL, 7)"]
    body = json.dumps({"match": f"CREATE TABLE {table} USING DELTA", "run": other}).encode()
    request = urllib.request.Request(f"{warehouse['hostname']}:{warehouse['port']}/_local/before", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass
    result = sync(tmp_path, destination.config())
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(r["id"] for r in destination.rows("default", "t0")) == [0, 1, 7]
    assert all(sorted(r["id"] for r in destination.rows("default", n)) == [0, 1] for n in STREAMS[1:])
    assert "t0" in [s["stream"]["stream_descriptor"]["name"] for s in result.states]


def test_a_table_dropped_by_another_writer_mid_sync_is_created_anew_from_the_next_load(tmp_path, warehouse):
    """Another writer drops the table between two of this sync's commits (as another attempt of a refresh drops the
    shadow it swapped in): the next load finds no table and creates it from its rows instead of failing."""
    destination = ManagedDestination(warehouse)
    table = "`main`.`default`.`t`"
    body = json.dumps({"match": f"INSERT INTO {table}", "run": [f"DROP TABLE {table}"]}).encode()
    request = urllib.request.Request(f"{warehouse['hostname']}:{warehouse['port']}/_local/before", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass
    messages = []
    for i in range(6):
        messages += [record("t", {"id": i}), stream_state("t", i)]
    result = run(["write", "--config", write_json(tmp_path / "c.json", destination.config()), "--catalog",
                  write_json(tmp_path / "k.json", catalog(stream("t", {"id": {"type": "integer"}})))], lines(*messages),
                 env={"DESTINATION_DATABRICKS_BATCH_ROWS": "1", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert any("was dropped while this sync loaded it" in m["log"]["message"] for m in result.of_type("LOG"))
    ids = sorted(r["id"] for r in destination.rows("default", "t"))
    assert ids == list(range(ids[0], 6)) and ids[0] >= 1  # the rows before the drop went with the table
    assert [s["stream"]["stream_state"]["cursor"] for s in result.states][-1] == 5
