"""Truncating refreshes: which streams wait in a shadow, which shadows are stale, and the swap's statements."""
import pyarrow as pa
import pytest

from destination_databricks.backends.databricks import swap
from destination_databricks.catalog import StreamPlan, SyncMode
from destination_databricks.dedup import Merge, Truncation
from destination_databricks.naming import StreamKey, TableName
from destination_databricks.refresh import is_internal, refresh_of, shadowed, stale_shadows


def plan(name="users", mode=SyncMode.APPEND, generation=None, minimum=None) -> StreamPlan:
    return StreamPlan(StreamKey(None, name), TableName("s", name), mode, "{}", (), generation_id=generation,
                      minimum_generation_id=minimum)


@pytest.mark.parametrize("mode, generation, minimum, shadow, truncation", [
    (SyncMode.APPEND, 3, 3, "_airbyte_tmp_g3_users", Truncation(3)),  # Overwrite as platforms with refreshes send it
    (SyncMode.APPEND_DEDUP, 3, 3, "_airbyte_tmp_g3_users", Truncation(3)),
    (SyncMode.APPEND, 1, 1, "_airbyte_tmp_g1_users", Truncation(1)),  # PyAirbyte, every sync
    (SyncMode.APPEND, 5, 2, "_airbyte_tmp_g5_users", Truncation(2)),
    (SyncMode.OVERWRITE, 4, 4, "_airbyte_tmp_g4_users", None),  # an overwrite replaces every row
    (SyncMode.OVERWRITE_DEDUP, 4, 0, "_airbyte_tmp_g4_users", None),
])
def test_streams_whose_rows_replace_older_generations_wait_in_a_shadow(mode, generation, minimum, shadow, truncation):
    refresh = refresh_of(plan(mode=mode, generation=generation, minimum=minimum))
    assert refresh is not None and refresh.shadow == TableName("s", shadow) and refresh.truncation == truncation
    assert shadowed(refresh.shadow) == TableName("s", "users")


@pytest.mark.parametrize("mode, generation, minimum", [
    (SyncMode.APPEND, None, None), (SyncMode.APPEND, 3, 0), (SyncMode.APPEND_DEDUP, 3, 0),  # merge refreshes
    (SyncMode.OVERWRITE, None, None), (SyncMode.OVERWRITE, 0, 0),  # no generation: commits once, at the end
])
def test_other_streams_load_their_table_directly(mode, generation, minimum):
    assert refresh_of(plan(mode=mode, generation=generation, minimum=minimum)) is None


def test_a_shadow_is_stale_unless_its_stream_continues_it():
    existing = [TableName("s", n) for n in ("_airbyte_tmp_g2_users", "_airbyte_tmp_g3_users", "_airbyte_tmp_g1_orders",
                                            "_airbyte_tmp_g1_other", "users", "_airbyte_tmp_g1_")]
    plans = [plan("users", generation=3, minimum=3), plan("orders")]
    # users continues generation 3; orders no longer refreshes; `other` is no stream of this sync: left alone.
    assert stale_shadows(existing, plans) == [TableName("s", "_airbyte_tmp_g1_orders"), TableName("s", "_airbyte_tmp_g2_users")]
    assert is_internal("_airbyte_tmp_g2_users") and is_internal("_Airbyte_connection_test_x") and not is_internal("users")


def test_a_names_digits_are_not_taken_for_a_generation():
    assert shadowed(TableName("s", "_airbyte_tmp_g12_3_x")) == TableName("s", "3_x")
    assert shadowed(TableName("s", "_airbyte_tmp_gx_users")) is None


TABLE = TableName("s", "t")
EXISTING = pa.schema([("_airbyte_ab_id", pa.string()), ("_airbyte_generation_id", pa.int64()), ("id", pa.int64()),
                      ("gone", pa.string())])
SHADOWED = pa.schema([("_airbyte_ab_id", pa.string()), ("_airbyte_generation_id", pa.int64()), ("id", pa.int64()),
                      ("added", pa.bool_()), ("_ab_cdc_deleted_at", pa.string())])
SHADOW = swap.Rows("`main`.`s`.`_airbyte_tmp_g2_t`", SHADOWED)


