"""The remote stager's bookkeeping of loaded files, on an in-memory store with the Files API's rules (a folder is
deleted only when empty, every call counted). The real volume is exercised in integration_tests/test_managed.py."""
from __future__ import annotations

import threading

import pyarrow as pa

from destination_databricks.naming import TableName
from destination_databricks.staging.filename import DEFAULT_PATTERN, sync_namer
from destination_databricks.backends.databricks.staging.remote import RemoteStager

SYNC = "0b5e4a52-6c1e-4b52-9a43-6a1f0c7e2d11"


class FilesApiLike:
    """Objects by path; folders are the paths' parents, as in a volume (uploads create them)."""

    where = "memory"

    def __init__(self, failing: set[tuple[str, str]] = frozenset()):
        self.objects: dict[str, bytes] = {}
        self.folders_made: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.failing = failing
        self.lock = threading.Lock()

    def _call(self, kind: str, path: str) -> None:
        with self.lock:
            self.calls.append((kind, path))
        if (kind, path) in self.failing:
            raise OSError(f"refused: {path}")

    def uri(self, path: str) -> str:
        return f"/Volumes/c/s/v/{path}"

    def put(self, path: str, body) -> None:
        self._call("put", path)
        with self.lock:
            self.objects[path] = bytes(body)
            parts = path.split("/")
            self.folders_made.update("/".join(parts[:i]) for i in range(1, len(parts)))

    def folders(self, prefix: str) -> list[str]:
        self._call("list", prefix)
        return sorted({f[len(prefix) + 1:].split("/")[0] for f in self.folders_made if f.startswith(prefix + "/")})

    def modified(self, path: str):
        self._call("head", path)
        return None

    def delete_prefix(self, folder: str) -> int:
        self._call("delete_prefix", folder)
        with self.lock:
            gone = [p for p in self.objects if p.startswith(folder + "/")]
            for p in gone:
                del self.objects[p]
            self.folders_made = {f for f in self.folders_made if f != folder and not f.startswith(folder + "/")}
        return len(gone)

    def delete_file(self, path: str) -> None:
        self._call("delete_file", path)
        with self.lock:
            self.objects.pop(path, None)

    def delete_empty_folder(self, path: str) -> None:
        self._call("delete_folder", path)
        with self.lock:
            if any(p.startswith(path + "/") for p in self.objects) or any(
                    f.startswith(path + "/") for f in self.folders_made):
                raise OSError(f"DIRECTORY_NOT_EMPTY: {path}")
            self.folders_made.discard(path)


def batch(n: int) -> pa.RecordBatch:
    return pa.record_batch({"_airbyte_ab_id": [f"id-{i}" for i in range(n)]})


def stager(store: FilesApiLike) -> RemoteStager:
    return RemoteStager(store, SYNC, sync_namer(DEFAULT_PATTERN, SYNC), lambda b, _: b"x" * b.num_rows, "parquet",
                        free_loaded=True)


def stage_and_load(s: RemoteStager, table: TableName, files: int):
    staged = [s.write(table, batch(2), "{}") for _ in range(files)]
    sealed = s.seal(table, staged, batch(1).schema)
    s.loaded(sealed)
    return sealed


def test_a_loaded_folder_goes_file_by_file_then_the_folder_and_the_purge_lists_nothing():
    store = FilesApiLike()
    s = stager(store)
    s.start()
    a, b = TableName("default", "a"), TableName("default", "b")
    first = stage_and_load(s, a, 3)
    stage_and_load(s, b, 1)
    stage_and_load(s, a, 1)  # a's second load: a folder of its own
    assert first.location.endswith(f"_airbyte_staging/{SYNC}/default.a.load_0")
    s.purge()
    assert store.objects == {} and store.folders_made == {"_airbyte_staging"}  # the root is shared by every sync
    assert ("list", f"_airbyte_staging/{SYNC}") not in store.calls  # the sync's folder was never listed
    assert not any(kind == "delete_prefix" for kind, _ in store.calls)
    deleted_folders = [path for kind, path in store.calls if kind == "delete_folder"]
    assert sorted(deleted_folders) == sorted([f"_airbyte_staging/{SYNC}/default.a.load_0", f"_airbyte_staging/{SYNC}",
                                              f"_airbyte_staging/{SYNC}/default.b.load_0",
                                              f"_airbyte_staging/{SYNC}/default.a.load_1"])
    assert deleted_folders[-1] == f"_airbyte_staging/{SYNC}"
    for folder in (f"_airbyte_staging/{SYNC}/default.a.load_0",):  # each folder after its own files
        files = [i for i, (kind, path) in enumerate(store.calls) if kind == "delete_file" and path.startswith(folder + "/")]
        assert len(files) == 3 and max(files) < store.calls.index(("delete_folder", folder))


