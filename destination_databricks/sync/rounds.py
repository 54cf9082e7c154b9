"""Commit rounds: when one is due, how its loads are handed out, and what is released after.

A round commits every stream with uncommitted records: each stream's last batch is flushed and its load handed
to the load pool at once (so loads overlap the staging of the streams after it). The input goes on while they
run; once they are done the STATEs they cover leave, then the post-commit steps run. One round is in flight at
a time, so a stream's loads commit in order. A truncating refresh's rounds commit into its shadow table
(refresh.py). The end of input is the last round; then the streams that completed replace their tables: an
overwrite from everything it staged, a truncating refresh by swapping its shadow in.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from ..backends.base import Loader
from ..catalog import SyncMode
from ..checkpoint import Checkpoints
from ..errors import SystemFailure
from ..layout import table_comment
from ..naming import StreamKey, TableName
from ..refresh import into_shadow
from ..settings import Settings
from ..staging.base import StagedFile, Stager
from .batches import Batches, StreamState
from .shadows import ShadowMarks

logger = logging.getLogger("airbyte")
Committed = list[tuple[TableName, int, SyncMode]]  # per stream loaded in a round: its table, rows added, mode


class AfterCommit(Protocol):
    """A step run after each commit round's STATEs are out (Vector Search keeps its indexes so)."""

    def committed(self, table: TableName, rows: int, mode: SyncMode) -> None:
        """``table`` committed ``rows`` (an overwrite may commit 0 rows and still have replaced the table)."""

    def close(self) -> None:
        """The sync's end: everything is committed and every STATE released."""


@dataclass(frozen=True)
class _Load:
    """One stream's load in a round."""

    stream: StreamState
    covered: int  # the stream's records it commits: all it had staged when the round began
    future: Future


