"""Telling a dead sync's staging from a running one's, on object stores that have no locks.

Each sync writes a heartbeat object into its staging folder before anything else and keeps it fresh; another
sync removes staging folders (named by a sync's UUID, under `_airbyte_staging/`) whose heartbeat is older than
the staleness limit. A folder without our heartbeat was not written by this connector and is never touched;
one whose heartbeat cannot be read is kept. Works on any store of staging/remote.py's ObjectStore shape.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterator

from .... import settings
from ....errors import first_line

logger = logging.getLogger("airbyte")
STAGING_ROOT = "_airbyte_staging"  # every sync's staging lives below this folder of the store
HEARTBEAT = "_airbyte_sync_alive"
KEPT = "_airbyte_sync_kept"  # written when purge_staging_data is off: the staging is kept on purpose
MARKS, MARK = "_airbyte_marks", "mark"  # a sync's marks on the connector's tables (staging/base.py): <kind>/<name>/mark
HEARTBEAT_SECONDS = 60.0
SYNC_FOLDER = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def stale_after_seconds() -> float:
    """Staging whose heartbeat is older than this belongs to a dead sync (default 15 minutes)."""
    return settings.current().stale_staging_seconds


class Heartbeat:
    """Calls ``beat`` now and then every minute on a daemon thread until stopped."""

    def __init__(self, beat: Callable[[], None]):
        self.beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="staging-heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception as exc:  # the next beat may succeed; staleness allows many misses
                logger.warning("Could not refresh the staging heartbeat: %s", exc)

    def stop(self) -> None:
        """No beat after this returns (one under way is waited for), so a purge cannot see the heartbeat return."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)


def _others(store, own: str) -> Iterator[str]:
    """The staging folders (paths) of this connector's syncs other than ``own``."""
    for folder in store.folders(STAGING_ROOT):
        if folder != own and SYNC_FOLDER.match(folder):
            yield f"{STAGING_ROOT}/{folder}"


def _age(seen: dt.datetime) -> float:
    return (dt.datetime.now(dt.timezone.utc) - seen).total_seconds()


def marked(store, own: str, folder: str) -> set[str] | None:
    """The names under ``folder`` (one folder per mark) in the staging of each running sync other than ``own``:
    its heartbeat is fresh and it was not kept at its end; None: unsure (a staging could not be read)."""
    found: set[str] = set()
    for base in _others(store, own):
        try:
            names = store.folders(f"{base}/{folder}")
            if not names or store.modified(f"{base}/{KEPT}") is not None:
                continue
            seen = store.modified(f"{base}/{HEARTBEAT}")
        except Exception as exc:
            logger.warning("Could not read the staging %s/, so its sync counts as running: %s", base, first_line(exc))
            return None
        if seen is not None and _age(seen) <= stale_after_seconds():
            found.update(names)
    return found


def sweep(store, own: str) -> None:
    """Delete each sync folder of ``store`` but ``own`` whose heartbeat is older than the limit, unless kept.
    When unsure, keep: no heartbeat (not ours), or an age that cannot be read (a throttled request, say)."""
    limit = stale_after_seconds()
    for path in _others(store, own):
        try:
            seen = store.modified(f"{path}/{HEARTBEAT}")
            stale = seen is not None and _age(seen) > limit and store.modified(f"{path}/{KEPT}") is None
        except Exception as exc:
            logger.warning("Could not tell whether staging %s/%s/ is alive, so it is kept: %s", store.where, path,
                           first_line(exc))
            continue
        if stale:
            deleted = store.delete_prefix(path)
            logger.info("Removed %d staged objects of an interrupted sync under %s/%s/", deleted, store.where, path)
