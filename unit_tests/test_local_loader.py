"""The LOCAL loader's table-level operations that need no sync around them."""
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from destination_databricks.backends.local.loader import DeltaRsLoader
from destination_databricks.naming import TableName


def test_change_data_feed_is_turned_on_for_an_existing_table_and_its_rows_stay(tmp_path):
    loader, table = DeltaRsLoader(str(tmp_path), "sync", {"default"}), TableName("default", "t")
    write_deltalake(loader.location(table), pa.table({"a": [1, 2]}))
    assert "delta.enableChangeDataFeed" not in DeltaTable(loader.location(table)).metadata().configuration
    loader.enable_change_data_feed(table)
    loader.enable_change_data_feed(table)  # harmless when it is on
    found = DeltaTable(loader.location(table))
    assert found.metadata().configuration["delta.enableChangeDataFeed"] == "true"
    assert loader.table_schema(table) is not None and found.version() == 2
