"""Every table of a schema with its columns, from one statement: `SHOW TABLE EXTENDED IN <schema> LIKE '*'`.

Its `information` column holds, per table, a `Schema: root` tree in Apache Spark notation:

     |-- id: long (nullable = true)
     |-- tags: array (nullable = true)
     |    |-- element: string (containsNull = true)

(Databricks and Spark spell nested types as child lines; the local engine writes them inline, `array<string>`,
and its primitives in SQL, `bigint`: both are read.) A tree this module cannot read in full (a type it does not
know, an escaped name) gives None for that table, and the caller reads the table's columns another way.
Unity Catalog's REST listing (`tables_from_catalog`) gives the same without a statement.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from ...records.spark_types import of_spark

# (catalog, schema) → its tables' columns (None where not read in full) and properties; SchemaNotFound if absent.
Lister = Callable[[str, str], tuple[dict[str, pa.Schema | None], dict[str, dict[str, str]]]]
_FIELD = re.compile(r"^ ((?:\|    )*)\|-- (.*)$")
_FLAG = re.compile(r" \((?:nullable|containsNull|valueContainsNull) = (?:true|false)\)$")


def tables_with_schemas(rows: pa.Table) -> dict[str, pa.Schema | None]:
    """SHOW TABLE EXTENDED's rows → table name → its schema (None: not readable from the listing)."""
    names = rows.column("tableName").to_pylist()
    infos = rows.column("information").to_pylist() if "information" in rows.column_names else [None] * len(names)
    temporary = rows.column("isTemporary").to_pylist() if "isTemporary" in rows.column_names else [False] * len(names)
    return {name: schema_of(info or "") for name, info, temp in zip(names, infos, temporary) if not temp}


def tables_with_properties(rows: pa.Table) -> dict[str, dict[str, str]]:
    """SHOW TABLE EXTENDED's rows → table name → its table properties, where the listing shows them."""
    if "information" not in rows.column_names:
        return {}
    found = {name: listed_properties(info or "") for name, info in
             zip(rows.column("tableName").to_pylist(), rows.column("information").to_pylist())}
    return {name: properties for name, properties in found.items() if properties is not None}


def listed_properties(information: str) -> dict[str, str] | None:
    """The `Table Properties: [k=v, …]` line of a table's `information` (Spark's rendering; None: not there)."""
    for line in information.split("\n"):
        if line.startswith("Table Properties: [") and line.endswith("]"):
            items = line[len("Table Properties: ["):-1].split(", ")
            return dict(item.split("=", 1) for item in items if "=" in item)
    return None


def schema_of(information: str) -> pa.Schema | None:
    """The table's schema from its `information` text; None when it has none or one not read in full."""
    lines = information.split("\n")
    try:
        start = lines.index("Schema: root") + 1
    except ValueError:
        return None
    entries: list[tuple[int, str]] = []
    for line in lines[start:]:
        match = _FIELD.match(line)
        if match is None:
            break
        entries.append((len(match.group(1)) // 5, match.group(2)))
    if not entries:
        return None
    fields, used = _fields(entries, 0, 0)
    if fields is None or used != len(entries):
        return None
    return pa.schema(fields)


def _fields(entries: list[tuple[int, str]], at: int, depth: int) -> tuple[list[pa.Field] | None, int]:
    """The fields at ``depth`` from entry ``at`` on (each with its children); where the next one starts."""
    fields = []
    while at < len(entries) and entries[at][0] == depth:
        body = _FLAG.sub("", entries[at][1])
        if ": " not in body:
            return None, at
        name, spelled = body.rsplit(": ", 1)
        if "\\" in name:  # Spark escapes line breaks and tabs in names: not read back from here
            return None, at
        children, at = _fields(entries, at + 1, depth + 1)
        arrow = _typed(spelled, children or [])
        if children is None or arrow is None:
            return None, at
        fields.append(pa.field(name, arrow))
    return fields, at


def _typed(spelled: str, children: list[pa.Field]) -> pa.DataType | None:
    """A field's type: spelled whole (`bigint`, `array<float>`), or a container whose parts are child lines."""
    by_name = {f.name: f.type for f in children}
    if spelled == "array" and set(by_name) == {"element"}:
        return pa.list_(by_name["element"])
    if spelled == "map" and set(by_name) == {"key", "value"}:
        return pa.map_(by_name["key"], by_name["value"])
    if spelled == "struct" and children:
        return pa.struct(children)
    if children:
        return None
    return of_spark(spelled)


def tables_from_catalog(infos: Iterable[Any]) -> tuple[dict[str, pa.Schema | None], dict[str, dict[str, str]]]:
    """Unity Catalog's table entries (databricks-sdk TableInfo: `columns` with `type_text`, `properties`) → table name
    → its schema (None: a column type not read) and its properties, as the listing statement gives them."""
    schemas: dict[str, pa.Schema | None] = {}
    properties: dict[str, dict[str, str]] = {}
    for info in infos:
        columns = sorted(info.columns or [], key=lambda c: c.position or 0)
        types = [of_spark(c.type_text or "") for c in columns]
        schemas[info.name] = (pa.schema([pa.field(c.name, t) for c, t in zip(columns, types)])
                              if columns and None not in types else None)
        properties[info.name] = dict(info.properties or {})
    return schemas, properties
