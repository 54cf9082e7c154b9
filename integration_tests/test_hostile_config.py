"""Every field of spec.json fed a hostile value (quotes, backticks, newlines, `;`, `..`, 10 KB strings, wrong types):
`check` answers FAILED or SUCCEEDED with a short message and never crashes, and every statement the warehouse
received keeps each hostile value inside a quoted identifier or a string literal.

`check` runs in this process (as `DestinationDatabricks.check`, what the console script calls), so the
hundreds of checks cost no interpreter start each."""
from __future__ import annotations

import copy
import json
import logging
import re
import urllib.request

import pytest

from destination_databricks.destination import DestinationDatabricks

from .destinations import AzureDatabricksDestination, LocalDestination, ManagedDestination, S3DatabricksDestination

MARK = "zqx"  # in every hostile text: found outside quotes in a statement, a value escaped its quoting
TEXTS = [f"{MARK}'s", f"a`{MARK}", f"line\n{MARK}", f"{MARK}; DROP TABLE t --", f"../{MARK}/..", f"{MARK}\\",
         f'"{MARK}"', MARK * 3400]
WRONG = {"string": [123, [MARK], {MARK: 1}], "integer": [MARK, -1, 10 ** 30, 1.5], "number": [MARK, -1.0],
         "boolean": [MARK, 2], "object": [MARK, [MARK]], "array": [MARK, [{MARK: MARK}]]}
QUOTED = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'", re.S)


def _spec() -> dict:
    from destination_databricks import secrets

    return secrets.spec()["connectionSpecification"]


def _fields(schema: dict, config: dict, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, JSON type) of every field the spec allows where ``config`` has its object: the branch of a oneOf
    that ``config`` took, and one index of each list."""
    found = []
    branches = [schema] + [b for b in schema.get("oneOf", []) if _takes(b, config)]
    for branch in branches:
        for name, prop in (branch.get("properties") or {}).items():
            kind = prop.get("type") or ("object" if "oneOf" in prop else "string")
            found.append(((*path, name), kind))
            value = config.get(name) if isinstance(config, dict) else None
            if isinstance(value, dict):
                found += _fields(prop, value, (*path, name))
            elif isinstance(value, list) and value and isinstance(value[0], dict) and "items" in prop:
                found += _fields(prop["items"], value[0], (*path, name, 0))
    return sorted(set(found))


def _takes(branch: dict, config: dict) -> bool:
    """Whether ``config`` is of this oneOf branch (its `const` discriminator matches)."""
    for name, prop in (branch.get("properties") or {}).items():
        const = prop.get("const", (prop.get("enum") or [None])[0] if len(prop.get("enum") or []) == 1 else None)
        if const is not None and isinstance(config, dict):
            return config.get(name) == const
    return False


def _with(config: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(config)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def _base(kind: str, request, tmp_path) -> tuple[dict, dict | None]:
    if kind == "local":
        return LocalDestination(tmp_path / "out").config(), None
    w = request.getfixturevalue("warehouse")
    if kind == "s3":
        return S3DatabricksDestination(w).config(), w
    if kind == "azure":
        return AzureDatabricksDestination(w).config(), w
    vector_search = {"endpoint_name": "vs-endpoint", "indexes": [
        {"stream": "docs", "namespace": "default", "index_name": "main.default.docs_index", "primary_key": "id",
         "embedding_source_column": "text", "embedding_model_endpoint_name": "embedder",
         "columns_to_sync": ["id", "text"], "pipeline_type": "TRIGGERED"}]}
    return ManagedDestination(w, oauth=kind == "managed-oauth").config(vector_search=vector_search), w


@pytest.fixture
def quick_retries(monkeypatch):
    """A value that sends a request nowhere is retried as a network failure: briefly here (minutes by default)."""
    from destination_databricks import settings

    for name, value in {"RETRY_ATTEMPTS": "2", "RETRY_BACKOFF_SECONDS": "0.05", "RETRY_MAX_SECONDS": "2"}.items():
        monkeypatch.setenv(f"DESTINATION_DATABRICKS_{name}", value)
    settings.current.cache_clear()
    yield
    settings.current.cache_clear()


@pytest.mark.parametrize("kind", ["local", "s3", "azure", "managed", "managed-oauth"])
def test_every_spec_field_with_a_hostile_value_gets_a_clear_answer_and_stays_quoted(kind, request, tmp_path,
                                                                                    quick_retries):
    base, warehouse = _base(kind, request, tmp_path)
    request.getfixturevalue("monkeypatch").chdir(tmp_path)  # a hostile relative local_path lands here, not in the tree
    destination = DestinationDatabricks()
    logger = logging.getLogger("airbyte")
    unclear = []
    fields = _fields(_spec(), base)
    assert len(fields) >= 10, fields
    if kind == "managed-oauth":  # the fields it shares with "managed" are tried there
        fields = [(path, json_type) for path, json_type in fields if path[0] == "authentication"]
    for path, json_type in fields:
        for value in (TEXTS if json_type == "string" else []) + WRONG.get(json_type, []):
            status = destination.check(logger, _with(base, path, value))
            message = status.message or ""
            if status.status.name not in ("SUCCEEDED", "FAILED") or "Traceback" in message or len(message) > 3000 or (
                    status.status.name == "FAILED" and not message.strip()):
                unclear.append((".".join(map(str, path)), repr(value)[:40], message[:200]))
    assert not unclear, unclear[:10]
    if warehouse is not None:
        with urllib.request.urlopen(f"{warehouse['hostname']}:{warehouse['port']}/_local/statements") as answer:
            statements = json.load(answer)["statements"]
        # (a hostile client id or secret is refused at sign-in, before any statement)
        assert statements or kind == "managed-oauth", "no check reached the warehouse: the quoting was never tested"
        escaped = [s[:300] for s in statements if MARK in QUOTED.sub("", s)]
        assert not escaped, escaped[:5]
