"""Stream, namespace and property names → identifiers that are safe in SQL and in storage paths.

Every name is transliterated to ASCII, and anything but letters, digits and `_` becomes `_`. That
removes quotes, backticks, `;`, spaces, `/` and `.` (so `../` cannot climb out of a folder) and the
characters Delta rejects in column names (` ,;{}()\\n\\t=`). Names too long are cut and given a hash
of the original, so they stay distinct.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from anyascii import anyascii

MAX_IDENTIFIER_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
AIRBYTE_COLUMNS = ("_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data", "_airbyte_meta", "_airbyte_generation_id")
# Names no property column may take: the connector's columns (and `_airbyte_key`, a deduplicated stream's key).
RESERVED = frozenset(c.lower() for c in AIRBYTE_COLUMNS + ("_airbyte_key",))


def quote(identifier: str) -> str:
    """``identifier`` as a SQL identifier in backticks (Databricks SQL, Spark, delta-rs' predicates), whatever it holds."""
    return "`" + identifier.replace("`", "``") + "`"


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def sanitize(name: str, *, lowercase: bool) -> str:
    """A deterministic safe identifier for ``name``: [A-Za-z_][A-Za-z0-9_]*, at most 120 chars."""
    text = anyascii(name) if not name.isascii() else name
    safe = _UNSAFE.sub("_", text.strip())
    if lowercase:
        safe = safe.lower()
    if not safe or safe[0].isdigit():
        safe = "_" + safe
    if len(safe) > MAX_IDENTIFIER_LENGTH:
        safe = f"{safe[:MAX_IDENTIFIER_LENGTH - 9]}_{_digest(name)}"
    return safe


class StreamKey(NamedTuple):
    """How the protocol names a stream: its namespace (or None) and its name.

    A tuple, so that the per-record lookup `(namespace, name)` is one C-level hash.
    """

    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(frozen=True, order=True)
class TableName:
    """Where a stream lands: a safe schema and table name (both lower case)."""

    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def table_name(stream: StreamKey, default_schema: str) -> TableName:
    """The stream's namespace, when set, replaces the configured schema."""
    schema = stream.namespace if stream.namespace else default_schema
    return TableName(schema=sanitize(schema, lowercase=True), table=sanitize(stream.name, lowercase=True))


def _rank(prop: str) -> tuple:
    """Which of several colliding properties keeps the plain name: one already safe as it is, then one in lower
    case, then the first in code point order. Never the catalog's order, which a re-discovery may change."""
    return (sanitize(prop, lowercase=False) != prop, prop != prop.lower(), prop)


def suffixed(prop: str) -> str:
    """The name of a property whose safe name is taken: that name and a hash of the property itself, so the
    column says which property it holds, whatever else the stream or the table has."""
    base = sanitize(prop, lowercase=False)
    return f"{base[:MAX_IDENTIFIER_LENGTH - 9]}_{_digest(prop)}"


def column_names(properties: list[str], existing: Sequence[str] = ()) -> list[str]:
    """Safe, distinct column names for ``properties``, in their order; ``existing``: the table's columns.

    Databricks compares column names case-insensitively, so distinctness is checked that way; the
    `_airbyte_*` columns are reserved. The mapping does not depend on the order properties are listed in:
    a property keeps the existing column named exactly as it (or as its suffixed name); a property whose
    safe name is taken gets ``suffixed(prop)``; among properties that collide, ``_rank`` decides which keeps
    the plain name. So `ID` and `id` land in the same columns sync after sync, whichever comes first.
    """
    existing = [name for name in existing if name.lower() not in RESERVED]
    exact = set(existing)
    by_lower: dict[str, str] = {}
    for name in existing:
        by_lower.setdefault(name.lower(), name)
    claimed: dict[str, str] = {}  # lower-case column name -> property
    names: dict[str, str] = {}
    order = sorted(dict.fromkeys(properties), key=_rank)
    for prop in order:  # properties whose column the table has: by its suffixed name, or its exact safe name
        plain = sanitize(prop, lowercase=False)
        column = by_lower.get(suffixed(prop).lower()) or (plain if plain in exact else None)
        if column is not None and column.lower() not in claimed:
            names[prop] = column
            claimed[column.lower()] = prop
    for prop in order:  # a table column that differs only in case (a table written by another tool)
        column = by_lower.get(sanitize(prop, lowercase=False).lower())
        if prop not in names and column is not None and column.lower() not in claimed:
            names[prop] = column
            claimed[column.lower()] = prop
    taken = set(claimed) | {name.lower() for name in existing} | RESERVED
    for prop in order:  # new columns
        if prop in names:
            continue
        candidate = sanitize(prop, lowercase=False)
        if candidate.lower() in taken:
            candidate = suffixed(prop)
        n = 1
        while candidate.lower() in taken:  # a property named like another's suffixed name: vanishingly rare
            n += 1
            candidate = f"{suffixed(prop)[:MAX_IDENTIFIER_LENGTH - 4]}_{n}"
        taken.add(candidate.lower())
        names[prop] = candidate
    return [names[prop] for prop in properties]
