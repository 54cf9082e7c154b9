"""Reading protocol messages from stdin and writing them to stdout (one JSON object per line)."""
from __future__ import annotations

import json
import re
import sys
import threading
from typing import Any

import orjson

from .errors import InputError

# orjson reads integers beyond 64 bits as floats, losing digits; such lines go to the json module.
_LONG_DIGITS = re.compile(rb"\d{19}")


def parse_line(line: bytes, number: int) -> tuple[dict, bool]:
    """The message on one input line, and whether it needed the exact (slow) parser.

    The exact parser keeps integers of any size and reads NaN/Infinity; records it parsed are kept
    verbatim in `_airbyte_data`, since orjson cannot write them back.
    """
    exact = _LONG_DIGITS.search(line) is not None
    try:
        message = json.loads(line) if exact else orjson.loads(line)
    except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as first:
        try:
            message = json.loads(line)
            exact = True
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InputError(f"Input line {number} is not valid JSON ({_describe(first)}).") from None
    if not isinstance(message, dict):
        raise InputError(f"Input line {number} is not a JSON object, so not an Airbyte message.")
    return message, exact


def _describe(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "…"


class Output:
    """stdout, line by line, safe to share between threads; carries protocol messages only."""

    def __init__(self, stream: Any = None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, message: dict[str, Any]) -> None:
        self.line(orjson.dumps(message).decode())
