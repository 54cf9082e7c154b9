"""Start and stop the local warehouse (its own process) for tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def local_warehouse(token: str | None = None, token_seconds: int | None = None, statement_seconds: float = 0):
    args = [sys.executable, "-m", "integration_tests.local_warehouse"] + (["--token", token] if token else [])
    if token_seconds:
        args += ["--token-seconds", str(token_seconds)]
    if statement_seconds:
        args += ["--statement-seconds", str(statement_seconds)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    try:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=20)
            log.seek(0)
            raise RuntimeError("the local warehouse did not start:\n" + log.read().decode(errors="replace")[-3000:])
        yield json.loads(line)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class SharedWarehouse:
    """One local warehouse kept for many tests, emptied between them (``POST /_local/reset``): starting and
    stopping one costs about 2.5 s, emptying it a few hundredths. A reset that fails starts a fresh one."""

    def __init__(self):
        self._running = None  # (context manager, details)

    def details(self) -> dict:
        """A warehouse as new: a running one emptied (a failed reset starts another), else a new one."""
        if self._running is not None and not self._reset(self._running[1]):
            self.close()
        if self._running is None:
            manager = local_warehouse()
            self._running = (manager, manager.__enter__())
        return self._running[1]

    @staticmethod
    def _reset(details: dict) -> bool:
        import urllib.request

        request = urllib.request.Request(f"{details['hostname']}:{details['port']}/_local/reset", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status == 200
        except OSError:
            return False

    def close(self) -> None:
        if self._running is not None:
            manager, self._running = self._running[0], None
            manager.__exit__(None, None, None)
