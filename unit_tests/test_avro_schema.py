"""JSON schema → Avro schema: every shape a source sends, each validated by fastavro."""
import io

import fastavro
import pytest

from destination_databricks.errors import ConfigError
from destination_databricks.naming import suffixed
from destination_databricks.records.avro_schema import (
    BIG_INTEGER,
    DATE,
    JSON_TEXT,
    LOCAL_TIMESTAMP,
    TIMESTAMP,
    stream_avro_schema,
)


def field_types(json_schema, stream="s"):
    schema = stream_avro_schema(stream, json_schema)
    fastavro.parse_schema(schema)  # raises if Avro rejects it
    return {f.get("x-json-name", f["name"]): f["type"] for f in schema["fields"][5:]}


def props(**properties):
    return {"type": "object", "properties": properties}


def test_airbyte_columns_come_first():
    schema = stream_avro_schema("s", props(a={"type": "string"}))
    assert [f["name"] for f in schema["fields"]] == ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data",
                                                      "_airbyte_meta", "_airbyte_generation_id", "a"]


def test_every_property_is_nullable_with_null_default():
    schema = stream_avro_schema("s", props(a={"type": "string"}, b={"type": ["null", "integer"]}))
    for field in schema["fields"][5:]:
        assert field["type"][0] == "null" and field["default"] is None


def test_scalars():
    types = field_types(props(s={"type": "string"}, i={"type": "integer"}, n={"type": "number"}, b={"type": "boolean"}))
    assert types == {"s": ["null", "string"], "i": ["null", "long"], "n": ["null", "double"], "b": ["null", "boolean"]}


def test_number_with_airbyte_integer_hint_is_long():
    assert field_types(props(x={"type": "number", "airbyte_type": "integer"}))["x"] == ["null", "long"]


def test_big_integer_becomes_decimal_38():
    types = field_types(props(a={"type": "string", "airbyte_type": "big_integer"}, b={"type": "integer", "airbyte_type": "big_integer"}))
    assert types["a"] == ["null", BIG_INTEGER] and types["b"] == ["null", BIG_INTEGER]


def test_date_and_time_formats():
    types = field_types(props(
        d={"type": "string", "format": "date"},
        ts={"type": "string", "format": "date-time"},
        tz={"type": "string", "airbyte_type": "timestamp_with_timezone"},
        ntz={"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
        t={"type": "string", "format": "time"},
    ))
    assert types == {"d": ["null", DATE], "ts": ["null", TIMESTAMP], "tz": ["null", TIMESTAMP],
                     "ntz": ["null", LOCAL_TIMESTAMP], "t": ["null", "string"]}


def test_nested_objects_become_records_with_unique_names():
    types = field_types(props(
        a={"type": "object", "properties": {"x": {"type": "integer"}}},
        b={"type": "object", "properties": {"a": {"type": "object", "properties": {"y": {"type": "string"}}}}},
    ))
    record_a = types["a"][1]
    assert record_a["type"] == "record" and record_a["fields"][0]["type"] == ["null", "long"]
    inner = types["b"][1]["fields"][0]["type"][1]
    assert inner["type"] == "record" and inner["name"] != record_a["name"]


def test_arrays_of_items_and_without_items():
    types = field_types(props(a={"type": "array", "items": {"type": "integer"}}, b={"type": "array"},
                              c={"type": "array", "items": [{"type": "integer"}, {"type": "string"}]}))
    assert types["a"] == ["null", {"type": "array", "items": ["null", "long"]}]
    assert types["b"] == ["null", {"type": "array", "items": ["null", JSON_TEXT]}]
    assert types["c"] == ["null", {"type": "array", "items": ["null", JSON_TEXT]}]


def test_schemaless_stream_has_no_typed_columns():
    assert field_types({}) == {}
    assert field_types({"type": "object"}) == {}
    assert field_types({"type": "object", "additionalProperties": True}) == {}


def test_additional_properties_objects_become_maps_or_json():
    types = field_types(props(m={"type": "object", "additionalProperties": {"type": "integer"}}, f={"type": "object"}))
    assert types["m"] == ["null", {"type": "map", "values": ["null", "long"]}]
    assert types["f"] == ["null", JSON_TEXT]


def test_multi_type_union_stays_an_avro_union():
    assert field_types(props(u={"type": ["null", "string", "integer"]}))["u"] == ["null", "string", "long"]


def test_unions_avro_forbids_become_json():
    # two arrays, and long next to timestamp-micros (both longs): Avro rejects both unions.
    types = field_types(props(
        a={"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "integer"}}]},
        b={"oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}, {"type": "string"}]},
    ))
    assert types["a"] == ["null", JSON_TEXT]
    assert types["b"] == ["null", JSON_TEXT]


def test_anyof_with_null_is_nullable_single_type():
    assert field_types(props(a={"anyOf": [{"type": "null"}, {"type": "number"}]}))["a"] == ["null", "double"]


def test_refs_and_true_schemas_are_json():
    types = field_types(props(r={"$ref": "#/definitions/x"}, t=True, e={}))
    assert types == {"r": ["null", JSON_TEXT], "t": ["null", JSON_TEXT], "e": ["null", JSON_TEXT]}


def test_null_only_property():
    assert field_types(props(n={"type": "null"}))["n"] == "null"


def test_names_avro_rejects_are_sanitized_and_keep_their_json_name():
    schema = stream_avro_schema("my stream!", props(**{"1st col": {"type": "string"}, "a-b": {"type": "string"},
                                                      "名前": {"type": "string"}, "_airbyte_data": {"type": "string"}}))
    names = [(f["name"], f.get("x-json-name")) for f in schema["fields"][5:]]
    assert names == [("_1st_col", "1st col"), ("a_b", "a-b"), ("MingQian", "名前"),
                     (suffixed("_airbyte_data"), "_airbyte_data")]
    assert schema["name"] == "my_stream_"


def test_case_insensitive_duplicates_are_suffixed():
    schema = stream_avro_schema("s", props(Id={"type": "integer"}, id={"type": "string"}))
    assert [f["name"] for f in schema["fields"][5:]] == [suffixed("Id"), "id"]  # lower case keeps the plain name
    assert suffixed("Id") == "Id_12156e92"


def test_schema_writes_a_record_with_fastavro():
    schema = stream_avro_schema("s", props(a={"type": "integer"}, o={"type": "object", "properties": {"x": {"type": "string"}}},
                                           l={"type": "array", "items": {"type": "number"}}))
    record = {"_airbyte_ab_id": "x", "_airbyte_emitted_at": 1, "_airbyte_data": "{}", "a": 5, "o": {"x": "y"}, "l": [1.5, None]}
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), [record])
    buffer.seek(0)
    assert list(fastavro.reader(buffer))[0]["o"] == {"x": "y"}


def test_a_thousand_levels_of_nesting_still_converts():
    js = {"type": "string"}
    for _ in range(200):
        js = {"type": "object", "properties": {"n": js}}
    assert field_types(props(deep=js))["deep"][1]["type"] == "record"


def test_invalid_avro_is_a_config_error(monkeypatch):
    import destination_databricks.records.avro_schema as module

    monkeypatch.setattr(module, "_scalar", lambda kind, js, decimal_numbers=False: {"type": "not-a-type"})
    with pytest.raises(ConfigError, match="stream 's'"):
        stream_avro_schema("s", props(a={"type": "string"}))
