"""Which STATE messages may be released, and when: only once every record before them is committed.

A per-stream STATE waits for its own stream's records; a global (or legacy) STATE waits for every
stream's. STATEs leave in the order they came, except that a per-stream STATE may pass a waiting
STATE of another stream. Each released STATE carries `destinationStats.recordCount`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .jsontext import dumps_verbatim, loads_verbatim
from .naming import StreamKey


class _Waiting:
    __slots__ = ("line", "needs", "stream")

    def __init__(self, line: str, stream: StreamKey | None, needs: tuple[tuple[StreamKey, int], ...]):
        self.line = line  # the STATE message as received, with destinationStats added, as JSON text
        self.stream = stream  # None for a global or legacy state
        self.needs = needs  # (stream, records that must be committed in it), …


def state_stream(state: Mapping[str, Any]) -> StreamKey | None:
    """The stream a per-stream STATE is about; None for GLOBAL and LEGACY states."""
    if state.get("type") != "STREAM":
        return None
    descriptor = (state.get("stream") or {}).get("stream_descriptor") or {}
    return StreamKey(descriptor.get("namespace") or None, str(descriptor.get("name")))


class Checkpoints:
    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.committed: dict[StreamKey, int] = {}
        self._counted_at_last: dict[StreamKey, int] = {}
        self._total_at_last = 0

    def received(self, line: bytes, received: Mapping[StreamKey, int]) -> None:
        """A STATE arrived, as input ``line``, after ``received[s]`` records of each stream s.

        It leaves as it came, value for value: the line is parsed again keeping every number's own text
        (orjson would round a cursor of 18 digits and a fraction, and turn 1e400 or NaN into null).
        """
        message = loads_verbatim(line)
        state = message.get("state") or {}
        if not isinstance(state, dict):
            raise InputError("A STATE message whose 'state' is not an object.")
        stream = state_stream(state)
        if stream is None:
            total = sum(received.values())
            count = total - self._total_at_last
            self._total_at_last = total
            self._counted_at_last = dict(received)
            needs = tuple((s, n) for s, n in received.items() if n > self.committed.get(s, 0))
        else:
            n = received.get(stream, 0)
            count = n - self._counted_at_last.get(stream, 0)
            self._counted_at_last[stream] = n
            needs = ((stream, n),) if n > self.committed.get(stream, 0) else ()
        stats = dict(state.get("destinationStats") or {})
        stats["recordCount"] = float(count)
        message = {**message, "state": {**state, "destinationStats": stats}}
        self.waiting.append(_Waiting(dumps_verbatim(message), stream, needs))

    def commit(self, stream: StreamKey, records: int) -> None:
        """The first ``records`` records of ``stream`` are committed in its table."""
        self.committed[stream] = max(records, self.committed.get(stream, 0))

    def _ready(self, waiting: _Waiting) -> bool:
        return all(self.committed.get(s, 0) >= n for s, n in waiting.needs)

    def release(self) -> list[str]:
        """The STATE messages that may now be emitted, in order, as JSON lines."""
        released: list[str] = []
        still: list[_Waiting] = []
        blocked_streams: set[StreamKey] = set()
        blocked_global = False
        for waiting in self.waiting:
            if waiting.stream is None:
                free = not blocked_global and not blocked_streams and not still
            else:
                free = not blocked_global and waiting.stream not in blocked_streams
            if free and self._ready(waiting):
                released.append(waiting.line)
                continue
            still.append(waiting)
            if waiting.stream is None:
                blocked_global = True
            else:
                blocked_streams.add(waiting.stream)
        self.waiting = still
        return released

    @property
    def pending(self) -> int:
        return len(self.waiting)
