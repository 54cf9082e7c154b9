"""A thread pool that takes at most ``depth`` pending tasks: the one way work is handed to background threads,
so a slow stage slows the sync down instead of growing its memory."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class BoundedExecutor:
    def __init__(self, workers: int, depth: int, name: str):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(depth)

    def submit(self, task: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``task`` on a worker; blocks while ``depth`` tasks are pending."""
        self._slots.acquire()

        def run() -> Any:
            try:
                return task(*args, **kwargs)
            finally:
                self._slots.release()

        try:
            return self._pool.submit(run)
        except BaseException:
            self._slots.release()
            raise

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
