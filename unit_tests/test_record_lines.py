"""Record lines as sources write them keep their `data` text byte for byte in `_airbyte_data` (it is cut from the
line, never printed again); other spellings of the same record (spaces, more record fields after `data`) get the
same text, number for number; typed columns read the same values either way."""
import json

import pytest
from deltalake import DeltaTable

from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.backends.local.staging import LocalStager
from destination_databricks.catalog import plan_streams
from destination_databricks.settings import Settings
from destination_databricks.staging.filename import FileNamer
from destination_databricks.sync import Sync

from test_messages import NUMBERS

CHANGE = {"field": "t", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}


def sync(tmp_path, lines: list[bytes], namespace: str | None = None) -> list[dict]:
    stream = {"name": "s", "json_schema": {"type": "object", "properties": {
        "n": {"type": "number"}, "t": {"type": "string"}}}}
    if namespace:
        stream["namespace"] = namespace
    plans = plan_streams([{"stream": stream, "destination_sync_mode": "append"}], "default")
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default", namespace or "default"})
    stager = LocalStager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    Sync(plans, stager, loader, lambda _: None, evolve=False, settings=Settings()).run([lines])
    (plan,) = plans.values()
    return sorted(DeltaTable(loader.location(plan.table)).to_pyarrow_table().to_pylist(),
                  key=lambda r: r["_airbyte_emitted_at"])


@pytest.mark.parametrize("number", [n for n, _ in NUMBERS], ids=[n.decode() for n, _ in NUMBERS])
def test_every_spelling_of_a_record_keeps_its_numbers_as_they_came(tmp_path, number):
    data = b'{"n":' + number + b',"t":"x"}'
    lines = [
        b'{"type":"RECORD","record":{"stream":"s","data":' + data + b',"emitted_at":1000}}',  # as sources write it
        b'{"type": "RECORD", "record": {"stream": "s", "data": {"n": ' + number + b', "t": "x"}, "emitted_at": 2000}}',
        b'{"type":"RECORD","record":{"stream":"s","data":' + data + b',"meta":{"changes":[' + json.dumps(
            CHANGE, separators=(",", ":")).encode() + b']},"emitted_at":3000}}',  # a record field after data
        b'{"type":"RECORD","record":{"emitted_at":4000,"data":' + data + b',"stream":"s"}}',  # another key order
    ]
    rows = sync(tmp_path, lines)
    assert [r["_airbyte_data"].encode() for r in rows] == [data] * 4
    assert all(r["n"] == float(number) for r in rows), [r["n"] for r in rows]
    assert [json.loads(r["_airbyte_meta"])["changes"] for r in rows] == [[], [], [CHANGE], []]


def test_a_cut_text_is_byte_for_byte_what_the_source_sent(tmp_path):
    """Escapes, spacing inside the data and duplicate keys stay as sent; the values are read as JSON reads them."""
    texts = [rb'{"t":"caf\u00e9 \/ x","n":1}', b'{ "t" : "a" , "n" : 2.50 }', b'{"t":"first","t":"last","n":3}']
    rows = sync(tmp_path, [b'{"type":"RECORD","record":{"stream":"s","data":' + text + b',"emitted_at":%d}}' % (1000 * i)
                           for i, text in enumerate(texts, 1)])
    assert [r["_airbyte_data"].encode() for r in rows] == texts
    assert [(r["t"], r["n"]) for r in rows] == [("café / x", 1.0), ("a", 2.5), ("last", 3.0)]


def test_a_namespaced_stream_and_a_duplicate_data_key_are_read_as_lines_are(tmp_path):
    rows = sync(tmp_path, [
        b'{"type":"RECORD","record":{"namespace":"ns","stream":"s","data":{"n":1},"emitted_at":1000}}',
        b'{"type":"RECORD","record":{"namespace":"ns","stream":"s","data":{"n":1},"data":{"n":2},"emitted_at":2000}}',
    ], namespace="ns")
    assert [(r["_airbyte_data"], r["n"]) for r in rows] == [('{"n":1}', 1.0), ('{"n":2}', 2.0)]


def test_a_data_text_that_is_not_json_names_its_line(tmp_path):
    from destination_databricks.errors import InputError

    with pytest.raises(InputError, match="Input line 2"):
        sync(tmp_path, [b'{"type":"RECORD","record":{"stream":"s","data":{"n":1},"emitted_at":1000}}',
                        b'{"type":"RECORD","record":{"stream":"s","data":{"n":},"emitted_at":2000}}'])
    with pytest.raises(InputError, match="Input line 1: the record's 'data' of stream 's' is not an object"):
        sync(tmp_path / "b", [b'{"type":"RECORD","record":{"stream":"s","data":[1],"emitted_at":1000}}'])


def test_integers_orjson_would_read_as_doubles_are_read_exactly_and_digit_strings_are_not(tmp_path):
    """Past 2^64 - 1 and below -2^63 orjson reads integers as doubles; those records are read by the exact parser
    (a big_integer column keeps every digit). Long digit runs inside strings leave the record on orjson."""
    stream = {"name": "s", "json_schema": {"type": "object", "properties": {
        "big": {"type": "integer", "airbyte_type": "big_integer"}, "t": {"type": "string"}, "o": {"type": "object"}}}}
    plans = plan_streams([{"stream": stream, "destination_sync_mode": "append"}], "default")
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default"})
    stager = LocalStager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    texts = [b'{"big":1180591620717411303424,"t":"a"}', b'{"big": -9223372036854775809}',
             b'{"big":1,"t":"account 06344863178936378387 ref 975745407327523964832259","o":{"x":[1,18446744073709551616]}}',
             b'{"big":2,"t":"x,123456789012345678901"}']
    Sync(plans, stager, loader, lambda _: None, evolve=False, settings=Settings()).run(
        [[b'{"type":"RECORD","record":{"stream":"s","data":' + t + b',"emitted_at":%d}}' % (1000 * i)
          for i, t in enumerate(texts, 1)]])
    (plan,) = plans.values()
    rows = sorted(DeltaTable(loader.location(plan.table)).to_pyarrow_table().to_pylist(),
                  key=lambda r: r["_airbyte_emitted_at"])
    assert [int(r["big"]) for r in rows] == [2 ** 70, -(2 ** 63) - 1, 1, 2]
    assert json.loads(rows[2]["o"]) == {"x": [1, 2 ** 64]} and rows[2]["o"] == '{"x":[1,18446744073709551616]}'
    assert [r["_airbyte_data"].encode() for r in rows] == texts
