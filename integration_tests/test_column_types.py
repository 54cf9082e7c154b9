"""The column-type options on every destination: number_column_type DECIMAL (exact decimals) and json_column_type
VARIANT (nested values as VARIANT on the Databricks sources, JSON text on LOCAL), on new tables and on tables created
before the option was set (nothing rewritten, nothing lost)."""
from __future__ import annotations

import json
from decimal import Decimal

from .harness import catalog, run, stream, stream_state, write_json

PROPERTIES = {"id": {"type": "integer"}, "price": {"type": "number"},
              "address": {"type": ["null", "object"], "properties": {"city": {"type": "string"},
                                                                   "geo": {"type": "object"}}},
              "tags": {"type": ["null", "array"], "items": {"type": "string"}}}
DATA = [
    {"id": 1, "price": 23.796462709189136, "address": {"city": "Zoë", "geo": {"lat": -82.17892027384251}},
     "tags": ["a", "b"]},
    {"id": 2, "price": "15001.000000000", "address": None, "tags": []},
    {"id": 3, "price": 123456789012345678.5, "address": {"city": "名前", "geo": {}}, "tags": None},
]
# The lines as a source writes them, each number as its text (json.dumps would write 1.2345678901234568e+17).
LINES = ['{"type":"RECORD","record":{"stream":"things","data":' + json.dumps(d, separators=(",", ":"), ensure_ascii=False)
         .replace("1.2345678901234568e+17", "123456789012345678.5") + f',"emitted_at":{1_700_000_000_000 + i}}}}}'
         for i, d in enumerate(DATA)]


VARIANT = ("variant", "struct<value:binary,metadata:binary>")


def _sync(destination, tmp_path, lines, **config):
    cat = catalog(stream("things", PROPERTIES))
    config_path = write_json(tmp_path / "config.json", destination.config(**config))
    catalog_path = write_json(tmp_path / "catalog.json", cat)
    result = run(["write", "--config", config_path, "--catalog", catalog_path],
                 "\n".join(lines + [json.dumps(stream_state("things", 1))]).encode() + b"\n")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _column_types(destination) -> dict[str, str]:
    if not hasattr(destination, "query"):  # LOCAL: the Delta table's own schema
        from deltalake import DeltaTable

        schema = DeltaTable(f"{destination.root}/default/things").schema()
        return {f.name: str(f.type.type).lower() for f in schema.fields}
    rows = destination.query(f"DESCRIBE TABLE `{destination.catalog}`.`default`.`things`").to_pylist()
    return {r["col_name"]: r["data_type"].lower() for r in rows if r["col_name"]}


def test_decimal_numbers_land_exactly_on_every_destination(destination, tmp_path):
    _sync(destination, tmp_path, LINES, number_column_type="DECIMAL")
    assert _column_types(destination)["price"] in ("decimal(38,10)", "decimal(38, 10)")
    rows = sorted(destination.rows("default", "things"), key=lambda r: r["id"])
    assert [r["price"] for r in rows] == [Decimal("23.7964627092"), Decimal("15001"), Decimal("123456789012345678.5")]
    meta = [json.loads(r["_airbyte_meta"])["changes"] for r in rows]
    assert meta == [[{"field": "price", "change": "TRUNCATED", "reason": "DESTINATION_FIELD_SIZE_LIMITATION"}], [], []]
    assert [r["_airbyte_data"] for r in rows] == [line[line.index('"data":') + 7:line.index(',"emitted_at"')] for line in LINES]


def test_a_table_made_before_the_options_keeps_its_column_types_and_rows(destination, tmp_path):
    _sync(destination, tmp_path, LINES[:1])
    before = _column_types(destination)
    assert before["price"] == "double" and before["address"] == "string"
    _sync(destination, tmp_path, LINES[1:], number_column_type="DECIMAL", json_column_type="VARIANT")
    assert _column_types(destination) == before  # nothing rewritten
    rows = sorted(destination.rows("default", "things"), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["price"] == 23.796462709189136 and rows[2]["price"] == 123456789012345678.5
    assert json.loads(rows[0]["address"]) == DATA[0]["address"] and rows[1]["address"] is None


def test_nested_values_land_as_variant_on_databricks_and_as_json_text_on_local(destination, tmp_path):
    _sync(destination, tmp_path, LINES, json_column_type="VARIANT")
    types = _column_types(destination)
    local = not hasattr(destination, "query")
    if local:
        assert (types["address"], types["tags"]) == ("string", "string")
    else:  # (the local engine describes a VARIANT column by its storage, Databricks as `variant`)
        assert types["address"] in VARIANT and types["tags"] in VARIANT
    assert types["_airbyte_data"] == "string"
    if local:
        rows = sorted(destination.rows("default", "things"), key=lambda r: r["id"])
        assert [json.loads(r["address"]) if r["address"] else None for r in rows] == [d["address"] for d in DATA]
        return
    ref = f"`{destination.catalog}`.`default`.`things`"
    got = destination.query(f"SELECT id, variant_get(address, '$.city', 'string') AS city, "
                            f"variant_get(address, '$.geo.lat', 'double') AS lat, to_json(tags) AS tags, "
                            f"address IS NULL AS no_address FROM {ref} ORDER BY id").to_pylist()
    assert got == [{"id": 1, "city": "Zoë", "lat": -82.17892027384251, "tags": '["a","b"]', "no_address": False},
                   {"id": 2, "city": None, "lat": None, "tags": "[]", "no_address": True},  # JSON null: SQL NULL
                   {"id": 3, "city": "名前", "lat": None, "tags": None, "no_address": False}]
    # A second sync appends to the VARIANT columns (the load parses the staged JSON text again).
    (tmp_path / "again").mkdir()
    _sync(destination, tmp_path / "again", LINES[:1], json_column_type="VARIANT")
    again = destination.query(f"SELECT count(*) AS n, count(address) AS a FROM {ref}").to_pylist()
    assert again == [{"n": 4, "a": 3}]


def test_variant_columns_in_deduplicated_and_refreshed_streams(destination, tmp_path):
    """A MERGE, an overwrite and a truncate refresh's swap carry VARIANT columns as an append does."""
    if not hasattr(destination, "query"):
        return  # (LOCAL keeps JSON text: the other tests of this file cover it)
    ref = f"`{destination.catalog}`.`default`.`things`"
    lines = [LINES[0], LINES[0].replace('"city":"Zoë"', '"city":"Paris"').replace("1700000000000", "1700000000009")]
    for i, (mode, extra) in enumerate([("append_dedup", {"primary_key": [["id"]], "cursor_field": ["id"]}),
                                       ("append", {"generation_id": 2, "minimum_generation_id": 2, "sync_id": 2})]):
        work = tmp_path / str(i)
        work.mkdir()
        cat = catalog(stream("things", PROPERTIES, mode=mode, **extra))
        config_path = write_json(work / "config.json", destination.config(json_column_type="VARIANT"))
        result = run(["write", "--config", config_path, "--catalog", write_json(work / "catalog.json", cat)],
                     "\n".join(lines + [json.dumps(stream_state("things", 1))]).encode() + b"\n")
        assert result.returncode == 0, result.stdout + result.stderr
        got = destination.query(f"SELECT id, variant_get(address, '$.city', 'string') AS city FROM {ref}").to_pylist()
        assert got == ([{"id": 1, "city": "Paris"}] if mode == "append_dedup" else
                       [{"id": 1, "city": "Zoë"}, {"id": 1, "city": "Paris"}]), (mode, got)
        assert _column_types(destination)["address"] in VARIANT
