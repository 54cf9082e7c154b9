"""Protocol messages: reading input lines, and writing messages (LOG, TRACE, STATE…) to stdout."""
from __future__ import annotations

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

from .errors import ConnectorError, InputError, classified
from .jsontext import Verbatim, dumps_bytes, dumps_verbatim, loads_exact, loads_verbatim
from .secrets import mask

# A record's `_airbyte_data` is orjson's text of its data when that text keeps every number as it came: orjson
# writes a double in its shortest round-trip form (what Python, JavaScript, Java and Go print) and an integer
# of up to 64 bits as is, so nearly every number survives. The few that do not (integers past 64 bits, decimals
# with more digits than a double holds, `1.10`, `0.1e1`, `1E-400`, `-0`) send their line to the exact parser.
# The test: orjson's text is in the line as it is (a source that writes compact JSON, as orjson and the CDK
# do), or the two compare equal with everything but number characters and JSON's structure removed (a
# string's letters cannot hide a number's change; numbers sit between `,:[]{}` so a changed one always shows).
_KEPT = b'0123456789.eE+-,:[]{}"'
_ELSE = bytes(sorted(set(range(256)) - set(_KEPT)))
_ELSE_AND_NON_ASCII = bytes(sorted(set(_ELSE) | set(range(128, 256))))
_UNICODE_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")


def fast_data_text(data: dict, line: bytes) -> bytes | None:
    """``data`` as orjson writes it, if every number in it reads as it came in ``line``; else None (the line
    takes the exact path). A source that escapes non-ASCII letters (`\\u00e9`) gets a second look with the
    escapes and non-ASCII bytes set aside, since orjson writes those letters as UTF-8."""
    try:
        text = orjson.dumps(data)
    except TypeError:  # nesting past 254 levels: the json module writes it (and the check below still holds)
        text = dumps_bytes(data)
    if text in line or text.translate(None, _ELSE) in line.translate(None, _ELSE):  # the first: a compact source
        return text
    if b"\\u" in line and (text.translate(None, _ELSE_AND_NON_ASCII)
                           in _UNICODE_ESCAPE.sub(b"", line).translate(None, _ELSE_AND_NON_ASCII)):
        return text
    return None


def data_text(data: dict, line: bytes, exact: bool) -> bytes:
    """The record's `data` text with every number as it came in ``line``: orjson's where that holds, else the
    exact parser's (``exact``: the line was read by the exact parser already)."""
    text = None if exact else fast_data_text(data, line)
    return exact_data_text(line) if text is None else text


def changes_of(record: dict) -> list | None:
    """The source's `meta.changes` of a record, if it gives any."""
    meta = record.get("meta")
    changes = meta.get("changes") if meta.__class__ is dict else None
    return changes if changes.__class__ is list and changes else None


def exact_data_text(line: bytes) -> bytes:
    """The record's `data` as JSON text with every number exactly as it arrived (for `_airbyte_data`)."""
    return exact_text(loads_verbatim(line)["record"]["data"], bool(SURROGATE_ESCAPE.search(line)))


def exact_text(data: Any, surrogates: bool) -> bytes:
    """JSON text of what ``loads_verbatim`` read, numbers as they arrived; ``surrogates``: the text may escape half
    a surrogate pair, which no UTF-8 text can hold: it becomes U+FFFD."""
    return dumps_verbatim(without_lone_surrogates(data) if surrogates else data).encode()
# orjson refuses a lone surrogate escape; the json module reads it. Pairs match too, harmlessly.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_line(line: bytes, number: int, exact: bool = False) -> tuple[dict, bool]:
    """The message on one input line, and whether it needed the exact (slow) parser: orjson first, unless
    ``exact``; the json module for what orjson refuses (NaN, Infinity, `1e400`, lone surrogate escapes).

    The exact parser keeps integers of any size and reads NaN/Infinity; the `_airbyte_data` of records it
    parsed is their own text, number for number (``exact_data_text``).
    """
    try:
        message = loads_exact(line) if exact else orjson.loads(line)
    except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as first:
        try:
            message = loads_exact(line)
            exact = True
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InputError(f"Input line {number} is not valid JSON ({_shorten(str(first))}).") from None
    if exact and SURROGATE_ESCAPE.search(line):
        message = without_lone_surrogates(message)
    if not isinstance(message, dict):
        raise InputError(f"Input line {number} is not a JSON object, so not an Airbyte message.")
    return message, exact


IDLE = None  # what ``timed_blocks`` yields when the input has been quiet for a while


def timed_blocks(stream: BinaryIO, idle_seconds: float = 1.0, block: int = 1 << 18) -> Iterator[list[bytes] | None]:
    """The input's lines, a list of them per read (every line the read completed), and ``IDLE`` whenever no input
    came for ``idle_seconds``, so a quiet source (a CDC source waiting for changes) still gets its STATEs back on
    time. The loop takes a stream's records in runs from a list (sync/loop.py).

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
        yield lines
    if pending and pending != [b""]:
        yield [b"".join(pending)]


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
        self.stream = stream  # None: sys.stdout as it is at each write (protect_stdout may replace it)
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            stream = self.stream or sys.stdout
            stream.write(text + "\n")
            stream.flush()

    def message(self, message: dict[str, Any]) -> None:
        self.line(orjson.dumps(message).decode())

    def log(self, level: str, text: str) -> None:
        self.message({"type": "LOG", "log": {"level": level, "message": mask(text)}})

    def error(self, exc: BaseException) -> None:
        """One TRACE ERROR message for a failure that ends the run."""
        known = exc if isinstance(exc, ConnectorError) else classified(exc)
        if known is not None:
            failure_type, text = known.failure_type, known.message
        else:
            failure_type, text = "system_error", f"The connector failed: {type(exc).__name__}: {exc}"
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.message({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": _now_ms(), "error": {
            "message": mask(text), "internal_message": mask(f"{type(exc).__name__}: {exc}"),
            "failure_type": failure_type, "stack_trace": mask(stack)}}})


def protect_stdout() -> None:
    """From now on file descriptor 1 is stderr's, and sys.stdout writes to a copy of the original: a native library
    that prints to descriptor 1 (Zerobus's SDK logs there) cannot break the protocol's messages. Once per process."""
    if getattr(sys.stdout, "protected", False):
        return
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    protocol.protected = True  # type: ignore[attr-defined]
    sys.stdout = protocol
