"""number_column_type DECIMAL: `number` properties land in DECIMAL(38,10) columns filled from each value's exact text,
never through a double; more fraction digits are rounded half up (TRUNCATED in `_airbyte_meta`), a value that does
not fit is null there (NULLED); `_airbyte_data` keeps every number as it came. Existing columns keep their types."""
import json
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.backends.local.staging import LocalStager
from destination_databricks.catalog import plan_streams
from destination_databricks.config import parse_config
from destination_databricks.errors import ConfigError
from destination_databricks.records.columns import ColumnTypes
from destination_databricks.settings import Settings
from destination_databricks.staging.filename import FileNamer
from destination_databricks.sync import Sync

STREAM = {"name": "s", "json_schema": {"type": "object", "properties": {
    "n": {"type": "number"}, "i": {"type": "integer"}, "o": {"type": "object", "properties": {"x": {"type": "number"}}}}}}
NULLED = {"field": "n", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}
TRUNCATED = {"field": "n", "change": "TRUNCATED", "reason": "DESTINATION_FIELD_SIZE_LIMITATION"}

# The number's text → the DECIMAL(38,10) value, and the change recorded (None: the value is exact in the column).
NUMBERS = [
    (b"1.5", Decimal("1.5"), None),
    (b"2.0", Decimal("2"), None),
    (b"-0.0", Decimal("0"), None),
    (b"0.1e1", Decimal("1"), None),
    (b"1e-7", Decimal("0.0000001"), None),
    (b"9223372036854775807", Decimal(2 ** 63 - 1), None),
    (b"18446744073709551616", Decimal(2 ** 64), None),  # past 64 bits: read exactly
    (b"23.796462709189136", Decimal("23.7964627092"), TRUNCATED),  # a computed double as json.dumps writes it
    (b"0.00000000005", Decimal("0.0000000001"), TRUNCATED),  # half up, as Databricks casts
    (b"12345678901234.123456789012", Decimal("12345678901234.1234567890"), TRUNCATED),  # more digits than a double
    (b"123456789012345678.5", Decimal("123456789012345678.5"), None),  # a double would read ...680
    (b"12345678901234567e2", Decimal("1234567890123456700"), None),  # a double would read ...68e18
    (b"-98765432109876543210.0123456789", Decimal("-98765432109876543210.0123456789"), None),
    (b"9999999999999999999999999999", Decimal("9999999999999999999999999999"), None),  # 28 integer digits
    (b"10000000000000000000000000000", None, NULLED),  # 29
    (b"1e400", None, NULLED),
    (b"1E-400", Decimal("0"), TRUNCATED),
    (b"NaN", None, NULLED),
    (b"-Infinity", None, NULLED),
    (b'"15001.000000000"', Decimal("15001"), None),  # a numeric text, as PyAirbyte's cache sends decimals
    (b'"12.3456789012345678"', Decimal("12.3456789012"), TRUNCATED),
    (b"true", None, NULLED),
    (b"null", None, None),
]


def sync(tmp_path, lines: list[bytes], types: ColumnTypes) -> tuple[list[dict], pa.Schema]:
    plans = plan_streams([{"stream": STREAM, "destination_sync_mode": "append"}], "default", types)
    sync_id = uuid.uuid4().hex
    loader = DeltaRsLoader(str(tmp_path), sync_id, {"default"})
    stager = LocalStager(str(tmp_path), sync_id, FileNamer("part_{part_number}", sync_id))
    Sync(plans, stager, loader, lambda _: None, evolve=False, settings=Settings()).run([lines])
    (plan,) = plans.values()
    table = DeltaTable(loader.location(plan.table)).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda r: r["_airbyte_emitted_at"]), table.schema


def line(data: bytes, at: int) -> bytes:
    return b'{"type":"RECORD","record":{"stream":"s","data":' + data + b',"emitted_at":%d}}' % at


def test_every_number_lands_exact_rounded_or_null_and_data_keeps_it_as_it_came(tmp_path):
    texts = [b'{"n":' + number + b',"i":7,"o":{"x":' + number + b"}}" for number, _, _ in NUMBERS]
    rows, schema = sync(tmp_path, [line(text, 1000 + i) for i, text in enumerate(texts)], ColumnTypes(decimal_numbers=True))
    assert schema.field("n").type == pa.decimal128(38, 10)
    assert schema.field("i").type == pa.int64() and schema.field("o").type == pa.string()
    for row, text, (number, value, change) in zip(rows, texts, NUMBERS):
        assert row["_airbyte_data"].encode() == text
        assert row["n"] == value, number
        assert json.loads(row["_airbyte_meta"])["changes"] == ([change] if change else []), number
        if value is not None:
            assert row["n"].as_tuple().exponent == -10  # DECIMAL(38,10)


