"""Commit rounds: when one is due, how its loads are handed out, and what is released after.

A round commits every stream with uncommitted records: each stream's last batch is flushed and its load handed
to the load pool at once (so loads overlap the staging of the streams after it), then the STATEs those commits
cover leave, then the post-commit steps run. A truncating refresh's rounds commit into its shadow table
(refresh.py). The end of input is the last round; then the streams that completed replace their tables: an
overwrite from everything it staged, a truncating refresh by swapping its shadow in.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol

from ..backends.base import Loader
from ..catalog import SyncMode
from ..checkpoint import Checkpoints
from ..errors import SystemFailure
from ..naming import StreamKey, TableName
from ..refresh import into_shadow
from ..settings import Settings
from ..staging.base import Stager
from .batches import Batches, StreamState

logger = logging.getLogger("airbyte")
Committed = list[tuple[TableName, int, SyncMode]]  # per stream loaded in a round: its table, rows added, mode


class AfterCommit(Protocol):
    """A step run after each commit round's STATEs are out (Vector Search keeps its indexes so)."""

    def committed(self, table: TableName, rows: int, mode: SyncMode) -> None:
        """``table`` committed ``rows`` (an overwrite may commit 0 rows and still have replaced the table)."""

    def close(self) -> None:
        """The sync's end: everything is committed and every STATE released."""


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
        """One round: every stream with uncommitted records commits them; the STATEs they cover leave."""
        started = time.monotonic()
        committed = self._load([self.streams[key] for key in sorted(self.dirty, key=str)])
        self.dirty.clear()
        self.uncommitted_bytes = self.uncommitted_dedup_bytes = 0
        self.last_commit = time.monotonic()
        self.last_commit_took = self.last_commit - started
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
        swaps = [s for s in streams if s.refresh is not None and s.plan.key not in incomplete]
        # A refresh that has no shadow (it committed nothing before its end, as most small streams) swaps straight
        # from its staged files: no shadow is created, filled and dropped.
        folded = {s.plan.key for s in swaps if s.refresh and self.loader.table_schema(s.refresh.shadow) is None}
        committed = self._load([s for s in streams if s.plan.key not in kept and s.plan.key not in folded and (
            s.plan.key in self.dirty or (s.refresh is None and (
                s.plan.mode.replaces or self.loader.table_schema(s.plan.table) is None)))])
        self.dirty.clear()
        self._release()
        committed += self._swap(swaps, folded)
        self._release()
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
    def _load(self, streams: list[StreamState]) -> Committed:
        """Commit everything these streams have received (a refresh's into its shadow); what each committed to
        its table. Each stream is flushed (its table's schema read then, on this thread) and its load handed out
        at once."""
        futures: list[Future] = []
        try:
            for stream in streams:
                self.batches.flush(stream)
                self.batches.builder(stream)
                futures.append(self._loads.submit(self._seal_and_load, stream))
            return [c for c in (self._committed(future.result()) for future in futures) if c is not None]
        finally:
            self._stop(futures)

    def _stop(self, futures: list[Future]) -> None:
        """No load of this round runs on once the sync fails (harmless once they have all finished)."""
        for future in futures:
            future.cancel()
        wait(futures)

    def _seal_and_load(self, stream: StreamState) -> StreamState:
        files = self.batches.writer.written(stream)
        plan, merge, mode = stream.plan, stream.merge, stream.plan.mode
        staged = self.stager.seal(plan.table, files, self.batches.builder(stream).schema)
        into = staged
        if stream.refresh is not None:
            into, mode, merge = into_shadow(staged, stream.refresh, merge)
        self.loader.load(into, mode, f"Created from stream {plan.key}", merge)
        self.stager.loaded(staged)
        return stream

    def _committed(self, stream: StreamState) -> tuple[TableName, int, SyncMode] | None:
        """The stream's load finished: its STATEs may go; what its table gained (None: its shadow did)."""
        stream.files, stream.writing = [], None
        self.checkpoints.commit(stream.plan.key, stream.staged)
        rows = stream.staged - stream.committed
        stream.committed = stream.staged
        return None if stream.refresh is not None else (stream.plan.table, rows, stream.plan.mode)

    def _swap(self, streams: list[StreamState], folded: set[StreamKey]) -> Committed:
        """The completed refreshes' swaps, at once where the loader allows: each table now holds its new
        generation (refresh.py); a ``folded`` stream's staged rows go straight into its swap."""
        futures = []
        try:
            for stream in streams:
                if stream.plan.key in folded:
                    self.batches.flush(stream)
                self.batches.builder(stream)
                futures.append(self._loads.submit(self._swap_one, stream, stream.plan.key in folded))
            for future in futures:
                future.result()
        finally:
            self._stop(futures)
        for stream in streams:
            if stream.plan.key in folded:
                self._committed(stream)
        return [(stream.plan.table, stream.committed, SyncMode.OVERWRITE) for stream in streams]

    def _swap_one(self, stream: StreamState, folded: bool) -> None:
        assert stream.refresh is not None
        schema = self.batches.builder(stream).schema
        files = self.batches.writer.written(stream) if folded else []
        staged = self.stager.seal(stream.plan.table, files, schema) if files else None
        self.loader.swap(stream.refresh, stream.plan.table, schema, stream.merge, staged)
        if staged is not None:
            self.stager.loaded(staged)

    def _release(self) -> None:
        for message in self.checkpoints.release():
            self.emit(message)

    def _after(self, committed: Iterable[tuple[TableName, int, SyncMode]]) -> None:
        """The post-commit steps, once the round's STATEs are out (a failing step cannot hold them back)."""
        for step in self.after_commit:
            for table, rows, mode in committed:
                if rows or mode.replaces:
                    step.committed(table, rows, mode)
