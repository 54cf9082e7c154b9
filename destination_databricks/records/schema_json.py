"""A table's Arrow schema → the JSON schema `discover` reports for it (each column's, from the type table)."""
from __future__ import annotations

import pyarrow as pa

from .types import json_schema


def json_schema_of(schema: pa.Schema) -> dict:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {field.name: json_schema(field.type) for field in schema},
    }
