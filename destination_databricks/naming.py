"""Stream, namespace and property names → identifiers that are safe in SQL and in storage paths.

Every name is transliterated to ASCII, and anything but letters, digits and `_` becomes `_`. That
removes quotes, backticks, `;`, spaces, `/` and `.` (so `../` cannot climb out of a folder) and the
characters Delta rejects in column names (` ,;{}()\\n\\t=`). Names too long are cut and given a hash
of the original, so they stay distinct.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from anyascii import anyascii

MAX_IDENTIFIER_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
AIRBYTE_COLUMNS = ("_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data")


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


def column_names(properties: list[str]) -> list[str]:
    """Safe, distinct column names for ``properties``, in order.

    Databricks compares column names case-insensitively, so distinctness is checked that way; the
    `_airbyte_*` columns are reserved. A later duplicate gets `_2`, `_3`, … in property order.
    """
    taken = {c.lower() for c in AIRBYTE_COLUMNS}
    names = []
    for prop in properties:
        base = sanitize(prop, lowercase=False)
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate.lower())
        names.append(candidate)
    return names