def test_an_append_refresh_swaps_in_one_merge_that_a_replay_cannot_double():
    statements = swap.swap_statements("main", TABLE, EXISTING, SHADOW, Truncation(2), None)
    assert statements[0].startswith("MERGE WITH SCHEMA EVOLUTION INTO `main`.`s`.`t`")  # adds `added`, no row
    assert statements[1] == (
        "MERGE INTO `main`.`s`.`t` AS t USING (SELECT `_airbyte_ab_id`, `_airbyte_generation_id`, `id`, "
        "CAST(NULL AS STRING) AS `gone`, `added`, `_ab_cdc_deleted_at` FROM `main`.`s`.`_airbyte_tmp_g2_t` AS s) AS s "
        "ON t.`_airbyte_ab_id` = s.`_airbyte_ab_id` WHEN NOT MATCHED THEN INSERT * "
        "WHEN NOT MATCHED BY SOURCE AND (t.`_airbyte_generation_id` < 2 OR t.`_airbyte_generation_id` IS NULL) THEN DELETE")
    assert len(statements) == 2


def test_a_deduplicated_refresh_merges_by_key_with_the_old_generations_out_of_the_match():
    merge = Merge(("id",), None, "_ab_cdc_deleted_at")
    [statement] = swap.swap_statements("main", TABLE, pa.schema(list(EXISTING) + [SHADOWED.field("added"),
                                       SHADOWED.field("_ab_cdc_deleted_at")]), SHADOW, Truncation(2), merge)
    assert (" ON t.`id` = s.`id` AND NOT (t.`_airbyte_generation_id` < 2 OR t.`_airbyte_generation_id` IS NULL) "
            "WHEN MATCHED AND s.`_ab_cdc_deleted_at` IS NOT NULL") in statement
    assert statement.endswith("WHEN NOT MATCHED BY SOURCE AND (t.`_airbyte_generation_id` < 2 OR "
                              "t.`_airbyte_generation_id` IS NULL) THEN DELETE")


def test_an_overwrite_or_a_table_without_generations_is_replaced_whole_without_hard_deletes():
    merge = Merge(("id",), None, "_ab_cdc_deleted_at")
    no_generations = pa.schema([("_airbyte_ab_id", pa.string()), ("id", pa.int64())])
    for truncation, existing in ((None, EXISTING), (Truncation(2), no_generations)):
        statement = swap.swap_statements("main", TABLE, existing, SHADOW, truncation, merge)[-1]
        assert statement.startswith("INSERT OVERWRITE TABLE `main`.`s`.`t` SELECT `_airbyte_ab_id`, ")
        assert statement.endswith("FROM `main`.`s`.`_airbyte_tmp_g2_t` AS s WHERE NOT (s.`_ab_cdc_deleted_at` IS NOT NULL)")


def test_a_refresh_without_rows_only_drops_older_generations():
    assert swap.swap_statements("main", TABLE, EXISTING, None, Truncation(2), None) == [
        "DELETE FROM `main`.`s`.`t` WHERE (`_airbyte_generation_id` < 2 OR `_airbyte_generation_id` IS NULL)"]
    assert swap.swap_statements("main", TABLE, EXISTING, None, None, None) == ["DELETE FROM `main`.`s`.`t`"]


def test_a_refresh_that_committed_nothing_before_its_end_swaps_from_its_staged_rows():
    """No shadow: the staged load's newest row per key is the source; its deletes reach the table's rows."""
    merge = Merge(("id",), None, "_ab_cdc_deleted_at")
    staged = swap.Rows("(SELECT `id` FROM parquet.`/Volumes/x`)", SHADOWED)
    [statement] = swap.swap_statements("main", TABLE, pa.schema(list(EXISTING) + [SHADOWED.field("added"),
                                       SHADOWED.field("_ab_cdc_deleted_at")]), staged, Truncation(2), merge)
    assert statement.startswith("MERGE INTO `main`.`s`.`t` AS t USING (SELECT `_airbyte_ab_id`, ")
    assert " FROM (SELECT `id` FROM parquet.`/Volumes/x`) AS s) AS s ON t.`id` = s.`id` AND NOT (" in statement
