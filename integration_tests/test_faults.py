"""Faults on the wire: a proxy between the connector and S3, Azure Blob Storage and the warehouse.

Transient faults (resets, 5xx and throttling answers, slow answers, answers cut mid-body) are retried and
the sync succeeds with every record exactly once; persistent ones end in a TRACE error that names the
service and the operation, with no STATE emitted for what was not committed.
"""
from __future__ import annotations

import pytest

from .destinations import AzureDatabricksDestination, ManagedDestination, S3DatabricksDestination
from .fault_proxy import Fault, FaultProxy
from .harness import catalog, lines, record, run, stream, stream_state, write_json

# Short retry budgets, so a persistent fault ends a test in seconds (production defaults retry for minutes).
QUICK_RETRIES = {"DESTINATION_DATABRICKS_RETRY_ATTEMPTS": "4", "DESTINATION_DATABRICKS_RETRY_BACKOFF_SECONDS": "0.2",
                 "DESTINATION_DATABRICKS_RETRY_MAX_SECONDS": "10"}
# Several files, several commit rounds: every kind of request happens more than once.
SMALL_BATCHES = {"DESTINATION_DATABRICKS_BATCH_ROWS": "25", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"}
USERS = {"id": {"type": "integer"}, "name": {"type": "string"}}
N = 200


@pytest.fixture
def proxies(warehouse):
    started = {}
    for service, upstream, style in (("s3", warehouse["s3_endpoint"], "s3"),
                                     ("azure", warehouse["azure_endpoint"], "azure"),
                                     ("warehouse", f"{warehouse['hostname']}:{warehouse['port']}", "databricks")):
        if upstream.split(":")[-1]:
            proxy = FaultProxy(upstream, style)
            proxy.start()
            started[service] = proxy
    yield started
    for proxy in started.values():
        proxy.stop()


def _via(destination, proxies):
    """The destination's config with every endpoint pointing at its proxy."""
    config = destination.config()
    config["databricks_port"] = str(proxies["warehouse"].port)
    source = config["data_source"]
    if "s3_endpoint" in source:
        source["s3_endpoint"] = f"http://127.0.0.1:{proxies['s3'].port}"
    if "azure_blob_storage_endpoint_domain_name" in source:
        source["azure_blob_storage_endpoint_domain_name"] = f"http://127.0.0.1:{proxies['azure'].port}"
    return config


def _destination(kind, warehouse):
    return {"s3": S3DatabricksDestination, "azure": AzureDatabricksDestination,
            "managed": ManagedDestination}[kind](warehouse)


def sync(tmp_path, config, env, configured=None):
    messages = []
    for i in range(N):
        messages.append(record("users", {"id": i, "name": f"user {i}"}))
        if i % 50 == 49:
            messages.append(stream_state("users", i + 1))
    return run(["write", "--config", write_json(tmp_path / "c.json", config),
                "--catalog", write_json(tmp_path / "k.json", catalog(configured or stream("users", USERS)))],
               lines(*messages), env={**QUICK_RETRIES, **SMALL_BATCHES, **env}, timeout=600)


def _transient(kind: str) -> list[tuple[str, Fault]]:
    """(proxy, fault) pairs that each hit one or two requests of a sync, then let everything through."""
    parquet_put = r"\.parquet"
    statement = dict(method="POST", path=r"^/sql/")
    faults = {
        "s3": [("s3", Fault("reset", "PUT", parquet_put)),
               ("s3", Fault("status", "PUT", parquet_put, times=2, skip=1, status=503)),
               ("s3", Fault("cut", "GET", r"list-type=2")),
               ("s3", Fault("slow", "PUT", r"_delta_log/.*\.json", delay=1.5)),
               ("s3", Fault("status", "GET", r"_delta_log", status=500))],
        "azure": [("azure", Fault("reset", "PUT", r"\.csv")),
                  ("azure", Fault("status", "PUT", r"\.csv", times=2, skip=1, status=503)),
                  ("azure", Fault("cut", "GET", r"comp=list")),
                  ("azure", Fault("slow", "PUT", r"\.csv", skip=3, delay=1.5))],
        "managed": [("warehouse", Fault("reset", "PUT", r"/api/2.0/fs/files/.*\.parquet")),
                    ("warehouse", Fault("status", "PUT", r"/api/2.0/fs/files/.*\.parquet", times=2, skip=1, status=503)),
                    ("warehouse", Fault("status", "GET", r"/api/2.0/fs/directories", status=429)),
                    ("warehouse", Fault("slow", "PUT", r"/api/2.0/fs/files", skip=2, delay=1.5))],
    }[kind]
    return faults + [
        # A load is CREATE TABLE … AS SELECT (the first) or INSERT INTO … SELECT (the others).
        ("warehouse", Fault("status", body=rb"INSERT INTO", status=503, **statement)),
        ("warehouse", Fault("reset", body=rb"SHOW TABLE EXTENDED", **statement)),  # the schema read ahead of the input
        # its answer cut: replayed, the table exists, and the rows go in by the append, whose marker finds them
        ("warehouse", Fault("cut", body=rb"CREATE TABLE `", **statement)),
        ("warehouse", Fault("slow", body=rb"SELECT \* FROM", skip=1, delay=1.5, **statement)),
    ]


@pytest.mark.parametrize("kind", ["s3", "azure", "managed"])
def test_transient_faults_are_retried_and_the_sync_succeeds(tmp_path, warehouse, proxies, kind):
    destination = _destination(kind, warehouse)
    faults = [(proxies[service], proxies[service].add(fault)) for service, fault in _transient(kind)]
    result = sync(tmp_path, _via(destination, proxies), {})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    unfired = [(f.kind, f.method, f.path, f.body) for _, f in faults if f.fired == 0]
    assert not unfired, f"faults that never hit a request: {unfired}"
    assert [s["stream"]["stream_state"]["cursor"] for s in result.states] == [50, 100, 150, 200]
    assert sorted(r["id"] for r in destination.rows("default", "users")) == list(range(N))
    assert destination.staging_leftovers() == []


PERSISTENT = {
    # kind: (proxy, the fault, words the TRACE must hold: the service and the operation)
    "s3": ("s3", Fault("status", "PUT", r"\.parquet", times=None, skip=2, status=503), ["S3", "Uploading"]),
    "azure": ("azure", Fault("status", "PUT", r"\.csv", times=None, skip=2, status=500), ["Azure", "Uploading"]),
    "managed": ("warehouse", Fault("status", "PUT", r"/api/2.0/fs/files/.*\.parquet", times=None, skip=2, status=503),
                ["Databricks volume", "Uploading"]),
    "warehouse": ("warehouse", Fault("status", "POST", r"^/sql/", rb"SELECT \* FROM", times=None, skip=1, status=503),
                  ["Databricks", "load"]),
}


@pytest.mark.parametrize("kind, where", [("s3", "s3"), ("azure", "azure"), ("managed", "managed"), ("s3", "warehouse")])
def test_persistent_faults_end_in_an_error_naming_the_service_and_nothing_unacknowledged(tmp_path, warehouse, proxies,
                                                                                         kind, where):
    destination = _destination(kind, warehouse)
    service, fault, words = PERSISTENT[where]
    proxies[service].add(fault)
    result = sync(tmp_path, _via(destination, proxies), {})
    assert result.returncode != 0 and fault.fired >= 2, result.stdout[-3000:]
    (error,) = result.errors
    assert error["failure_type"] == "transient_error", error  # 5xx outlasting every retry: the next attempt may not
    assert all(word in error["message"] for word in words), error["message"]
    # Whatever STATE went out is covered by the table; nothing after the failure was acknowledged.
    acknowledged = max((s["stream"]["stream_state"]["cursor"] for s in result.states), default=0)
    assert acknowledged < N
    present = {r["id"] for r in destination.rows("default", "users")} if destination.table_exists("default", "users") else set()
    assert set(range(acknowledged)) <= present
    _assert_no_secrets(result, warehouse, destination)


def _assert_no_secrets(result, warehouse, destination):
    """Failures quote URLs and server answers; no secret may ride along, not even URL-encoded."""
    from urllib.parse import quote, parse_qs

    sas = getattr(destination, "sas_token", warehouse["azure_sas_token"])
    secrets = [warehouse["token"], warehouse["s3_secret_access_key"], warehouse["client_secret"], sas,
               quote(sas, safe=""), *(v for values in parse_qs(sas).values() for v in values if len(v) > 20)]
    secrets += [quote(s, safe="") for s in secrets]
    output = result.stdout + result.stderr
    leaked = [s for s in secrets if s and s in output]
    assert not leaked, f"secrets in the output: {[s[:6] + '…' for s in leaked]}"


@pytest.mark.parametrize("kind", ["s3", "azure", "managed"])
def test_a_load_whose_answer_is_lost_is_not_applied_twice(tmp_path, warehouse, proxies, kind):
    """The warehouse commits an append, then the connection drops before the answer: the driver replays the
    request and our retry runs it again; the append's marker makes both add nothing the second time."""
    destination = _destination(kind, warehouse)
    lost = proxies["warehouse"].add(Fault("reset", "POST", r"^/sql/", rb"INSERT INTO", times=2, after=True))
    result = sync(tmp_path, _via(destination, proxies), {})
    assert result.returncode == 0, result.stdout[-3000:]
    assert lost.fired == 2
    assert sorted(r["id"] for r in destination.rows("default", "users")) == list(range(N))  # each exactly once


@pytest.mark.parametrize("kind", ["s3", "managed"])
def test_an_append_that_loses_to_its_own_replay_is_retried_and_adds_nothing(tmp_path, warehouse, kind):
    """Two executions of one append (ours replayed on a new session while the first still ran): Delta commits
    one and fails the other with a concurrent-append conflict, which is retried; the marker then adds nothing."""
    import json as _json
    import urllib.request

    destination = _destination(kind, warehouse)
    request = urllib.request.Request(f"{warehouse['hostname']}:{warehouse['port']}/_local/conflict", method="POST",
                                     data=_json.dumps({"match": "INSERT INTO", "times": 2}).encode())
    urllib.request.urlopen(request).read()
    result = sync(tmp_path, destination.config(), {})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "concurrent" in result.stdout.lower()  # the retry is logged
    assert sorted(r["id"] for r in destination.rows("default", "users")) == list(range(N))  # each exactly once


@pytest.mark.parametrize("kind", ["s3", "managed"])
def test_a_merge_whose_answer_is_lost_is_harmless_when_replayed(tmp_path, warehouse, proxies, kind):
    """A deduplicated stream's MERGE commits, then its answer is lost twice: replayed, it gives the same table."""
    destination = _destination(kind, warehouse)
    lost = proxies["warehouse"].add(Fault("reset", "POST", r"^/sql/", rb"MERGE INTO", times=2, after=True))
    deduped = {**stream("users", USERS, mode="append_dedup"), "primary_key": [["id"]]}
    result = sync(tmp_path, _via(destination, proxies), {}, deduped)
    assert result.returncode == 0, result.stdout[-3000:]
    assert lost.fired == 2
    rows = destination.rows("default", "users")
    assert sorted(r["id"] for r in rows) == list(range(N))  # one row per key, none lost
