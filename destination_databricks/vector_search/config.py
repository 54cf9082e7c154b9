"""The `vector_search` config: parsed and validated on its own, before any catalog is read.

Names follow Databricks' own clients (and mem0's config): endpoint_name, endpoint_type, index_name,
primary_key, embedding_source_column + embedding_model_endpoint_name (Databricks computes the embeddings) or
embedding_vector_column + embedding_dimension (the stream brings them), columns_to_sync, pipeline_type.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import fields
from ..errors import ConfigError, shown

ENDPOINT_TYPES = ("STANDARD", "STORAGE_OPTIMIZED")
PIPELINE_TYPES = ("TRIGGERED", "CONTINUOUS")
MAX_DIMENSION = 4096
MAX_INDEX_NAME = 128


@dataclass(frozen=True)
class IndexConfig:
    field: str  # where it is in the config, for errors: "vector_search.indexes[0]"
    stream: str
    namespace: str | None
    index_name: str | None  # default: <catalog>.<schema>.<table>_index
    primary_key: str | None  # default: the stream's single-column primary key, else _airbyte_ab_id
    embedding_source_column: str | None
    embedding_model_endpoint_name: str | None
    embedding_vector_column: str | None
    embedding_dimension: int | None
    columns_to_sync: tuple[str, ...] | None
    pipeline_type: str

    @property
    def computed(self) -> bool:
        """Databricks embeds a text column (else the stream brings a vector column)."""
        return self.embedding_source_column is not None


@dataclass(frozen=True)
class VectorSearchConfig:
    endpoint_name: str
    endpoint_type: str
    online_timeout_seconds: float  # how long to wait for a new endpoint to come ONLINE
    indexes: tuple[IndexConfig, ...]


def _text(raw: Mapping, key: str, field: str, required: bool = False) -> str | None:
    return fields.text(raw, key, prefix=f"{field}.", required=required)


# Names that enter REST paths (/api/2.0/vector-search/endpoints/<name>, /serving-endpoints/<name>, indexes/<name>):
# what Databricks allows them to be, so none can reach another route.
_ENDPOINT_NAME = re.compile(r"[A-Za-z0-9_-]+")
_INDEX_NAME = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _name(value: str | None, field: str) -> str | None:
    if value is not None and not _ENDPOINT_NAME.fullmatch(value):
        raise ConfigError(f"Config field '{field}' must be a name of letters, digits, '_' and '-', got {shown(value)}.")
    return value


def _choice(raw: Mapping, key: str, field: str, choices: tuple[str, ...]) -> str:
    return fields.choice(raw, key, choices, prefix=f"{field}.", upper=True)


def _index(raw: Any, field: str, endpoint_type: str) -> IndexConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Config field '{field}' must be an object naming a stream.")
    source, vector = _text(raw, "embedding_source_column", field), _text(raw, "embedding_vector_column", field)
    if (source is None) == (vector is None):
        raise ConfigError(f"Config field '{field}' needs exactly one of embedding_source_column (with "
                          "embedding_model_endpoint_name) or embedding_vector_column (with embedding_dimension).")
    model = _name(_text(raw, "embedding_model_endpoint_name", field, required=source is not None),
                  f"{field}.embedding_model_endpoint_name")
    dimension = raw.get("embedding_dimension")
    if vector is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)
                               or not 1 <= dimension <= MAX_DIMENSION):
        raise ConfigError(f"Config field '{field}.embedding_dimension' must be a whole number from 1 to "
                          f"{MAX_DIMENSION}, got {shown(dimension)}.")
    name = _text(raw, "index_name", field)
    if name is not None and (len(name) > MAX_INDEX_NAME or not _INDEX_NAME.fullmatch(name)):
        raise ConfigError(f"Config field '{field}.index_name' must be a three-part name <catalog>.<schema>.<name> "
                          "(letters, digits, '_' and '-' in each part) "
                          f"of at most {MAX_INDEX_NAME} characters, got {shown(name)}.")
    pipeline = _choice(raw, "pipeline_type", field, PIPELINE_TYPES)
    if endpoint_type == "STORAGE_OPTIMIZED" and pipeline != "TRIGGERED":
        raise ConfigError(f"Config field '{field}.pipeline_type' must be TRIGGERED: a STORAGE_OPTIMIZED endpoint "
                          "(vector_search.endpoint_type) serves triggered indexes only.")
    columns = raw.get("columns_to_sync")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns)):
        raise ConfigError(f"Config field '{field}.columns_to_sync' must be a list of column names.")
    return IndexConfig(field, fields.required(raw, "stream", prefix=f"{field}."), _text(raw, "namespace", field), name,
                       _text(raw, "primary_key", field), source, model, vector,
                       dimension if vector is not None else None, tuple(columns) if columns is not None else None,
                       pipeline)


def parse(raw: Any, *, unity_catalog: bool) -> VectorSearchConfig | None:
    """The `vector_search` object, or None when absent. ``unity_catalog``: the destination writes to a Unity
    Catalog catalog through a warehouse (indexes need one)."""
    if raw is None:
        return None
    field = "vector_search"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Config field '{field}' must be an object.")
    if not unity_catalog:
        raise ConfigError(f"Config field '{field}' needs a Databricks data source writing to a Unity Catalog catalog "
                          "(field 'database'): Vector Search indexes are built from Unity Catalog tables, not from "
                          "LOCAL folders or hive_metastore.")
    endpoint_type = _choice(raw, "endpoint_type", field, ENDPOINT_TYPES)
    indexes = raw.get("indexes")
    if not isinstance(indexes, list) or not indexes:
        raise ConfigError(f"Config field '{field}.indexes' must be a non-empty list of indexes.")
    timeout = raw.get("online_timeout_seconds", 1800)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86_400:
        raise ConfigError(f"Config field '{field}.online_timeout_seconds' must be a number of seconds from 1 to 86400.")
    parsed = tuple(_index(index, f"{field}.indexes[{i}]", endpoint_type) for i, index in enumerate(indexes))
    seen: dict[tuple, str] = {}
    for index in parsed:
        key = (index.namespace, index.stream)
        if key in seen:
            raise ConfigError(f"Config fields '{seen[key]}' and '{index.field}' both index stream '{index.stream}'.")
        seen[key] = index.field
    endpoint = _name(fields.required(raw, "endpoint_name", prefix=f"{field}."), f"{field}.endpoint_name")
    assert endpoint is not None
    return VectorSearchConfig(endpoint, endpoint_type, float(timeout), parsed)
