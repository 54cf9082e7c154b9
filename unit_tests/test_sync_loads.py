"""A commit round hands each stream's load out as soon as that stream is flushed, so loads overlap the staging of
the streams after it (on a warehouse: the uploads), instead of waiting until every stream of the round is staged."""
import json
import threading

from deltalake import DeltaTable

from destination_databricks.catalog import plan_streams
from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.backends.local.staging import LocalStager
from destination_databricks.staging.filename import FileNamer
from destination_databricks.settings import Settings
from destination_databricks.sync import Sync

STREAMS = [f"s{i}" for i in range(6)]


def record(stream: str) -> bytes:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": {"id": 1}, "emitted_at": 1}}).encode()


def test_a_load_starts_while_later_streams_of_its_round_are_still_being_staged(tmp_path):
    first_load = threading.Event()
    seen: dict[str, bool] = {}

    class Loader(DeltaRsLoader):
        def load(self, staged, *args, **kwargs):
            if staged.table.table == STREAMS[0]:
                first_load.set()
            return super().load(staged, *args, **kwargs)

    class Stager(LocalStager):
        def write(self, table, batch, avro_schema_json):
            if table.table == STREAMS[2]:  # the stager holds this file until the first stream's load has begun
                seen["load began while s2 was staging"] = first_load.wait(timeout=5)
            return super().write(table, batch, avro_schema_json)

    plans = plan_streams([{"stream": {"name": name, "json_schema": {"type": "object", "properties": {
        "id": {"type": "integer"}}}}, "destination_sync_mode": "append"} for name in STREAMS], "default")
    loader = Loader(str(tmp_path), "sync", {"default"})
    stager = Stager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    assert loader.capabilities.concurrent_loads > 1
    Sync(plans, stager, loader, lambda _: None, evolve=False, settings=Settings()).run([[record(s) for s in STREAMS]])
    # Staging runs two files ahead of the flushes, so had loads waited for the whole round, the flushes would have
    # stalled behind s2's file and no load would have begun while it was held.
    assert seen == {"load began while s2 was staging": True}
    assert all(loader.table_schema(plan.table) is not None for plan in plans.values())


def state(value: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": {"v": value}}}).encode()


def test_the_input_goes_on_while_a_rounds_loads_run_and_their_states_leave_once_done(tmp_path):
    """A round's loads (a second or more each on a warehouse) run while the next records are read and staged; the
    round's STATE leaves only once they are done, and the next round's records commit after them."""
    held, later_staged = threading.Event(), threading.Event()
    seen: dict[str, object] = {}
    emitted: list[str] = []

    class Loader(DeltaRsLoader):
        def load(self, staged, *args, **kwargs):
            if not held.is_set():  # the first round's load waits until records after its STATE were staged
                held.set()
                seen["later records staged while the load ran"] = later_staged.wait(timeout=5)
                seen["STATEs out during the load"] = list(emitted)
            return super().load(staged, *args, **kwargs)

    class Stager(LocalStager):
        def write(self, table, batch, avro_schema_json):
            if min(batch.column("id").to_pylist()) >= 100:
                later_staged.set()
            return super().write(table, batch, avro_schema_json)

    plans = plan_streams([{"stream": {"name": "s", "json_schema": {"type": "object", "properties": {
        "id": {"type": "integer"}}}}, "destination_sync_mode": "append"}], "default")
    loader = Loader(str(tmp_path), "sync", {"default"})
    stager = Stager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    lines = [json.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"id": i}, "emitted_at": 1}}).encode()
             for i in range(10)] + [state(1)]
    lines += [json.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"id": 100 + i}, "emitted_at": 1}}).encode()
              for i in range(10)] + [state(2)]
    Sync(plans, stager, loader, emitted.append, evolve=False, settings=Settings(commit_bytes=1, batch_rows=5)).run([lines])
    assert seen == {"later records staged while the load ran": True, "STATEs out during the load": []}
    assert [json.loads(line)["state"]["data"]["v"] for line in emitted] == [1, 2]
    table = DeltaTable(loader.location(plans[next(iter(plans))].table)).to_pyarrow_table()
    assert sorted(table.column("id").to_pylist()) == list(range(10)) + list(range(100, 110))
