"""SIGKILL mid-sync, resume from the last emitted STATE as a platform would: nothing acknowledged is lost."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time

from .harness import CONNECTOR, catalog, lines, record, stream, stream_state, write_json

N = 2000
EVERY = 40
ENV = {"DESTINATION_DATABRICKS_BATCH_ROWS": "30", "DESTINATION_DATABRICKS_COMMIT_BYTES": "4000"}


KEYS = 700  # deduplicated: record i updates key i % KEYS (each key about 3 times)


def messages_from(cursor: int) -> list[dict]:
    """The source's messages after the STATE with ``cursor`` (all of them for cursor -1)."""
    out = []
    for i in range(cursor + 1, N):
        out.append(record("events", {"id": i, "key": i % KEYS, "payload": "p" * (i % 50)}))
        if i % EVERY == EVERY - 1:
            out.append(stream_state("events", i))
    return out


def run_until_killed(config_path, catalog_path, messages, kill_after_states, rng):
    """Feed messages slowly; SIGKILL after that many STATEs plus a random pause. Returns emitted cursors."""
    proc = subprocess.Popen([CONNECTOR, "write", "--config", config_path, "--catalog", catalog_path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **ENV})
    payload = lines(*messages).splitlines(keepends=True)

    def feed():
        try:
            for start in range(0, len(payload), 60):
                proc.stdin.write(b"".join(payload[start:start + 60]))
                proc.stdin.flush()
                time.sleep(0.01)
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    cursors = []
    for line in proc.stdout:
        message = json.loads(line)
        if message["type"] == "STATE":
            cursors.append(message["state"]["stream"]["stream_state"]["cursor"])
            if len(cursors) >= kill_after_states:
                time.sleep(rng.uniform(0, 0.15))
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=120)
    proc.stdout.close()
    return cursors, proc.returncode


def run_to_the_end(config_path, catalog_path, cursor: int) -> subprocess.CompletedProcess:
    """The last run, resumed after ``cursor``, completes (no other sync runs here, so any other staging is a
    dead sync's). It stages as small batches as the killed runs but commits at the end only: the killed runs
    already committed round after round, and on S3 each round of a deduplicated stream costs about a second."""
    proc = subprocess.run([CONNECTOR, "write", "--config", config_path, "--catalog", catalog_path],
                          input=lines(*messages_from(cursor)), capture_output=True,
                          env={**os.environ, "DESTINATION_DATABRICKS_BATCH_ROWS": ENV["DESTINATION_DATABRICKS_BATCH_ROWS"],
                               "DESTINATION_DATABRICKS_STALE_STAGING_SECONDS": "0"})
    assert proc.returncode == 0, proc.stdout.decode()[-2000:]
    return proc


def test_killed_syncs_resume_without_losing_acknowledged_records(destination, tmp_path):
    rng = random.Random(7)
    config_path = write_json(tmp_path / "config.json", destination.config())
    catalog_path = write_json(tmp_path / "catalog.json", catalog(stream("events", PROPERTIES)))
    cursor = -1
    kills = 0
    for attempt in range(5):
        cursors, code = run_until_killed(config_path, catalog_path, messages_from(cursor), rng.randint(1, 6), rng)
        if code == -signal.SIGKILL:
            kills += 1
        if cursors:
            assert cursors == sorted(cursors) and cursors[0] > cursor
            cursor = cursors[-1]
        present = {r["id"] for r in destination.rows("default", "events")} if destination.table_exists("default", "events") else set()
        missing = set(range(cursor + 1)) - present
        assert not missing, f"attempt {attempt}: {len(missing)} acknowledged records missing"
        if cursor >= N - 1:
            break
    assert kills >= 3, "the test must really kill the connector mid-sync"
    proc = run_to_the_end(config_path, catalog_path, cursor)
    final = [json.loads(l) for l in proc.stdout.splitlines()]
    states = [m["state"]["stream"]["stream_state"]["cursor"] for m in final if m["type"] == "STATE"]
    assert states[-1] == N - 1
    assert {r["id"] for r in destination.rows("default", "events")} == set(range(N))
    assert destination.staging_leftovers() == []  # the killed runs' staging is cleaned by the next run


PROPERTIES = {"id": {"type": "integer"}, "key": {"type": "integer"}, "payload": {"type": "string"}}


def test_killed_deduplicated_syncs_resume_without_losing_or_doubling_a_key(destination, tmp_path):
    rng = random.Random(11)
    config_path = write_json(tmp_path / "config.json", destination.config())
    configured = {**stream("events", PROPERTIES, mode="append_dedup"), "primary_key": [["key"]], "cursor_field": ["id"]}
    catalog_path = write_json(tmp_path / "catalog.json", catalog(configured))
    cursor, kills = -1, 0
    for attempt in range(5):
        cursors, code = run_until_killed(config_path, catalog_path, messages_from(cursor), rng.randint(1, 6), rng)
        kills += code == -signal.SIGKILL
        cursor = cursors[-1] if cursors else cursor
        rows = destination.rows("default", "events") if destination.table_exists("default", "events") else []
        keys = [r["key"] for r in rows]
        assert len(keys) == len(set(keys)), f"attempt {attempt}: a key has two rows"
        latest = {r["key"]: r["id"] for r in rows}
        for i in range(cursor + 1):  # every acknowledged record's key holds it or a newer record
            assert latest.get(i % KEYS, -1) >= i, f"attempt {attempt}: record {i} (key {i % KEYS}) lost"
        if cursor >= N - 1:
            break
    assert kills >= 3, "the test must really kill the connector mid-sync"
    run_to_the_end(config_path, catalog_path, cursor)
    rows = destination.rows("default", "events")
    assert sorted((r["key"], r["id"]) for r in rows) == sorted((k, max(i for i in range(N) if i % KEYS == k))
                                                                for k in range(KEYS))
