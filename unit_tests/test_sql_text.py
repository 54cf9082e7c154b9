"""Statement text the local engine cannot tell apart from its effect: checked as text."""
import pyarrow as pa

from destination_databricks.backends.databricks import sql
from destination_databricks.backends.databricks.layouts import Layouts
from destination_databricks.naming import TableName


def test_staged_csv_is_read_by_the_loads_own_statement_with_its_schema_and_options():
    """Databricks' read_files (the local warehouse reads the same files into a view: docs/local-warehouse.md, not verified locally)."""
    schema = pa.schema([("id", pa.int64()), ("it's", pa.string())])
    source = sql.csv_files("abfss://c@a.dfs.x/_airbyte_staging/s/default/users/load_0", schema,
                           {"header": "true", "escape": '"'})
    assert source == ("(SELECT `id`, `it's` FROM read_files('abfss://c@a.dfs.x/_airbyte_staging/s/default/users/load_0', "
                      "format => 'csv', schema => '`id` BIGINT, `it\\'s` STRING', header => 'true', escape => '\"'))")


def test_a_deduplicated_table_is_clustered_by_its_key_with_deletion_vectors():
    """The local engine has no liquid clustering (its warehouse leaves CLUSTER BY out): checked as text."""
    layout = Layouts("main", {}, frozenset()).new_table(TableName("s", "t"), ("id", "o`rg"))
    statement = sql.create_table("main", TableName("s", "t"), pa.schema([("id", pa.int64()), ("o`rg", pa.string())]),
                                 None, "c", layout)
    assert statement == ("CREATE TABLE IF NOT EXISTS `main`.`s`.`t` (`id` BIGINT, `o``rg` STRING) USING DELTA "
                         "CLUSTER BY (`id`, `o``rg`) TBLPROPERTIES ('delta.enableDeletionVectors' = 'true') COMMENT 'c'")
    assert "CLUSTER BY" not in sql.create_table("main", TableName("s", "t"), pa.schema([("id", pa.int64())]), None, "c")


def test_the_merge_of_a_deduplicated_stream():
    from destination_databricks.dedup import Merge

    merge = Merge(keys=("id",), cursor="updated", deleted="_ab_cdc_deleted_at")
    text = sql.merge_latest("main", TableName("s", "t"), "delta.`s3://b/load_0`", ["_airbyte_ab_id", "id"], merge)
    assert text.startswith("MERGE INTO `main`.`s`.`t` AS t USING (SELECT `_airbyte_ab_id`, `id` FROM (SELECT *, "
                           "ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `updated` DESC NULLS LAST, "
                           "`_airbyte_emitted_at` DESC, `_airbyte_ab_id` DESC) AS `_airbyte_rank` FROM delta.`s3://b/load_0`)")
    assert " ON t.`id` = s.`id` WHEN MATCHED AND s.`_ab_cdc_deleted_at` IS NOT NULL AND NOT (" in text
    assert text.endswith("THEN UPDATE SET * WHEN NOT MATCHED AND NOT s.`_ab_cdc_deleted_at` IS NOT NULL THEN INSERT *")
    soft = sql.merge_latest("main", TableName("s", "t"), "x", ["id"], Merge(("id",), None, "_ab_cdc_deleted_at", False))
    assert "DELETE" not in soft and soft.endswith("WHEN NOT MATCHED THEN INSERT *")


def test_a_swap_reads_its_shadow_and_its_last_staged_rows_as_one_in_the_last_rounds_columns():
    """A column a source lacks is null; one it has in another type is cast; names quoted."""
    shadow = pa.schema([("id", pa.int64()), ("n", pa.int64()), ("old", pa.string())])
    staged = pa.schema([("id", pa.int64()), ("n", pa.decimal128(38, 0)), ("new`", pa.bool_())])
    target = pa.schema(list(staged) + [shadow.field("old")])
    text = sql.union_rows([("`c`.`s`.`_airbyte_tmp_g2_t`", shadow), ("delta.`s3://b/x`", staged)], target)
    assert text == ("SELECT `id`, CAST(`n` AS DECIMAL(38,0)) AS `n`, CAST(NULL AS BOOLEAN) AS `new```, `old` "
                    "FROM `c`.`s`.`_airbyte_tmp_g2_t` UNION ALL "
                    "SELECT `id`, `n`, `new```, CAST(NULL AS STRING) AS `old` FROM delta.`s3://b/x`")


def test_a_table_made_from_its_first_rows_carries_its_layout_and_comment():
    """The local engine has no CLUSTER BY and refuses COMMENT in CREATE TABLE … AS SELECT: checked as text."""
    t = TableName("s", "t")
    assert sql.create_table_as("main", t, "SELECT 1", None, sql.Layout("AUTO", (), (("a.b", "it's"),)), "stream 'x'") == (
        "CREATE TABLE `main`.`s`.`t` USING DELTA CLUSTER BY AUTO TBLPROPERTIES ('a.b' = 'it\\'s') "
        "COMMENT 'stream \\'x\\'' AS SELECT 1")
    assert sql.create_table_as("main", t, "SELECT 1", "s3://b/t", sql.Layout((), ("d`ay",))) == (
        "CREATE TABLE `main`.`s`.`t` USING DELTA PARTITIONED BY (`d``ay`) LOCATION 's3://b/t' AS SELECT 1")
    commented = pa.schema([pa.field("id", pa.int64(), metadata={"comment": "the 'id'"}), ("n", pa.string())])
    assert sql.has_comments(commented) and not sql.has_comments(pa.schema([("n", pa.string())]))
    assert sql.create_table("main", t, commented, None, "c") == (
        "CREATE TABLE IF NOT EXISTS `main`.`s`.`t` (`id` BIGINT COMMENT 'the \\'id\\'', `n` STRING) USING DELTA COMMENT 'c'")


def test_an_existing_tables_clustering_and_properties_change_by_alter():
    t = TableName("s", "t")
    assert sql.cluster_by("main", t, ("a", "b")) == "ALTER TABLE `main`.`s`.`t` CLUSTER BY (`a`, `b`)"
    assert sql.cluster_by("main", t, "AUTO") == "ALTER TABLE `main`.`s`.`t` CLUSTER BY AUTO"
    assert sql.cluster_by("main", t, "NONE") == sql.cluster_by("main", t, ()) == "ALTER TABLE `main`.`s`.`t` CLUSTER BY NONE"
    assert sql.set_properties("main", t, [("k", "v")]) == "ALTER TABLE `main`.`s`.`t` SET TBLPROPERTIES ('k' = 'v')"
