"""A batch's records read from their `data` texts, a batch at a time, 1,024 records at a time: by msgspec straight into
columns (records/rows.py) when it reads them as the json module does; else one parse per record (orjson; the exact
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
from operator import itemgetter
from typing import Any

import orjson

from ..jsontext import dumps_bytes, loads_exact, loads_verbatim
from ..messages import SURROGATE_ESCAPE, changes_of, data_text, exact_text, parse_line, without_lone_surrogates
from .buffer import Layout, StreamBuffer, append_texts
from .exact_numbers import ExactNumbers
from .rows import RowReader, reader


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
class Columns:
    """A batch's values, column by column: the scalar columns' values and the JSON columns' texts (in the
    layout's order), the `_airbyte_key` texts, and the `data` texts that had to change (row → text: the record was
    read again from its whole line, or held half a surrogate pair) with the source's `meta.changes` found then."""

    scalars: list[list]
    json: list[tuple[bytearray, array]]
    keys: list[bytes] | None
    texts: dict[int, bytes] = field(default_factory=dict)
    changes: dict[int, list] = field(default_factory=dict)


CHUNK = 1024  # records parsed at a time: their dicts live only until their values are read (a batch holds ~7,000)


def columns(buffer: StreamBuffer, layout: Layout, prefix: bytes | None = None) -> Columns:
    """Parse the buffer's records, a chunk at a time, into the layout's columns (``prefix``: how the stream's record
    lines begin, to rebuild one). A chunk msgspec reads (records/rows.py) makes no dict; others are read here."""
    out = Columns([[] for _ in layout.scalar_keys], [(bytearray(), array("i", [0])) for _ in layout.json_keys],
                  [] if layout.key_paths else None)
    view, n, ends = memoryview(buffer.data), len(buffer), buffer.data_ends
    fast = reader(layout, buffer.data)
    exact = ExactNumbers(buffer, layout.exact_keys, out.texts) if layout.exact_keys else None
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        texts = [view[a:b] for a, b in pairwise(ends[start:stop + 1])]  # msgspec reads views (no copy) fastest
        if fast is not None and (got := fast.read(texts)) is not None:
            _fast_chunk(fast, got, out, start)
            continue
        datas = read(buffer, list(map(bytes, texts)), prefix, start, out)  # orjson reads bytes faster
        if exact is not None:
            exact.fill(datas, start)
        keys = require(datas, layout, start)
        if out.keys is not None and keys is not None:
            out.keys += keys
        for values, found in zip(out.scalars, scalar_columns(datas, layout.scalar_keys)):
            values += found
        for (column, column_ends), key in zip(out.json, layout.json_keys):
            json_column(datas, key, column, column_ends)
    return out


def _fast_chunk(fast: RowReader, got: tuple[list[list], list[list]], out: Columns, start: int) -> None:
    scalars, json = got
    for key, index in fast.required:
        if None in scalars[index]:
            raise MissingKey((key,), start + scalars[index].index(None))
    for values, found in zip(out.scalars, scalars):
        values += found
    for (texts, ends), raws in zip(out.json, json):
        append_texts(raws, texts, ends)


def read(buffer: StreamBuffer, texts: list[bytes], prefix: bytes | None, start: int, out: Columns) -> list[dict]:
    """The records ``texts`` (rows from ``start`` of the buffer), parsed."""
    try:
        datas = list(map(orjson.loads, texts))
    except orjson.JSONDecodeError:  # NaN, 1e400, a lone surrogate escape, a cut that is no one value
        datas = [_one(out, start + i, text, buffer, prefix) for i, text in enumerate(texts)]
    else:
        if _wide(b"".join(texts)):  # one look at the chunk; its records are looked at only if it found something
            for i, text in enumerate(texts):
                if _wide(text):
                    datas[i] = loads_exact(text)  # integers past 64 bits: read again, exactly
    for i, data in enumerate(datas):
        if data.__class__ is not dict:
            raise BadRecord(start + i, "the record's 'data' is not an object.")
    return datas


# Where an integer literal orjson reads as a double may be: 20 digits or more (past 2^64 - 1), or a minus sign and
# 19 (below -2^63), right after `:`, `,` or `[` once whitespace is set aside. Digits inside a string never follow
# those (a string's own `, 1234…` may: such a record is read exactly, needlessly but correctly).
_MARKS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2D if b == 0x2D else 0x4E if b in b":,[" else 0x78 for b in range(256))
_SPACE = b" \t\r\n"
_WIDE, _WIDE_NEGATIVE = b"N" + b"0" * 20, b"N-" + b"0" * 19


def _wide(text: bytes) -> bool:
    marked = text.translate(_MARKS, _SPACE)
    return _WIDE in marked or _WIDE_NEGATIVE in marked


def _one(result: Columns, row: int, text: bytes, buffer: StreamBuffer, prefix: bytes | None) -> Any:
    try:
        data = orjson.loads(text)
        return loads_exact(text) if _wide(text) else data
    except orjson.JSONDecodeError:
        pass
    raw = text
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
    result.texts[row] = rewritten = data_text(record["data"], line, exact)
    changes = changes_of(record)
    if changes:
        result.changes[row] = changes
    return _one(result, row, rewritten, buffer, None)  # read as the text it now has


def _at(data: dict, path: tuple[str, ...], row: int) -> Any:
    value: Any = data
    for name in path:
        value = value.get(name) if value.__class__ is dict else None
        if value is None:
            raise MissingKey(path, row)
    return value


def require(datas: list[dict], layout: Layout, start: int = 0) -> list[bytes] | None:
    """Check a deduplicated stream's key parts are there (rows from ``start``); the nested ones' JSON text per
    record, if any."""
    for name in layout.required:
        values = [d.get(name) for d in datas]
        if None in values:
            raise MissingKey((name,), start + values.index(None))
    if not layout.key_paths:
        return None
    return [dumps_bytes([_at(d, path, start + row) for path in layout.key_paths]) for row, d in enumerate(datas)]


def scalar_columns(datas: list[dict], keys: tuple[str, ...]) -> list[tuple]:
    """Each key's values, one tuple per key, in record order (None when absent): read a record at a time in C
    (``itemgetter``, or ``map`` of its ``get`` when a record lacks a key), then turned into columns by ``zip``."""
    if not keys:
        return []
    if not datas:
        return [() for _ in keys]
    if len(keys) > 1:
        try:
            return list(zip(*map(itemgetter(*keys), datas)))  # 0.05 s per 200,000 records of 10 keys, not 0.1
        except KeyError:
            pass
    return list(zip(*[tuple(map(d.get, keys)) for d in datas]))


def json_column(datas: list[dict], key: str, texts: bytearray, ends: array) -> None:
    """Append each record's value of ``key`` as JSON text (`null` when absent) to ``texts``, and its Arrow offset
    to ``ends``. orjson's bytes each hold a 4 KiB allocation, so they are joined a few hundred at a time."""
    dumps = orjson.dumps
    for start in range(0, len(datas), _CHUNK):
        chunk = datas[start:start + _CHUNK]
        try:
            pieces = [dumps(d.get(key)) for d in chunk]
        except TypeError:  # beyond orjson: integers past 64 bits, nesting past 254 levels
            pieces = [dumps_bytes(d.get(key)) for d in chunk]
        append_texts(pieces, texts, ends)


_CHUNK = 512
