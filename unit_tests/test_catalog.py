"""Reading the configured catalog file stream by stream; anything that is not a catalog is a config error."""
import json

import pytest

from destination_databricks.catalog import plan_streams, read_catalog
from destination_databricks.errors import ConfigError

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "x": {"type": "number", "maximum": 1.5}}}


def configured(name, mode="append"):
    return {"stream": {"name": name, "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": mode}


def write(tmp_path, text):
    path = tmp_path / "catalog.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(path)


def test_streams_are_planned_in_order_with_their_modes(tmp_path):
    path = write(tmp_path, {"other": [1, {"streams": 2}], "streams": [configured("a"), configured("b", "overwrite")]})
    plans = read_catalog(path, "default")
    assert [(str(k), p.table.table, p.mode) for k, p in plans.items()] == [("a", "a", "append"), ("b", "b", "overwrite")]
    assert [c.name for c in plans[next(iter(plans))].proposed_columns] == ["id", "x"]


def test_streams_alike_share_their_proposed_columns(tmp_path):
    plans = list(read_catalog(write(tmp_path, {"streams": [configured("a"), configured("b")]}), "default").values())
    assert plans[0].proposed_columns is plans[1].proposed_columns


def test_an_empty_streams_list_is_an_empty_catalog(tmp_path):
    assert read_catalog(write(tmp_path, {"streams": []}), "default") == {}


@pytest.mark.parametrize("text, words", [
    ("[]", "must be an object with a 'streams' list"),
    ('{"streams": {"a": 1}}', "must be an object with a 'streams' list"),
    ("{}", "must be an object with a 'streams' list"),
    ('{"streams": [', "is not valid JSON"),
    ('{"streams": [] } trailing', "is not valid JSON"),
    ('{"streams": [{"stream": {}}]}', "has no stream name"),
])
def test_what_is_not_a_catalog_is_a_config_error(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        read_catalog(write(tmp_path, text), "default")


def test_a_missing_file_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read the catalog file .*nope.json"):
        read_catalog(str(tmp_path / "nope.json"), "default")


def test_plans_keep_mode_key_cursor_and_generations_from_the_catalog(tmp_path):
    from destination_databricks.catalog import SyncMode

    stream = {**configured("a", "overwrite"), "primary_key": [["id"], ["address", "zip"]], "cursor_field": ["updated_at"],
              "generation_id": 7, "minimum_generation_id": 7, "sync_id": 123456789012}
    plan = read_catalog(write(tmp_path, {"streams": [stream, configured("b")]}), "default")
    a, b = plan.values()
    assert a.mode is SyncMode.OVERWRITE and a.mode.replaces and not b.mode.replaces
    assert a.primary_key == (("id",), ("address", "zip")) and a.cursor_field == ("updated_at",)
    assert (a.generation_id, a.minimum_generation_id, a.sync_id) == (7, 7, 123456789012)
    assert (b.primary_key, b.cursor_field, b.generation_id, b.minimum_generation_id, b.sync_id) == ((), (), None, None, None)


@pytest.mark.parametrize("field, value, words", [
    ("primary_key", "id", "primary_key must be a list of property paths"),
    ("primary_key", [["id"], []], "primary_key must be a list of property paths"),
    ("cursor_field", [1], "cursor_field must be a list of property paths"),
    ("generation_id", -1, "generation_id must be a whole number"),
    ("minimum_generation_id", "1", "minimum_generation_id must be a whole number"),
    ("destination_sync_mode", "upsert", "destination_sync_mode 'upsert' is not supported"),
])
def test_malformed_stream_settings_are_config_errors_naming_stream_and_field(tmp_path, field, value, words):
    with pytest.raises(ConfigError, match=f"Stream 'a': {words}"):
        read_catalog(write(tmp_path, {"streams": [{**configured("a"), field: value}]}), "default")


@pytest.mark.parametrize("mode", ["append_dedup", "overwrite_dedup"])
def test_a_deduplicated_stream_needs_a_primary_key(mode):
    stream = {"stream": {"name": "a", "json_schema": {}}, "destination_sync_mode": mode}
    with pytest.raises(ConfigError, match=f"Stream 'a': destination_sync_mode '{mode}' needs a primary_key"):
        plan_streams([stream], "default")
    (plan,) = plan_streams([{**stream, "primary_key": [["id"]]}], "default").values()
    assert plan.mode.dedup and plan.primary_key == (("id",),)


@pytest.mark.parametrize("generations", [
    {"generation_id": 2, "minimum_generation_id": 3}, {"minimum_generation_id": 1}, {"generation_id": 1.5},
    {"generation_id": True}])
def test_generations_that_cannot_be_right_are_refused_naming_the_stream(tmp_path, generations):
    with pytest.raises(ConfigError, match="Stream 'a': .*generation_id"):
        read_catalog(write(tmp_path, {"streams": [{**configured("a"), **generations}]}), "default")


def test_integers_past_64_bits_in_a_catalog_are_read(tmp_path):
    schema = {"type": "object", "properties": {"id": {"type": "integer", "maximum": 18446744073709551616}}}
    text = json.dumps({"streams": [{**configured("a"), "stream": {"name": "a", "json_schema": schema},
                                    "generation_id": 9223372036854775807, "minimum_generation_id": 0}]})
    (plan,) = read_catalog(write(tmp_path, text), "default").values()
    assert plan.generation_id == 2 ** 63 - 1 and plan.minimum_generation_id == 0
    with pytest.raises(ConfigError, match="Stream 'a': generation_id 18446744073709551615 does not fit"):
        read_catalog(write(tmp_path, text.replace("9223372036854775807", "18446744073709551615")), "default")


@pytest.mark.parametrize("cursor", [["meta", "ts"], ["missing"]])
def test_a_dedup_cursor_the_rows_cannot_be_ordered_by_is_refused_before_input(cursor):
    stream = {"stream": {"name": "a", "json_schema": SCHEMA}, "destination_sync_mode": "append_dedup",
              "primary_key": [["id"]], "cursor_field": cursor}
    with pytest.raises(ConfigError, match=f"Stream 'a': cursor_field '{'.'.join(cursor)}' is not a top-level property"):
        plan_streams([stream], "default")
    (plan,) = plan_streams([{**stream, "cursor_field": ["x"]}], "default").values()
    assert plan.cursor_field == ("x",)


def test_a_dedup_streams_cursor_and_deletes_get_their_columns_even_without_schema_evolution():
    import pyarrow as pa

    from destination_databricks.dedup import dedup_properties
    from destination_databricks.records.columns import table_columns

    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "updated": {"type": "integer"},
                                               "_ab_cdc_deleted_at": {"type": "string"}, "other": {"type": "string"}}}
    (plan,) = plan_streams([{"stream": {"name": "a", "json_schema": schema}, "destination_sync_mode": "append_dedup",
                             "primary_key": [["id"]], "cursor_field": ["updated"]}], "default").values()
    existing = pa.schema([("_airbyte_ab_id", pa.string()), ("id", pa.int64())])
    columns = table_columns(plan.proposed_columns, existing, False, plan.table, required=dedup_properties(plan))
    assert [c.name for c in columns] == ["id", "updated", "_ab_cdc_deleted_at"]  # "other" waits for schema evolution
