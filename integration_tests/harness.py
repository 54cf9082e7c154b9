"""Driving the connector as a platform does: the console script in a subprocess, messages on stdin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "destination-databricks")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def states(self) -> list[dict]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]


def parse_stdout(stdout: str) -> list[dict]:
    """Every stdout line must be one JSON protocol message."""
    messages = []
    for line in stdout.splitlines():
        if line.strip():
            message = json.loads(line)  # a bare traceback or print would fail here
            assert isinstance(message, dict) and "type" in message, line
            messages.append(message)
    return messages


def run(args: list[str], stdin: bytes = b"", env: dict | None = None, timeout: float = 300) -> Result:
    proc = subprocess.run([CONNECTOR, *args], input=stdin, capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    out = proc.stdout.decode()
    return Result(proc.returncode, out, proc.stderr.decode(), parse_stdout(out))


def write_json(path, value) -> str:
    with open(path, "w") as f:
        json.dump(value, f)
    return str(path)


# --- building messages -------------------------------------------------------------------------
def stream(name: str, properties: dict | None = None, mode: str = "append", namespace: str | None = None,
           json_schema: dict | None = None, **configured) -> dict:
    """A configured stream; ``configured``: more of its fields (generation_id, minimum_generation_id, sync_id, …)."""
    schema = json_schema if json_schema is not None else {"type": "object", "properties": properties or {}}
    body = {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"]}
    if namespace:
        body["namespace"] = namespace
    return {"stream": body, "sync_mode": "incremental" if mode == "append" else "full_refresh",
            "destination_sync_mode": mode, **configured}


def catalog(*streams: dict) -> dict:
    return {"streams": list(streams)}


def record(name: str, data: dict, namespace: str | None = None, emitted_at: int = 1_700_000_000_000,
           meta: dict | None = None) -> dict:
    body = {"stream": name, "data": data, "emitted_at": emitted_at, **({"meta": meta} if meta else {})}
    if namespace:
        body["namespace"] = namespace
    return {"type": "RECORD", "record": body}


def stream_state(name: str, value, namespace: str | None = None) -> dict:
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": descriptor,
                                                                    "stream_state": {"cursor": value}}}}


def global_state(value) -> dict:
    return {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"cursor": value}}}}


def lines(*messages: dict) -> bytes:
    return b"".join(json.dumps(m, allow_nan=True).encode() + b"\n" for m in messages)


def stream_status(name: str, status: str, namespace: str | None = None) -> dict:
    """A source's stream status, as platforms forward it to the destination."""
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1_700_000_000_000,
                                       "stream_status": {"stream_descriptor": descriptor, "status": status}}}


def client_venv(name: str, *packages: str) -> str:
    """The python of a venv with ``packages`` (a real client or source, kept apart from ours), installed once per
    machine: under $DESTINATION_DATABRICKS_TEST_VENVS, else ~/.cache/destination-databricks/test-venvs, in a folder
    named by the packages and this Python, so every checkout (and CI's clean clone) on the machine shares it.
    Test workers may ask at once: a file lock serialises the install, and a marker written after pip succeeded
    (not the interpreter's existence) says it is ready."""
    import fcntl
    import hashlib
    import subprocess
    import sys

    root = os.environ.get("DESTINATION_DATABRICKS_TEST_VENVS") or os.path.join(
        os.path.expanduser("~"), ".cache", "destination-databricks", "test-venvs")
    os.makedirs(root, exist_ok=True)
    spec = "\n".join((sys.version.split()[0], *packages))
    folder = os.path.join(root, f"{name}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}")
    python, ready = os.path.join(folder, "bin", "python"), os.path.join(folder, ".installed")
    with open(f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(ready):
            print(f"Installing the test client {name} ({', '.join(packages)}) into {folder}, once per machine "
                  "(about a minute; PyPI access needed).", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "venv", "--clear", folder], check=True)
            subprocess.run([python, "-m", "pip", "install", "--quiet", *packages], check=True, timeout=900)
            with open(ready, "w") as f:
                f.write(spec + "\n")
    return python
