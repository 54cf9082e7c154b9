"""Records waiting to become a Parquet file, per stream, under one memory budget for all streams.

A buffer keeps each record's `data` as the JSON text it arrived in (its `_airbyte_data`), back to back in one
byte buffer, with its emitted_at, its input line number and the source's `meta.changes` (rarely any): about 0.7 KB
for a 600-byte record, and no Python object per record. The values of typed columns are read from these texts
when the batch is built (records/batch.py), a batch at a time.

The pool keeps the total of all buffers below a budget by telling the caller which streams to flush
(the largest), so memory does not grow with the number of streams nor with the number of records.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import msgspec


@dataclass(frozen=True)
class Layout:
    """Which record properties a batch reads as values (scalar columns) and which as JSON text; for a
    deduplicated stream, which primary key properties must be there (``required``) and which nested key paths
    are kept as one JSON text per record (``key_paths``: the `_airbyte_key` column)."""

    scalar_keys: tuple[str, ...]
    json_keys: tuple[str, ...]
    required: tuple[str, ...] = ()
    key_paths: tuple[tuple[str, ...], ...] = ()
    exact_keys: tuple[str, ...] = ()  # scalar keys whose numbers are read from their text (DECIMAL columns)


class StreamBuffer:
    """One stream's records, in arrival order."""

    __slots__ = ("changes", "data", "data_ends", "emitted_at", "layout", "lines", "size")

    def __init__(self, layout: Layout):
        self.layout = layout
        self.data = bytearray()  # the records' `data` JSON texts, back to back (UTF-8)
        self.data_ends = array("i", [0])  # Arrow string offsets into ``data``
        self.emitted_at = array("q")  # milliseconds
        self.lines = array("q")  # each record's input line (errors found when the batch is built name it)
        self.size = 0  # bytes of input these records arrived in
        self.changes: dict[int, list] = {}  # row → the source's `meta.changes` of that record (rarely any)

    def __len__(self) -> int:
        return len(self.emitted_at)

    def add(self, text: bytes | memoryview, emitted_at: int, size: int, line: int = 0,
            changes: list | None = None) -> None:
        """Buffer one record: ``text`` is its `data` as JSON text, kept as it is (messages.py makes sure it is
        exactly what the source sent, number for number); ``changes``: the record's `meta.changes`."""
        data = self.data
        data += text
        self.data_ends.append(len(data))
        if changes:
            self.changes[len(self.emitted_at)] = changes
        self.emitted_at.append(emitted_at)
        self.lines.append(line)
        self.size += size


    def extend(self, texts: list[bytes], emitted_at: list[int], first_line: int, size: int) -> None:
        """Buffer records without `meta.changes`, as ``add`` would one by one (lines from ``first_line`` on)."""
        append_texts(texts, self.data, self.data_ends)
        self.emitted_at.extend(emitted_at)
        self.lines.extend(range(first_line, first_line + len(texts)))
        self.size += size


def append_texts(pieces: Sequence[bytes | msgspec.Raw], texts: bytearray, ends: array) -> None:
    """Append texts to back-to-back ``texts`` and their Arrow end offsets to ``ends`` (which ends at ``len(texts)``):
    a buffer's `data` texts, a JSON column's values."""
    ends.pop()  # (the end of the last text: ``accumulate`` starts from it again)
    ends.extend(accumulate(map(len, pieces), initial=len(texts)))
    texts += b"".join(pieces)


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

    def add(self, key: Any, text: bytes | memoryview, emitted_at: int, size: int, line: int = 0,
            changes: list | None = None) -> bool:
        """Buffer one record; True when its stream's buffer is full or the pool is over budget."""
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = StreamBuffer(self.layout_of(key))
        buffer.add(text, emitted_at, size, line, changes)
        self.total += size
        return self.full(buffer) or self.total > self.budget_bytes

    def extend(self, key: Any, texts: list[bytes], emitted_at: list[int], sizes: list[int], start: int,
               first_line: int) -> tuple[int, int, bool]:
        """Buffer records from ``start`` of these lists up to the one ``add`` would say True of: how many were taken,
        their input bytes, and whether the last one filled its stream's buffer or put the pool over budget."""
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = StreamBuffer(self.layout_of(key))
        sums = list(accumulate(sizes[start:]))
        taken = min(len(sums), max(1, self.stream_batch_rows - len(buffer)),
                    bisect_left(sums, self.stream_batch_bytes - buffer.size) + 1,  # size >= the batch's bytes
                    bisect_right(sums, self.budget_bytes - self.total) + 1)  # total > the budget
        size = sums[taken - 1]
        buffer.extend(texts[start:start + taken], emitted_at[start:start + taken], first_line, size)
        self.total += size
        return taken, size, self.full(buffer) or self.total > self.budget_bytes

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
