"""Mosaic AI Vector Search, served by the local warehouse: endpoints, Delta Sync indexes over its tables, queries.

The REST routes and answers are the ones databricks-sdk and databricks-vectorsearch use (`/api/2.0/vector-
search/...`, `/api/2.0/serving-endpoints/{name}`). An index is an in-memory copy of its source table's rows,
refreshed on sync (TRIGGERED) or on every query (CONTINUOUS). Scores as Databricks documents them:
- ANN: ``1 / (1 + dist²)``, dist the Euclidean distance between the query vector and a row's vector;
- keyword: Okapi BM25 (k1 = 1.2, b = 0.75) over the text column (the embedding source column; for
  self-managed vectors, every STRING column synced but the key), tokens split at word boundaries,
  punctuation removed, lower-cased;
- HYBRID: Reciprocal Rank Fusion of the two rankings, each contributing ``1 / (1 + rank + 60)`` (rank from
  0), the sum multiplied by ``(1 + 60) / 2``, so a row first in both scores 1.
Computed embeddings come from a stand-in model serving endpoint, ``local-hashing-embedder``: a hashed bag
of words (64 dimensions, L2-normalised), used when an index syncs and when a query brings ``query_text``.

The engine refuses Change Data Feed (`ALTER TABLE … SET TBLPROPERTIES (delta.enableChangeDataFeed = true)`,
and INSERTs into a table created with it), so the warehouse records CDF itself: it takes the property out
of CREATE TABLE, answers the ALTER without running it, and lets an index be built only on such a table.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from typing import Any, Callable

import pyarrow as pa

EMBEDDER = "local-hashing-embedder"
DIMENSION = 64
RRF = 60
_CDF_PROPERTY = re.compile(r",?\s*'delta\.enableChangeDataFeed'\s*=\s*'true'", re.I)
_EMPTY_PROPERTIES = re.compile(r"\s*TBLPROPERTIES\s*\(\s*\)", re.I)
_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?((?:`(?:[^`]|``)*`\.?){3})", re.I)
_ALTER_CDF = re.compile(r"ALTER TABLE ((?:`(?:[^`]|``)*`\.?){3}) SET TBLPROPERTIES \(\s*'delta\.enableChangeDataFeed'"
                        r"\s*=\s*'true'\s*\)$", re.I)
_NAME_PART = re.compile(r"`((?:[^`]|``)*)`")


def _name(quoted: str) -> str:
    return ".".join(p.replace("``", "`") for p in _NAME_PART.findall(quoted)).lower()


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def embed(text: str) -> list[float]:
    """The stand-in model: each token adds one to a hashed coordinate; the vector is L2-normalised."""
    vector = [0.0] * DIMENSION
    for token in tokens(text or ""):
        vector[int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big") % DIMENSION] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def bm25(query: str, documents: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    docs = [tokens(d or "") for d in documents]
    n = len(docs)
    average = sum(map(len, docs)) / n if n else 0.0
    frequency = Counter(t for d in docs for t in set(d))
    scores = []
    for doc in docs:
        counts, score = Counter(doc), 0.0
        for term in set(tokens(query)):
            if counts[term]:
                idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
                score += idf * counts[term] * (k1 + 1) / (counts[term] + k1 * (1 - b + b * len(doc) / (average or 1)))
        scores.append(score)
    return scores


def _error(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"error_code": code, "message": message}


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


class VectorSearch:
    def __init__(self, run_sql: Callable[[str], pa.Table], base_url: Callable[[], str], online_after_seconds: float = 1.0):
        self.run_sql = run_sql
        self.base_url = base_url
        self.online_after_seconds = online_after_seconds  # a new endpoint is PROVISIONING that long
        self.endpoints: dict[str, dict] = {}
        self.indexes: dict[str, dict] = {}
        self.cdf_tables: set[str] = set()
        self.lock = threading.RLock()
        self.syncs = 0  # index syncs run, for tests

    # --- SQL: Change Data Feed, recorded here -----------------------------------------------------
    def statement(self, statement: str) -> tuple[str, tuple | None]:
        """(the statement to run, or a served answer) for CREATE TABLE / ALTER TABLE touching CDF."""
        match = _ALTER_CDF.match(statement.strip())
        if match:
            with self.lock:
                self.cdf_tables.add(_name(match.group(1)))
            return statement, (pa.table({"result": pa.array([], pa.string())}), None)
        if statement.startswith("CREATE TABLE") and _CDF_PROPERTY.search(statement):
            create = _CREATE.match(statement)
            with self.lock:
                self.cdf_tables.add(_name(create.group(1)))
            statement = _EMPTY_PROPERTIES.sub("", _CDF_PROPERTY.sub("", statement).replace("(, ", "("))
        return statement, None

    # --- REST -------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, dict] | None:
        """The answer to a Vector Search or serving-endpoints request; None for other paths."""
        parts = [p for p in path.split("/") if p]
        if parts[:3] not in (["api", "2.0", "serving-endpoints"], ["api", "2.0", "vector-search"]):
            return None
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "MALFORMED_REQUEST", "The request body is not JSON.")
        if parts[:3] == ["api", "2.0", "serving-endpoints"] and len(parts) == 4 and method == "GET":
            if parts[3] != EMBEDDER:
                return _error(404, "RESOURCE_DOES_NOT_EXIST", f"Serving endpoint {parts[3]!r} does not exist.")
            return 200, {"name": EMBEDDER, "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
                         "task": "llm/v1/embeddings"}
        if parts[:3] != ["api", "2.0", "vector-search"]:
            return None
        with self.lock:
            if parts[3:4] == ["endpoints"]:
                return self._endpoints(method, parts[4:], payload)
            if parts[3:4] == ["indexes"]:
                return self._indexes(method, parts[4:], payload, query)
        return _error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _endpoint_info(self, name: str) -> dict:
        endpoint = self.endpoints[name]
        ready = time.monotonic() - endpoint["created"] >= self.online_after_seconds
        return {"name": name, "endpoint_type": endpoint["endpoint_type"], "id": endpoint["id"],
                "endpoint_status": {"state": "ONLINE" if ready else "PROVISIONING"},
                "num_indexes": sum(1 for i in self.indexes.values() if i["endpoint_name"] == name)}

    def _endpoints(self, method: str, rest: list[str], payload: dict) -> tuple[int, dict]:
        if method == "GET" and not rest:
            return 200, {"endpoints": [self._endpoint_info(n) for n in sorted(self.endpoints)]}
        if method == "GET":
            if rest[0] not in self.endpoints:
                return _error(404, "RESOURCE_DOES_NOT_EXIST", f"Vector search endpoint {rest[0]} does not exist.")
            return 200, self._endpoint_info(rest[0])
        if method == "POST" and not rest:
            name = payload.get("name")
            if name in self.endpoints:
                return _error(409, "RESOURCE_ALREADY_EXISTS", f"Vector search endpoint {name} already exists.")
            if payload.get("endpoint_type") not in ("STANDARD", "STORAGE_OPTIMIZED"):
                return _error(400, "INVALID_PARAMETER_VALUE", f"Invalid endpoint_type {payload.get('endpoint_type')!r}.")
            self.endpoints[name] = {"endpoint_type": payload["endpoint_type"], "created": time.monotonic(),
                                    "id": hashlib.sha1(name.encode()).hexdigest()[:16]}
            return 200, self._endpoint_info(name)
        return _error(404, "ENDPOINT_NOT_FOUND", "No such endpoints API.")

    def _index_info(self, name: str) -> dict:
        index = self.indexes[name]
        return {"name": name, "endpoint_name": index["endpoint_name"], "primary_key": index["primary_key"],
                "index_type": "DELTA_SYNC", "delta_sync_index_spec": index["spec"],
                "status": {"ready": True, "indexed_row_count": len(index["rows"]), "detailed_state": "ONLINE_NO_PENDING_UPDATE",
                           "index_url": f"{self.base_url()}/api/2.0/vector-search/indexes/{name}"}}

    def _indexes(self, method: str, rest: list[str], payload: dict, query: dict) -> tuple[int, dict]:
        if method == "GET" and not rest:
            endpoint = (query.get("endpoint_name") or [None])[0]
            return 200, {"vector_indexes": [{"name": n, "endpoint_name": i["endpoint_name"], "index_type": "DELTA_SYNC",
                                             "primary_key": i["primary_key"]}
                                            for n, i in sorted(self.indexes.items()) if endpoint in (None, i["endpoint_name"])]}
        if method == "POST" and not rest:
            return self._create_index(payload)
        name = rest[0] if rest else None
        if name not in self.indexes:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"Vector index {name} does not exist.")
        if method == "GET" and len(rest) == 1:
            return 200, self._index_info(name)
        if method == "DELETE" and len(rest) == 1:
            del self.indexes[name]
            return 200, {}
        if method == "POST" and rest[1:] == ["sync"]:
            if self.indexes[name]["spec"]["pipeline_type"] != "TRIGGERED":
                return _error(400, "INVALID_PARAMETER_VALUE", "Only TRIGGERED indexes can be synced.")
            self._sync(name)
            return 200, {}
        if method in ("GET", "POST") and rest[1:] == ["query"]:
            return self._query(name, payload)
        return _error(404, "ENDPOINT_NOT_FOUND", "No such indexes API.")

    def _create_index(self, payload: dict) -> tuple[int, dict]:
        name, endpoint = payload.get("name"), payload.get("endpoint_name")
        spec = payload.get("delta_sync_index_spec") or {}
        if name in self.indexes:
            return _error(409, "RESOURCE_ALREADY_EXISTS", f"Vector index {name} already exists.")
        if endpoint not in self.endpoints:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"Vector search endpoint {endpoint} does not exist.")
        if payload.get("index_type") != "DELTA_SYNC":
            return _error(400, "INVALID_PARAMETER_VALUE", "Only DELTA_SYNC indexes are served here.")
        source = (spec.get("source_table") or "").lower()
        if source not in self.cdf_tables:
            return _error(400, "INVALID_PARAMETER_VALUE", f"Source table {source} must have Change Data Feed enabled "
                          "(delta.enableChangeDataFeed = true).")
        vectors, texts = spec.get("embedding_vector_columns") or [], spec.get("embedding_source_columns") or []
        if len(vectors) + len(texts) != 1:
            return _error(400, "INVALID_PARAMETER_VALUE", "Exactly one embedding column is required.")
        if texts and texts[0].get("embedding_model_endpoint_name") != EMBEDDER:
            return _error(404, "RESOURCE_DOES_NOT_EXIST",
                          f"Model serving endpoint {texts[0].get('embedding_model_endpoint_name')} does not exist.")
        self.indexes[name] = {"endpoint_name": endpoint, "primary_key": payload.get("primary_key"), "spec": {
            "source_table": spec.get("source_table"), "pipeline_type": spec.get("pipeline_type", "TRIGGERED"),
            **({"embedding_vector_columns": vectors} if vectors else {"embedding_source_columns": texts}),
            **({"columns_to_sync": spec["columns_to_sync"]} if spec.get("columns_to_sync") else {})}, "rows": []}
        try:
            self._sync(name)
        except Exception as exc:
            del self.indexes[name]
            return _error(400, "INVALID_PARAMETER_VALUE", f"Cannot read the source table {source}: {exc}")
        return 200, self._index_info(name)

    # --- the index's content ----------------------------------------------------------------------
    def _sync(self, name: str) -> None:
        """The source table's current rows, with their vectors (computed for an embedding source column)."""
        index = self.indexes[name]
        spec = index["spec"]
        table = self.run_sql(f"SELECT * FROM {'.'.join('`' + p + '`' for p in spec['source_table'].split('.'))}")
        rows = table.to_pylist()
        if spec.get("columns_to_sync"):
            keep = set(spec["columns_to_sync"]) | {index["primary_key"]}
            rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
        if spec.get("embedding_source_columns"):
            column = spec["embedding_source_columns"][0]["name"]
            entries = [(r, embed(r[column])) for r in rows if r.get(column) is not None]
            index["text_columns"] = [column]
        else:
            column = spec["embedding_vector_columns"][0]["name"]
            dimension = spec["embedding_vector_columns"][0]["embedding_dimension"]
            entries = [(r, list(r[column])) for r in rows if r.get(column) is not None and len(r[column]) == dimension]
            index["text_columns"] = [f.name for f in table.schema if pa.types.is_string(f.type) and
                                     f.name in (rows[0] if rows else {}) and f.name != index["primary_key"]
                                     and not f.name.startswith("_airbyte_")]
        index["rows"] = entries
        self.syncs += 1

    def _query(self, name: str, payload: dict) -> tuple[int, dict]:
        index = self.indexes[name]
        if index["spec"]["pipeline_type"] == "CONTINUOUS":
            self._sync(name)
        columns = payload.get("columns") or []
        if not columns:
            return _error(400, "INVALID_PARAMETER_VALUE", "columns is required.")
        query_type = (payload.get("query_type") or "ANN").upper()
        text, vector = payload.get("query_text"), payload.get("query_vector")
        computed = "embedding_source_columns" in index["spec"]
        if vector is None and text is not None and computed:
            vector = embed(text)
        if vector is None:
            return _error(400, "INVALID_PARAMETER_VALUE", "query_vector is required (or query_text for an index "
                          "with computed embeddings).")
        if query_type == "HYBRID" and text is None:
            return _error(400, "INVALID_PARAMETER_VALUE", "A HYBRID query needs query_text.")
        entries = [e for e in index["rows"] if _matches(e[0], payload)]
        ann = [1 / (1 + sum((a - b) ** 2 for a, b in zip(vector, v))) for _, v in entries]
        if query_type == "HYBRID":
            keyword = bm25(text, [" ".join(str(e[0].get(c) or "") for c in index["text_columns"]) for e in entries])
            scores = _rrf([ann, keyword])
        else:
            scores = ann
        ranked = sorted(range(len(entries)), key=lambda i: (-scores[i], i))[:int(payload.get("num_results") or 10)]
        data = [[_json_value(entries[i][0].get(c)) for c in columns] + [scores[i]] for i in ranked]
        return 200, {"manifest": {"column_count": len(columns) + 1,
                                  "columns": [{"name": c} for c in columns] + [{"name": "score"}]},
                     "result": {"row_count": len(data), "data_array": data}}


def _rrf(rankings: list[list[float]]) -> list[float]:
    """Reciprocal Rank Fusion: each ranking (by its scores, descending) adds 1 / (1 + rank + 60); ×(1 + 60)/2."""
    fused = [0.0] * (len(rankings[0]) if rankings else 0)
    for scores in rankings:
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        for rank, i in enumerate(order):
            if scores[i] > 0:
                fused[i] += 1 / (1 + rank + RRF)
    return [f * (1 + RRF) / 2 for f in fused]


def _matches(row: dict, payload: dict) -> bool:
    """filters_json (or filters): {"column": value} equality, {"column": [values]} membership."""
    filters = payload.get("filters_json") or payload.get("filters") or {}
    if isinstance(filters, str):
        filters = json.loads(filters) if filters.strip() else {}
    for column, wanted in filters.items():
        value = row.get(column)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True
