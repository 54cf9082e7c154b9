"""Secret config values (fields marked `airbyte_secret` in spec.json), masked out of everything we print."""
from __future__ import annotations

import base64
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


def _basic_credentials(config: Any) -> Iterator[str]:
    """The HTTP Basic credentials (base64 of `id:secret`) of each client id and secret in the config: the OAuth
    token exchange sends them in its Authorization header, which a server may echo."""
    if isinstance(config, Mapping):
        client_id, secret = config.get("databricks_client_id"), config.get("databricks_client_secret")
        if isinstance(client_id, str) and isinstance(secret, str) and secret:
            for pair in {f"{i}:{s}" for i in (client_id, client_id.strip()) for s in (secret, secret.strip())}:
                encoded = base64.b64encode(pair.encode()).decode()
                yield from (encoded, encoded.rstrip("="), base64.urlsafe_b64encode(pair.encode()).decode())
        for value in config.values():
            yield from _basic_credentials(value)


def register(config: Mapping[str, Any]) -> None:
    """Remember the config's secret values so ``mask`` hides them from now on, in every form (``forms``), and
    the Basic credentials the OAuth token exchange makes of a client id and secret."""
    fields = set(_secret_fields(spec()["connectionSpecification"]))
    for value in _values(config, fields):
        _registered.update(forms(value))
    for credentials in _basic_credentials(config):
        _registered.update(forms(credentials))


def mask(text: str) -> str:
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
