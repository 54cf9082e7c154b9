"""The message loop of one `write`: input lines read and routed — records to their stream's buffer, STATEs to the
checkpoints, stream statuses noted — and a commit round run whenever one is due (rounds.py)."""
from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Iterable, Sequence

import orjson

from ..backends.base import Loader
from ..catalog import StreamPlan
from ..errors import InputError
from ..messages import IDLE, changes_of, data_text, parse_line
from ..naming import StreamKey
from ..refresh import stale_shadows
from ..settings import Settings
from ..staging.base import Stager
from .batches import Batches, StreamState
from .rounds import AfterCommit, CommitRounds

logger = logging.getLogger("airbyte")
# `emitted_at` (ms since the epoch) a Delta reader can read: years 0001 to 9999.
FIRST_MS, LAST_MS = -62_135_596_800_000, 253_402_300_799_999


class Sync:
    def __init__(self, plans: dict[StreamKey, StreamPlan], stager: Stager, loader: Loader,
                 emit: Callable[[str], None], *, evolve: bool, settings: Settings,
                 after_commit: Sequence[AfterCommit] = (), cdc_hard_delete: bool = True):
        """``emit``: writes one output line (a released STATE)."""
        self.streams = {key: StreamState(plan) for key, plan in plans.items()}
        self.loader = loader
        self.batches = Batches(self.streams, stager, loader, settings, evolve=evolve, cdc_hard_delete=cdc_hard_delete)
        self.rounds = CommitRounds(self.streams, self.batches, stager, loader, emit, settings, after_commit)
        self.received: dict[StreamKey, int] = {}
        self._routes = {stream.prefix: stream for stream in self.streams.values()}
        self._last = next(iter(self.streams.values()), None)  # the stream of the last run of record lines
        self.statuses: dict[StreamKey, str] = {}  # the last stream status the input gave each stream
        self.records = 0

    def run(self, blocks: Iterable[Sequence[bytes] | None]) -> None:
        """Input lines, a list at a time (``messages.timed_blocks``), and IDLE (None) now and then while the input
        is quiet."""
        try:
            self._prepare()
            self.rounds.start()
            self._run(blocks)
        finally:
            self.batches.close()
            self.rounds.close()

    def _prepare(self) -> None:
        """Before any input: the tables' (and refreshes' shadows') schemas read ahead, and the shadows this sync
        makes stale dropped (refresh.py)."""
        streams = list(self.streams.values())
        tables = [s.plan.table for s in streams]
        self.loader.prefetch(tables + [s.refresh.shadow for s in streams if s.refresh is not None])
        for shadow in stale_shadows(self.loader.shadows(tables), [s.plan for s in streams]):
            logger.info("Dropping %s: a refresh's shadow table that no stream of this sync continues.", shadow)
            self.loader.drop(shadow)
        by_table = {s.plan.table: s for s in streams}
        self.batches.writer.stager.ahead(tables, lambda table: self.batches.builder(by_table[table]).stored)

    def _run(self, blocks: Iterable[Sequence[bytes] | None]) -> None:
        rounds = self.rounds
        number = 0  # the input lines so far
        for block in blocks:
            if block is IDLE:  # the input is quiet: commit if it is time, so STATEs still flow
                if rounds.due():
                    rounds.commit()
                else:
                    rounds.poll()
                continue
            at, end = 0, len(block)
            while at < end:
                line = block[at]
                # Record lines as sources write them (compact; `data` right after the stream's name, `emitted_at`
                # last) are taken a run of one stream's lines at a time: each one's `data` text is cut out as it
                # came and parsed with its batch (records/reading.py), no dict made here.
                if line.startswith(RECORD_START):
                    taken = self._records(self._route(line), block, at, number)
                    if taken:
                        at += taken
                        number += taken
                        continue
                number += 1
                at += 1
                self._line(line, number)
        self.records = sum(self.received.values())
        rounds.finish(self.statuses)

    def _route(self, line: bytes) -> StreamState | None:
        """The stream whose record lines begin as ``line`` does (the last one found, most often), or None."""
        last = self._last
        if last is None or not line.startswith(last.prefix):
            cut = line.find(DATA_KEY)
            last = self._routes.get(line[:cut + DATA_KEY_LENGTH]) if cut > 0 else None
            if last is not None:
                self._last = last
        return last

    def _records(self, stream: StreamState | None, block: Sequence[bytes], at: int, number: int) -> int:
        """Buffer the run of ``stream``'s record lines that starts ``block`` at ``at`` (``number``: the input lines
        before it); how many lines it took. Work per run, not per line: the loop's time per 200,000 record lines
        went from about 0.58 s a line at a time to 0.4 s."""
        if stream is None:
            return 0
        prefix, end = stream.prefix, len(block)
        stop = at
        while stop < end and block[stop].startswith(prefix):
            stop += 1
        run, cut = block[at:stop], len(prefix)
        emitted_keys = [line.rfind(EMITTED_KEY, cut) for line in run]
        digits = [line[e + EMITTED_KEY_LENGTH:-2] for line, e in zip(run, emitted_keys)]
        if not (all(map(bytes.isdigit, digits)) and all(map(_CLOSED, run))):  # the run ends before the first
            # line that does not end so; it goes the general way. (A line that does, but with more record fields
            # between `data` and `emitted_at`, is read again from its whole line when its batch is built.)
            good = next(i for i, (line, d) in enumerate(zip(run, digits)) if not (d.isdigit() and _CLOSED(line)))
            run, emitted_keys, digits = run[:good], emitted_keys[:good], digits[:good]
        emitted = list(map(int, digits))
        if emitted and not (min(emitted) >= SECONDS_BELOW and max(emitted) <= LAST_MS):
            emitted = [e if SECONDS_BELOW <= e <= LAST_MS else _emitted_at(e) for e in emitted]
        texts, sizes = [line[cut:e] for line, e in zip(run, emitted_keys)], list(map(len, run))
        key, pool, done = stream.plan.key, self.batches.pool, 0
        while done < len(run):  # as many as fit, then the flush a full buffer (or the budget) asks for
            taken, size, full = pool.extend(key, texts, emitted, sizes, done, number + 1 + done)
            done += taken
            stream.received += taken
            self.received[key] = stream.received
            self.rounds.received(stream, size)
            if full:
                self.batches.added(stream, True)
                self.rounds.poll()
        return len(run)

    def _line(self, line: bytes, number: int) -> None:
        """Any other line: parsed (the fast path of messages.parse_line, inlined) and acted on."""
        rounds = self.rounds
        exact = False
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            message = None
        if message.__class__ is not dict:
            if not line.strip():
                return
            message, exact = parse_line(line, number)
        kind = message.get("type")
        if kind == "RECORD":
            self._record(message, line, number, exact)
        elif kind == "STATE":
            rounds.checkpoints.received(line, self.received)
            if rounds.due():
                rounds.commit()
            else:
                rounds.poll()
        elif kind == "TRACE":
            trace = message.get("trace")
            if trace.__class__ is dict and trace.get("type") == "STREAM_STATUS":
                self._stream_status(trace.get("stream_status"), number)
        # Other messages (LOG, other TRACEs, …) are the source's business, not the destination's.

    def _record(self, message: dict, line: bytes, number: int, exact: bool) -> None:
        record = message.get("record")
        if record.__class__ is not dict:
            raise InputError(f"Input line {number}: a RECORD message without a 'record' object.")
        try:
            stream = self.streams.get((record.get("namespace") or None, record.get("stream")))  # type: ignore[call-overload]
        except TypeError:  # a stream "name" that is a list or object
            stream = None
        if stream is None:
            raise self._unknown_stream(record, number)
        data = record.get("data")
        if data.__class__ is not dict:
            raise InputError(f"Input line {number}: the record's 'data' of stream '{stream.plan.key}' is not an object.")
        self._text(stream, data_text(data, line, exact), record.get("emitted_at"), len(line), number,
                   changes_of(record))

    def _text(self, stream: StreamState, text: bytes | memoryview, emitted_at: object, size: int, number: int,
              changes: list | None = None) -> None:
        """Buffer one record of ``stream``: its `data` text, exactly as the source sent it."""
        if emitted_at.__class__ is not int or not SECONDS_BELOW <= emitted_at <= LAST_MS:
            emitted_at = _emitted_at(emitted_at)
        stream.received += 1
        key = stream.plan.key
        self.received[key] = stream.received
        self.rounds.received(stream, size)
        if self.batches.pool.add(key, text, emitted_at, size, number, changes):
            # A batch may be staged now: a moment to see whether the round in flight is done.
            self.batches.added(stream, True)
            self.rounds.poll()

    @staticmethod
    def _unknown_stream(record: dict, number: int) -> InputError:
        namespace, name = record.get("namespace") or None, record.get("stream")
        shown = f"{namespace}.{name}" if namespace else f"{name}"
        return InputError(f"Input line {number}: a record for stream '{shown}', which is not in the configured catalog.")

    def _stream_status(self, status: object, number: int) -> None:
        if not isinstance(status, dict) or not isinstance(status.get("stream_descriptor") or {}, dict):
            raise InputError(f"Input line {number}: a STREAM_STATUS trace without a 'stream_status' object.")
        descriptor = status.get("stream_descriptor") or {}
        key = StreamKey(descriptor.get("namespace") or None, str(descriptor.get("name")))
        if key in self.streams:  # a status of a stream not configured for this destination is not ours to track
            self.statuses[key] = str(status.get("status"))


RECORD_START = b'{"type":"RECORD","record":{"'


_CLOSED = operator.methodcaller("endswith", b"}}")
DATA_KEY, EMITTED_KEY = b',"data":', b',"emitted_at":'
DATA_KEY_LENGTH, EMITTED_KEY_LENGTH = len(DATA_KEY), len(EMITTED_KEY)
# Below this, an emitted_at cannot be milliseconds of a real emit time (1973-03-03): it is seconds, as PyAirbyte's
# cache path sends them.
SECONDS_BELOW = 100_000_000_000


def _emitted_at(value: object) -> int:
    """A record's emitted_at that is not a whole number of ms of a real emit time (seconds, a float, nanoseconds,
    text): in ms when it is a number in range (seconds below SECONDS_BELOW), else the time it was received."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 0 <= value < SECONDS_BELOW:
            return int(value * 1000)
        if FIRST_MS <= value <= LAST_MS:
            return int(value)
    return int(time.time() * 1000)
