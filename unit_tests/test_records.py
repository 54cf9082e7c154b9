"""Avro schema → table columns, and records → Arrow batches: misfits are null, _airbyte_data is whole."""
import datetime as dt
import json
import math
from decimal import Decimal

import pyarrow as pa

from destination_databricks.jsontext import dumps_exact
from destination_databricks.records.avro_schema import stream_avro_schema
from destination_databricks.records.batch import BatchBuilder, Layout, utf8_array
from destination_databricks.records.buffer import BufferPool, StreamBuffer
from destination_databricks.records.columns import Column, file_schema, stream_columns, table_columns


def columns_for(**properties):
    return stream_columns(stream_avro_schema("s", {"type": "object", "properties": properties}))


def build(columns, records):
    builder = BatchBuilder(columns)
    buffer = StreamBuffer(builder.layout)
    for record in records:
        buffer.add(dumps_exact(record).encode(), 1_700_000_000_000, 10)  # NaN as NaN, integers past 64 bits whole
    return builder.build(buffer).to_pylist()


NO_COLUMNS = Layout((), ())


def test_column_types_from_avro():
    columns = columns_for(s={"type": "string"}, i={"type": "integer"}, n={"type": "number"}, b={"type": "boolean"},
                          d={"type": "string", "format": "date"}, t={"type": "string", "format": "date-time"},
                          big={"type": "string", "airbyte_type": "big_integer"},
                          o={"type": "object", "properties": {"x": {"type": "integer"}}},
                          a={"type": "array", "items": {"type": "string"}}, u={"type": ["string", "integer"]})
    assert [(c.name, c.kind, str(c.type)) for c in columns] == [
        ("s", "string", "string"), ("i", "long", "int64"), ("n", "double", "double"), ("b", "boolean", "bool"),
        ("d", "date", "date32[day]"), ("t", "timestamp", "timestamp[us, tz=UTC]"),
        ("big", "decimal", "decimal128(38, 0)"), ("o", "json", "string"), ("a", "json", "string"), ("u", "json", "string"),
    ]


def test_sanitized_column_reads_from_original_property():
    (column,) = columns_for(**{"my col": {"type": "string"}})
    assert column.name == "my_col" and column.key == "my col"
    assert build([column], [{"my col": "v"}])[0]["my_col"] == "v"


def test_values_that_do_not_fit_are_null_and_data_is_whole():
    columns = columns_for(i={"type": "integer"}, n={"type": "number"}, b={"type": "boolean"}, s={"type": "string"})
    records = [
        {"i": 1, "n": 1.5, "b": True, "s": "x"},
        {"i": "one", "n": "1.5x", "b": 1, "s": 5},  # a numeric text fits a number column, this one does not
        {"i": 1.5, "n": True, "b": "true", "s": None},
        {"i": 2**63, "n": 10**400, "b": None, "s": {"o": 1}},
        {"i": True, "n": 3},
    ]
    rows = build(columns, records)
    assert [(r["i"], r["n"], r["b"], r["s"]) for r in rows] == [
        (1, 1.5, True, "x"), (None, None, None, None), (None, None, None, None),
        (None, None, None, None), (None, 3.0, None, None),
    ]
    assert [json.loads(r["_airbyte_data"]) for r in rows[:3]] == records[:3]
    # Every value nulled is named in the row's _airbyte_meta; a null (or absent) value is no change.
    assert [[c["field"] for c in json.loads(r["_airbyte_meta"])["changes"]] for r in rows] == [
        [], ["i", "n", "b", "s"], ["i", "n", "b"], ["i", "n", "s"], ["i"]]
    assert json.loads(rows[1]["_airbyte_meta"])["changes"][0] == {
        "field": "i", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}


