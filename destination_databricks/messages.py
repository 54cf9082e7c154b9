"""Protocol messages: reading input lines, and writing messages (LOG, TRACE, STATE…) to stdout."""
from __future__ import annotations

import json
import os
import re
import select
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from .errors import ConnectorError, InputError
from .jsontext import Verbatim, dumps_verbatim, loads_verbatim
from .secrets import mask

# orjson reads integers beyond 64 bits as floats and rounds decimals of 16+ significant digits (it refuses
# 1e400 outright, which sends that line to the exact path too): lines that may hold such numbers take the
# exact path. Mapping digits and "." to 0 and searching for a run of 17 is 8x faster than a regex; a false
# alarm (a long digit string in a text) only costs that line the slower path. Exponents are not looked for:
# in UUIDs "0e000" is common. So an underflowing literal (1e-400) still reads as 0.0.
NUMBER_CHARS = bytes.maketrans(b"123456789.", b"0000000000")
LONG_NUMBER = b"0" * 17


def needs_exact(line: bytes) -> bool:
    """Whether orjson could alter a number of ``line`` (the sync's loop inlines this)."""
    return LONG_NUMBER in line.translate(NUMBER_CHARS)


def exact_data_text(line: bytes) -> bytes:
    """The record's `data` as JSON text with every number exactly as it arrived (for `_airbyte_data`)."""
    data = loads_verbatim(line)["record"]["data"]
    if SURROGATE_ESCAPE.search(line):
        data = without_lone_surrogates(data)
    return dumps_verbatim(data).encode()
# orjson refuses a lone surrogate escape; the json module reads it. Pairs match too, harmlessly.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_line(line: bytes, number: int) -> tuple[dict, bool]:
    """The message on one input line, and whether it needed the exact (slow) parser.

    The exact parser keeps integers of any size and reads NaN/Infinity; the `_airbyte_data` of records it
    parsed is their own text, number for number (``exact_data_text``).
    """
    exact = needs_exact(line)
    try:
        message = json.loads(line) if exact else orjson.loads(line)
    except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as first:
        try:
            message = json.loads(line)
            exact = True
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InputError(f"Input line {number} is not valid JSON ({_shorten(str(first))}).") from None
    if exact and SURROGATE_ESCAPE.search(line):
        message = without_lone_surrogates(message)
    if not isinstance(message, dict):
        raise InputError(f"Input line {number} is not a JSON object, so not an Airbyte message.")
    return message, exact


IDLE = None  # what ``timed_lines`` yields when the input has been quiet for a while


def timed_lines(stream: BinaryIO, idle_seconds: float = 1.0, block: int = 1 << 18) -> Iterator[bytes | None]:
    """The input's lines, and ``IDLE`` whenever no input came for ``idle_seconds``, so a quiet source (a CDC
    source waiting for changes) still gets its STATEs back on time.

    Blocks are read as they arrive (select, then one read) on the calling thread: no reader thread, whose
    own malloc arena cost 6 to 18 MB of peak memory.
    """
    fd = stream.fileno()
    pending: list[bytes] = []  # the start of a line still arriving (a 100 MB record: many blocks, joined once)
    while True:
        if not select.select([fd], [], [], idle_seconds)[0]:
            yield IDLE
            continue
        data = os.read(fd, block)
        if not data:
            break
        if b"\n" not in data:
            pending.append(data)
            continue
        lines = (b"".join(pending) + data if pending else data).split(b"\n")
        pending = [lines.pop()]
        yield from lines
    if pending and pending != [b""]:
        yield b"".join(pending)


def without_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone UTF-16 surrogate replaced by U+FFFD.

    JSON may escape half of a surrogate pair on its own (`"\\ud800"`); the json module reads it into a
    str that no UTF-8 text, so no Parquet file or Delta table, can hold.
    """
    if isinstance(value, str):
        if value.__class__ is Verbatim:  # a number's text
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    return value


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Output:
    """stdout, line by line, shared by threads; protocol messages only, secrets masked in LOG and TRACE."""

    def __init__(self, stream: Any = None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, message: dict[str, Any]) -> None:
        self.line(orjson.dumps(message).decode())

    def log(self, level: str, text: str) -> None:
        self.message({"type": "LOG", "log": {"level": level, "message": mask(text)}})

    def error(self, exc: BaseException) -> None:
        """One TRACE ERROR message for a failure that ends the run."""
        if isinstance(exc, ConnectorError):
            failure_type, text = exc.failure_type, exc.message
        else:
            failure_type, text = "system_error", f"The connector failed: {type(exc).__name__}: {exc}"
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.message({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": _now_ms(), "error": {
            "message": mask(text), "internal_message": mask(f"{type(exc).__name__}: {exc}"),
            "failure_type": failure_type, "stack_trace": mask(stack)}}})
