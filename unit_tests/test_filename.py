"""The staged-file name expander, pinned on a fixed clock."""
import datetime as dt

import pytest

from destination_databricks.errors import ConfigError
from destination_databricks.staging.filename import FileNamer

NOW = dt.datetime(2026, 3, 7, 14, 5, 9, 123456, tzinfo=dt.timezone.utc)
MILLIS = "1772892309123"
MICROS = "1772892309123456"


def name(pattern, part=3, sync_id="job-42"):
    return FileNamer(pattern, sync_id).name(part, NOW)


@pytest.mark.parametrize("pattern, expected", [
    ("{date}", "2026_03_07_3.parquet"),
    ("{date:yyyy_MM}", "2026_03_3.parquet"),
    ("{date:yyyyMMdd-HHmmss.SSS}", "20260307-140509.123_3.parquet"),
    ("{date:yy_MMM_EEE}", "26_Mar_Sat_3.parquet"),
    ("{date:yyyy'T'HH}", "2026T14_3.parquet"),
    ("{timestamp}", f"{MILLIS}_3.parquet"),
    ("{timestamp:millis}", f"{MILLIS}_3.parquet"),
    ("{timestamp:micros}", f"{MICROS}_3.parquet"),
    ("{part_number}", "3.parquet"),
    ("{sync_id}", "job-42_3.parquet"),
    ("{format_extension}", "parquet_3"),
    ("data-{part_number}.{format_extension}", "data-3.parquet"),
    ("  my files {date} ", "my_files_2026_03_07_3.parquet"),
    ("", "part_3.parquet"),
])
def test_placeholders(pattern, expected):
    assert name(pattern) == expected


def test_names_differ_by_part_whatever_the_pattern():
    for pattern in ["{date}", "static", "{sync_id}", "{format_extension}", "{timestamp}"]:
        assert len({name(pattern, part) for part in range(50)}) == 50


@pytest.mark.parametrize("pattern, complaint", [
    ("{nope}", "unknown placeholder"),
    ("{timestamp:nanos}", "unknown placeholder"),
    ("{date:yyyy/MM}", "unsafe"),
    ("{date:HH:mm}", "unsafe"),
    ("a/b", "unsafe"),
    ("{date", "unsafe"),
    ("x" * 300, "at most"),
    ("{date:yyyy'T}", "unterminated"),
    ("{date:QQ}", "not supported"),
])
def test_bad_patterns_are_config_errors(pattern, complaint):
    with pytest.raises(ConfigError, match=complaint):
        FileNamer(pattern, "s").validate()
