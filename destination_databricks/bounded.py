"""A thread pool that takes at most ``depth`` pending tasks (and, given a budget, tasks of at most that many
bytes in all): used where a producer could outrun its consumer (staging batches, uploads), so a slow stage
slows the sync down instead of growing its memory."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BoundedExecutor:
    def __init__(self, workers: int, depth: int, name: str, budget: int | None = None):
        """``budget``: the most bytes the pending tasks may hold together (a task's ``weight``); a task heavier
        than the whole budget still runs, alone."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._depth = depth
        self._budget = budget
        self._pending = 0
        self._bytes = 0
        self._changed = threading.Condition()

    def _fits(self, weight: int) -> bool:
        if self._pending >= self._depth:
            return False
        return self._budget is None or self._pending == 0 or self._bytes + weight <= self._budget

    def submit(self, task: Callable[..., Any], *args: Any, weight: int = 0, **kwargs: Any) -> Future:
        """Run ``task`` on a worker; blocks while ``depth`` tasks are pending, or while ``weight`` more bytes
        would exceed the budget."""
        with self._changed:
            self._changed.wait_for(lambda: self._fits(weight))
            self._pending += 1
            self._bytes += weight

        def done() -> None:
            with self._changed:
                self._pending -= 1
                self._bytes -= weight
                self._changed.notify_all()

        def run() -> Any:
            try:
                return task(*args, **kwargs)
            finally:
                done()

        try:
            return self._pool.submit(run)
        except BaseException:
            done()
            raise

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)


def each(work: Callable[[Any], Any], items: list, at_once: int) -> None:
    """``work`` for each item, up to ``at_once`` at a time (on threads of their own when more than one)."""
    if min(at_once, len(items)) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=min(at_once, len(items)), thread_name_prefix="schema") as pool:
        list(pool.map(work, items))
