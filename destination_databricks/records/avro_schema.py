"""A stream's JSON schema as an Avro record schema, validated with fastavro.

The Avro schema describes one row of the staged Parquet file: the three `_airbyte_*` columns, then
one nullable field per top-level property, nested objects and arrays kept as Avro records and arrays.
A value whose shape JSON schema allows but Avro cannot express (free-form objects, `$ref`, unions
Avro forbids such as two arrays or `integer` next to `date-time`) is typed as JSON text: a string
field marked `"x-airbyte-json": true`.
"""
from __future__ import annotations

from typing import Any

import fastavro

from ..errors import ConfigError
from ..naming import AIRBYTE_COLUMNS, column_names, sanitize

JSON_TEXT: dict[str, Any] = {"type": "string", "x-airbyte-json": True}
DATE = {"type": "int", "logicalType": "date"}
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}
LOCAL_TIMESTAMP = {"type": "long", "logicalType": "local-timestamp-micros"}
BIG_INTEGER = {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 0}
NUMBER_DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}  # number_column_type DECIMAL

AIRBYTE_FIELDS = [
    {"name": AIRBYTE_COLUMNS[0], "type": "string"},
    {"name": AIRBYTE_COLUMNS[1], "type": TIMESTAMP},
    {"name": AIRBYTE_COLUMNS[2], "type": JSON_TEXT},
    {"name": AIRBYTE_COLUMNS[3], "type": ["null", JSON_TEXT], "default": None},
    {"name": AIRBYTE_COLUMNS[4], "type": ["null", "long"], "default": None},
]


class _RecordNames:
    """Avro record names must be unique within one schema (and how this schema types `number`)."""

    def __init__(self, decimal_numbers: bool = False) -> None:
        self.used: set[str] = set()
        self.decimal_numbers = decimal_numbers

    def new(self, hint: str) -> str:
        base = sanitize(hint, lowercase=False)
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name


def _types_of(js: dict) -> list[str]:
    declared = js.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    if "properties" in js:
        return ["object"]
    if "items" in js:
        return ["array"]
    return []


def _union_key(avro: Any) -> str:
    """What Avro compares to forbid duplicates in a union: the underlying type, or a record's name."""
    if isinstance(avro, str):
        return avro
    if avro.get("type") == "record":
        return "record:" + avro["name"]
    return avro["type"]


def _union(branches: list[Any]) -> Any:
    flat: list[Any] = []
    for branch in branches:
        flat.extend(branch if isinstance(branch, list) else [branch])
    keys: list[str] = []
    unique: list[Any] = []
    for branch in flat:
        key = _union_key(branch)
        if key == "null":
            continue
        if key in keys:
            if branch == unique[keys.index(key)]:
                continue
            return JSON_TEXT  # Avro forbids two branches of one type; keep the value as JSON
        keys.append(key)
        unique.append(branch)
    if not unique:
        return "null"
    if len(unique) == 1:
        return unique[0]
    return unique


def _scalar(kind: str, js: dict, decimal_numbers: bool = False) -> Any:
    airbyte_type = js.get("airbyte_type")
    fmt = js.get("format")
    if kind == "string":
        if airbyte_type == "big_integer":
            return BIG_INTEGER
        if fmt == "date" or airbyte_type == "date":
            return DATE
        if fmt == "date-time" or airbyte_type in ("timestamp_with_timezone", "timestamp_without_timezone"):
            return LOCAL_TIMESTAMP if airbyte_type == "timestamp_without_timezone" else TIMESTAMP
        return "string"  # time formats too: Delta has no TIME type
    if kind == "integer":
        return BIG_INTEGER if airbyte_type == "big_integer" else "long"
    if kind == "number":
        if airbyte_type in ("integer", "big_integer"):
            return BIG_INTEGER if airbyte_type == "big_integer" else "long"
        return NUMBER_DECIMAL if decimal_numbers else "double"
    if kind == "boolean":
        return "boolean"
    return JSON_TEXT


def _convert(js: Any, hint: str, names: _RecordNames) -> Any:
    """The non-null Avro type for JSON schema ``js`` (``"null"`` if it allows null only)."""
    if not isinstance(js, dict) or not js or "$ref" in js:
        return JSON_TEXT
    branches: list[Any] = []
    for combinator in ("anyOf", "oneOf"):
        options = js.get(combinator)
        if isinstance(options, list):
            branches += [_convert(option, hint, names) for option in options]
    for kind in _types_of(js):
        if kind == "null":
            continue
        if kind == "object":
            branches.append(_object(js, hint, names))
        elif kind == "array":
            items = js.get("items")
            if isinstance(items, list):  # tuple validation: items of different shapes
                branches.append({"type": "array", "items": _nullable(JSON_TEXT)})
            else:
                branches.append({"type": "array", "items": _nullable(_convert(items, hint + "_item", names))})
        else:
            branches.append(_scalar(kind, js, names.decimal_numbers))
    if not branches:
        return "null" if _types_of(js) == ["null"] else JSON_TEXT
    return _union(branches)


def _described(js: Any) -> str:
    """A property's description, else its title (the JSON schema's words for it), if any."""
    if not isinstance(js, dict):
        return ""
    for word in ("description", "title"):
        if isinstance(js.get(word), str) and js[word].strip():
            return js[word].strip()
    return ""


def _nullable(avro: Any) -> Any:
    if avro == "null":
        return "null"
    return ["null"] + (avro if isinstance(avro, list) else [avro])


def _object(js: dict, hint: str, names: _RecordNames) -> Any:
    properties = js.get("properties")
    if not isinstance(properties, dict) or not properties:
        extra = js.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return {"type": "map", "values": _nullable(_convert(extra, hint + "_value", names))}
        return JSON_TEXT
    return {"type": "record", "name": names.new(hint), "fields": _fields(properties, names)}


def _fields(properties: dict, names: _RecordNames) -> list[dict]:
    props = list(properties)
    fields = []
    for prop, name in zip(props, column_names(props)):
        field: dict[str, Any] = {"name": name, "type": _nullable(_convert(properties[prop], name, names)), "default": None}
        if name != prop:
            field["x-json-name"] = prop
        doc = _described(properties[prop])
        if doc:
            field["doc"] = doc  # the column's comment
        fields.append(field)
    return fields


def top_level_properties(json_schema: Any) -> dict:
    """The properties that become typed columns; none for a schemaless stream."""
    if isinstance(json_schema, dict) and isinstance(json_schema.get("properties"), dict):
        return json_schema["properties"]
    return {}


def stream_avro_schema(stream_name: str, json_schema: Any, decimal_numbers: bool = False) -> dict:
    """The Avro record schema of one stream's rows (``decimal_numbers``: `number` as DECIMAL(38,10)); raises
    ConfigError if fastavro rejects it."""
    names = _RecordNames(decimal_numbers)
    record_name = names.new(stream_name)
    schema = {
        "type": "record",
        "name": record_name,
        "namespace": "airbyte",
        "fields": AIRBYTE_FIELDS + _fields(top_level_properties(json_schema), names),
    }
    try:
        fastavro.parse_schema(schema, _write_hint=False)
    except Exception as exc:  # fastavro raises several types; all mean the same to the user
        raise ConfigError(f"The JSON schema of stream '{stream_name}' has no valid Avro form: {exc}") from exc
    return schema
