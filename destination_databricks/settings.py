"""Every environment knob, read and validated once per process (docs/architecture.md lists them in one table).

The config file says where data goes; these say how hard the connector works to get it there (batch and
commit sizes, retry budgets, timers). Defaults suit production; tests and benchmarks shrink them. A value
that is not a number in range is a config error naming the variable, before any input is read.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from .errors import ConfigError

PREFIX = "DESTINATION_DATABRICKS_"


@dataclass(frozen=True)
class Settings:
    # Buffering and commit rounds (sync/)
    buffer_bytes: int = 24 << 20  # input bytes buffered across all streams
    batch_bytes: int = 4 << 20  # input bytes that make one stream's staged file
    batch_rows: int = 200_000  # records that make one stream's staged file
    commit_bytes: int = 256 << 20  # a commit round is due once this much input is uncommitted…
    commit_seconds: float = 30.0  # …or this long has passed since the last round, whichever comes first
    dedup_commit_bytes: int = 0  # append_dedup input that makes a round due (0: the loader's own choice)
    # Retries of every client (retries.py): a sync is patient, a check is quick
    retry_attempts: int = 6
    retry_backoff_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    # Staging on object stores (backends/databricks/staging/)
    stale_staging_seconds: float = 900.0  # another sync's staging with an older heartbeat is swept
    # Direct ingest (backends/zerobus/)
    zerobus_streams: int = 128  # Zerobus streams open at once (one per table; the least recently used is closed)
    # Vector Search (vector_search/)
    vector_search_poll_seconds: float = 5.0


# Each knob's smallest allowed value: sizes and counts must be positive, timers may be short but not negative.
_MINIMUM = {"dedup_commit_bytes": 0, "commit_seconds": 0.0, "retry_backoff_seconds": 0.0,
            "retry_max_seconds": 0.0, "stale_staging_seconds": 0.0, "vector_search_poll_seconds": 0.0}


def variable(name: str) -> str:
    """The environment variable of a knob: ``commit_bytes`` → DESTINATION_DATABRICKS_COMMIT_BYTES."""
    return PREFIX + name.upper()


def from_environment(environ: Mapping[str, str]) -> Settings:
    values: dict[str, int | float] = {}
    for field in fields(Settings):
        text = (environ.get(variable(field.name)) or "").strip()
        if not text:
            continue
        kind = int if field.type in ("int", int) else float
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"Environment variable {variable(field.name)} must be {what}, got {text[:40]!r}.") from None
        if value < _MINIMUM.get(field.name, 1):
            raise ConfigError(f"Environment variable {variable(field.name)} must be at least "
                              f"{_MINIMUM.get(field.name, 1)}, got {text!r}.")
        values[field.name] = value
    return Settings(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def current() -> Settings:
    """This process's settings (the environment does not change under a running sync)."""
    return from_environment(os.environ)


def job_id() -> str:
    """The platform's job id (`WORKER_JOB_ID`), for the `{sync_id}` of file name patterns; empty when not set."""
    return os.environ.get("WORKER_JOB_ID", "")
