"""The background writer: files come back in order, and no failed write is hidden by a later success."""
import pytest

from destination_databricks.catalog import StreamPlan, SyncMode
from destination_databricks.naming import StreamKey, TableName
from destination_databricks.sync.batches import StreamState, Writer


class Stager:
    def __init__(self, fail_on: set[int]):
        self.calls, self.fail_on = 0, fail_on

    def write(self, table, batch, avro_schema_json):
        self.calls += 1
        if self.calls in self.fail_on:
            raise OSError(f"write {self.calls} failed")
        return f"file-{batch}"


def stream(name):
    return StreamState(StreamPlan(StreamKey(None, name), TableName("default", name), SyncMode.APPEND, "{}", ()))


def test_files_come_back_in_submission_order_per_stream():
    writer, a, b = Writer(Stager(set())), stream("a"), stream("b")
    for i in range(5):
        writer.submit(a if i % 2 == 0 else b, i)
    try:
        assert writer.written(a) == ["file-0", "file-2", "file-4"] and writer.written(b) == ["file-1", "file-3"]
    finally:
        writer.close()


def test_a_failed_write_fails_the_load_even_when_the_streams_last_write_succeeded():
    writer, a = Writer(Stager({1})), stream("a")
    writer.submit(a, 0)
    writer.submit(a, 1)
    try:
        with pytest.raises(OSError, match="write 1 failed"):
            writer.written(a)
    finally:
        writer.close()
