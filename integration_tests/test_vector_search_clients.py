"""Clients no one here wrote read what the connector synced: the databricks-vectorsearch client's
similarity_search, and mem0's Memory with its Databricks vector store. Each runs in its own venv under
a venv of its own (installed once per machine, harness.client_venv): databricks-vectorsearch pulls in mlflow-skinny and prints to stdout, and
mem0 a dependency tree of its own."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from .destinations import ManagedDestination
from .harness import catalog, client_venv, record, stream
from .test_contract import sync
from .test_vector_search import FAST, docs_stream, vector_config, workspace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = os.path.join(ROOT, "integration_tests", "clients")


@pytest.fixture(scope="module")
def vectorsearch_python():
    return client_venv("vectorsearch", "databricks-vectorsearch==0.81")


@pytest.fixture(scope="module")
def mem0_python():
    return client_venv("mem0", "mem0ai==2.2.1", "databricks-sdk", "langchain==1.5.2", "langchain-core==1.8.3")


def last_json(stdout: str):
    """The client's answer: the last line (databricks-vectorsearch prints notices before it)."""
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("auth", ["token", "service_principal"])
def test_the_vectorsearch_client_finds_the_same_rows_as_the_sdk(warehouse, tmp_path, vectorsearch_python, auth):
    """With a token the client queries /api/2.0/vector-search/indexes/{name}/query; as a service principal it
    queries the index's own URL (status.index_url) with a token it gets from the workspace's OAuth endpoint."""
    managed = ManagedDestination(warehouse)
    records = [record("docs", {"id": i, "title": t, "embedding": v}) for i, t, v in [
        (1, "red apple", [1, 0, 0]), (2, "green pear", [0, 1, 0]), (3, "blue sky", [0, 0, 1])]]
    result = sync(managed, tmp_path, catalog(docs_stream()), records, env=FAST, vector_search=vector_config())
    assert result.returncode == 0, result.stdout[-3000:]
    query = [0.2, 0.9, 0.1]
    sdk = workspace(warehouse).vector_search_indexes.query_index(
        "main.default.docs_index", columns=["id", "title"], query_vector=query, num_results=2).result.data_array
    script = (
        "import json, sys\n"
        "from databricks.vector_search.client import VectorSearchClient\n"
        "credentials = json.loads(sys.argv[2])\n"
        "client = VectorSearchClient(workspace_url=sys.argv[1], disable_notice=True, **credentials)\n"
        "index = client.get_index(endpoint_name='vs-endpoint', index_name='main.default.docs_index')\n"
        "found = index.similarity_search(columns=['id', 'title'], query_vector=json.loads(sys.argv[3]), num_results=2)\n"
        "print(json.dumps(found))\n")
    credentials = ({"personal_access_token": warehouse["token"]} if auth == "token" else
                   {"service_principal_client_id": warehouse["client_id"],
                    "service_principal_client_secret": warehouse["client_secret"]})
    run = subprocess.run([vectorsearch_python, "-c", script, f"{warehouse['hostname']}:{warehouse['port']}",
                          json.dumps(credentials), json.dumps(query)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    found = last_json(run.stdout)
    assert [c["name"] for c in found["manifest"]["columns"]] == ["id", "title", "score"]
    assert found["result"]["data_array"] == [list(row) for row in sdk]
    assert [row[1] for row in sdk] == ["green pear", "red apple"]
    if auth == "service_principal":  # it signed in with OAuth, not with the token
        import urllib.request

        seen = json.loads(urllib.request.urlopen(f"{warehouse['hostname']}:{warehouse['port']}/_local/auth").read())
        assert seen["issued"] >= 1


MEMORIES = {name: {"type": ["null", "string"]} for name in ("memory_id", "hash", "agent_id", "run_id", "user_id",
                                                               "memory", "metadata")}
MEMORIES |= {"created_at": {"type": ["null", "string"], "format": "date-time"},
             "updated_at": {"type": ["null", "string"], "format": "date-time"}}


def test_mem0_finds_the_memories_the_connector_synced(warehouse, tmp_path, mem0_python):
    managed = ManagedDestination(warehouse)
    facts = [("m1", "alice", "Alice is vegetarian and loves spicy food"), ("m2", "alice", "Alice works as a nurse"),
             ("m3", "bob", "Bob is vegetarian too"), ("m4", "alice", "Alice has a cat named Tom")]
    records = [record("memories", {"memory_id": i, "hash": f"h{i}", "user_id": u, "memory": m, "metadata": "{}",
                                   "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:00Z"})
               for i, u, m in facts]
    configured = {**stream("memories", MEMORIES, mode="append_dedup"), "primary_key": [["memory_id"]]}
    config = {"endpoint_name": "vs-endpoint", "indexes": [{
        "stream": "memories", "index_name": "main.default.mem0", "embedding_source_column": "memory",
        "embedding_model_endpoint_name": "local-hashing-embedder"}]}
    result = sync(managed, tmp_path, catalog(configured), records, env=FAST, vector_search=config)
    assert result.returncode == 0, result.stdout[-3000:]
    run = subprocess.run([mem0_python, os.path.join(CLIENTS, "mem0_search.py"), f"{warehouse['hostname']}:{warehouse['port']}",
                          warehouse["token"], "main", "default", "memories", "mem0", "what food does she like vegetarian",
                          "alice"], capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    found = last_json(run.stdout)["results"]
    assert found and found[0]["memory"] == "Alice is vegetarian and loves spicy food"
    assert {m["id"] for m in found} <= {"m1", "m2", "m4"}  # only alice's memories (mem0's user filter)
