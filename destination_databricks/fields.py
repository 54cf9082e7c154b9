"""Reading one config field: its type checked, and named in full in the error ("data_source.s3_bucket_name",
"vector_search.indexes[0].stream"). Shared by config.py and vector_search/config.py."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, shown


def text(raw: Mapping[str, Any], key: str, *, prefix: str = "", required: bool = False) -> str | None:
    """The field's text, stripped; None when it is absent or blank (a config error when ``required``).
    ``prefix``: where ``raw`` is in the config, ending in a dot."""
    value = raw.get(key)
    name = f"{prefix}{key}"
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(f"Config field '{name}' is required but missing or empty.")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"Config field '{name}' must be a string, got {type(value).__name__}.")
    return value.strip()


def required(raw: Mapping[str, Any], key: str, *, prefix: str = "") -> str:
    """The field's text, stripped; a config error when it is absent or blank."""
    value = text(raw, key, prefix=prefix, required=True)
    assert value is not None
    return value


def choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], *, prefix: str = "", upper: bool = False) -> str:
    """One of ``choices`` (the first when the field is absent); ``upper``: compared in upper case."""
    value = text(raw, key, prefix=prefix) or choices[0]
    if upper:
        value = value.upper()
    if value not in choices:
        raise ConfigError(f"Config field '{prefix}{key}' must be one of {', '.join(choices)}, got {shown(raw.get(key))}.")
    return value
