"""The post-commit seam: after each commit round, every registered step is called once per table that committed
rows in it, with (table, rows committed, mode), and only after that round's STATEs were released."""
import json

import pytest

from destination_databricks.catalog import SyncMode, plan_streams
from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.naming import TableName
from destination_databricks.backends.local.staging import LocalStager
from destination_databricks.staging.filename import FileNamer
from destination_databricks.settings import Settings
from destination_databricks.sync import Sync


def configured(name, mode):
    return {"stream": {"name": name, "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "destination_sync_mode": mode}


def line(message) -> bytes:
    return json.dumps(message).encode()


def record(stream, i):
    return line({"type": "RECORD", "record": {"stream": stream, "data": {"id": i}, "emitted_at": 1}})


def state(stream, i):
    return line({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"i": i}}}})


class Step:
    """An AfterCommit step calling ``on_commit`` per committed table; ``closed`` once the sync ends."""

    def __init__(self, on_commit):
        self.on_commit, self.closed = on_commit, 0

    def committed(self, table, rows, mode):
        self.on_commit(table, rows, mode)

    def close(self):
        self.closed += 1


def sync(tmp_path, steps, lines, calls=None):
    plans = plan_streams([configured("a", "append"), configured("b", "overwrite"), configured("idle", "append")],
                         "default")
    emitted, calls = [], [] if calls is None else calls
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default"})
    stager = LocalStager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    run = Sync(plans, stager, loader, emitted.append, evolve=False, settings=Settings(commit_seconds=0),
               after_commit=[Step(lambda *args: calls.append(("step", *args))), *(Step(s) for s in steps)])
    original = run.rounds._release

    def release():  # record when STATEs leave, relative to the steps
        before = len(emitted)
        original()
        calls.extend(("state",) for _ in emitted[before:])

    run.rounds._release = release
    run.run([lines])
    return calls


def test_steps_run_once_per_table_per_round_after_its_states(tmp_path):
    calls = sync(tmp_path, [], [record("a", 1), record("a", 2), record("a", 3), state("a", 3),
                                record("a", 4), record("a", 5), state("a", 5), record("b", 1)])
    a, b = TableName("default", "a"), TableName("default", "b")
    # Round 1 at the first STATE, round 2 at the second; the end commits the overwrite stream (and creates the
    # idle stream's empty table, which committed no rows: no step for it).
    assert calls == [("state",), ("step", a, 3, SyncMode.APPEND), ("state",), ("step", a, 2, SyncMode.APPEND),
                     ("step", b, 1, SyncMode.OVERWRITE)]


def test_an_overwrite_that_empties_its_table_is_a_commit_too(tmp_path):
    calls = sync(tmp_path, [], [])
    assert calls == [("step", TableName("default", "b"), 0, SyncMode.OVERWRITE)]


def test_a_failing_step_fails_the_sync_after_the_states_it_covers_left(tmp_path):
    def broken(table, rows, mode):
        raise RuntimeError("index unreachable")

    calls = []
    with pytest.raises(RuntimeError, match="index unreachable"):
        sync(tmp_path, [broken], [record("a", 1), state("a", 1)], calls)
    assert calls == [("state",), ("step", TableName("default", "a"), 1, SyncMode.APPEND)]
