"""Start and stop the local warehouse (its own process) for tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def local_warehouse(token: str | None = None):
    args = [sys.executable, "-m", "integration_tests.local_warehouse"] + (["--token", token] if token else [])
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the local warehouse did not start")
        yield json.loads(line)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
