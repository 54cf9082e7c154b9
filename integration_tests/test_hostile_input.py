"""Hostile input, case by case: each keeps the data or fails with a clear TRACE error (LOCAL, fast)."""
from __future__ import annotations

import json
import os

import pytest

from destination_databricks.naming import suffixed

from .destinations import LocalDestination
from .harness import catalog, lines, record, run, stream, stream_state, write_json

ID = {"id": {"type": "integer"}}


def sync(tmp_path, cat, payload: bytes, **config):
    dest = LocalDestination(tmp_path / "out")
    result = run(["write", "--config", write_json(tmp_path / "c.json", dest.config(**config)),
                  "--catalog", write_json(tmp_path / "k.json", cat)], payload)
    return dest, result


def fails(result, *words, failure_type="system_error"):
    assert result.returncode == 1, result.stdout
    (error,) = result.errors
    assert error["failure_type"] == failure_type
    for word in words:
        assert word in error["message"], error["message"]


ERRORS = {
    "malformed json": (b'{"type": "RECORD", "record": {', ("line 2", "not valid JSON")),
    "truncated last line": (lines(record("s", {"id": 2}))[:-20], ("line 2",)),
    "invalid utf-8": (b'{"type":"RECORD","record":{"stream":"s","data":{"v":"\xff\xfe"},"emitted_at":1}}\n', ("line 2",)),
    "a json array line": (b"[1, 2, 3]\n", ("line 2", "not a JSON object")),
    "a bare string line": (b'"RECORD"\n', ("line 2",)),
    "record without record": (b'{"type":"RECORD"}\n', ("line 2", "'record'")),
    "data that is a list": (lines({"type": "RECORD", "record": {"stream": "s", "data": [1], "emitted_at": 1}}), ("not an object",)),
    "data that is a string": (lines({"type": "RECORD", "record": {"stream": "s", "data": "x", "emitted_at": 1}}), ("not an object",)),
    "record of an unknown stream": (lines(record("elsewhere", {"id": 1})), ("'elsewhere'", "not in the configured catalog")),
    "record with the wrong namespace": (lines(record("s", {"id": 1}, namespace="other")), ("'other.s'",)),
    "stream name that is a list": (lines({"type": "RECORD", "record": {"stream": ["s"], "data": {}, "emitted_at": 1}}), ("not in the configured catalog",)),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_broken_input_is_a_clear_error_after_the_acknowledged_part(tmp_path, case):
    payload, words = ERRORS[case]
    dest, result = sync(tmp_path, catalog(stream("s", ID)), lines(record("s", {"id": 1})) + payload)
    fails(result, *words)
    assert result.states == []  # nothing was acknowledged, so nothing may be committed
    assert not dest.table_exists("default", "s") or dest.rows("default", "s") == []
    assert dest.staging_leftovers() == []


def kept(tmp_path, cat, data_list, name="s", **config):
    dest, result = sync(tmp_path, cat, lines(*[record(name, d) for d in data_list], stream_state(name, 1)), **config)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.states[-1]["stream"]["stream_state"] == {"cursor": 1}
    return dest, result


def test_deeply_nested_data_is_kept(tmp_path):
    data = '{"id":1,"n":' + '{"n":' * 1000 + '{"leaf":1}' + "}" * 1000 + "}"
    payload = ('{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":' + data + "}}\n").encode()
    dest, result = sync(tmp_path, catalog(stream("s", {"id": {"type": "integer"}, "n": {"type": "object"}})), payload)
    assert result.returncode == 0, result.stdout[-2000:]
    (row,) = dest.rows("default", "s")
    assert row["_airbyte_data"] == data and row["id"] == 1 and row["n"].startswith('{"n":{"n":')


def test_a_byte_order_mark_before_a_line_is_read_past(tmp_path):
    dest, result = sync(tmp_path, catalog(stream("s", ID)), b"\xef\xbb\xbf" + lines(record("s", {"id": 2})))
    assert result.returncode == 0 and [r["id"] for r in dest.rows("default", "s")] == [2]


def test_a_50_mb_record_is_kept(tmp_path):
    blob = "y" * (50 * 1024 * 1024)
    dest, _ = kept(tmp_path, catalog(stream("s", {"b": {"type": "string"}})), [{"b": blob}])
    (row,) = dest.rows("default", "s")
    assert row["b"] == blob


def test_duplicate_keys_keep_the_last_value(tmp_path):
    dest = LocalDestination(tmp_path / "out")
    payload = b'{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"id":1,"id":2}}}\n'
    result = run(["write", "--config", write_json(tmp_path / "c.json", dest.config()),
                  "--catalog", write_json(tmp_path / "k.json", catalog(stream("s", ID)))], payload)
    assert result.returncode == 0
    assert [r["id"] for r in dest.rows("default", "s")] == [2]


def test_ten_thousand_columns(tmp_path):
    properties = {f"c{i}": {"type": "integer"} for i in range(10_000)}
    dest, _ = kept(tmp_path, catalog(stream("s", properties)), [{f"c{i}": i for i in range(10_000)}])
    (row,) = dest.rows("default", "s")
    assert len(row) == 10_005 and row["c9999"] == 9999


def test_column_names_delta_rejects_or_that_collide(tmp_path):
    properties = {name: {"type": "string"} for name in ["a b", "a_b", "A B", "x,y;z{}()=", "tab\there", "new\nline", "名前"]}
    data = {name: name for name in properties}
    dest, _ = kept(tmp_path, catalog(stream("s", properties)), [data])
    (row,) = dest.rows("default", "s")
    assert {k: v for k, v in row.items() if not k.startswith("_airbyte")} == {
        suffixed("a b"): "a b", "a_b": "a_b", suffixed("A B"): "A B", "x_y_z_____": "x,y;z{}()=", "tab_here": "tab\there",
        "new_line": "new\nline", "MingQian": "名前"}


def test_reserved_names_inside_data(tmp_path):
    properties = {name: {"type": "string"} for name in ["_id", "_airbyte_ab_id", "_airbyte_data", "_airbyte_emitted_at"]}
    dest, _ = kept(tmp_path, catalog(stream("s", properties)), [{name: "mine" for name in properties}])
    (row,) = dest.rows("default", "s")
    assert row["_id"] == "mine" and row[suffixed("_airbyte_ab_id")] == "mine" and row[suffixed("_airbyte_data")] == "mine"
    assert row["_airbyte_ab_id"] != "mine" and json.loads(row["_airbyte_data"])["_airbyte_data"] == "mine"


@pytest.mark.parametrize("name, namespace, schema, table", [
    ("nul\x00byte", None, "default", "nul_byte"),
    ("x" * 500, None, "default", None),
    ("semi;colon -- comment", "name`space", "name_space", "semi_colon____comment"),
    ("../../../etc", "../..", "_____", "_________etc"),
    ("'; DROP TABLE users; --", "\"quoted\"", "_quoted_", "___drop_table_users____"),
])
def test_hostile_stream_and_namespace_names_stay_inside_the_folder(tmp_path, name, namespace, schema, table):
    dest, result = sync(tmp_path, catalog(stream(name, ID, namespace=namespace)),
                        lines(record(name, {"id": 1}, namespace=namespace), stream_state(name, 1, namespace=namespace)))
    assert result.returncode == 0, result.stdout
    root = str(tmp_path / "out")
    tables = [d for d, subdirs, _ in os.walk(root) if "_delta_log" in subdirs]
    assert len(tables) == 1 and tables[0].startswith(root + os.sep)
    assert os.path.relpath(tables[0], root).split(os.sep)[0] == schema
    if table:
        assert os.path.basename(tables[0]) == table
    assert len(os.path.basename(tables[0])) <= 120
    assert [r["id"] for r in dest.rows(schema, os.path.basename(tables[0]))] == [1]


def test_an_empty_catalog_with_only_states(tmp_path):
    _, result = sync(tmp_path, catalog(), lines(stream_state("s", 1), {"type": "STATE", "state": {"type": "GLOBAL", "global": {}}}))
    assert result.returncode == 0 and len(result.states) == 2


def test_a_record_when_the_catalog_has_no_streams(tmp_path):
    _, result = sync(tmp_path, catalog(), lines(record("s", {"id": 1})))
    fails(result, "'s'", "not in the configured catalog")
    assert result.states == []


def test_nan_infinity_and_integers_past_64_bits_are_kept(tmp_path):
    dest, result = sync(tmp_path, catalog(stream("s", {"id": {"type": "integer"}, "x": {"type": "number"}})),
                        b'{"type":"RECORD","record":{"stream":"s","data":{"id":1,"x":NaN},"emitted_at":1}}\n'
                        b'{"type":"RECORD","record":{"stream":"s","data":{"id":2,"x":-Infinity},"emitted_at":1}}\n'
                        b'{"type":"RECORD","record":{"stream":"s","data":{"id":123456789012345678901234567890,"x":1e400},"emitted_at":1}}\n')
    assert result.returncode == 0, result.stdout
    rows = sorted(dest.rows("default", "s"), key=lambda r: r["_airbyte_data"])
    # Every number as it came (never a float, never null): the texts of the input's data objects.
    assert [r["_airbyte_data"] for r in rows] == ['{"id":1,"x":NaN}', '{"id":123456789012345678901234567890,"x":1e400}',
                                                  '{"id":2,"x":-Infinity}']


def test_lone_surrogate_escapes_land_as_replacement_characters(tmp_path):
    # Valid JSON grammar, but no UTF-8 text can hold half a surrogate pair; the sync used to fail on it.
    dest, result = sync(tmp_path, catalog(stream("s", {"id": {"type": "integer"}, "t": {"type": "string"},
                                                     "o": {"type": "object"}})),
                        b'{"type":"RECORD","record":{"stream":"s","data":{"id":1,"t":"a\\ud800b","o":{"k":"\\udfff"}},"emitted_at":1}}\n'
                        b'{"type":"RECORD","record":{"stream":"s","data":{"id":2,"t":"\\ud83d\\ude00"},"emitted_at":1}}\n')
    assert result.returncode == 0, result.stdout
    rows = sorted(dest.rows("default", "s"), key=lambda r: r["id"])
    assert [(r["t"], r["o"] and json.loads(r["o"])) for r in rows] == [("a\ufffdb", {"k": "\ufffd"}), ("\U0001F600", None)]
    assert json.loads(rows[0]["_airbyte_data"]) == {"id": 1, "t": "a\ufffdb", "o": {"k": "\ufffd"}}


def test_a_catalog_with_duplicate_streams_is_a_config_error(tmp_path):
    _, result = sync(tmp_path, catalog(stream("s", ID), stream("s", ID)), b"")
    fails(result, "more than once", failure_type="config_error")


def test_an_overlong_filename_pattern_is_a_config_error(tmp_path):
    from destination_databricks.errors import ConfigError
    from destination_databricks.staging.filename import FileNamer

    with pytest.raises(ConfigError, match="at most 200"):
        FileNamer("{sync_id}" * 100, "x" * 36).validate()


def test_blank_lines_crlf_and_unknown_message_types_are_tolerated(tmp_path):
    payload = (b"\n  \n" + lines(record("s", {"id": 1})).replace(b"\n", b"\r\n")
               + b'{"type":"LOG","log":{"level":"INFO","message":"hi"}}\n{"type":"SOMETHING_NEW","x":1}\n'
               + lines(stream_state("s", 1)))
    dest, result = sync(tmp_path, catalog(stream("s", ID)), payload)
    assert result.returncode == 0 and [r["id"] for r in dest.rows("default", "s")] == [1]


def test_a_record_without_emitted_at_gets_the_current_time(tmp_path):
    dest, result = sync(tmp_path, catalog(stream("s", ID)), lines({"type": "RECORD", "record": {"stream": "s", "data": {"id": 1}}}))
    assert result.returncode == 0
    (row,) = dest.rows("default", "s")
    assert row["_airbyte_emitted_at"].year >= 2025


def test_an_emitted_at_no_reader_could_read_becomes_the_receive_time(tmp_path):
    """Nanoseconds (year ~55,000 read as ms), past 2^63, negative beyond year 1, text: the time it arrived."""
    import time

    before = int(time.time() * 1000)
    odd = [1_700_000_000_000_000_000, 2**63, -(2**62), "yesterday", None, 1.5e300]
    payload = lines(*[{"type": "RECORD", "record": {"stream": "s", "data": {"id": i}, "emitted_at": e}}
                      for i, e in enumerate(odd)], record("s", {"id": 99}), stream_state("s", 1))
    dest, result = sync(tmp_path, catalog(stream("s", ID)), payload)
    assert result.returncode == 0, result.stdout[-3000:]
    rows = {r["id"]: r["_airbyte_emitted_at"] for r in dest.rows("default", "s")}
    after = int(time.time() * 1000)
    for i in range(len(odd)):
        assert before <= int(rows[i].timestamp() * 1000) <= after, (odd[i], rows[i])
    assert int(rows[99].timestamp() * 1000) == 1_700_000_000_000  # an ordinary one is kept