def test_meta_keeps_the_sources_changes_and_names_the_sync_and_generation():
    columns = columns_for(i={"type": "integer"})
    builder = BatchBuilder(columns)
    buffer = StreamBuffer(builder.layout)
    source = [{"field": "i", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}]
    buffer.add(b'{"i":null}', 1_700_000_000_000, 10, changes=source)
    buffer.add(b'{"i":"x"}', 1_700_000_000_000, 10, changes=[{"field": "j", "change": "TRUNCATED"}])
    buffer.add(b'{"i":3}', 1_700_000_000_000, 10)
    rows = builder.build(buffer, generation_id=4, sync_id=99).to_pylist()
    assert [json.loads(r["_airbyte_meta"]) for r in rows] == [
        {"sync_id": 99, "changes": source},
        {"sync_id": 99, "changes": [{"field": "j", "change": "TRUNCATED"},
                                    {"field": "i", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]},
        {"sync_id": 99, "changes": []}]
    assert [r["_airbyte_generation_id"] for r in rows] == [4, 4, 4]
    assert builder.build(StreamBuffer(builder.layout)).num_rows == 0


def test_files_follow_an_existing_tables_column_order():
    columns = columns_for(a={"type": "string"}, b={"type": "integer"})
    old = pa.schema([("_airbyte_ab_id", pa.string()), ("b", pa.int64()), ("_airbyte_emitted_at", pa.timestamp("us", "UTC")),
                     ("_airbyte_data", pa.string())])
    kept = table_columns(columns, old, evolve=True)
    assert file_schema(kept, old).names == ["_airbyte_ab_id", "b", "_airbyte_emitted_at", "_airbyte_data",
                                            "_airbyte_meta", "_airbyte_generation_id", "a"]


def test_json_columns_hold_json_text():
    columns = columns_for(o={"type": "object", "properties": {"x": {"type": "integer"}}}, a={"type": "array"})
    rows = build(columns, [{"o": {"x": 1, "extra": "kept"}, "a": [1, "two", None]}, {"o": None}])
    assert json.loads(rows[0]["o"]) == {"x": 1, "extra": "kept"} and json.loads(rows[0]["a"]) == [1, "two", None]
    assert rows[1]["o"] is None and rows[1]["a"] is None


def test_dates_and_timestamps_parse_with_and_without_zone():
    columns = columns_for(d={"type": "string", "format": "date"}, t={"type": "string", "format": "date-time"})
    rows = build(columns, [
        {"d": "2024-02-29", "t": "2024-01-01T10:00:00Z"},
        {"d": "2024-02-30", "t": "2024-01-01 10:00:00.123456"},
        {"d": 20240101, "t": "2024-01-01T10:00:00+02:00"},
        {"d": "yesterday", "t": "not a time"},
    ])
    utc = dt.timezone.utc
    assert [r["d"] for r in rows] == [dt.date(2024, 2, 29), None, None, None]
    assert [r["t"] and r["t"].astimezone(utc).replace(tzinfo=None) for r in rows] == [
        dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 10, 0, 0, 123456), dt.datetime(2024, 1, 1, 8), None]


def test_big_integers_fit_decimal_38_or_are_null():
    columns = columns_for(b={"type": "string", "airbyte_type": "big_integer"})
    rows = build(columns, [{"b": "123456789012345678901234567890"}, {"b": 5}, {"b": "1e3"}, {"b": "12.5"}, {"b": 10**40}])
    assert [r["b"] for r in rows] == [Decimal("123456789012345678901234567890"), Decimal(5), Decimal(1000), None, None]


def test_emitted_at_is_utc_microseconds_and_ids_are_time_ordered_uuids():
    import time
    import uuid

    before = int(time.time() * 1000)
    rows = build([], [{}] * 1000)
    assert rows[0]["_airbyte_emitted_at"] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    ids = [r["_airbyte_ab_id"] for r in rows]
    assert len(set(ids)) == 1000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(str(u) == i and u.version == 7 and u.variant == uuid.RFC_4122 for u, i in zip(parsed, ids))
    # The first 48 bits are the creation time in Unix milliseconds (RFC 9562).
    assert all(before <= u.int >> 80 <= int(time.time() * 1000) for u in parsed)


def test_nan_and_infinity_land_in_double_columns():
    columns = columns_for(n={"type": "number"})
    rows = build(columns, [{"n": math.nan}, {"n": math.inf}, {"n": -math.inf}])
    assert math.isnan(rows[0]["n"]) and rows[1]["n"] == math.inf and rows[2]["n"] == -math.inf


def test_existing_table_keeps_its_columns_and_types():
    proposed = columns_for(a={"type": "integer"}, b={"type": "string"}, c={"type": "number"})
    existing = file_schema([Column("A", None, "string", pa.string()), Column("gone", None, "long", pa.int64())])
    kept = table_columns(proposed, existing, evolve=False)
    assert [(c.name, c.key, c.kind, str(c.type)) for c in kept] == [("A", "a", "text", "string"), ("gone", None, "long", "int64")]
    evolved = table_columns(proposed, existing, evolve=True)
    assert [c.name for c in evolved] == ["A", "gone", "b", "c"]
    rows = build(kept, [{"a": 7, "b": "x"}, {"a": "seven"}])
    assert [(r["A"], r["gone"]) for r in rows] == [("7", None), ("seven", None)]
    assert "b" not in rows[0]


