"""The config's `streams` list (clustering, partitioning, table properties per stream): its shape checked at `check`,
its columns against the catalog at `write`, each problem naming its field."""
import pytest

from destination_databricks import layout
from destination_databricks.catalog import plan_streams
from destination_databricks.errors import ConfigError
from destination_databricks.naming import StreamKey, TableName
from destination_databricks.records.columns import ColumnTypes

STREAMS = [{"stream": {"name": "users", "namespace": "app", "json_schema": {"type": "object", "properties": {
    "id": {"type": "integer"}, "Country Code": {"type": "string"}, "profile": {"type": "object"}}}},
    "destination_sync_mode": "append_dedup", "primary_key": [["id"]]}]


def plans(variant: bool = False):
    return plan_streams(STREAMS, "default", ColumnTypes(variant=variant))


def test_entries_are_read_with_names_as_the_catalog_gives_them():
    (entry,) = layout.parse([{"name": "users", "namespace": "app", "cluster_by": ["Country Code", "id"],
                              "table_properties": {"delta.targetFileSize": "128mb", "delta.appendOnly": False,
                                                   "delta.logRetentionDuration": 30}}])
    assert entry.key == StreamKey("app", "users") and entry.cluster_by == ("Country Code", "id")
    assert entry.properties == (("delta.appendOnly", "false"), ("delta.logRetentionDuration", "30"),
                                ("delta.targetFileSize", "128mb"))
    got = layout.plan_layouts((entry,), plans())
    assert got == {TableName("app", "users"): layout.TableLayout(("Country_Code", "id"), (), entry.properties)}


def test_auto_clustering_and_partitioning():
    auto, = layout.parse([{"name": "users", "namespace": "app", "cluster_by": "AUTO"}])
    assert layout.plan_layouts((auto,), plans())[TableName("app", "users")].clustering(("id",)) == "AUTO"
    part, = layout.parse([{"name": "users", "namespace": "app", "partition_by": ["Country Code"]}])
    planned = layout.plan_layouts((part,), plans())[TableName("app", "users")]
    assert planned.partition_by == ("Country_Code",) and planned.clustering(("id",)) == ()  # not both
    assert layout.TableLayout().clustering(("id",)) == ("id",)  # a deduplicated table keeps its key clustering


@pytest.mark.parametrize("raw,field", [
    ({"streams": {}}, "'streams'"),
    ({"streams": [{"cluster_by": ["id"]}]}, "streams[0].name"),
    ({"streams": [{"name": "users", "cluster_by": ["id"], "partition_by": ["id"]}]}, "streams[0].cluster_by"),
    ({"streams": [{"name": "users", "cluster_by": "id"}]}, "streams[0].cluster_by"),
    ({"streams": [{"name": "users", "partition_by": []}]}, "streams[0].partition_by"),
    ({"streams": [{"name": "users", "table_properties": {"a": [1]}}]}, "streams[0].table_properties"),
    ({"streams": [{"name": "users", "table_properties": {"airbyte.clustered_by": "x"}}]}, "streams[0].table_properties"),
    ({"streams": [{"name": "users"}, {"name": "users"}]}, "streams[1]"),
])
def test_a_malformed_entry_names_its_field(raw, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        layout.parse(raw["streams"])


@pytest.mark.parametrize("entry,field", [
    ({"name": "orders", "namespace": "app"}, "streams[0].name"),  # not in the catalog
    ({"name": "users", "namespace": "app", "cluster_by": ["missing"]}, "streams[0].cluster_by"),
    ({"name": "users", "namespace": "app", "partition_by": ["profile"]}, "streams[0].partition_by"),  # VARIANT
])
def test_columns_are_checked_against_the_catalog(entry, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        layout.plan_layouts(layout.parse([entry]), plans(variant=True))
