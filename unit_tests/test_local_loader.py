"""The LOCAL loader's table-level operations that need no sync around them."""
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.catalog import plan_streams
from destination_databricks.naming import TableName


def test_change_data_feed_is_turned_on_for_an_existing_table_and_its_rows_stay(tmp_path):
    loader, table = DeltaRsLoader(str(tmp_path), "sync", {"default"}), TableName("default", "t")
    write_deltalake(loader.location(table), pa.table({"a": [1, 2]}))
    assert "delta.enableChangeDataFeed" not in DeltaTable(loader.location(table)).metadata().configuration
    loader.enable_change_data_feed(table)
    loader.enable_change_data_feed(table)  # harmless when it is on
    found = DeltaTable(loader.location(table))
    assert found.metadata().configuration["delta.enableChangeDataFeed"] == "true"
    assert loader.table_schema(table) is not None and found.version() == 2


def _rows(uri):
    from deltalake import QueryBuilder

    read = QueryBuilder().register("t", DeltaTable(uri)).execute("SELECT * FROM t").read_all()
    return sorted(pa.table(read).to_pylist(), key=lambda r: (r["id"], r["_airbyte_ab_id"]))


def _generation(uri, ids, generation, mode="append"):
    write_deltalake(uri, pa.table({"_airbyte_ab_id": [f"{generation}-{i}" for i in ids], "id": ids,
                                   "_airbyte_emitted_at": pa.array([generation] * len(ids), pa.int64()),
                                   "_airbyte_generation_id": pa.array([generation] * len(ids), pa.int64())}), mode=mode)


def test_a_swap_run_again_after_a_crash_before_its_shadow_went_commits_nothing_twice(tmp_path):
    import shutil

    from destination_databricks.dedup import Merge, Truncation
    from destination_databricks.refresh import Refresh

    loader, table = DeltaRsLoader(str(tmp_path), "sync", {"default"}), TableName("default", "t")
    for truncation, merge, kept in ((Truncation(2), None, [1, 2]), (Truncation(1), None, [0, 1, 1, 2]),
                                    (Truncation(1), Merge(("id",), None, None), [0, 1, 2]), (None, None, [1, 2])):
        refresh = Refresh(TableName("default", "_airbyte_tmp_g2_t"), truncation)
        shutil.rmtree(loader.location(table), ignore_errors=True)
        _generation(loader.location(table), [0, 1], 1)  # the table: generation 1
        _generation(loader.location(refresh.shadow), [1], 2)  # the refresh: generation 2, in two commits
        _generation(loader.location(refresh.shadow), [2], 2)
        loader.swap(refresh, table, pa.schema([]), merge)
        once = _rows(loader.location(table))
        # The crash: the swap committed, its STATEs did not leave, so the shadow was not dropped.
        assert (tmp_path / "default" / "_airbyte_tmp_g2_t").exists()
        loader.swap(refresh, table, pa.schema([]), merge)
        assert _rows(loader.location(table)) == once and [r["id"] for r in once] == kept, (truncation, merge)
        loader.drop(refresh.shadow)
        assert not (tmp_path / "default" / "_airbyte_tmp_g2_t").exists()


def test_two_first_loads_of_a_deduplicated_table_at_once_never_double_a_key(tmp_path):
    """delta-rs turns a create-with-rows that loses the race into an append: both loads' rows of a key stayed."""
    import threading

    import pyarrow.parquet as pq

    from destination_databricks.backends.local import merge as merging
    from destination_databricks.backends.local.commits import retried
    from destination_databricks.dedup import Merge

    schema = pa.schema([("_airbyte_ab_id", pa.string()), ("_airbyte_emitted_at", pa.int64()), ("id", pa.int64()),
                        ("u", pa.int64())])
    uri, table = str(tmp_path / "t"), TableName("default", "t")
    for attempt in range(5):
        files = []
        for writer, base in (("a", 0), ("b", 1000)):
            path = str(tmp_path / f"{writer}{attempt}.parquet")
            pq.write_table(pa.table({"_airbyte_ab_id": [f"{writer}{i}" for i in range(100)], "_airbyte_emitted_at": [1] * 100,
                                     "id": list(range(100)), "u": [base + i for i in range(100)]}, schema=schema), path)
            files.append(path)
        barrier, failures = threading.Barrier(2), []

        def load(path):
            barrier.wait()
            try:
                retried(table, uri, lambda: merging.write_latest(uri, [path], schema, Merge(("id",), "u", None), False))
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=load, args=(f,)) for f in files]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not failures
        rows = _rows(uri)
        assert sorted(r["id"] for r in rows) == list(range(100)) and {r["u"] for r in rows} == set(range(1000, 1100))


def test_local_marks_count_while_their_sync_holds_its_lock(tmp_path):
    from destination_databricks.backends.local.staging import LocalStager
    from destination_databricks.staging.filename import FileNamer

    mine, other = (LocalStager(str(tmp_path), sync, FileNamer("part_{part_number}", sync)) for sync in ("a", "b"))
    mine.start()
    other.start()
    assert mine.marked_by_others("claims") == set()
    other.mark("claims", ["default._airbyte_tmp_g2_t"])
    other.mark("drops", ["default._airbyte_tmp_g2_t"])
    assert mine.marked_by_others("claims") == {"default._airbyte_tmp_g2_t"} == mine.marked_by_others("drops")
    assert other.marked_by_others("claims") == set()
    other.unmark("drops")
    assert mine.marked_by_others("drops") == set()
    other.keep()
    other.close()  # it ended (its staging kept): its marks no longer count
    assert mine.marked_by_others("claims") == set()
    mine.purge()


def test_an_attempt_claiming_a_shadow_waits_while_another_drops_it_and_a_drop_spares_a_claimed_one(tmp_path):
    """The marks' protocol (sync/shadows.py) between two running syncs, each with its own staging."""
    import threading
    import time

    from destination_databricks.backends.local.staging import LocalStager
    from destination_databricks.staging.filename import FileNamer
    from destination_databricks.sync.batches import StreamState
    from destination_databricks.sync.shadows import ShadowMarks

    plans = plan_streams([{"stream": {"name": "t", "json_schema": {"type": "object", "properties": {}}},
                           "destination_sync_mode": "append", "generation_id": 2, "minimum_generation_id": 2}],
                         "default")
    (plan,) = plans.values()
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default"})
    a, b = (LocalStager(str(tmp_path), sync, FileNamer("part_{part_number}", sync)) for sync in ("a", "b"))
    a.start()
    b.start()
    shadow = TableName("default", "_airbyte_tmp_g2_t")
    _generation(loader.location(shadow), [1], 2)
    a.mark("drops", ["default._airbyte_tmp_g2_t"])  # a is dropping it
    claimed = threading.Event()
    waited: list[float] = []

    def claim():
        started = time.monotonic()
        ShadowMarks(b, loader).claim([StreamState(plan)])
        waited.append(time.monotonic() - started)
        claimed.set()

    threading.Thread(target=claim).start()
    assert not claimed.wait(1.0), "the claim did not wait for the drop"
    a.unmark("drops")
    assert claimed.wait(5) and waited[0] >= 1.0
    ShadowMarks(a, loader).drop([shadow], ThreadPoolExecutor(1))
    assert loader.table_schema(shadow) is not None, "dropped while b claims it"
    b.purge()
    ShadowMarks(a, loader).drop([shadow], ThreadPoolExecutor(1))
    assert loader.table_schema(shadow) is None
    a.purge()