def test_new_table_takes_the_proposed_columns():
    proposed = columns_for(a={"type": "integer"})
    assert table_columns(proposed, None, evolve=False) == proposed


def test_buffer_pool_tracks_bytes_and_fullness():
    pool = BufferPool(budget_bytes=100, stream_batch_bytes=60, stream_batch_rows=3, layout_of=lambda key: NO_COLUMNS)
    assert pool.add("a", b'{"x":1}', 1, 30) is False
    assert pool.add("b", b'{"x":1}', 1, 50) is False
    a = pool.buffers["a"]
    assert not pool.full(a) and not pool.over_budget()
    assert pool.add("a", b'{"x":2}', 2, 30) is True
    assert pool.total == 110 and pool.over_budget() and pool.to_evict() == ["a"] and pool.full(a)
    taken = pool.take("a")
    assert len(taken) == 2 and pool.total == 50 and "a" not in pool.buffers


def test_a_batch_reads_its_records_from_their_texts_which_stay_as_they_came():
    """Integers past 64 bits and NaN (beyond orjson) are read by the exact parser; `_airbyte_data` is the text as it
    was buffered, byte for byte (escapes and spacing included), but for half a surrogate pair."""
    columns = columns_for(big={"type": "number"}, n={"type": "number"}, s={"type": "string"})
    builder = BatchBuilder(columns)
    buffer = StreamBuffer(builder.layout)
    texts = [b'{"big":1180591620717411303424}', b'{"n":NaN}', rb'{"s":"caf\u00e9", "big": 1.10}', rb'{"s":"\ud800"}']
    for text in texts:
        buffer.add(text, 1_700_000_000_000, 10)
    rows = builder.build(buffer).to_pylist()
    # (half a surrogate pair is U+FFFD there too: no UTF-8 text can hold it, and JSON readers differ on the escape)
    assert [r["_airbyte_data"].encode() for r in rows] == texts[:3] + ['{"s":"\ufffd"}'.encode()]
    assert rows[0]["big"] == 1.1805916207174113e21 and math.isnan(rows[1]["n"])
    assert (rows[2]["s"], rows[2]["big"], rows[3]["s"]) == ("café", 1.1, "\ufffd")


def test_eviction_brings_the_pool_down_to_half_its_budget_largest_first():
    pool = BufferPool(budget_bytes=100, stream_batch_bytes=10**6, stream_batch_rows=10**6,
                      layout_of=lambda key: NO_COLUMNS)
    for key, size in [("a", 10), ("b", 40), ("c", 30), ("d", 25)]:
        pool.add(key, b"{}", 1, size)
    assert pool.over_budget() and pool.to_evict() == ["b", "c"]


def test_record_ids_sort_in_the_order_they_were_made():
    import uuid

    from destination_databricks.records.batch import new_ids

    ids = new_ids(50_000).to_pylist() + new_ids(3).to_pylist() + new_ids(1).to_pylist()  # one ms, or several
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids[:100])


def test_latest_rows_per_key_follow_cursor_then_emitted_at_then_arrival():
    from destination_databricks.dedup import Merge, latest_rows

    merge = Merge(keys=("id",), cursor="c", deleted=None)
    t = lambda ids, cs, es: pa.table({"id": ids, "c": pa.array(cs, pa.int64()), "_airbyte_emitted_at": es})  # noqa: E731
    # Arrival is the files' order, then each file's rows (a..d, then e..h); the id column is not read.
    first = t([1, 1, 2, 3], [5, 4, None, 1], [1, 9, 1, 1])
    second = t([1, 2, 3, 3], [5, 1, 1, 1], [1, 1, 2, 2])
    winners = latest_rows([first, second], merge)
    # id 1: cursor 5 twice, emitted_at tie → the later arrival ("e"); id 2: a null cursor is oldest → "f";
    # id 3: emitted_at 2 beats 1, then arrival "h" beats "g".
    assert {f: list(rows) for f, rows in winners.items()} == {1: [0, 1, 3]}
    # Ties in every ordering column within one file and across three: the last arrival wins.
    same = [t([7, 7], [1, 1], [1, 1]), t([7], [1], [1]), t([7, 8, 7], [1, 1, 1], [1, 1, 1])]
    assert {f: list(rows) for f, rows in latest_rows(same, merge).items()} == {2: [1, 2]}
    assert all(rows.dtype == "int64" for rows in latest_rows(same, merge).values())  # indices for take()
    assert latest_rows([t([], [], [])], merge) == {}
