"""The type table: every kind round-trips (JSON value → Arrow → SQL type → the type read back from a real Delta
table → the same kind), misfits are null, and types the connector cannot write get a clear config error."""
import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from destination_databricks.errors import ConfigError
from destination_databricks.backends.databricks.sql import column_list
from destination_databricks.records import types
from destination_databricks.records.convert import json_texts
from destination_databricks.records.schema_json import json_schema_of

UTC = dt.timezone.utc
# kind, Arrow type, SQL type, JSON values in, values out (None where a value does not fit)
CASES = [
    ("string", pa.string(), "STRING", ["a", "", 1, None], ["a", "", None, None]),
    ("text", pa.string(), "STRING", ["a", {"b": [1]}, 2, None], ["a", '{"b":[1]}', "2", None]),
    ("long", pa.int64(), "BIGINT", [2**63 - 1, -(2**63), 2**63, "1", 1.5, "one"], [2**63 - 1, -(2**63), None, 1, None, None]),
    ("int", pa.int32(), "INT", [2**31 - 1, 2**31, 7], [2**31 - 1, None, 7]),
    ("smallint", pa.int16(), "SMALLINT", [2**15 - 1, -(2**15) - 1], [2**15 - 1, None]),
    ("tinyint", pa.int8(), "TINYINT", [127, 128, "x"], [127, None, None]),
    ("double", pa.float64(), "DOUBLE", [1.5, 2, "x", 10**400], [1.5, 2.0, None, None]),
    ("float", pa.float32(), "FLOAT", [1.5, 1e300, -2], [1.5, None, -2.0]),
    ("boolean", pa.bool_(), "BOOLEAN", [True, False, 1, None], [True, False, None, None]),
    ("decimal", pa.decimal128(38, 0), "DECIMAL(38,0)", [10**37, "12", 1.5, 10**38, "x"],
     [Decimal(10**37), Decimal(12), None, None, None]),
    # more fraction digits than the scale: rounded half up (marked TRUNCATED by the batch, records/batch.py)
    ("decimal", pa.decimal128(10, 2), "DECIMAL(10,2)", ["12.5", "12.345", 3, "123456789", 0.125, "-0.005"],
     [Decimal("12.50"), Decimal("12.35"), Decimal("3.00"), None, Decimal("0.13"), Decimal("-0.01")]),
    ("date", pa.date32(), "DATE", ["2024-02-29", "2024-02-30", 5], [dt.date(2024, 2, 29), None, None]),
    ("timestamp", types.TIMESTAMP_TYPE, "TIMESTAMP", ["2024-01-02T03:04:05.123456+01:00", "2024-01-02T03:04:05", "no"],
     [dt.datetime(2024, 1, 2, 2, 4, 5, 123456, tzinfo=UTC), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None]),
]


@pytest.mark.parametrize("kind,arrow_type,sql,values,expected", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_every_kind_round_trips_through_a_delta_table(tmp_path, kind, arrow_type, sql, values, expected):
    column = types.column_array(kind, arrow_type, values)
    assert column.type == arrow_type
    got = column.to_pylist()
    assert got[:len(expected)] == expected
    assert types.sql_type(arrow_type) == sql
    assert column_list(pa.schema([("c", arrow_type)])) == f"`c` {sql}"
    write_deltalake(str(tmp_path), pa.table({"c": column}))
    read_back = pa.schema(DeltaTable(str(tmp_path)).schema().to_arrow()).field("c").type
    assert types.canonical(read_back) == arrow_type
    family = types.of_existing(read_back, None, None, "Column 'c' of table t")
    assert types.KINDS[family].arrow in (arrow_type, None) and types.sql_type(read_back) == sql
    assert types.of_existing(read_back, kind, arrow_type, "Column 'c' of table t") == kind  # the stream's own kind


def test_nan_and_infinity_stay_in_double_columns():
    got = types.column_array("double", pa.float64(), [math.nan, math.inf, -math.inf]).to_pylist()
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf]


def test_json_columns_come_from_texts_with_json_null_as_null():
    texts, offsets = bytearray(b'{"a":1}null[1,2]'), __import__("array").array("i", [0, 7, 11, 16])
    assert json_texts(texts, offsets, 3).to_pylist() == ['{"a":1}', None, "[1,2]"]


def test_an_existing_string_column_the_stream_types_otherwise_keeps_values_as_text():
    assert types.of_existing(pa.string(), "long", pa.int64(), "Column 'c' of table t") == "text"
    assert types.of_existing(pa.large_string(), "string", pa.string(), "Column 'c' of table t") == "string"
    assert types.of_existing(pa.timestamp("us"), "timestamp", types.TIMESTAMP_TYPE, "x") == "timestamp"


