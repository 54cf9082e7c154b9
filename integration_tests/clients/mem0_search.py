"""Run in mem0's own venv: mem0's Memory, with its Databricks vector store, searches an index the connector
made. Offline: a LangChain fake embedder (mem0 only embeds the query; the index embeds with its model
endpoint), a fake chat model mem0 never calls for a search, telemetry off. Prints the results as JSON."""
import json
import os
import sys

os.environ["MEM0_TELEMETRY"] = "False"

from langchain_core.embeddings import DeterministicFakeEmbedding  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from mem0 import Memory  # noqa: E402

host, token, catalog, schema, table, collection, query, user = sys.argv[1:9]
memory = Memory.from_config({
    "vector_store": {"provider": "databricks", "config": {
        "workspace_url": host, "access_token": token, "endpoint_name": "vs-endpoint", "catalog": catalog,
        "schema": schema, "table_name": table, "collection_name": collection,
        "embedding_model_endpoint_name": "local-hashing-embedder", "embedding_dimension": 64,
        "warehouse_name": "local"}},
    "embedder": {"provider": "langchain", "config": {"model": DeterministicFakeEmbedding(size=64)}},
    "llm": {"provider": "langchain", "config": {"model": FakeListChatModel(responses=["{}"])}},
    "history_db_path": os.path.join(os.environ.get("TMPDIR", "/tmp"), "mem0-history.db"),
})
found = memory.search(query, filters={"user_id": user}, top_k=3)
print(json.dumps(found, default=str))
