"""Commits that lose a race on LOCAL: another writer (a second sync of the same table) committed first.

delta-rs refuses such a commit (CommitFailedError) and leaves the table as the winner made it. Every LOCAL commit
path may simply run again: a merge recomputes against the table as it is now (dedup.py's rules make it
idempotent), an append commits the same files, a swap or a type change checks the table afresh.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from ...errors import TransientFailure, first_line
from ...naming import TableName

T = TypeVar("T")
TRIES = 8


def retried(table: TableName, uri: str, attempt: Callable[[], T]) -> T:
    """``attempt()``, run again (after a short random wait) while another writer's commit beats it."""
    for n in range(TRIES):
        try:
            return attempt()
        except CommitFailedError as exc:
            if n == TRIES - 1:
                version = DeltaTable(uri).version() if DeltaTable.is_deltatable(uri) else None
                raise TransientFailure(f"Table {table}: another writer committed to it first {TRIES} times in a row "
                                       f"(its version is now {version}): {first_line(exc)}") from None
            time.sleep(random.uniform(0.05, 0.2) * 2 ** min(n, 4))
    raise AssertionError("unreachable")