def test_the_exact_text_wins_wherever_the_number_sits_in_the_record(tmp_path):
    """A long number elsewhere in the record (nested, or in a text) makes the record be read again; the column's
    value is still its own."""
    texts = [b'{"o":{"x":123456789012345678.5},"n":0.30000000000000004}',
             b'{"n":0.30000000000000004,"o":{"n":1}}',
             b'{"i":1,"n":12345678901234567.25}']
    rows, _ = sync(tmp_path, [line(t, 1000 + i) for i, t in enumerate(texts)], ColumnTypes(decimal_numbers=True))
    assert [r["n"] for r in rows] == [Decimal("0.3"), Decimal("0.3"), Decimal("12345678901234567.25")]


def test_a_name_nested_too_escaped_or_a_line_read_again_still_gives_the_top_level_text(tmp_path):
    """The text is taken from the record's bytes only where the property's name appears once; a record whose name
    is spelled with an escape, appears nested as well, or whose line had to be read again is read whole."""
    datas = [b'{"o":{"n":0.30000000000000004},"n":0.1000000000000000055}',  # nested first: the top-level one wins
             b'{"\\u006e":123456789012345678.5}',  # "n" spelled with an escape
             b'{"t":"n","n":1234567890123456.75}',  # the name as a text value too
             b'{"n":1.5,"o":{"n":99999999999999999.5}}']  # the long one is nested only
    lines = [line(d, 1000 + i) for i, d in enumerate(datas)]
    lines.append(b'{"type":"RECORD","record":{"stream":"s","data":{"n":0.1000000000000000055},"meta":{"changes":[]},'
                 b'"emitted_at":2000}}')  # a field after data: the line is read again
    rows, _ = sync(tmp_path, lines, ColumnTypes(decimal_numbers=True))
    assert [r["n"] for r in rows] == [Decimal("0.1"), Decimal("123456789012345678.5"), Decimal("1234567890123456.75"),
                                      Decimal("1.5"), Decimal("0.1")]
    changes = [json.loads(r["_airbyte_meta"])["changes"] for r in rows]
    assert changes == [[TRUNCATED], [], [], [], [TRUNCATED]]


def test_an_existing_double_column_stays_double_and_an_existing_decimal_stays_decimal(tmp_path):
    first = [line(b'{"n":1.25}', 1000)]
    _, schema = sync(tmp_path, first, ColumnTypes())
    assert schema.field("n").type == pa.float64()
    rows, schema = sync(tmp_path, [line(b'{"n":2.5}', 2000)], ColumnTypes(decimal_numbers=True))
    assert schema.field("n").type == pa.float64() and [r["n"] for r in rows] == [1.25, 2.5]  # nothing rewritten

    other = tmp_path / "other"
    sync(other, first, ColumnTypes(decimal_numbers=True))
    rows, schema = sync(other, [line(b'{"n":2.5}', 2000)], ColumnTypes())
    assert schema.field("n").type == pa.decimal128(38, 10)  # switched off: the exact column stays
    assert [r["n"] for r in rows] == [Decimal("1.25"), Decimal("2.5")]


@pytest.mark.parametrize("value", ["double", "DECIMAL", "string", 5])
def test_the_config_fields_take_their_choices_only(value):
    config = {"data_source": {"data_source_type": "LOCAL", "local_path": "/tmp/x"}, "number_column_type": value}
    if str(value).upper() in ("DOUBLE", "DECIMAL"):
        assert parse_config(config).column_types.decimal_numbers == (str(value).upper() == "DECIMAL")
    else:
        with pytest.raises(ConfigError, match="number_column_type"):
            parse_config(config)


def test_variant_is_for_the_databricks_sources_only():
    local = {"data_source": {"data_source_type": "LOCAL", "local_path": "/tmp/x"}, "json_column_type": "VARIANT"}
    assert parse_config(local).column_types.variant is False  # delta-rs cannot write VARIANT
    with pytest.raises(ConfigError, match="json_column_type"):
        parse_config({**local, "json_column_type": "JSON"})


def test_check_explains_that_the_options_shape_new_columns_only():
    from destination_databricks.config import column_type_notes

    local = {"data_source": {"data_source_type": "LOCAL", "local_path": "/tmp/x"}, "json_column_type": "variant",
             "number_column_type": "DECIMAL"}
    notes = column_type_notes(parse_config(local), local)
    assert [n.split(":")[0] for n in notes] == ["json_column_type VARIANT", "number_column_type DECIMAL"]
    assert "LOCAL keeps nested values as JSON text" in notes[0] and "a DOUBLE column stays DOUBLE" in notes[1]
    plain = {"data_source": {"data_source_type": "LOCAL", "local_path": "/tmp/x"}}
    assert column_type_notes(parse_config(plain), plain) == []
