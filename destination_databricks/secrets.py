"""Secret config values (fields marked `airbyte_secret` in spec.json), masked out of everything we print."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

MASK = "****"
_registered: set[str] = set()


def _secret_fields(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("airbyte_secret"):
                yield name
            yield from _secret_fields(prop)
        for key in ("oneOf", "anyOf", "allOf"):
            for option in schema.get(key) or []:
                yield from _secret_fields(option)


def spec() -> dict:
    with open(os.path.join(os.path.dirname(__file__), "spec.json"), "rb") as f:
        return json.load(f)


def _values(config: Any, fields: set[str]) -> Iterator[str]:
    if isinstance(config, Mapping):
        for key, value in config.items():
            if key in fields and isinstance(value, str) and value:
                yield value
            else:
                yield from _values(value, fields)


def forms(value: str) -> set[str]:
    """Every form in which a secret may be used or echoed back: as given, trimmed, without the leading `?` of a
    SAS token, URL-encoded or decoded, and a SAS token's signature alone (an error may quote just that)."""
    given = {value, value.strip(), value.strip().lstrip("?")}
    found = set(given)
    for form in given:
        found |= {quote(form, safe=""), quote_plus(form), unquote(form), quote(form, safe="=&")}
        found |= {v for k, v in parse_qsl(form) if k == "sig"}
    found |= {quote(s, safe="") for s in set(found)} | {unquote(s) for s in set(found)}
    return {s for s in found if len(s) >= 3}


def register(config: Mapping[str, Any]) -> None:
    """Remember the config's secret values so ``mask`` hides them from now on, in every form (``forms``)."""
    fields = set(_secret_fields(spec()["connectionSpecification"]))
    for value in _values(config, fields):
        _registered.update(forms(value))


def mask(text: str) -> str:
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
