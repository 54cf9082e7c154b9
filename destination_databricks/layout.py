"""Each stream's table layout and properties as the config's `streams` list asks (liquid clustering, partitioning,
table properties), checked against the catalog and turned into what the table is created with.

A deduplicated stream's table is clustered by its primary key unless the config clusters or partitions it
otherwise. Applied when a table is created; on an existing table, clustering and properties change (the loader
compares them with what the table says), partitioning never (a LOG says so).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import fields
from .catalog import StreamPlan
from .errors import ConfigError, shown
from .naming import StreamKey, TableName

AUTO, NONE = "AUTO", "NONE"  # cluster_by: let Databricks choose; no clustering
# The clustering this connector last gave a table, kept as a table property: Databricks' own record of it is not in
# every answer the connector reads (listings, Delta logs), so a change is seen without a statement.
CLUSTERED_BY = "airbyte.clustered_by"


@dataclass(frozen=True)
class StreamLayout:
    """One entry of the config's `streams`: names and columns as the catalog gives them."""

    field: str  # where it is in the config ("streams[0]")
    key: StreamKey
    cluster_by: tuple[str, ...] | str | None  # property names, AUTO, NONE, or None (not set)
    partition_by: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableLayout:
    """How one table is laid out: column names as the table spells them."""

    cluster_by: tuple[str, ...] | str | None = None  # columns, AUTO, NONE, or None: a deduplicated table's key
    partition_by: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def clustering(self, key: tuple[str, ...]) -> tuple[str, ...] | str:
        """The table's clustering columns (or AUTO); ``key``: a deduplicated table's key columns (else ())."""
        if self.cluster_by is not None:
            return self.cluster_by
        return () if self.partition_by else key


def clustered_by(clustering: tuple[str, ...] | str) -> str:
    """The value of CLUSTERED_BY for a clustering."""
    return clustering if isinstance(clustering, str) else ",".join(clustering)


def table_comment(key: StreamKey) -> str:
    """The comment of a stream's table: the stream and namespace it holds."""
    namespace = f" of namespace '{key.namespace}'" if key.namespace else ""
    return f"Synced by destination-databricks from stream '{key.name}'{namespace}."


def _names(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"Config field '{field}' must be a non-empty list of property names, got {shown(value)}.")
    if len(set(value)) != len(value):
        raise ConfigError(f"Config field '{field}' names a property twice.")
    return tuple(value)


def _entry(raw: Any, field: str) -> StreamLayout:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Config field '{field}' must be an object with a stream 'name'.")
    name = fields.required(raw, "name", prefix=f"{field}.")
    namespace = fields.text(raw, "namespace", prefix=f"{field}.")
    cluster = raw.get("cluster_by")
    cluster_by = None if cluster is None else cluster if cluster in (AUTO, NONE) else _names(cluster, f"{field}.cluster_by")
    partition_by = () if raw.get("partition_by") is None else _names(raw["partition_by"], f"{field}.partition_by")
    if cluster_by not in (None, NONE) and partition_by:
        raise ConfigError(f"Config fields '{field}.cluster_by' and '{field}.partition_by' are both set; a Delta table "
                          "is either liquid-clustered or partitioned, so set one.")
    properties = raw.get("table_properties") or {}
    if not isinstance(properties, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, (str, int, float, bool)) for k, v in properties.items()):
        raise ConfigError(f"Config field '{field}.table_properties' must be an object of property names and values.")
    if CLUSTERED_BY in properties:
        raise ConfigError(f"Config field '{field}.table_properties' sets '{CLUSTERED_BY}', which this connector keeps.")
    shown_values = tuple((k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in sorted(properties.items()))
    return StreamLayout(field, StreamKey(namespace, name), cluster_by, partition_by, shown_values)


def parse(raw: Any) -> tuple[StreamLayout, ...]:
    """The config's `streams` list (absent: none)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("Config field 'streams' must be a list of objects, one per stream.")
    entries = tuple(_entry(entry, f"streams[{i}]") for i, entry in enumerate(raw))
    seen: dict[StreamKey, str] = {}
    for entry in entries:
        if entry.key in seen:
            raise ConfigError(f"Config fields '{seen[entry.key]}' and '{entry.field}' both describe stream '{entry.key}'.")
        seen[entry.key] = entry.field
    return entries


def _columns(plan: StreamPlan, names: tuple[str, ...], field: str) -> tuple[str, ...]:
    by_property = {c.key: c for c in plan.proposed_columns}
    columns = []
    for name in names:
        column = by_property.get(name)
        if column is None:
            raise ConfigError(f"Config field '{field}' names '{name}', which is not a top-level property of stream "
                              f"'{plan.key}'.")
        if column.kind == "variant":
            raise ConfigError(f"Config field '{field}' names '{name}', a VARIANT column (json_column_type VARIANT); a "
                              "VARIANT column cannot be a clustering or partitioning key.")
        columns.append(column.name)
    return tuple(columns)


def plan_layouts(entries: tuple[StreamLayout, ...], plans: Mapping[StreamKey, StreamPlan]) -> dict[TableName, TableLayout]:
    """The layouts of the tables of the streams the config names, checked against the catalog (other tables: the
    default TableLayout)."""
    given = {}
    for entry in entries:
        plan = plans.get(entry.key)
        if plan is None:
            raise ConfigError(f"Config field '{entry.field}.name' names stream '{entry.key}', which is not in the "
                              "configured catalog.")
        cluster_by = entry.cluster_by if isinstance(entry.cluster_by, str) or entry.cluster_by is None else \
            _columns(plan, entry.cluster_by, f"{entry.field}.cluster_by")
        given[entry.key] = (cluster_by, _columns(plan, entry.partition_by, f"{entry.field}.partition_by"),
                            entry.properties)
    return {plans[key].table: TableLayout(*layout) for key, layout in given.items()}