def test_types_the_connector_cannot_write_are_a_config_error_naming_table_and_column():
    struct = pa.struct([("a", pa.int32()), ("b c", pa.list_(pa.string()))])
    with pytest.raises(ConfigError, match=r"Column 'payload' of table default\.t has type struct"):
        types.of_existing(struct, "json", pa.string(), "Column 'payload' of table default.t")
    # A column the stream does not send is written null, whatever its type, and its SQL type is spelled out.
    assert types.of_existing(struct, None, None, "x") == "absent"
    assert types.column_array("absent", struct, [1, 2]).to_pylist() == [None, None]
    assert types.sql_type(struct) == "STRUCT<`a`: INT, `b c`: ARRAY<STRING>>"
    assert types.sql_type(pa.map_(pa.string(), pa.int64())) == "MAP<STRING, BIGINT>"
    with pytest.raises(ConfigError, match="no Delta/SQL type"):
        types.sql_type(pa.duration("s"))


def test_discover_reports_each_column_from_the_table():
    schema = pa.schema([("i", pa.int32()), ("d", pa.decimal128(38, 0)), ("x", pa.decimal128(10, 2)),
                        ("t", pa.timestamp("us", "UTC")), ("s", pa.struct([("a", pa.bool_())])), ("b", pa.binary())])
    assert json_schema_of(schema)["properties"] == {
        "i": {"type": ["null", "integer"]}, "d": {"type": ["null", "integer"]}, "x": {"type": ["null", "number"]},
        "t": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "s": {"type": ["null", "object"], "properties": {"a": {"type": ["null", "boolean"]}}},
        "b": {"type": ["null", "string"]}}


@pytest.mark.parametrize("avro,kind,arrow_type", [
    ("string", "string", pa.string()), ("long", "long", pa.int64()), ("double", "double", pa.float64()),
    ("boolean", "boolean", pa.bool_()), (["null", "long"], "long", pa.int64()), (["string", "long"], "json", pa.string()),
    ({"type": "int", "logicalType": "date"}, "date", pa.date32()),
    ({"type": "long", "logicalType": "timestamp-micros"}, "timestamp", types.TIMESTAMP_TYPE),
    ({"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 0}, "decimal", pa.decimal128(38, 0)),
    ({"type": "string", "x-airbyte-json": True}, "json", pa.string()), ({"type": "record", "fields": []}, "json", pa.string()),
])
def test_avro_field_types_propose_kinds(avro, kind, arrow_type):
    assert types.of_avro(avro) == (kind, arrow_type)


def test_true_and_false_are_not_numbers_whatever_came_first():
    assert types.column_array("double", pa.float64(), [1.5, True, False, 2]).to_pylist() == [1.5, None, None, 2.0]
    assert types.column_array("long", pa.int64(), [1, True, False, 2]).to_pylist() == [1, None, None, 2]


def test_one_bad_timestamp_nulls_only_itself_and_out_of_range_years_are_misfits():
    values = ["2024-01-02T03:04:05Z"] * 500 + ["not a time", "0000-01-01T00:00:00Z", "2024-01-02T03:04:05",
                                               "2024-01-02 03:04:05.5+02:00"] + ["2024-01-02T03:04:05Z"] * 500
    got = types.column_array("timestamp", types.TIMESTAMP_TYPE, values).to_pylist()
    ok = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert got[:500] == [ok] * 500 and got[504:] == [ok] * 500  # neighbours of misfits keep their values
    assert got[500:504] == [None, None, ok, dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=UTC)]
    assert types.column_array("timestamp", types.TIMESTAMP_TYPE, ["0000-12-31T23:59:59Z", 5]).to_pylist() == [None, None]


def test_integer_columns_take_whole_floats_and_numeric_texts_that_are_exact():
    from destination_databricks.records import convert

    values = [2.0, 1e3, "15", "15.000", "-7", 2.5, "2.5", "abc", " 15", "0x10", True, 2.0 ** 60, None, 9007199254740992.0]
    got = convert.integer(values, pa.int64()).to_pylist()
    assert got == [2, 1000, 15, 15, -7, None, None, None, None, None, None, None, None, 9007199254740992]


def test_number_columns_take_numeric_texts():
    from destination_databricks.records import convert

    got = convert.floating(["15001.000000000", "1e3", "-0.5", "NaN", "abc", 2, True], pa.float64()).to_pylist()
    assert got == [15001.0, 1000.0, -0.5, None, None, 2.0, None]


def test_fractions_finer_than_a_microsecond_are_truncated_and_found():
    from destination_databricks.records import convert

    values = ["2024-06-04T02:24:06.385451171Z", "2024-06-04T02:24:06.1234567", "2024-06-04T02:24:06.123Z", None, 5]
    got = convert.timestamp(values, types.TIMESTAMP_TYPE).cast(pa.int64()).to_pylist()
    second = 1717467846_000_000
    assert got == [second + 385451, second + 123456, second + 123000, None, None]
    assert convert.finer_than_microseconds(values).to_pylist() == [True, True, False, False, False]


def test_emitted_at_in_seconds_is_read_as_seconds():
    from destination_databricks.sync.loop import _emitted_at

    assert [_emitted_at(v) for v in (1_700_000_000, 1_700_000_000.5, 1_700_000_000_000, 1_700_000_000_000.0)] == [
        1_700_000_000_000, 1_700_000_000_500, 1_700_000_000_000, 1_700_000_000_000]
