"""msgspec's reading of a chunk (records/rows.py) gives the values the exact parser gives, keeps JSON values as the
source's text, and hands back everything it cannot read the same way (None: the chunk is read record by record)."""
import json
import math

import pytest

from destination_databricks.jsontext import loads_exact
from destination_databricks.records.buffer import Layout
from destination_databricks.records.rows import RowReader, reader

from test_messages import NUMBERS

LAYOUT = Layout(("n", "t"), ("o",))


def same(a, b) -> bool:
    """Equal, of the same type, and -0.0 apart from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b) or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("number", [n for n, _ in NUMBERS] + [b"-9223372036854775809", b"2.2250738585072014e-308"],
                         ids=[n.decode() for n, _ in NUMBERS] + ["below -2^63", "smallest normal"])
def test_a_number_reads_as_the_exact_parser_reads_it_or_the_chunk_goes_back(number):
    text = b'{"n":' + number + b',"t":"x","o":{"v":[' + number + b"]}}"
    got = RowReader(LAYOUT).read([text])
    if got is None:  # beyond msgspec (1e400): the general path reads it
        assert number == b"1e400"
        return
    (values, texts), expected = got, loads_exact(text)
    assert same(values[0][0], expected["n"]), (values[0][0], expected["n"])
    assert bytes(texts[0][0]) == b'{"v":[' + number + b"]}"  # the JSON value as it came, every digit


def test_json_values_keep_the_sources_text_and_absent_properties_are_null():
    texts = [rb'{"o" : { "a" : [1, 2.50] , "b":"caf\u00e9"} , "n": 1}', b'{"t":"only"}', b'{"o":null,"t":null}']
    values, json_texts = RowReader(LAYOUT).read(texts)
    assert values == [[1, None, None], [None, "only", None]]
    assert [bytes(t) for t in json_texts[0]] == [rb'{ "a" : [1, 2.50] , "b":"caf\u00e9"}', b"null", b"null"]


def test_any_property_name_is_read_and_the_last_of_duplicate_keys_wins():
    names = ("a b", "class", "", "__init__", "f0", "_airbyte_x", "é")
    data = {name: i for i, name in enumerate(names)}
    text = json.dumps(data, ensure_ascii=True).encode()[:-1] + b', "f0": 99}'
    values, _ = RowReader(Layout(names, ())).read([text])
    assert [column[0] for column in values] == [0, 1, 2, 3, 99, 5, 6]


@pytest.mark.parametrize("text", [
    rb'{"t":"\ud800"}', rb'{"o":{"x":"\udc00"}}', b'{"z":NaN}', b'{"n":1e400}', b"[1]", b'"s"', b'{"n":1}x',
    b'{"n":1},{"n":2}', b'{"n":01}', b'{"t":"a\nb"}',
], ids=["lone surrogate", "lone surrogate in JSON", "NaN", "overflow", "array", "string", "trailing text",
        "two objects", "leading zero", "raw newline"])
def test_what_msgspec_cannot_read_as_orjson_and_the_json_module_do_sends_the_chunk_back(text):
    assert RowReader(LAYOUT).read([b'{"n":1}', text]) is None


def test_nesting_past_the_recursion_limit_sends_the_chunk_back_and_below_it_keeps_the_text():
    import sys

    text = b'{"o":' + b"[" * 2000 + b"]" * 2000 + b"}"
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(1000)
        assert RowReader(LAYOUT).read([text]) is None  # msgspec raised RecursionError: the general path reads it
        sys.setrecursionlimit(4000)  # as jsontext sets it once the exact parser ran
        assert bytes(RowReader(LAYOUT).read([text])[1][0][0]) == text[5:-1]
    finally:
        sys.setrecursionlimit(limit)


def test_a_batch_that_is_not_all_utf8_and_layouts_needing_dicts_take_the_general_path():
    assert reader(LAYOUT, b'{"n":1}{"z":"\xff"}') is None  # msgspec would skip "z" unchecked
    assert reader(LAYOUT, b'{"n":1}') is not None
    assert RowReader.for_layout(Layout(("n",), (), exact_keys=("n",))) is None  # DECIMAL from the number's text
    assert RowReader.for_layout(Layout(("n",), (), ("k",), (("k", "x"),))) is None  # a nested key part
    assert RowReader.for_layout(Layout(("n",), ("o",), ("o",))) is None  # a key part that is no scalar column
    assert RowReader.for_layout(Layout(("n",), (), ("n",))).required == [("n", 0)]
    for name in ("tab\there", 'a"b', "back\\slash", "\x00"):  # names msgspec refuses to match
        assert RowReader.for_layout(Layout((name, "n"), ())) is None, name


@pytest.mark.parametrize("key, record", [
    ([["id"]], b'{"t":"x"}'), ([["id"]], b'{"id":null}'),  # a scalar key part: msgspec's chunk
    ([["o", "k"]], b'{"id":1,"o":{}}'),  # a nested key part: the general path
], ids=["absent", "null", "nested"])
def test_a_deduplicated_record_without_its_key_names_its_line(tmp_path, key, record):
    from destination_databricks.backends.local.loader import DeltaRsLoader
    from destination_databricks.backends.local.staging import LocalStager
    from destination_databricks.catalog import plan_streams
    from destination_databricks.errors import ConfigError
    from destination_databricks.settings import Settings
    from destination_databricks.staging.filename import FileNamer
    from destination_databricks.sync import Sync

    stream = {"name": "s", "json_schema": {"type": "object", "properties": {
        "id": {"type": "integer"}, "t": {"type": "string"}, "o": {"type": "object"}}}}
    plans = plan_streams([{"stream": stream, "destination_sync_mode": "append_dedup", "primary_key": key,
                           "cursor_field": []}], "default")
    loader = DeltaRsLoader(str(tmp_path), "sync", {"default"})
    stager = LocalStager(str(tmp_path), "sync", FileNamer("part_{part_number}", "sync"))
    lines = [b'{"type":"RECORD","record":{"stream":"s","data":{"id":1,"o":{"k":1}},"emitted_at":1000}}',
             b'{"type":"RECORD","record":{"stream":"s","data":' + record + b',"emitted_at":2000}}']
    with pytest.raises(ConfigError, match=rf"Input line 2: .* no value for its primary key '{'.'.join(key[0])}'"):
        Sync(plans, stager, loader, lambda _: None, evolve=False, settings=Settings()).run([lines])
