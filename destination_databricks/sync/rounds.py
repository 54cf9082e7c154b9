"""Commit rounds: when one is due, how its loads are handed out, and what is released after.

A round commits every stream with uncommitted records: each stream's last batch is flushed and its load handed
to the load pool at once (so loads overlap the staging of the streams after it), then the STATEs those commits
cover leave, then the post-commit steps run. The end of input is the last round, where overwrites replace their
tables and truncating refreshes drop older generations, for the streams that completed.
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
from ..dedup import Truncation
from ..errors import SystemFailure
from ..naming import StreamKey, TableName
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
        """End of input: commit every stream (overwrites replace their tables now), release all STATEs.

        When the input carries stream statuses (platforms forward the source's), a stream that did not end
        COMPLETE keeps its table as it was if it would replace it (overwrite), and the sync fails naming it;
        an append stream's records are committed as usual. Input without any stream status: every stream
        counts as complete at the end of input, as before statuses existed.
        """
        incomplete = [key for key in sorted(self.streams, key=str) if statuses and statuses.get(key) != "COMPLETE"]
        kept = {key for key in incomplete if self.streams[key].plan.mode.replaces}
        # A completed stream of a refresh that truncates: its older generations go once its rows are in. (An
        # overwrite replaces every row anyway; a stream that did not complete keeps them all.)
        truncate = frozenset(key for key, stream in self.streams.items() if key not in incomplete
                             and not stream.plan.mode.replaces and (stream.plan.minimum_generation_id or 0) > 0)
        committed = self._load([self.streams[key] for key in sorted(self.streams, key=str) if key not in kept and (
            self.streams[key].plan.mode.replaces or key in self.dirty or key in truncate
            or self.loader.table_schema(self.streams[key].plan.table) is None)], truncate)
        self.dirty.clear()
        self._release()
        if self.checkpoints.pending:
            logger.warning("%d STATE messages could not be released.", self.checkpoints.pending)
        self._after(committed)
        for step in self.after_commit:
            step.close()
        if incomplete:
            described = ", ".join(f"'{key}' ({statuses.get(key, 'no status')}"
                                  f"{'; its table keeps its previous data' if key in kept else ''})"
                                  for key in incomplete)
            logger.warning("Streams that did not complete: %s", described)
            raise SystemFailure(f"The source did not complete {len(incomplete)} stream(s): {described}. "
                                "Records of completed and append streams were committed.")

    def close(self) -> None:
        self._loads.shutdown(wait=True, cancel_futures=True)

    # --- one round's loads --------------------------------------------------------------------
    def _load(self, streams: list[StreamState], truncate: frozenset = frozenset()) -> Committed:
        """Commit everything these streams have received into their tables; what each committed. Streams in
        ``truncate`` then lose their rows of generations below the stream's minimum (a refresh that truncates).
        Each stream is flushed (its table's schema read then, on this thread) and its load handed out at once."""
        futures: list[Future] = []
        try:
            for stream in streams:
                self.batches.flush(stream)
                self.batches.builder(stream)
                truncation = Truncation(stream.plan.minimum_generation_id or 0) if stream.plan.key in truncate else None
                futures.append(self._loads.submit(self._seal_and_load, stream, truncation))
            return [self._committed(future.result()) for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            wait(futures)  # no load of this round runs on once the sync fails
            raise

    def _seal_and_load(self, stream: StreamState, truncation: Truncation | None) -> StreamState:
        files = self.batches.writer.written(stream)
        plan = stream.plan
        staged = self.stager.seal(plan.table, files, self.batches.builder(stream).schema)
        self.loader.load(staged, plan.mode, f"Created from stream {plan.key}", stream.merge, truncation)
        self.stager.loaded(staged)
        return stream

    def _committed(self, stream: StreamState) -> tuple[TableName, int, SyncMode]:
        stream.files, stream.writing = [], None
        self.checkpoints.commit(stream.plan.key, stream.staged)
        rows = stream.staged - stream.committed
        stream.committed = stream.staged
        return stream.plan.table, rows, stream.plan.mode

    def _release(self) -> None:
        for message in self.checkpoints.release():
            self.emit(message)

    def _after(self, committed: Iterable[tuple[TableName, int, SyncMode]]) -> None:
        """The post-commit steps, once the round's STATEs are out (a failing step cannot hold them back)."""
        for step in self.after_commit:
            for table, rows, mode in committed:
                if rows or mode.replaces:
                    step.committed(table, rows, mode)
