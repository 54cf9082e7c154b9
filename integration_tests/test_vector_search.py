"""Vector Search on the tables a sync lands: the connector creates and syncs Delta Sync indexes, and real
clients (databricks-sdk here) query them on the local warehouse."""
from __future__ import annotations

import json

import pytest

from .destinations import ManagedDestination
from .harness import catalog, record, stream, write_json
from .test_contract import sync

DOCS = {"id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": ["null", "string"]},
        "embedding": {"type": "array", "items": {"type": "number"}},
        "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}
FAST = {"DESTINATION_DATABRICKS_VECTOR_SEARCH_POLL_SECONDS": "0.2"}


@pytest.fixture
def managed(warehouse):
    return ManagedDestination(warehouse)


def docs_stream(mode="append_dedup"):
    return {**stream("docs", DOCS, mode=mode), "primary_key": [["id"]], "cursor_field": ["id"]}


def vector_config(**index):
    return {"endpoint_name": "vs-endpoint", "indexes": [{"stream": "docs", "embedding_vector_column": "embedding",
                                                         "embedding_dimension": 3, **index}]}


def workspace(warehouse):
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=f"{warehouse['hostname']}:{warehouse['port']}", token=warehouse["token"])


def ann(query, vector):
    return 1 / (1 + sum((a - b) ** 2 for a, b in zip(query, vector)))


