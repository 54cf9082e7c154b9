"""The configured catalog → one plan per stream: where it lands, how, and with which columns."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import ijson
import orjson

from .errors import ConfigError, shown
from .jsontext import read_json
from .naming import StreamKey, TableName, table_name
from .records.avro_schema import stream_avro_schema
from .records.columns import DEFAULT_TYPES, Column, ColumnTypes, stream_columns


class SyncMode(str, Enum):
    """The configured stream's `destination_sync_mode` (a str, so it compares equal to the protocol's text)."""

    APPEND = "append"
    OVERWRITE = "overwrite"
    APPEND_DEDUP = "append_dedup"
    OVERWRITE_DEDUP = "overwrite_dedup"

    @property
    def replaces(self) -> bool:
        """At the stream's end its table holds only this sync's rows."""
        return self in (SyncMode.OVERWRITE, SyncMode.OVERWRITE_DEDUP)


    @property
    def dedup(self) -> bool:
        """The table holds one row per primary key."""
        return self in (SyncMode.APPEND_DEDUP, SyncMode.OVERWRITE_DEDUP)


SUPPORTED_MODES = (SyncMode.OVERWRITE, SyncMode.APPEND, SyncMode.APPEND_DEDUP, SyncMode.OVERWRITE_DEDUP)
Path = tuple[str, ...]  # a property path: ("id",), or ("address", "zip") for a nested key


@dataclass
class StreamPlan:
    key: StreamKey
    table: TableName
    mode: SyncMode
    avro_schema_json: str
    proposed_columns: tuple[Column, ...]  # shared by the streams that propose the same columns
    primary_key: tuple[Path, ...] = ()  # the configured stream's primary_key, one path per key column
    cursor_field: Path = ()
    generation_id: int | None = None  # the refresh protocol: rows of generations below the minimum go
    minimum_generation_id: int | None = None
    sync_id: int | None = None


def _paths(value: Any, what: str, key: StreamKey) -> tuple[Path, ...]:
    """A list of property paths (each a list of names), as the protocol writes primary keys."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
            isinstance(p, list) and p and all(isinstance(n, str) for n in p) for p in value):
        raise ConfigError(f"Stream '{key}': {what} must be a list of property paths (lists of names), got {shown(value)}.")
    return tuple(tuple(p) for p in value)


def _whole(value: Any, what: str, key: StreamKey) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # ijson reads numbers as floats here (use_float)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"Stream '{key}': {what} must be a whole number ≥ 0, got {shown(value)}.")
    return value


def read_catalog(path: str, default_schema: str, types: ColumnTypes = DEFAULT_TYPES) -> dict[StreamKey, StreamPlan]:
    """The configured catalog file → plans, parsing one stream at a time.

    A catalog of 10,000 streams is 11 MB of JSON, ~96 MB as one parsed object, and the memory it
    fragments was never given back; ijson (its C backend) hands us the streams one by one instead.
    """
    try:
        with open(path, "rb") as f:
            plans = plan_streams(ijson.items(f, "streams.item", use_float=True), default_schema, types)
    except OSError as exc:
        raise ConfigError(f"Cannot read the catalog file {path!r}: {exc.strerror}.") from None
    except ijson.JSONError as exc:
        if "integer overflow" not in str(exc):
            raise ConfigError(f"The catalog file {path!r} is not valid JSON: {exc}.") from None
        plans = {}  # an integer past 64 bits (a schema's "maximum", say), which ijson's C parser refuses: read it whole
    if plans:
        return plans
    # No stream found: the whole file says whether that is an empty catalog or not a catalog at all.
    catalog = read_json(path, "catalog")
    if not isinstance(catalog, Mapping) or not isinstance(catalog.get("streams"), list):
        raise ConfigError("The configured catalog must be an object with a 'streams' list.")
    return plan_streams(catalog["streams"], default_schema, types)


def plan_streams(streams: Iterable[Any], default_schema: str,
                 types: ColumnTypes = DEFAULT_TYPES) -> dict[StreamKey, StreamPlan]:
    """Validate the configured streams; raise ConfigError on anything that cannot be synced as asked (``types``:
    how new columns are typed)."""
    plans: dict[StreamKey, StreamPlan] = {}
    tables: dict[TableName, StreamKey] = {}
    shared: dict[tuple[Column, ...], tuple[Column, ...]] = {}  # 10,000 streams: 14 MB less when alike
    for i, configured in enumerate(streams):
        stream = configured.get("stream") if isinstance(configured, Mapping) else None
        if not isinstance(stream, Mapping) or not isinstance(stream.get("name"), str) or not stream["name"]:
            raise ConfigError(f"Configured stream #{i} has no stream name.")
        key = StreamKey(stream.get("namespace") or None, stream["name"])
        if key in plans:
            raise ConfigError(f"Stream '{key}' appears more than once in the configured catalog.")
        mode = configured.get("destination_sync_mode", "append")
        if mode not in [m.value for m in SUPPORTED_MODES]:
            raise ConfigError(
                f"Stream '{key}': destination_sync_mode '{mode}' is not supported; use one of "
                f"{', '.join(m.value for m in SUPPORTED_MODES)}."
            )
        table = table_name(key, default_schema)
        if table in tables:
            raise ConfigError(
                f"Streams '{tables[table]}' and '{key}' would both land in table '{table}' after their "
                "names are made safe; rename one of them (or set a namespace)."
            )
        tables[table] = key
        avro = stream_avro_schema(key.name, stream.get("json_schema") or {}, types.decimal_numbers)
        columns = tuple(stream_columns(avro, types.variant))
        cursor = configured.get("cursor_field")
        primary_key = _paths(configured.get("primary_key"), "primary_key", key)
        if SyncMode(mode).dedup and not primary_key:
            raise ConfigError(f"Stream '{key}': destination_sync_mode '{mode}' needs a primary_key (the configured "
                              "stream has none); set one, or use append or overwrite.")
        cursor_path = _paths([cursor], "cursor_field", key)[0] if cursor else ()
        if SyncMode(mode).dedup and cursor_path and (len(cursor_path) > 1 or cursor_path[0] not in {c.key for c in columns}):
            raise ConfigError(f"Stream '{key}': cursor_field '{'.'.join(cursor_path)}' is not a top-level property of the "
                              "stream's schema, so deduplicated rows cannot be ordered by it; declare it in the schema "
                              "(nested cursors are not supported) or leave cursor_field out.")
        generation, minimum = (_whole(configured.get(f), f, key) for f in ("generation_id", "minimum_generation_id"))
        if generation is not None and generation >= 2 ** 63:
            raise ConfigError(f"Stream '{key}': generation_id {generation} does not fit `_airbyte_generation_id` (BIGINT).")
        if minimum and (generation is None or minimum > generation):
            raise ConfigError(f"Stream '{key}': minimum_generation_id {minimum} needs a generation_id at least as large "
                              f"(got {shown(generation)}); the platform's catalog is inconsistent.")
        plans[key] = StreamPlan(
            key, table, SyncMode(mode), orjson.dumps(avro).decode(), shared.setdefault(columns, columns),
            primary_key=primary_key,
            cursor_field=cursor_path,
            generation_id=generation, minimum_generation_id=minimum,
            sync_id=_whole(configured.get("sync_id"), "sync_id", key),
        )
    return plans
