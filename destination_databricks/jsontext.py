"""JSON text in and out: orjson where it can, the json module for what orjson refuses."""
from __future__ import annotations

import json
import re
import sys
from typing import Any

import orjson

from .errors import ConfigError

_DEEPEST = 4000


def dumps_exact(value: Any) -> str:
    """JSON text by the json module: integers of any size, NaN/Infinity as they came, any depth."""
    # Input nesting is bounded by orjson's parser (1,024 levels), so this limit is always enough.
    if sys.getrecursionlimit() < _DEEPEST:
        sys.setrecursionlimit(_DEEPEST)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(value: Any) -> bytes:
    """JSON text of ``value`` as UTF-8 bytes (Arrow takes them as strings without a decode per value): orjson,
    or ``dumps_exact`` for what orjson refuses (integers beyond 64 bits, nesting deeper than 254 levels).

    Note that orjson's bytes hold a 4 KiB allocation whatever their length: copy them (append to a
    buffer, decode) before keeping many.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        return dumps_exact(value).encode()


class Verbatim(str):
    """A number's JSON text exactly as it arrived (NaN and Infinity too), so it can leave unchanged."""

    __slots__ = ()


def loads_exact(text: bytes | str) -> Any:
    """Parse JSON with the json module (integers of any size, NaN/Infinity), at any depth orjson reads."""
    if sys.getrecursionlimit() < _DEEPEST:
        sys.setrecursionlimit(_DEEPEST)
    return json.loads(text)


_FRACTIONS_AS_TEXT = json.JSONDecoder(parse_float=str)


def loads_fractions_as_text(text: bytes) -> Any:
    """Parse JSON (UTF-8) keeping every number with a fraction or exponent as its own text (a plain str), integers
    exact. One decoder for every call (``json.loads`` with ``parse_float`` makes a new one each time)."""
    if sys.getrecursionlimit() < _DEEPEST:
        sys.setrecursionlimit(_DEEPEST)
    return _FRACTIONS_AS_TEXT.decode(text.decode("utf-8", "surrogatepass"))


def loads_verbatim(text: bytes | str) -> Any:
    """Parse JSON keeping every number as its own text (``Verbatim``): no rounding, no overflow, no NaN → null."""
    if sys.getrecursionlimit() < _DEEPEST:
        sys.setrecursionlimit(_DEEPEST)
    return json.loads(text, parse_float=Verbatim, parse_int=Verbatim, parse_constant=Verbatim)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    if _SURROGATE.search(out):  # a lone surrogate escape ("\\ud800") is written back as the escape it was
        out = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def dumps_verbatim(value: Any) -> str:
    """JSON text of what ``loads_verbatim`` read (plus plain values added to it): numbers as they arrived."""
    if value.__class__ is Verbatim:
        return str.__str__(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{dumps_verbatim(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps_verbatim(v) for v in value) + "]"
    return json.dumps(value)


def read_json(path: str, what: str) -> Any:
    """A JSON file the user gave us (config, catalog); unreadable or invalid is a config error."""
    try:
        with open(path, "rb") as f:
            return orjson.loads(f.read())
    except OSError as exc:
        raise ConfigError(f"Cannot read the {what} file {path!r}: {exc.strerror}.") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"The {what} file {path!r} is not valid JSON: {exc}.") from None
