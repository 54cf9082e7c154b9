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
