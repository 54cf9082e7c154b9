"""The vector_search config: each bad field named; the catalog checks (key unique, columns there)."""
import pytest

from destination_databricks.catalog import plan_streams
from destination_databricks.errors import ConfigError
from destination_databricks.vector_search.config import parse
from destination_databricks.vector_search.plan import plan_indexes

INDEX = {"stream": "docs", "embedding_vector_column": "v", "embedding_dimension": 3}


def test_a_complete_config_parses_with_defaults():
    config = parse({"endpoint_name": "vs", "indexes": [INDEX]}, unity_catalog=True)
    (index,) = config.indexes
    assert (config.endpoint_type, index.pipeline_type, index.computed, index.embedding_dimension) == (
        "STANDARD", "TRIGGERED", False, 3)


@pytest.mark.parametrize("raw, field", [
    ({"indexes": [INDEX]}, "vector_search.endpoint_name"),
    ({"endpoint_name": "vs", "indexes": []}, "vector_search.indexes"),
    ({"endpoint_name": "vs", "endpoint_type": "HUGE", "indexes": [INDEX]}, "vector_search.endpoint_type"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "embedding_dimension": 0}]}, "vector_search.indexes[0].embedding_dimension"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "embedding_dimension": True}]}, "vector_search.indexes[0].embedding_dimension"),
    ({"endpoint_name": "vs", "indexes": [{"stream": "docs", "embedding_source_column": "t"}]},
     "vector_search.indexes[0].embedding_model_endpoint_name"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "index_name": "one_part"}]}, "vector_search.indexes[0].index_name"),
    # names that reach REST paths: nothing that could lead to another route
    ({"endpoint_name": "../../2.0/sql/warehouses", "indexes": [INDEX]}, "vector_search.endpoint_name"),
    ({"endpoint_name": "vs", "indexes": [{"stream": "docs", "embedding_source_column": "t",
                                          "embedding_model_endpoint_name": "../../2.0/sql/warehouses"}]},
     "vector_search.indexes[0].embedding_model_endpoint_name"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "index_name": "../x/y?z"}]}, "vector_search.indexes[0].index_name"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "index_name": "a.b/c.d"}]}, "vector_search.indexes[0].index_name"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "index_name": "a..b"}]}, "vector_search.indexes[0].index_name"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "pipeline_type": "SOMETIMES"}]}, "vector_search.indexes[0].pipeline_type"),
    ({"endpoint_name": "vs", "endpoint_type": "STORAGE_OPTIMIZED", "indexes": [{**INDEX, "pipeline_type": "CONTINUOUS"}]},
     "vector_search.indexes[0].pipeline_type"),
    ({"endpoint_name": "vs", "indexes": [INDEX, INDEX]}, "vector_search.indexes[1]"),
    ({"endpoint_name": "vs", "indexes": [{**INDEX, "columns_to_sync": "title"}]}, "vector_search.indexes[0].columns_to_sync"),
])
def test_each_bad_field_is_named(raw, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse(raw, unity_catalog=True)


def test_indexes_need_unity_catalog():
    with pytest.raises(ConfigError, match="Unity Catalog"):
        parse({"endpoint_name": "vs", "indexes": [INDEX]}, unity_catalog=False)
    assert parse(None, unity_catalog=False) is None


def plans(mode="append_dedup", primary_key=(("id",),)):
    props = {"id": {"type": "integer"}, "Title": {"type": "string"}, "v": {"type": "array", "items": {"type": "number"}}}
    stream = {"stream": {"name": "docs", "json_schema": {"type": "object", "properties": props}},
              "destination_sync_mode": mode, "primary_key": [list(p) for p in primary_key]}
    return plan_streams([stream], "default")


def test_the_index_plan_resolves_columns_and_types_the_vector_column():
    catalog_plans = plans()
    config = parse({"endpoint_name": "vs", "indexes": [{**INDEX, "columns_to_sync": ["Title"]}]}, unity_catalog=True)
    (index,) = plan_indexes(config, "main", catalog_plans)
    assert (index.index_name, index.source_table, index.primary_key) == ("main.default.docs_index", "main.default.docs", "id")
    assert index.columns_to_sync == ("id", "v", "Title")
    (vector,) = [c for c in next(iter(catalog_plans.values())).proposed_columns if c.name == "v"]
    assert vector.kind == "vector3" and str(vector.type) == "list<item: float>"


def test_a_key_that_is_not_unique_or_a_column_that_is_not_there_is_refused():
    config = parse({"endpoint_name": "vs", "indexes": [{**INDEX, "primary_key": "id"}]}, unity_catalog=True)
    with pytest.raises(ConfigError, match=r"indexes\[0\].primary_key.*not unique"):
        plan_indexes(config, "main", plans(mode="append", primary_key=()))
    (index,) = plan_indexes(parse({"endpoint_name": "vs", "indexes": [INDEX]}, unity_catalog=True), "main",
                            plans(mode="append", primary_key=()))
    assert index.primary_key == "_airbyte_ab_id"  # unique in any table
    missing = parse({"endpoint_name": "vs", "indexes": [{**INDEX, "embedding_vector_column": "nope"}]}, unity_catalog=True)
    with pytest.raises(ConfigError, match=r"indexes\[0\].embedding_vector_column' names 'nope'"):
        plan_indexes(missing, "main", plans())
    other = parse({"endpoint_name": "vs", "indexes": [{**INDEX, "stream": "other"}]}, unity_catalog=True)
    with pytest.raises(ConfigError, match=r"indexes\[0\].stream' names stream 'other'"):
        plan_indexes(other, "main", plans())
