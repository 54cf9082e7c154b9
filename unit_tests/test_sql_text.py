"""Statement text the local engine cannot tell apart from its effect: checked as text."""
import pyarrow as pa

from destination_databricks.loading import sql
from destination_databricks.loading.databricks import temporary_table
from destination_databricks.naming import TableName


def test_the_temporary_csv_table_is_created_only_if_missing_and_named_per_load():
    table = TableName("default", "users")
    first = temporary_table(table, "0b7c1d2e-aaaa-bbbb-cccc-000000000000", "abfss://c@a.dfs.x/_airbyte_staging/s/default/users/load_0")
    again = temporary_table(table, "0b7c1d2e-aaaa-bbbb-cccc-000000000000", "abfss://c@a.dfs.x/_airbyte_staging/s/default/users/load_0")
    second = temporary_table(table, "0b7c1d2e-aaaa-bbbb-cccc-000000000000", "abfss://c@a.dfs.x/_airbyte_staging/s/default/users/load_1")
    assert first == again and first != second and first.table.startswith("_airbyte_tmp_0b7c1d2eaaaa_")
    statement = sql.create_csv_table("hive_metastore", first, pa.schema([("id", pa.int64())]), "abfss://x", {"header": "true"})
    assert statement.startswith(f"CREATE TABLE IF NOT EXISTS `hive_metastore`.`default`.`{first.table}` (`id` BIGINT) USING CSV")
