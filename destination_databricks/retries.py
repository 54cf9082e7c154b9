"""How hard each client retries a failing service, decided in one place.

A sync is patient: a store or warehouse that hiccups (resets, 5xx, throttling) must not fail a long sync,
so requests are retried with exponential backoff for minutes. A check is quick: a user waits for its
answer. The environment may shorten a sync's budget (the fault tests do): settings.py's retry_* knobs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from . import settings
from .errors import first_line

logger = logging.getLogger("airbyte")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryBudget:
    attempts: int  # tries of one request by each client's own retry logic
    backoff_seconds: float  # the first wait; later waits double
    max_seconds: float  # no request is retried past this

    @classmethod
    def sync(cls) -> RetryBudget:
        knobs = settings.current()
        return cls(attempts=knobs.retry_attempts, backoff_seconds=knobs.retry_backoff_seconds,
                   max_seconds=knobs.retry_max_seconds)

    def boto(self) -> dict:
        """botocore's retry config (standard mode: 5xx, throttling, resets, cut answers)."""
        return {"total_max_attempts": self.attempts, "mode": "standard"}

    def object_store(self) -> dict[str, str]:
        """deltalake (object_store) storage options."""
        return {"max_retries": str(self.attempts), "retry_timeout": f"{int(self.max_seconds)}s",
                "backoff_config.init_backoff": f"{int(self.backoff_seconds * 1000)}ms"}

    def azure(self) -> dict:
        """azure-storage-blob client keyword arguments (its ExponentialRetry waits initial + base**n ± jitter;
        its defaults, 15 s + 3**n, wait over a minute for one reset)."""
        return {"retry_total": self.attempts, "initial_backoff": self.backoff_seconds, "increment_base": 1 + self.backoff_seconds,
                "random_jitter_range": min(1.0, self.backoff_seconds),
                "connection_timeout": 20, "read_timeout": min(120, max(30, int(self.max_seconds)))}

    def driver_delay_max(self) -> float:
        """databricks-sql-connector's longest wait. It also sleeps at least this long after any 429/503 it
        retries (databricks-sql-python #860: Retry-After is floored to it), so keep it short; 5 is its minimum."""
        return max(5.0, min(10.0, self.max_seconds / 4))


def retrying(call: Callable[[], T], *, attempts: int, backoff_seconds: float, transient: Callable[[BaseException], bool],
             fail: Callable[[BaseException], BaseException], what: str, between: Callable[[], None] = lambda: None) -> T:
    """``call()`` until it succeeds, at most ``attempts`` times, waiting ``backoff_seconds`` · 2^(n-1) after the n-th
    failure; only failures ``transient`` says so are retried. The last (or a terminal) failure is raised as
    ``fail(exc)``; ``between`` runs before each retry (e.g. drop a broken connection). Our one retry loop: the
    clients' own retries happen inside ``call``."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if not transient(exc) or attempt == attempts:
                error = fail(exc)
                if error is exc:
                    raise
                raise error from exc
            logger.warning("Transient failure to %s (attempt %d of %d): %s", what, attempt, attempts,
                           first_line(exc))
            between()
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
