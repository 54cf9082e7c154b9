"""The `vector_search` config against the configured catalog: which table each index is built from, its key and
embedding columns, checked before any input is read. Indexed streams' vector columns become ARRAY<FLOAT>."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..catalog import StreamPlan
from ..errors import ConfigError
from ..naming import AIRBYTE_COLUMNS, StreamKey, TableName
from ..records import types
from .config import IndexConfig, VectorSearchConfig


@dataclass(frozen=True)
class IndexPlan:
    config: IndexConfig
    stream: StreamKey
    table: TableName
    source_table: str  # <catalog>.<schema>.<table>, as the index names it
    index_name: str
    primary_key: str  # a column of the table, unique in it
    embedding_column: str  # the text column Databricks embeds, or the vector column
    columns_to_sync: tuple[str, ...] | None


def _column(plan: StreamPlan, name: str, field: str) -> str:
    """The table column a config names, by column name or by the stream's property name."""
    for column in plan.proposed_columns:
        if name in (column.name, column.key):
            return column.name
    if name in AIRBYTE_COLUMNS:
        return name
    raise ConfigError(f"Config field '{field}' names {name!r}, which stream '{plan.key}' has no column for "
                      f"(its columns: {', '.join(c.name for c in plan.proposed_columns) or 'none'}).")


def plan_indexes(config: VectorSearchConfig, catalog: str, plans: dict[StreamKey, StreamPlan]) -> list[IndexPlan]:
    """Each index's plan; a vector column's stream plan is retyped (ARRAY<FLOAT> of the configured length)."""
    indexes = []
    for index in config.indexes:
        key = StreamKey(index.namespace, index.stream)
        plan = plans.get(key)
        if plan is None:
            raise ConfigError(f"Config field '{index.field}.stream' names stream '{key}', which is not in the "
                              "configured catalog.")
        if index.primary_key is not None:
            primary_key = _column(plan, index.primary_key, f"{index.field}.primary_key")
        elif len(plan.primary_key) == 1 and len(plan.primary_key[0]) == 1:
            primary_key = _column(plan, plan.primary_key[0][0], f"{index.field}.primary_key")
        else:
            primary_key = AIRBYTE_COLUMNS[0]
        if primary_key != AIRBYTE_COLUMNS[0] and not (plan.mode.replaces or plan.mode.dedup):
            raise ConfigError(f"Config field '{index.field}.primary_key': column {primary_key!r} is not unique in the "
                              f"table of stream '{key}' ({plan.mode.value} keeps every row); use a dedup or overwrite "
                              "sync mode, or leave primary_key out to index by _airbyte_ab_id.")
        if index.embedding_source_column is not None:
            embedding = _column(plan, index.embedding_source_column, f"{index.field}.embedding_source_column")
        else:
            assert index.embedding_vector_column is not None and index.embedding_dimension is not None  # config.py
            embedding = _column(plan, index.embedding_vector_column, f"{index.field}.embedding_vector_column")
            kind = types.vector_kind(index.embedding_dimension)
            plan.proposed_columns = tuple(replace(c, kind=kind, type=types.KINDS[kind].arrow) if c.name == embedding
                                          else c for c in plan.proposed_columns)
        columns = None
        if index.columns_to_sync is not None:
            columns = tuple(dict.fromkeys([primary_key, embedding] + [
                _column(plan, c, f"{index.field}.columns_to_sync") for c in index.columns_to_sync]))
        name = index.index_name or f"{catalog}.{plan.table.schema}.{plan.table.table}_index"
        if len(name) > 128:
            raise ConfigError(f"Config field '{index.field}.index_name': the default name {name!r} is longer than "
                              "128 characters; set a shorter one.")
        indexes.append(IndexPlan(index, key, plan.table, f"{catalog}.{plan.table.schema}.{plan.table.table}", name,
                                 primary_key, embedding, columns))
    return indexes


