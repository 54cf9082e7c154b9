"""Runs of one stream's record lines are buffered a run at a time (sync/loop.py, BufferPool.extend), with the same
batches, checkpoints, line numbers and emitted_at a line at a time gives."""
import json
import random

import pytest
from deltalake import DeltaTable

from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.backends.local.staging import LocalStager
from destination_databricks.catalog import plan_streams
from destination_databricks.errors import InputError
from destination_databricks.records.buffer import BufferPool, Layout
from destination_databricks.settings import Settings
from destination_databricks.staging.filename import FileNamer
from destination_databricks.sync import Sync


def _drain(pool: BufferPool, key: str, flushed: list) -> None:
    """What Batches.added does with a full buffer or an over-budget pool: take them (here, note their contents)."""
    if key in pool.buffers and pool.full(pool.buffers[key]):
        flushed.append(_contents(key, pool.take(key)))
    if pool.over_budget():
        for evicted in pool.to_evict():
            flushed.append(_contents(evicted, pool.take(evicted)))


def _contents(key, buffer) -> tuple:
    return key, bytes(buffer.data), list(buffer.data_ends), list(buffer.emitted_at), list(buffer.lines), buffer.size


@pytest.mark.parametrize("seed", range(20))
def test_extend_takes_what_add_would_say_true_of_one_by_one(seed):
    rng = random.Random(seed)
    limits = (rng.randint(200, 3000), rng.randint(100, 1500), rng.randint(2, 40))  # budget, batch bytes, batch rows
    records = [(rng.choice("ab"), b"x" * rng.randint(1, 90), rng.randint(1, 10 ** 12), rng.randint(60, 160))
               for _ in range(400)]
    by_add, by_extend = [], []
    one = BufferPool(*limits, lambda key: Layout((), ()))
    for line, (key, text, emitted, size) in enumerate(records, 1):
        if one.add(key, text, emitted, size, line):
            _drain(one, key, by_add)
    runs = BufferPool(*limits, lambda key: Layout((), ()))
    line, at = 1, 0
    while at < len(records):  # runs of one stream, as the loop finds them
        stop = at
        while stop < len(records) and records[stop][0] == records[at][0]:
            stop += 1
        key, run = records[at][0], records[at:stop]
        done = 0
        while done < len(run):
            taken, size, full = runs.extend(key, [r[1] for r in run], [r[2] for r in run], [r[3] for r in run],
                                            done, line + done)
            assert taken >= 1 and size == sum(r[3] for r in run[done:done + taken])
            done += taken
            if full:
                _drain(runs, key, by_extend)
            else:
                assert done == len(run)  # only the run's end stops short of a full buffer
        line, at = line + len(run), stop
    assert by_extend == by_add and by_add
    assert {k: _contents(k, b) for k, b in runs.buffers.items()} == {k: _contents(k, b) for k, b in one.buffers.items()}


STREAM = {"type": "object", "properties": {"id": {"type": "integer"}}}


def _record(stream: str, i: int, emitted: bytes | None = None) -> bytes:
    return b'{"type":"RECORD","record":{"stream":"%s","data":{"id":%d},"emitted_at":%s}}' % (
        stream.encode(), i, emitted or b"%d" % (1_700_000_000_000 + i))


def _state(i: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"i": i}}}}).encode()


def _sync(tmp_path, blocks, settings: Settings) -> tuple[list, list, dict]:
    staged, emitted = [], []

    class Stager(LocalStager):
        def write(self, table, batch, avro_schema_json):
            staged.append((table.table, batch.num_rows))
            return super().write(table, batch, avro_schema_json)

    plans = plan_streams([{"stream": {"name": name, "json_schema": STREAM}, "destination_sync_mode": "append"}
                          for name in ("a", "b")], "default")
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default"})
    stager = Stager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    Sync(plans, stager, loader, emitted.append, evolve=False, settings=settings).run(blocks)
    tables = {plan.table.table: sorted((r["id"], r["_airbyte_emitted_at"].timestamp())
                                       for r in DeltaTable(loader.location(plan.table)).to_pyarrow_table().to_pylist())
              for plan in plans.values()}
    return staged, emitted, tables


def test_runs_in_one_block_stage_the_batches_and_release_the_states_of_one_line_at_a_time(tmp_path):
    rng = random.Random(7)
    lines, i = [], 0
    for _ in range(30):  # runs of 1 to 25 lines of one stream, STATEs between some
        stream = rng.choice("ab")
        for _ in range(rng.randint(1, 25)):
            lines.append(_record(stream, i))
            i += 1
        if rng.random() < 0.4:
            lines.append(_state(i))
    settings = Settings(batch_rows=9, batch_bytes=1500, buffer_bytes=2500, commit_bytes=4000)
    whole = _sync(tmp_path / "whole", [lines[:len(lines) // 2], lines[len(lines) // 2:]], settings)
    one_by_one = _sync(tmp_path / "one", [[line] for line in lines], settings)
    assert whole == one_by_one
    assert sum(n for _, n in whole[0]) == i and len(whole[1]) == sum(b'"STATE"' in line for line in lines)


def test_a_line_a_run_cannot_take_goes_the_general_way_in_its_place(tmp_path):
    lines = [_record("a", 0), _record("a", 1), _record("a", 2, b"1.5e12"),  # not digits: parsed as a message
             _record("a", 3) + b" ", _record("a", 4, b"1700000000"),  # trailing space; seconds, in a run
             _record("a", 5), _state(6)]
    _, states, tables = _sync(tmp_path, [lines], Settings())
    assert tables["a"] == [(0, 1_700_000_000.0), (1, 1_700_000_000.001), (2, 1_500_000_000.0),
                           (3, 1_700_000_000.003), (4, 1_700_000_000.0), (5, 1_700_000_000.005)]
    assert len(states) == 1


def test_a_record_of_a_run_that_fails_names_its_own_line(tmp_path):
    lines = [_record("a", 0), _record("b", 1), _record("b", 2),
             b'{"type":"RECORD","record":{"stream":"b","data":[3],"emitted_at":1}}', _record("b", 4)]
    with pytest.raises(InputError, match=r"Input line 4: the record's 'data' of stream '.*b' is not an object"):
        _sync(tmp_path, [lines[:2], lines[2:]], Settings())
