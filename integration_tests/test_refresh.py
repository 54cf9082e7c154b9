"""The contract of refreshes as platforms send them (Overwrite as append / append_dedup with minimum = generation):
the table shows its previous generation, whole and alone, until the stream completes; then one commit swaps the
new generation in. Run against every data source."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import threading

import pytest

from .harness import CONNECTOR, catalog, lines, record, run, stream, stream_state, stream_status, write_json
from .test_contract import USERS, by_key, dedup, generation, ids, sync

SHADOW = "_airbyte_tmp_g{}_{}"


class Connector:
    """A `write` running in the background, fed a message at a time, its output read as it comes."""

    def __init__(self, destination, tmp_path, cat, env=None):
        config = write_json(tmp_path / "config.json", destination.config())
        catalog_path = write_json(tmp_path / "catalog.json", cat)
        self.proc = subprocess.Popen([CONNECTOR, "write", "--config", config, "--catalog", catalog_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})})
        self.out: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.out.put(line)
        self.out.put(None)

    def send(self, *messages) -> None:
        self.proc.stdin.write(lines(*messages))
        self.proc.stdin.flush()

    def next_state(self, timeout: float = 120) -> dict:
        while True:
            line = self.out.get(timeout=timeout)
            assert line is not None, "the connector ended before releasing a STATE"
            message = json.loads(line)
            if message["type"] == "STATE":
                return message

    def finish(self, timeout: float = 300) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)


@pytest.mark.parametrize("mode", ["append", "append_dedup"])
def test_a_refresh_keeps_the_old_generation_whole_and_alone_while_its_states_flow(destination, tmp_path, mode):
    users = dedup("users", USERS, mode=mode, cursor=()) if mode == "append_dedup" else stream("users", USERS)
    first = sync(destination, tmp_path, catalog({**users, **generation(1, 0)}),
                 [record("users", {"id": i, "name": "old"}) for i in range(3)])
    assert first.returncode == 0, first.stdout
    refresh = Connector(destination, tmp_path, catalog({**users, **generation(2, 2, sync_id=2)}),
                        env={"DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"})
    refresh.send(stream_status("users", "STARTED"), *[record("users", {"id": i, "name": "new"}) for i in range(1, 6)],
                 stream_state("users", 5))
    assert refresh.next_state()["state"]["stream"]["stream_state"] == {"cursor": 5}  # committed (to its shadow)
    rows = destination.rows("default", "users")
    assert ids(rows) == [0, 1, 2] and {r["name"] for r in rows} == {"old"}  # as it was, nothing of the refresh
    refresh.send(record("users", {"id": 6, "name": "new"}), stream_state("users", 6), stream_status("users", "COMPLETE"))
    assert refresh.finish() == 0
    rows = destination.rows("default", "users")
    assert ids(rows) == [1, 2, 3, 4, 5, 6] and {r["name"] for r in rows} == {"new"}
    assert {r["_airbyte_generation_id"] for r in rows} == {2}


def test_a_deduplicated_refresh_never_lets_the_old_generation_win(destination, tmp_path):
    first = sync(destination, tmp_path, catalog(dedup(**generation(1, 0))), [
        record("events", {"id": 1, "updated": 10, "v": "old"}), record("events", {"id": 2, "updated": 10, "v": "old"})])
    assert first.returncode == 0, first.stdout
    # The source's cursors went backwards (that is why a refresh was asked for): the refresh's rows still win.
    refresh = catalog(dedup(**generation(2, 2, sync_id=2)))
    cut = sync(destination, tmp_path, refresh, [
        stream_status("events", "STARTED"), record("events", {"id": 1, "updated": 5, "v": "new"}),
        stream_state("events", 1), stream_status("events", "INCOMPLETE")])
    assert cut.returncode == 1 and len(cut.states) == 1
    assert by_key(destination.rows("default", "events")) == {1: (10, "old"), 2: (10, "old")}
    # The next attempt of generation 2 sends its key again, and a delete of a key only the old generation has.
    retried = sync(destination, tmp_path, refresh, [
        stream_status("events", "STARTED"), record("events", {"id": 1, "updated": 5, "v": "new"}),
        record("events", {"id": 3, "updated": 1, "v": "new"}),
        record("events", {"id": 2, "updated": 1, "_ab_cdc_deleted_at": "2024-05-01T00:00:00Z"}),
        stream_state("events", 3), stream_status("events", "COMPLETE")])
    assert retried.returncode == 0, retried.stdout
    rows = destination.rows("default", "events")
    assert sorted(r["id"] for r in rows) == [1, 3]  # none doubled
    assert by_key(rows) == {1: (5, "new"), 3: (1, "new")} and {r["_airbyte_generation_id"] for r in rows} == {2}


@pytest.mark.parametrize("mode", ["append", "append_dedup"])
def test_generation_1_minimum_1_on_every_sync_keeps_what_earlier_syncs_wrote(destination, tmp_path, mode):
    """PyAirbyte sends generation 1 = minimum 1 on every sync: the same generation's rows stay."""
    events = dedup(mode=mode, **generation(1, 1))
    assert sync(destination, tmp_path, catalog(events), [
        record("events", {"id": i, "updated": 1, "v": "a"}) for i in range(3)]).returncode == 0
    second = sync(destination, tmp_path, catalog(events), [
        record("events", {"id": 2, "updated": 2, "v": "b"}), record("events", {"id": 3, "updated": 1, "v": "b"})])
    assert second.returncode == 0, second.stdout
    rows = destination.rows("default", "events")
    if mode == "append":
        assert sorted((r["id"], r["v"]) for r in rows) == [(0, "a"), (1, "a"), (2, "a"), (2, "b"), (3, "b")]
    else:
        assert by_key(rows) == {0: (1, "a"), 1: (1, "a"), 2: (2, "b"), 3: (1, "b")}


