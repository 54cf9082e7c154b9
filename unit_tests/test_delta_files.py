"""What the connector reads from a Delta log itself: a column's largest value from the files' statistics, so a
refresh's swap knows without a statement whether any row of the table stays."""
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from destination_databricks import delta_files


def test_the_largest_value_comes_from_the_files_statistics(tmp_path):
    uri = str(tmp_path / "t")
    write_deltalake(uri, pa.table({"g": pa.array([1, 1], pa.int64()), "x": ["a", "b"]}))
    write_deltalake(uri, pa.table({"g": pa.array([None, 3], pa.int64()), "x": ["c", "d"]}), mode="append")
    write_deltalake(uri, pa.table({"g": pa.array([None], pa.int64()), "x": ["e"]}), mode="append")  # nulls only
    assert delta_files.largest(uri, "g") == 3
    assert delta_files.DeltaLogs().largest(uri, "g") == 3


def test_a_table_without_values_has_none(tmp_path):
    uri = str(tmp_path / "t")
    write_deltalake(uri, pa.table({"g": pa.array([None, None], pa.int64())}))
    assert delta_files.largest(uri, "g") is None
    empty = str(tmp_path / "empty")
    write_deltalake(empty, pa.table({"g": pa.array([], pa.int64())}))
    assert delta_files.largest(empty, "g") is None


def test_a_file_without_statistics_means_a_query_must_answer(tmp_path):
    """A writer may keep no statistics (the connector's own commits of staged files keep only row counts)."""
    uri = str(tmp_path / "t")
    os.makedirs(uri)
    pq.write_table(pa.table({"g": pa.array([5], pa.int64())}), os.path.join(uri, "part-0.parquet"))
    delta_files.commit(uri, [delta_files.DataFile("part-0.parquet", os.path.getsize(os.path.join(uri, "part-0.parquet")), 1)],
                       pa.schema([("g", pa.int64())]), "append")
    with pytest.raises(LookupError):
        delta_files.largest(uri, "g")
    with pytest.raises(LookupError):
        delta_files.UNREADABLE.largest(uri, "g")
    assert delta_files.UNREADABLE.schema(uri) is None and delta_files.DeltaLogs().schema(uri) is not None


def test_a_location_without_a_readable_log_means_a_query_must_answer(tmp_path):
    os.makedirs(tmp_path / "t" / "_delta_log")
    with pytest.raises(LookupError):
        delta_files.largest(str(tmp_path / "t"), "g")