class CommitRounds:
    def __init__(self, streams: Mapping[StreamKey, StreamState], batches: Batches, stager: Stager, loader: Loader,
                 emit: Callable[[str], None], settings: Settings, after_commit: Sequence[AfterCommit] = ()):
        self.streams = streams
        self.batches = batches
        self.stager = stager
        self.loader = loader
        self.emit = emit
        self.settings = settings
        self.after_commit = tuple(after_commit)
        self.checkpoints = Checkpoints()
        self.dirty: set[StreamKey] = set()  # streams with records not yet committed (appends and merges)
        self.uncommitted_bytes = 0
        self.uncommitted_dedup_bytes = 0  # of append_dedup streams: a loader may want their loads smaller
        capabilities = loader.capabilities
        self.dedup_commit_bytes = min(settings.dedup_commit_bytes or capabilities.dedup_commit_bytes
                                      or settings.commit_bytes, settings.commit_bytes)
        self.last_commit = time.monotonic()
        self.last_commit_took = 0.0
        self.shadows = ShadowMarks(stager, loader)
        self._round: list[_Load] = []  # the round in flight: its loads run while the input goes on
        self._round_started = 0.0
        # Loads of different tables are independent; a loader that allows it runs several at once (delta-rs
        # releases the GIL: 1,000 small streams load about twice as fast on two cores). The threads live for the
        # whole sync, so a loader's per-thread connections do too.
        self._loads = ThreadPoolExecutor(max_workers=max(1, capabilities.concurrent_loads), thread_name_prefix="load")

    def start(self) -> None:
        """The input begins: the commit clock starts now, not before the schema reads."""
        self.last_commit = time.monotonic()

    def received(self, stream: StreamState, size: int) -> None:
        """A record of ``size`` input bytes arrived for ``stream``."""
        self.uncommitted_bytes += size
        if stream.commits_as_it_goes:
            self.dirty.add(stream.plan.key)
            if stream.dedup:
                self.uncommitted_dedup_bytes += size

    def due(self) -> bool:
        # Commit rounds may not take more than a third of the time: with 10,000 streams one round is
        # 20,000 Delta commits, and a fixed 30 s interval left the sync doing nothing else.
        interval = max(self.settings.commit_seconds, 2 * self.last_commit_took)
        return bool(self.dirty) and (
            self.uncommitted_bytes >= self.settings.commit_bytes
            or self.uncommitted_dedup_bytes >= self.dedup_commit_bytes
            or time.monotonic() - self.last_commit >= interval
        )

    def commit(self) -> None:
        """One round: every stream with uncommitted records hands them to a load, after the round before has
        finished (its STATEs leave then). The loads run while the input goes on (on a warehouse a load is seconds
        of waiting); their STATEs leave once ``poll`` finds them done, or at the next round, or at the end."""
        self.settle()
        streams = [self.streams[key] for key in sorted(self.dirty, key=str)]
        self.dirty.clear()
        self.uncommitted_bytes = self.uncommitted_dedup_bytes = 0
        self._round_started = self.last_commit = time.monotonic()
        self._round = self._start(streams)

    def poll(self) -> None:
        """Release the round in flight's STATEs if its loads are done (cheap when they are not)."""
        if self._round and all(load.future.done() for load in self._round):
            self.settle()

    def settle(self) -> None:
        """Wait for the round in flight, if any; then its STATEs leave and the post-commit steps run."""
        if not self._round:
            return
        loads, self._round = self._round, []
        committed = self._wait(loads)
        self.last_commit_took = time.monotonic() - self._round_started
        self._release()
        self._after(committed)

    def finish(self, statuses: Mapping[StreamKey, str]) -> None:
        """End of input: commit every stream, release all STATEs, then swap in the refreshes that completed.

        When the input carries stream statuses (platforms forward the source's), a stream that did not end
        COMPLETE keeps its table as it was if it would replace it (an overwrite, a truncating refresh: its rows
        wait in its shadow for the next attempt), and the sync fails naming it; an append stream's records are
        committed as usual. Input without any stream status: every stream counts as complete at the end of
        input, as before statuses existed.
        """
        incomplete = [key for key in sorted(self.streams, key=str) if statuses and statuses.get(key) != "COMPLETE"]
        streams = [self.streams[key] for key in sorted(self.streams, key=str)]
        kept = {s.plan.key for s in streams if s.plan.key in incomplete and s.plan.mode.replaces and s.refresh is None}
        # A completed refresh's last rows go straight into its swap, not into its shadow first (one statement and
        # one write of them fewer); one that committed nothing before its end needs no shadow at all.
        swaps = [s for s in streams if s.refresh is not None and s.plan.key not in incomplete]
        swapping = {s.plan.key for s in swaps}
        self.settle()
        committed = self._wait(self._start([s for s in streams if s.plan.key not in kept and s.plan.key not in swapping and (
            s.plan.key in self.dirty or (s.refresh is None and (
                s.plan.mode.replaces or self.loader.table_schema(s.plan.table) is None)))]))
        self.dirty.clear()
        self._release()
        committed += self._swap(swaps)
        self._release()
        self._drop_shadows(swaps)
        if self.checkpoints.pending:
            logger.warning("%d STATE messages could not be released.", self.checkpoints.pending)
        self._after(committed)
        for step in self.after_commit:
            step.close()
        if incomplete:
            unchanged = {s.plan.key for s in streams if s.plan.mode.replaces or s.refresh is not None}
            described = ", ".join(f"'{key}' ({statuses.get(key, 'no status')}"
                                  f"{'; its table keeps its previous data' if key in unchanged else ''})"
                                  for key in incomplete)
            logger.warning("Streams that did not complete: %s", described)
            raise SystemFailure(f"The source did not complete {len(incomplete)} stream(s): {described}. "
                                "Records of completed and append streams were committed.")

    def close(self) -> None:
        self._loads.shutdown(wait=True, cancel_futures=True)

    # --- one round's loads --------------------------------------------------------------------
    def _start(self, streams: list[StreamState]) -> list[_Load]:
        """Hand everything these streams have received to loads (a refresh's into its shadow). Each stream is
        flushed (its table's schema read then, on this thread) and its load handed out at once; the stream's later
        files belong to the next round."""
        loads: list[_Load] = []
        try:
            self.shadows.claim(streams)  # (refreshes: before their first commit into their shadows)
            for stream in streams:
                self.batches.flush(stream)
                schema = self.batches.builder(stream).schema  # (made here, on this thread, if no batch made it)
                cutting, files = self.batches.writer.cut(stream)
                future = self._loads.submit(self._load_cut, stream, schema, cutting, files)
                loads.append(_Load(stream, stream.staged, future))
        except BaseException:
            self._stop([load.future for load in loads])
            raise
        return loads

    def _wait(self, loads: list[_Load]) -> Committed:
        """The loads finished: what each committed to its table (their STATEs may go now)."""
        try:
            for load in loads:
                load.future.result()
        finally:
            self._stop([load.future for load in loads])
        return [c for c in (self._committed(load.stream, load.covered) for load in loads) if c is not None]

    def _stop(self, futures: list[Future]) -> None:
        """No load of this round runs on once the sync fails (harmless once they have all finished)."""
        for future in futures:
            future.cancel()
        wait(futures)

    def _load_cut(self, stream: StreamState, schema: pa.Schema, cutting: Future, files: list[StagedFile]) -> None:
        """(A load thread.) Seal the load the writer cut (its uploads waited for here, not on the writer thread),
        and commit it."""
        plan, merge, mode = stream.plan, stream.merge, stream.plan.mode
        staged = self.stager.seal(plan.table, files, schema, cutting.result())
        into = staged
        if stream.refresh is not None:
            into, mode, merge = into_shadow(staged, stream.refresh, merge)
        self.loader.load(into, mode, table_comment(plan.key), merge)
        self.stager.loaded(staged)

    def _committed(self, stream: StreamState, covered: int) -> tuple[TableName, int, SyncMode] | None:
        """The stream's first ``covered`` records are committed: their STATEs may go; what its table gained
        (None: its shadow did)."""
        self.checkpoints.commit(stream.plan.key, covered)
        rows = covered - stream.committed
        stream.committed = covered
        return None if stream.refresh is not None else (stream.plan.table, rows, stream.plan.mode)

    def _swap(self, streams: list[StreamState]) -> Committed:
        """The completed refreshes' swaps, at once where the loader allows: each table now holds its new
        generation (refresh.py), its shadow's rows and its last staged ones."""
        futures = []
        try:
            for stream in streams:
                self.batches.flush(stream)
                self.batches.builder(stream)
                futures.append(self._loads.submit(self._swap_one, stream))
            for future in futures:
                future.result()
        finally:
            self._stop(futures)
        for stream in streams:
            self._committed(stream, stream.staged)
        return [(stream.plan.table, stream.committed, SyncMode.OVERWRITE) for stream in streams]

    def _swap_one(self, stream: StreamState) -> None:
        assert stream.refresh is not None
        schema = self.batches.builder(stream).schema
        files = self.batches.writer.written(stream)
        staged = self.stager.seal(stream.plan.table, files, schema) if files else None
        self.loader.swap(stream.refresh, stream.plan.table, schema, stream.merge, staged, table_comment(stream.plan.key))
        if staged is not None:
            self.stager.loaded(staged)

    def _drop_shadows(self, streams: list[StreamState]) -> None:
        """The swapped refreshes' shadows go, once the STATEs their swaps cover are out (a crash before would
        have the next attempt swap them in again: nothing changes), unless another running sync claims one (an
        attempt of the same generation still committing into it): the last one out drops it (shadows.py)."""
        self.shadows.drop([s.refresh.shadow for s in streams
                           if s.refresh is not None and self.loader.table_schema(s.refresh.shadow) is not None],
                          self._loads)

    def _release(self) -> None:
        for message in self.checkpoints.release():
            self.emit(message)

    def _after(self, committed: Iterable[tuple[TableName, int, SyncMode]]) -> None:
        """The post-commit steps, once the round's STATEs are out (a failing step cannot hold them back)."""
        for step in self.after_commit:
            for table, rows, mode in committed:
                if rows or mode.replaces:
                    step.committed(table, rows, mode)