def test_a_file_that_could_not_be_deleted_is_left_to_the_purge_which_lists_and_removes_it():
    store = FilesApiLike()
    s = stager(store)
    s.start()
    table = TableName("default", "a")
    name = sync_namer(DEFAULT_PATTERN, SYNC).name(0)
    store.failing = {("delete_file", f"_airbyte_staging/{SYNC}/default.a.load_0/{name}")}  # the freeing call fails
    stage_and_load(s, table, 2)
    s.purge()
    assert store.objects == {} and ("delete_prefix", f"_airbyte_staging/{SYNC}") in store.calls


def test_without_freeing_loaded_files_stay_until_the_purge():
    store = FilesApiLike()
    s = RemoteStager(store, SYNC, sync_namer(DEFAULT_PATTERN, SYNC), lambda b, _: b"x", "parquet")
    s.start()
    stage_and_load(s, TableName("default", "a"), 2)
    s.close()
    assert len([p for p in store.objects if ".load_0/" in p]) == 2
    assert not any(kind in ("delete_file", "delete_folder") for kind, _ in store.calls)


def test_nothing_is_staged_before_the_heartbeat():
    store = FilesApiLike()
    s = stager(store)
    s.start()
    stage_and_load(s, TableName("default", "a"), 1)
    s.close()
    puts = [path for kind, path in store.calls if kind == "put"]
    assert puts[0] == f"_airbyte_staging/{SYNC}/_airbyte_sync_alive"


def test_a_heartbeat_that_cannot_be_written_fails_the_first_write_naming_the_store_and_stages_nothing():
    import pytest

    from destination_databricks.errors import SystemFailure

    store = FilesApiLike(failing={("put", f"_airbyte_staging/{SYNC}/_airbyte_sync_alive")})
    s = stager(store)
    s.start()
    with pytest.raises(SystemFailure, match="heartbeat to memory failed: refused"):
        s.write(TableName("default", "a"), batch(2), "{}")
    s.close()
    assert [kind for kind, _ in store.calls if kind == "put"] == ["put"] and store.objects == {}


class Timed(FilesApiLike):
    """Objects with the time they were written (a heartbeat's age tells a running sync from a dead one)."""

    def __init__(self):
        super().__init__()
        self.times: dict[str, object] = {}

    def put(self, path: str, body) -> None:
        import datetime as dt

        super().put(path, body)
        self.times[path] = dt.datetime.now(dt.timezone.utc)

    def modified(self, path: str):
        self._call("head", path)
        return self.times.get(path) if path in self.objects else None


def test_marks_count_while_their_sync_runs_and_not_once_it_ended_or_kept_its_staging():
    import datetime as dt

    store = Timed()
    other_id = "9d1c2b3a-0000-4000-8000-000000000001"
    mine, other = stager(store), RemoteStager(store, other_id, sync_namer(DEFAULT_PATTERN, other_id),
                                              lambda b, _: b"x", "parquet")
    mine.start()
    other.start()
    mine._wait_alive()
    other._wait_alive()
    assert mine.marked_by_others("claims") == set()
    other.mark("claims", ["s._airbyte_tmp_g2_t", "s._airbyte_tmp_g2_u"])
    other.mark("drops", ["s._airbyte_tmp_g2_t"])
    assert mine.marked_by_others("claims") == {"s._airbyte_tmp_g2_t", "s._airbyte_tmp_g2_u"}
    assert mine.marked_by_others("drops") == {"s._airbyte_tmp_g2_t"} and other.marked_by_others("claims") == set()
    other.unmark("drops")
    assert mine.marked_by_others("drops") == set()
    heartbeat = f"_airbyte_staging/{other_id}/_airbyte_sync_alive"
    store.times[heartbeat] = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)  # a dead sync's
    assert mine.marked_by_others("claims") == set()
    store.times[heartbeat] = dt.datetime.now(dt.timezone.utc)
    other.keep()  # it ended, keeping its staging
    assert mine.marked_by_others("claims") == set()
    other.close()
    mine.purge()


def test_a_cut_waits_for_no_upload_and_the_seal_of_its_load_waits_for_them_all():
    """The writer thread cuts a load in order with its writes; waiting for the uploads (a second each on a volume)
    is the seal's, on the load's own thread, so one slow store never holds the writer (and every other stream)."""
    release = threading.Event()

    class Slow(FilesApiLike):
        def put(self, path: str, body) -> None:
            if "/part_" in path:
                release.wait(timeout=10)
            super().put(path, body)

    store = Slow()
    s = stager(store)
    s.start()
    table = TableName("default", "t")
    files = [s.write(table, batch(2), "{}") for _ in range(3)]
    cut = s.cut(table)  # returns at once: the three uploads are still held
    later = s.write(table, batch(1), "{}")  # the next load's file
    assert not release.is_set() and ".load_0/" in cut[0] + "/" and len(cut[1]) == 3
    sealed = []
    sealing = threading.Thread(target=lambda: sealed.append(s.seal(table, files, batch(1).schema, cut)))
    sealing.start()
    sealing.join(timeout=0.3)
    assert sealing.is_alive() and not sealed, "the seal did not wait for its uploads"
    release.set()
    sealing.join(timeout=10)
    assert sealed and sealed[0].location.endswith(".load_0") and later.location.split("/")[-2].endswith(".load_1")
    s.purge()
