"""How a deduplicated stream keys its rows when its schema changed since its table was written."""
import pyarrow as pa
import pytest

from destination_databricks.catalog import StreamPlan, SyncMode
from destination_databricks.dedup import KEY_COLUMN, dedup_columns
from destination_databricks.errors import ConfigError
from destination_databricks.naming import StreamKey, TableName
from destination_databricks.records.columns import Column


def plan(*key, cursor=()):
    return StreamPlan(StreamKey(None, "s"), TableName("d", "s"), SyncMode.APPEND_DEDUP, "{}", (),
                      primary_key=tuple(key), cursor_field=cursor)


def asked(answer):
    calls = []

    def key_parts():
        calls.append(1)
        return answer
    return key_parts, calls


def test_a_key_column_the_schema_no_longer_declares_still_keys_and_orders():
    columns = (Column("id", None, "integer", pa.int64()), Column("at", None, "integer", pa.int64()),
               Column("v", "v", "string", pa.string()))
    out, key, merge = dedup_columns(plan(("id",), cursor=("at",)), columns, True)
    assert merge.keys == ("id",) and merge.cursor == "at" and key.columns == ("id",) and not key.nested
    assert [(c.name, c.key) for c in out] == [("id", "id"), ("at", "at"), ("v", "v")]


def test_a_table_keyed_by_its_rows_airbyte_key_stays_keyed_so():
    columns = (Column("id", "id", "integer", pa.int64()), Column(KEY_COLUMN, None, "string", pa.string()))
    key_parts, calls = asked(1)  # its rows' `_airbyte_key` holds the one part: the schema did not declare it then
    out, key, merge = dedup_columns(plan(("id",)), columns, True, key_parts)
    assert merge.keys == (KEY_COLUMN,) and key.nested == (("id",),) and calls == [1]
    assert [c.name for c in out] == ["id", KEY_COLUMN]


def test_a_composite_key_with_a_nested_part_keeps_its_column_part():
    columns = (Column("org", "org", "string", pa.string()), Column(KEY_COLUMN, None, "string", pa.string()))
    for held in (1, None):  # one part in `_airbyte_key` (the nested one), or no row yet
        _, key, merge = dedup_columns(plan(("org",), ("user", "id")), columns, True, asked(held)[0])
        assert merge.keys == ("org", KEY_COLUMN) and key.nested == (("user", "id"),)
    _, key, merge = dedup_columns(plan(("org",), ("user", "id")), columns, True, asked(2)[0])
    assert merge.keys == (KEY_COLUMN,) and key.nested == (("org",), ("user", "id"))
    with pytest.raises(ConfigError, match="holds 3 key part"):
        dedup_columns(plan(("org",), ("user", "id")), columns, True, asked(3)[0])


def test_a_new_table_asks_nothing():
    key_parts, calls = asked(5)
    _, _, merge = dedup_columns(plan(("id",)), (Column("id", "id", "integer", pa.int64()),), True, key_parts)
    assert merge.keys == ("id",) and calls == []