def test_a_synced_stream_is_searchable_and_follows_updates_and_deletes(managed, warehouse, tmp_path):
    records = [record("docs", {"id": 1, "title": "red apple", "body": "fruit", "embedding": [1, 0, 0]}),
               record("docs", {"id": 2, "title": "green pear", "body": "fruit", "embedding": [0, 1, 0]}),
               record("docs", {"id": 3, "title": "blue sky", "body": "weather", "embedding": [0, 0, 1]}),
               record("docs", {"id": 4, "title": "broken", "body": None, "embedding": [1, 2]})]  # wrong length
    result = sync(managed, tmp_path, catalog(docs_stream()), records, env=FAST, vector_search=vector_config())
    assert result.returncode == 0, result.stdout[-3000:]
    logs = [json.loads(line)["log"]["message"] for line in result.stdout.splitlines() if '"LOG"' in line]
    assert any("Creating the Vector Search endpoint vs-endpoint" in m for m in logs)
    assert any("Waiting for the Vector Search endpoint vs-endpoint to come ONLINE" in m for m in logs)
    assert any("Creating the Vector Search index main.default.docs_index" in m for m in logs)
    rows = {r["id"]: r for r in managed.rows("default", "docs")}
    assert rows[4]["embedding"] is None and json.loads(rows[4]["_airbyte_data"])["embedding"] == [1, 2]
    assert json.loads(rows[4]["_airbyte_meta"])["changes"] == [
        {"field": "embedding", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]

    w = workspace(warehouse)
    query = [0.9, 0.1, 0.0]
    answer = w.vector_search_indexes.query_index("main.default.docs_index", columns=["id", "title"],
                                                 query_vector=query, num_results=2)
    assert [c.name for c in answer.manifest.columns] == ["id", "title", "score"]
    assert [row[:2] for row in answer.result.data_array] == [[1, "red apple"], [2, "green pear"]]
    assert [row[2] for row in answer.result.data_array] == pytest.approx([ann(query, [1, 0, 0]), ann(query, [0, 1, 0])])
    hybrid = w.vector_search_indexes.query_index("main.default.docs_index", columns=["id"], query_vector=query,
                                                 query_text="red apple", query_type="HYBRID", num_results=3)
    first = hybrid.result.data_array[0]
    assert first[0] == 1 and first[-1] == pytest.approx(1.0)  # first in both rankings
    # second in ANN (rank 1), no keyword match: (1 / (1 + 1 + 60)) * (61 / 2)
    assert hybrid.result.data_array[1][0] == 2 and hybrid.result.data_array[1][-1] == pytest.approx(61 / 2 / 62)

    # A second sync: an update and a CDC delete show in the index once the connector has synced it.
    second = sync(managed, tmp_path, catalog(docs_stream()), [
        record("docs", {"id": 2, "title": "ripe pear", "body": "fruit", "embedding": [0.9, 0.1, 0]}),
        record("docs", {"id": 1, "title": "red apple", "_ab_cdc_deleted_at": "2024-06-01T00:00:00Z"})],
        env=FAST, vector_search=vector_config())
    assert second.returncode == 0, second.stdout[-3000:]
    answer = w.vector_search_indexes.query_index("main.default.docs_index", columns=["id", "title"],
                                                 query_vector=query, num_results=1)
    assert answer.result.data_array == [[2, "ripe pear", pytest.approx(1.0)]]


def test_computed_embeddings_are_made_by_the_model_endpoint(managed, warehouse, tmp_path):
    config = {"endpoint_name": "vs-endpoint", "indexes": [{"stream": "docs", "embedding_source_column": "body",
                                                           "embedding_model_endpoint_name": "local-hashing-embedder",
                                                           "columns_to_sync": ["title"]}]}
    records = [record("docs", {"id": i, "title": t, "body": b}) for i, t, b in [
        (1, "a", "the quick brown fox"), (2, "b", "a lazy dog sleeps"), (3, "c", "stock markets fell today")]]
    result = sync(managed, tmp_path, catalog(docs_stream(mode="overwrite")), records, env=FAST, vector_search=config)
    assert result.returncode == 0, result.stdout[-3000:]
    answer = workspace(warehouse).vector_search_indexes.query_index(
        "main.default.docs_index", columns=["id", "title", "body"], query_text="lazy dog", num_results=1)
    (row,) = answer.result.data_array
    assert row[:3] == [2, "b", "a lazy dog sleeps"] and 0 < row[3] <= 1


def test_an_index_built_otherwise_is_a_config_error_and_is_kept(managed, warehouse, tmp_path):
    first = sync(managed, tmp_path, catalog(docs_stream()), [record("docs", {"id": 1, "title": "x", "embedding": [1, 0, 0]})],
                 env=FAST, vector_search=vector_config())
    assert first.returncode == 0, first.stdout[-3000:]
    second = sync(managed, tmp_path, catalog(docs_stream()), [record("docs", {"id": 2, "title": "y", "embedding": [0, 1, 0]})],
                  env=FAST, vector_search=vector_config(pipeline_type="CONTINUOUS"))
    assert second.returncode == 1
    (error,) = second.errors
    assert error["failure_type"] == "config_error"
    assert "vector_search.indexes[0].pipeline_type" in error["message"] and "not dropped" in error["message"]
    assert sorted(r["id"] for r in managed.rows("default", "docs")) == [1, 2]  # the data is committed all the same
    index = workspace(warehouse).vector_search_indexes.get_index("main.default.docs_index")
    assert index.delta_sync_index_spec.pipeline_type.value == "TRIGGERED"


@pytest.mark.parametrize("change, words", [
    ({"indexes": [{"stream": "docs", "embedding_vector_column": "embedding", "embedding_dimension": 5000}]},
     "vector_search.indexes[0].embedding_dimension"),
    ({"indexes": [{"stream": "docs", "embedding_source_column": "body", "embedding_model_endpoint_name": "nope"}]},
     "vector_search.indexes[0].embedding_model_endpoint_name"),
    ({"endpoint_type": "STORAGE_OPTIMIZED", "indexes": [{"stream": "docs", "embedding_vector_column": "e",
                                                         "embedding_dimension": 3, "pipeline_type": "CONTINUOUS"}]},
     "vector_search.indexes[0].pipeline_type"),
    ({"indexes": [{"stream": "docs", "embedding_vector_column": "e", "embedding_dimension": 3,
                   "index_name": "main.default." + "x" * 130}]}, "vector_search.indexes[0].index_name"),
    ({"indexes": [{"stream": "docs", "embedding_vector_column": "e", "embedding_dimension": 3,
                   "embedding_source_column": "body"}]}, "needs exactly one of"),
])
def test_check_names_the_bad_vector_search_field(managed, tmp_path, change, words):
    from .harness import run

    config = managed.config(vector_search={"endpoint_name": "vs", **change})
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)])
    (status,) = [json.loads(l)["connectionStatus"] for l in result.stdout.splitlines() if "CONNECTION_STATUS" in l]
    assert status["status"] == "FAILED" and words in status["message"], status


