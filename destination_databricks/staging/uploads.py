"""Uploads on a small thread pool, per table, with back-pressure: shared by the object-store stagers."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from ..errors import SystemFailure
from ..naming import TableName


class Uploads:
    """At most ``max_in_flight`` uploads are pending, so a slow store slows the sync instead of growing it."""

    def __init__(self, max_in_flight: int = 4):
        self._pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="upload")
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._pending: dict[TableName, list[Future]] = {}
        self._parts: dict[TableName, int] = {}

    def next_part(self, table: TableName) -> int:
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        return part

    def submit(self, table: TableName, upload: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._slots.acquire()

        def run() -> None:
            try:
                upload(*args, **kwargs)
            finally:
                self._slots.release()

        self._pending.setdefault(table, []).append(self._pool.submit(run))

    def wait(self, table: TableName, where: str) -> None:
        """Every upload of ``table`` is done; raise SystemFailure naming ``where`` if one failed."""
        for future in self._pending.pop(table, []):
            try:
                future.result()
            except Exception as exc:
                raise SystemFailure(f"Uploading a staged file of {table} to {where} failed: {exc}") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True)