def test_a_later_generation_discards_a_stale_shadow_and_discover_never_lists_one(destination, tmp_path):
    first = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(1, 0))), [record("users", {"id": 0})])
    assert first.returncode == 0, first.stdout
    done = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(2, 2, sync_id=2))),
                [record("users", {"id": 10}), stream_state("users", 10)])
    assert done.returncode == 0, done.stdout  # no stream statuses at all: complete at the end of input, swapped
    cut = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(3, 3, sync_id=3))),
               [stream_status("users", "STARTED"), record("users", {"id": 20}), stream_state("users", 20),
                stream_status("users", "INCOMPLETE")])
    assert cut.returncode == 1 and ids(destination.rows("default", "users")) == [10]
    assert destination.table_exists("default", SHADOW.format(3, "users"))
    found = run(["discover", "--config", str(tmp_path / "config.json")])
    assert found.returncode == 0, found.stdout
    listed = [s["name"] for m in found.of_type("CATALOG") for s in m["catalog"]["streams"]]
    assert "users" in listed and not [name for name in listed if name.startswith("_airbyte")]
    # Generation 4 truncates: generation 3's shadow is stale, its rows never reach the table.
    later = sync(destination, tmp_path, catalog(stream("users", USERS, **generation(4, 4, sync_id=4))),
                 [record("users", {"id": 30})])
    assert later.returncode == 0, later.stdout
    assert ids(destination.rows("default", "users")) == [30]
    assert not destination.table_exists("default", SHADOW.format(3, "users"))
    if hasattr(destination, "keys"):  # an unmanaged shadow's files go with it (S3, Azure)
        assert not [key for key in destination.keys() if "_airbyte_tmp_" in key]


def test_an_overwrite_with_a_generation_releases_states_and_resumes(destination, tmp_path):
    overwrite = catalog(stream("users", USERS, mode="overwrite", **generation(1, 1)))
    assert sync(destination, tmp_path, overwrite, [record("users", {"id": 0})]).returncode == 0
    again = catalog(stream("users", USERS, mode="overwrite", **generation(2, 2, sync_id=2)))
    cut = sync(destination, tmp_path, again, [stream_status("users", "STARTED"), record("users", {"id": 1}),
                                              stream_state("users", 1), stream_status("users", "INCOMPLETE")])
    assert cut.returncode == 1 and [s["stream"]["stream_state"] for s in cut.states] == [{"cursor": 1}]
    assert ids(destination.rows("default", "users")) == [0]
    resumed = sync(destination, tmp_path, again, [stream_status("users", "STARTED"), record("users", {"id": 2}),
                                                  stream_status("users", "COMPLETE")])
    assert resumed.returncode == 0, resumed.stdout
    assert ids(destination.rows("default", "users")) == [1, 2]


def test_a_refresh_that_brings_new_columns(destination, tmp_path):
    v1 = catalog(stream("s", {"id": {"type": "integer"}}, **generation(1, 0)))
    v2 = catalog(stream("s", {"id": {"type": "integer"}, "added": {"type": "boolean"}}, **generation(2, 2, sync_id=2)))
    assert sync(destination, tmp_path, v1, [record("s", {"id": 1})]).returncode == 0
    result = sync(destination, tmp_path, v2, [record("s", {"id": 2, "added": True})], enable_schema_evolution=True)
    assert result.returncode == 0, result.stdout
    assert [(r["id"], r["added"]) for r in destination.rows("default", "s")] == [(2, True)]


def test_a_first_refresh_creates_its_table_at_the_swap(destination, tmp_path):
    events = catalog(dedup(**generation(1, 1)), stream("empty", USERS, **generation(1, 1)))
    result = sync(destination, tmp_path, events, [
        record("events", {"id": 1, "updated": 1, "v": "x"}),
        record("events", {"id": 2, "updated": 1, "_ab_cdc_deleted_at": "2024-05-01T00:00:00Z"})])
    assert result.returncode == 0, result.stdout
    assert by_key(destination.rows("default", "events")) == {1: (1, "x")}  # the hard delete stays out
    assert destination.rows("default", "empty") == []


def test_a_retried_refresh_whose_last_round_brings_a_column_swaps_both_attempts_rows_in(destination, tmp_path):
    """The swap reads the shadow (the first attempt's rows, without the column) and the last staged rows (with it)
    as one: the shadow's rows get null there, none is lost."""
    v1 = stream("s", {"id": {"type": "integer"}}, **generation(2, 2, sync_id=2))
    v2 = stream("s", {"id": {"type": "integer"}, "added": {"type": "boolean"}}, **generation(2, 2, sync_id=2))
    assert sync(destination, tmp_path, catalog(stream("s", {"id": {"type": "integer"}}, **generation(1, 0))),
                [record("s", {"id": 0})]).returncode == 0
    cut = sync(destination, tmp_path, catalog(v1), [stream_status("s", "STARTED"), record("s", {"id": 1}),
                                                   stream_state("s", 1), stream_status("s", "INCOMPLETE")])
    assert cut.returncode == 1 and len(cut.states) == 1
    done = sync(destination, tmp_path, catalog(v2), [stream_status("s", "STARTED"), record("s", {"id": 2, "added": True}),
                                                    stream_state("s", 2), stream_status("s", "COMPLETE")],
                enable_schema_evolution=True)
    assert done.returncode == 0, done.stdout
    rows = destination.rows("default", "s")
    assert sorted((r["id"], r["added"]) for r in rows) == [(1, None), (2, True)]
    assert {r["_airbyte_generation_id"] for r in rows} == {2}