def test_vector_search_needs_unity_catalog(tmp_path):
    from .destinations import LocalDestination
    from .harness import run

    config = LocalDestination(tmp_path / "out").config(vector_search=vector_config())
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)])
    assert "'vector_search' needs a Databricks data source writing to a Unity Catalog catalog" in result.stdout


def test_a_non_unique_key_is_refused_before_any_input(managed, tmp_path):
    result = sync(managed, tmp_path, catalog(docs_stream(mode="append")), [], vector_search=vector_config(primary_key="id"))
    assert result.returncode == 1 and "vector_search.indexes[0].primary_key" in result.errors[0]["message"]


def test_a_vector_search_failure_leaves_the_data_and_states_committed_and_names_the_cause(managed, tmp_path):
    config = {**vector_config(), "online_timeout_seconds": 0.3}  # the local endpoint takes about a second
    result = sync(managed, tmp_path, catalog(docs_stream()), [
        record("docs", {"id": 1, "title": "x", "embedding": [1, 0, 0]}),
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "docs"},
                                                                 "stream_state": {"cursor": 1}}}}],
        env=FAST, vector_search=config)
    assert result.returncode == 1
    (error,) = result.errors
    assert error["failure_type"] == "system_error"
    assert "vs-endpoint was not ONLINE" in error["message"] and "online_timeout_seconds" in error["message"]
    assert [s["stream"]["stream_state"] for s in result.states] == [{"cursor": 1}]
    assert [r["id"] for r in managed.rows("default", "docs")] == [1]


def user_agents(warehouse) -> list[tuple[str, str]]:
    import urllib.request

    with urllib.request.urlopen(f"{warehouse['hostname']}:{warehouse['port']}/_local/user_agents", timeout=30) as answer:
        return [tuple(pair) for pair in json.loads(answer.read())["user_agents"]]


def test_every_call_a_sync_makes_to_the_workspace_names_the_connector(warehouse, tmp_path):
    """SQL (databricks-sql-connector's user_agent_entry), the OAuth token exchange, the Files API and Vector Search
    (databricks-sdk's product) all carry `destination-databricks/<version>` in their User-Agent."""
    from destination_databricks import identity

    managed = ManagedDestination(warehouse, oauth=True)
    before = len(user_agents(warehouse))
    records = [record("docs", {"id": 1, "title": "red apple", "body": "fruit", "embedding": [1, 0, 0]})]
    result = sync(managed, tmp_path, catalog(docs_stream()), records, env=FAST, vector_search=vector_config())
    assert result.returncode == 0, result.stdout[-3000:]
    seen = user_agents(warehouse)[before:]
    kinds = {kind for kind, _ in seen}
    assert {"sql", "oauth", "files", "vector-search"} <= kinds, kinds
    entry = f"destination-databricks/{identity.version()}"
    assert identity.version() != "0.0.0"
    missing = sorted({(kind, agent) for kind, agent in seen if entry not in agent and kind != "oauth"})
    assert not missing, missing
    # databricks-sdk's client-credentials token request (oauth.retrieve_token) is a bare requests.post: requests'
    # own User-Agent, whatever product is set. Should the SDK start naming the product there, this says so.
    token_requests = {agent for kind, agent in seen if kind == "oauth" and "databricks-sdk" not in agent}
    assert token_requests and all(agent.startswith("python-requests/") for agent in token_requests), token_requests
