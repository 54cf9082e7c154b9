"""A batch's records read from their `data` texts, a batch at a time: one parse per record (orjson; the exact
parser for what orjson refuses: integers past 64 bits, NaN, lone surrogate escapes), then each column's values.

Most texts were cut from their input lines as they came (sync/loop.py): `_airbyte_data` keeps them byte for
byte. A text that is not one JSON value (the line had more record fields between `data` and `emitted_at`) is
read again from its whole line, rebuilt from the stream's prefix, as any other line is read (messages.py).
"""
from __future__ import annotations

import gc
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import orjson

from ..jsontext import dumps_bytes, loads_exact, loads_verbatim
from ..messages import (
    SURROGATE_ESCAPE,
    exact_data_text,
    exact_text,
    fast_data_text,
    parse_line,
    without_lone_surrogates,
)
from .buffer import Layout, StreamBuffer


@contextmanager
def no_collector() -> Iterator[None]:
    """Python's cycle collector paused while a batch's records are parsed and read: they make tens of thousands of
    dicts and lists that live until the batch is built, and each collection would walk them all (a record's parse
    took 8 µs with it running, 3.3 µs without). They hold no cycles; reference counts free them."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


class BadRecord(ValueError):
    """A record that cannot be read: ``row`` of its batch; the message follows "Input line N: "."""

    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row, self.message = row, message


class MissingKey(ValueError):
    """A record of a deduplicated stream without a value for a primary key part."""

    def __init__(self, path: tuple[str, ...], row: int = 0):
        super().__init__(".".join(path))
        self.path, self.row = path, row


@dataclass
class Read:
    """A batch's records as values: ``datas`` (one dict each) and the `data` texts that had to change (row → text:
    the record was read again from its whole line); ``changes``: the source's `meta.changes` found then."""

    datas: list[dict]
    texts: dict[int, bytes] = field(default_factory=dict)
    changes: dict[int, list] = field(default_factory=dict)


def read(buffer: StreamBuffer, prefix: bytes | None = None) -> Read:
    """Parse the buffer's records (``prefix``: how the stream's record lines begin, to rebuild one)."""
    view = memoryview(buffer.data)
    texts = [view[a:b] for a, b in pairwise(buffer.data_ends)]
    try:
        datas = list(map(orjson.loads, texts))
    except orjson.JSONDecodeError:  # NaN, 1e400, a lone surrogate escape, a cut that is no one value
        datas = []
    result = Read(datas)
    if len(datas) != len(texts):
        result.datas = [_one(result, row, text, buffer, prefix) for row, text in enumerate(texts)]
    else:  # orjson read integers past 64 bits as doubles: their records are read again, exactly
        for row in _wide_integers(buffer.data, texts):
            result.datas[row] = loads_exact(bytes(texts[row]))
    for row, data in enumerate(result.datas):
        if data.__class__ is not dict:
            raise BadRecord(row, "the record's 'data' is not an object.")
    return result


# Where an integer literal orjson reads as a double may be: 20 digits or more (past 2^64 - 1), or a minus sign and
# 19 (below -2^63), right after `:`, `,` or `[` once whitespace is set aside. Digits inside a string never follow
# those (a string's own `, 1234…` may: such a record is read exactly, needlessly but correctly).
_MARKS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2D if b == 0x2D else 0x4E if b in b":,[" else 0x78 for b in range(256))
_SPACE = b" \t\r\n"
_WIDE, _WIDE_NEGATIVE = b"N" + b"0" * 20, b"N-" + b"0" * 19


def _wide(text: bytes | bytearray | memoryview) -> bool:
    marked = bytes(text).translate(_MARKS, _SPACE)
    return _WIDE in marked or _WIDE_NEGATIVE in marked


def _wide_integers(data: bytearray, texts: list[memoryview]) -> list[int]:
    """The rows whose text may hold an integer that orjson reads inexactly: one pass over the whole buffer, then,
    only where it found one, a look at each record."""
    return [row for row, text in enumerate(texts) if _wide(text)] if _wide(data) else []


def _one(result: Read, row: int, text: memoryview, buffer: StreamBuffer, prefix: bytes | None) -> Any:
    try:
        data = orjson.loads(text)
        return loads_exact(bytes(text)) if _wide(text) else data
    except orjson.JSONDecodeError:
        pass
    raw = bytes(text)
    try:
        data = loads_exact(raw)
        if SURROGATE_ESCAPE.search(raw):  # half a surrogate pair: U+FFFD in its column and in `_airbyte_data`
            result.texts[row] = exact_text(loads_verbatim(raw), True)
            return without_lone_surrogates(data)
        return data
    except (ValueError, UnicodeDecodeError, RecursionError):
        if prefix is None:
            raise BadRecord(row, "the record's 'data' is not valid JSON.") from None
    # Cut from a line with more record fields after `data`: the whole line, as it was, read as lines are.
    line = prefix + raw + b',"emitted_at":%d}}' % buffer.emitted_at[row]
    message, exact = parse_line(line, buffer.lines[row])  # not JSON: an InputError naming its line
    record = message.get("record")
    if record.__class__ is not dict or record.get("data").__class__ is not dict:
        raise BadRecord(row, "the record's 'data' is not an object.")
    data = record["data"]
    text_of = None if exact else fast_data_text(data, line)
    if text_of is None:
        if not exact:
            data = parse_line(line, buffer.lines[row], exact=True)[0]["record"]["data"]
        text_of = exact_data_text(line)
    result.texts[row] = text_of
    meta = record.get("meta")
    changes = meta.get("changes") if meta.__class__ is dict else None
    if changes.__class__ is list and changes:
        result.changes[row] = changes
    return data


def _at(data: dict, path: tuple[str, ...], row: int) -> Any:
    value: Any = data
    for name in path:
        value = value.get(name) if value.__class__ is dict else None
        if value is None:
            raise MissingKey(path, row)
    return value


def require(datas: list[dict], layout: Layout) -> list[bytes] | None:
    """Check a deduplicated stream's key parts are there; the nested ones' JSON text per record, if any."""
    for name in layout.required:
        values = [d.get(name) for d in datas]
        if None in values:
            raise MissingKey((name,), values.index(None))
    if not layout.key_paths:
        return None
    return [dumps_bytes([_at(d, path, row) for path in layout.key_paths]) for row, d in enumerate(datas)]


def scalar_columns(datas: list[dict], keys: tuple[str, ...]) -> list[tuple]:
    """Each key's values, one tuple per key, in record order (None when absent): read a record at a time in C
    (``map`` of its ``get``), then turned into columns by ``zip``."""
    if not keys:
        return []
    if not datas:
        return [() for _ in keys]
    return list(zip(*[tuple(map(d.get, keys)) for d in datas]))


def json_column(datas: list[dict], key: str) -> tuple[bytearray, array]:
    """Each record's value of ``key`` as JSON text (`null` when absent): the texts back to back, and their Arrow
    offsets. orjson's bytes each hold a 4 KiB allocation, so they are joined a few hundred at a time."""
    dumps = orjson.dumps
    texts, ends = bytearray(), array("i", [0])
    for start in range(0, len(datas), _CHUNK):
        chunk = datas[start:start + _CHUNK]
        try:
            pieces = [dumps(d.get(key)) for d in chunk]
        except TypeError:  # beyond orjson: integers past 64 bits, nesting past 254 levels
            pieces = [dumps_bytes(d.get(key)) for d in chunk]
        at = len(texts)
        for piece in pieces:
            at += len(piece)
            ends.append(at)
        texts += b"".join(pieces)
    return texts, ends


_CHUNK = 512
