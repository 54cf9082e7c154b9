"""A refresh's shadow shared by attempts of one generation (refresh.py): marks in each sync's staging say who
uses it, so no attempt drops it while another commits into it.

An attempt claims its shadow (a CLAIM mark) before its first commit into it, then waits while another running
sync is dropping it (a DROP mark). At its end, once its swap's STATEs are out, an attempt sets a DROP mark, looks
for other syncs' claims, drops the shadow only if there are none, then takes the DROP mark away. Whichever of
the two marks comes first, the other side sees it: the last attempt out swaps and drops the shadow.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import Executor

from ..backends.base import Loader
from ..naming import TableName
from ..staging.base import CLAIM, DROP, Stager
from .batches import StreamState

logger = logging.getLogger("airbyte")
DROP_WAIT_SECONDS = 120.0  # a DROP takes seconds; a mark left longer is a sync that died holding it
POLL_SECONDS = 0.5


def _name(shadow: TableName) -> str:
    return f"{shadow.schema}.{shadow.table}"


class ShadowMarks:
    def __init__(self, stager: Stager, loader: Loader):
        self.stager = stager
        self.loader = loader

    def claim(self, streams: Iterable[StreamState]) -> None:
        """These refreshes commit into their shadows for the first time now: claim them, and wait while another
        sync is dropping one."""
        new = [s for s in streams if s.refresh is not None and not s.claimed]
        if not new:
            return
        names = {_name(s.refresh.shadow) for s in new if s.refresh is not None}
        self.stager.mark(CLAIM, sorted(names))
        for stream in new:
            stream.claimed = True
        deadline, told = time.monotonic() + DROP_WAIT_SECONDS, False
        while True:
            dropping = self.stager.marked_by_others(DROP)
            busy = names if dropping is None else names & dropping
            if not busy:
                return
            if time.monotonic() > deadline:
                logger.warning("Another sync has been dropping %s for %.0f s: going on.", ", ".join(sorted(busy)),
                               DROP_WAIT_SECONDS)
                return
            if not told:
                logger.info("Waiting for another sync to finish dropping %s.", ", ".join(sorted(busy)))
                told = True
            time.sleep(POLL_SECONDS)

    def drop(self, shadows: list[TableName], pool: Executor) -> None:
        """Drop the swapped refreshes' shadows that no other running sync claims (several at once on ``pool``)."""
        if not shadows:
            return
        self.stager.mark(DROP, sorted(_name(s) for s in shadows))
        try:
            claimed = self.stager.marked_by_others(CLAIM)
            kept = [s for s in shadows if claimed is None or _name(s) in claimed]
            for shadow in kept:
                logger.info("Leaving %s in place: another running sync commits into it and swaps it in at its end.",
                            shadow)
            going = [(shadow, pool.submit(self.loader.drop, shadow)) for shadow in shadows if shadow not in kept]
            for shadow, future in going:
                try:
                    future.result()
                except Exception as exc:  # everything is committed and acknowledged: the next sync sweeps it
                    logger.warning("The refresh's shadow table %s could not be dropped (%s: %s); the next sync of "
                                   "its table drops it.", shadow, type(exc).__name__, exc)
        finally:
            self.stager.unmark(DROP)
