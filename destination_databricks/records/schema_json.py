"""A table's Arrow schema → the JSON schema `discover` reports for it."""
from __future__ import annotations

import pyarrow as pa


def _json_type(t: pa.DataType) -> dict:
    if pa.types.is_boolean(t):
        return {"type": ["null", "boolean"]}
    if pa.types.is_integer(t):
        return {"type": ["null", "integer"]}
    if pa.types.is_floating(t):
        return {"type": ["null", "number"]}
    if pa.types.is_decimal(t):
        return {"type": ["null", "integer"] if t.scale == 0 else ["null", "number"]}
    if pa.types.is_date(t):
        return {"type": ["null", "string"], "format": "date"}
    if pa.types.is_timestamp(t):
        return {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
    if pa.types.is_struct(t):
        return {"type": ["null", "object"], "properties": {f.name: _json_type(f.type) for f in t}}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": ["null", "array"], "items": _json_type(t.value_type)}
    return {"type": ["null", "string"]}


def json_schema_of(schema: pa.Schema) -> dict:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {field.name: _json_type(field.type) for field in schema},
    }
