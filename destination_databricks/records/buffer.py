"""Records waiting to become a Parquet file, per stream, under one memory budget for all streams.

A buffer keeps no record as a dict. On arrival a record is split into what its file needs: its
`_airbyte_data` JSON text appended to one byte buffer, the text of each JSON column (nested objects,
arrays, unions) likewise, and one tuple of its scalar column values. That is about half the memory of the dicts (1.1 KB instead
of 2.1 KB for bench/generate.py's 490-byte records) and the texts become Arrow strings without a copy.

The pool keeps the total of all buffers below a budget by telling the caller which streams to flush
(the largest), so memory does not grow with the number of streams nor with the number of records.
"""
from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..jsontext import dumps_bytes


@dataclass(frozen=True)
class Layout:
    """Which record properties a buffer keeps as values (scalar columns) and which as JSON text; for a
    deduplicated stream, which primary key properties must be there (``required``) and which nested key paths
    are kept as one JSON text per record (``key_paths``: the `_airbyte_key` column)."""

    scalar_keys: tuple[str, ...]
    json_keys: tuple[str, ...]
    required: tuple[str, ...] = ()
    key_paths: tuple[tuple[str, ...], ...] = ()


class MissingKey(ValueError):
    """A record of a deduplicated stream without a value for a primary key part."""

    def __init__(self, path: tuple[str, ...]):
        super().__init__(".".join(path))
        self.path = path


def _at(data: dict, path: tuple[str, ...]) -> Any:
    value: Any = data
    for name in path:
        value = value.get(name) if value.__class__ is dict else None
        if value is None:
            raise MissingKey(path)
    return value

_dumps = orjson.dumps


class StreamBuffer:
    """One stream's records, column by column, in arrival order."""

    __slots__ = ("changes", "data", "data_ends", "emitted_at", "json", "key", "layout", "rows", "size")

    def __init__(self, layout: Layout):
        self.layout = layout
        self.data = bytearray()  # `_airbyte_data` texts, back to back (UTF-8)
        self.data_ends = array("i", [0])  # Arrow string offsets into ``data``
        # (texts, offsets) per JSON column, in layout.json_keys order; JSON null stands for null.
        self.json = [(bytearray(), array("i", [0])) for _ in layout.json_keys]
        self.rows: list[tuple] = []  # the scalar columns' values, in layout.scalar_keys order
        self.emitted_at = array("q")  # milliseconds
        self.size = 0  # bytes of input these records arrived in
        self.changes: dict[int, list] = {}  # row → the source's `meta.changes` of that record (rarely any)
        self.key = (bytearray(), array("i", [0]))  # the nested key parts' JSON text per record, if the layout has any

    def __len__(self) -> int:
        return len(self.emitted_at)

    def add(self, data: dict, emitted_at: int, size: int, verbatim: bytes | None = None,
            changes: list | None = None) -> None:
        """Buffer one record; ``verbatim`` is its JSON text to keep as it came (see messages.parse_line);
        ``changes``: what the source changed in it (the record's `meta.changes`)."""
        get = data.get
        layout = self.layout
        if layout.required:
            for name in layout.required:
                if get(name) is None:
                    raise MissingKey((name,))
            if layout.key_paths:
                texts, ends = self.key
                texts += dumps_bytes([_at(data, path) for path in layout.key_paths])
                ends.append(len(texts))
        json_keys = layout.json_keys
        try:
            text = _dumps(data) if verbatim is None else verbatim
            json = [_dumps(get(key)) for key in json_keys]
        except TypeError:  # beyond orjson: integers past 64 bits, nesting past 254 levels
            text = dumps_bytes(data) if verbatim is None else verbatim
            json = [dumps_bytes(get(key)) for key in json_keys]
        # Appending copies orjson's bytes, which each hold a 4 KiB allocation (more for longer texts).
        self.data += text
        self.data_ends.append(len(self.data))
        for (texts, ends), piece in zip(self.json, json):
            texts += piece
            ends.append(len(texts))
        self.rows.append(tuple(map(get, self.layout.scalar_keys)))
        if changes:
            self.changes[len(self.emitted_at)] = changes
        self.emitted_at.append(emitted_at)
        self.size += size


class BufferPool:
    """Tracks the bytes buffered by every stream against one budget.

    ``layout_of(key)`` says how a stream's records are split; it is asked once per new buffer.
    """

    def __init__(self, budget_bytes: int, stream_batch_bytes: int, stream_batch_rows: int,
                 layout_of: Callable[[Any], Layout]):
        self.budget_bytes = budget_bytes
        self.stream_batch_bytes = stream_batch_bytes
        self.stream_batch_rows = stream_batch_rows
        self.layout_of = layout_of
        self.total = 0
        self.buffers: dict[Any, StreamBuffer] = {}

    def add(self, key: Any, data: dict, emitted_at: int, size: int, verbatim: bytes | None = None,
            changes: list | None = None) -> bool:
        """Buffer one record; True when its stream's buffer is full or the pool is over budget."""
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = StreamBuffer(self.layout_of(key))
        buffer.add(data, emitted_at, size, verbatim, changes)
        self.total += size
        return self.full(buffer) or self.total > self.budget_bytes

    def full(self, buffer: StreamBuffer) -> bool:
        # The byte limit also keeps a buffer's texts far below the 2 GiB its 32-bit offsets can address.
        return buffer.size >= self.stream_batch_bytes or len(buffer) >= self.stream_batch_rows

    def over_budget(self) -> bool:
        return self.total > self.budget_bytes

    def to_evict(self) -> list[Any]:
        """The largest buffers that, flushed, bring the pool down to half its budget.

        Evicting down to half, not just below the budget, keeps the scan over all buffers rare: with
        10,000 streams, flushing one buffer at a time rescanned them on nearly every record.
        """
        target = self.budget_bytes // 2
        ordered = sorted(self.buffers, key=lambda k: self.buffers[k].size, reverse=True)
        evict, total = [], self.total
        for key in ordered:
            if total <= target:
                break
            evict.append(key)
            total -= self.buffers[key].size
        return evict

    def take(self, key: Any) -> StreamBuffer:
        buffer = self.buffers.pop(key)
        self.total -= buffer.size
        return buffer
