"""Records waiting to become a Parquet file, per stream, under one memory budget for all streams.

A stream's buffer is three lists; an idle stream's is empty. The pool keeps the total of all buffers
below a budget by telling the caller which stream to flush (the largest), so memory does not grow with
the number of streams nor with the number of records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .batch import dumps_bytes


@dataclass
class StreamBuffer:
    records: list[dict] = field(default_factory=list)
    emitted_at: list[int] = field(default_factory=list)
    verbatim: dict[int, str] = field(default_factory=dict)  # index → JSON text to keep as it came
    size: int = 0  # bytes of input these records arrived in

    def __len__(self) -> int:
        return len(self.records)

    def data_json(self) -> list:
        """`_airbyte_data` for each record (UTF-8 bytes or str), serialised once per batch."""
        try:
            out = list(map(orjson.dumps, self.records))
        except TypeError:  # integers beyond 64 bits: only in records kept verbatim, or JSON-built ones
            out = [dumps_bytes(record) for record in self.records]
        for i, text in self.verbatim.items():
            out[i] = text
        return out


class BufferPool:
    """Tracks the bytes buffered by every stream against one budget."""

    def __init__(self, budget_bytes: int, stream_batch_bytes: int, stream_batch_rows: int):
        self.budget_bytes = budget_bytes
        self.stream_batch_bytes = stream_batch_bytes
        self.stream_batch_rows = stream_batch_rows
        self.total = 0
        self.buffers: dict[Any, StreamBuffer] = {}

    def add(self, key: Any, data: dict, emitted_at: int, size: int, verbatim: str | None = None) -> bool:
        """Buffer one record; True when its stream's buffer is full or the pool is over budget."""
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = StreamBuffer()
        if verbatim is not None:
            buffer.verbatim[len(buffer.records)] = verbatim
        buffer.records.append(data)
        buffer.emitted_at.append(emitted_at)
        buffer.size += size
        self.total += size
        return (buffer.size >= self.stream_batch_bytes or len(buffer.records) >= self.stream_batch_rows
                or self.total > self.budget_bytes)

    def full(self, buffer: StreamBuffer) -> bool:
        return buffer.size >= self.stream_batch_bytes or len(buffer.records) >= self.stream_batch_rows

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
