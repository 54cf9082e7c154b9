"""Column type changes between syncs: which are held as they are, widened in place, or rebuilt; and the
Databricks statements (the rebuild's CREATE OR REPLACE is not verified locally: docs/local-warehouse.md)."""
import pyarrow as pa
import pytest

from destination_databricks.backends.databricks import retype, sql
from destination_databricks.backends.databricks.layouts import Layouts
from destination_databricks.naming import TableName
from destination_databricks.records.columns import Column
from destination_databricks.records.types import TIMESTAMP_TYPE, retyping


@pytest.mark.parametrize("existing, kind, proposed, change", [
    (pa.int64(), "long", pa.int64(), None),
    (pa.string(), "long", pa.int64(), None),  # a STRING holds anything (as text)
    (pa.int32(), "long", pa.int64(), "widen"),
    (pa.int64(), "decimal", pa.decimal128(38, 0), "widen"),  # integer → big_integer
    (pa.int64(), "decimal", pa.decimal128(10, 0), "rebuild"),
    (pa.float32(), "double", pa.float64(), "widen"),
    (pa.int32(), "double", pa.float64(), "widen"),
    (pa.int64(), "double", pa.float64(), "rebuild"),  # Delta does not widen BIGINT to DOUBLE
    (pa.float64(), "long", pa.int64(), None),
    (pa.decimal128(38, 0), "long", pa.int64(), None),
    (pa.decimal128(10, 2), "decimal", pa.decimal128(20, 4), "widen"),
    (pa.date32(), "timestamp", TIMESTAMP_TYPE, "rebuild"),
    (TIMESTAMP_TYPE, "date", pa.date32(), None),
    (pa.bool_(), "string", pa.string(), "rebuild"),
    (pa.int64(), "json", pa.string(), "rebuild"),
    (pa.struct([("a", pa.int64())]), "json", pa.string(), None),  # another tool's type: not ours to change
])
def test_what_a_change_of_type_takes(existing, kind, proposed, change):
    assert retyping(existing, kind, proposed) == change


EXISTING = pa.schema([("_airbyte_data", pa.string()), ("n", pa.int64()), ("we ird", pa.bool_()), ("big", pa.int64())])


def test_widening_alters_the_columns_in_place():
    statements = retype.statements("main", TableName("s", "t"), EXISTING,
                                   [Column("big", "big", "decimal", pa.decimal128(38, 0))], None, sql.Layout())
    assert statements == ["ALTER TABLE `main`.`s`.`t` SET TBLPROPERTIES ('delta.enableTypeWidening' = 'true')",
                          "ALTER TABLE `main`.`s`.`t` ALTER COLUMN `big` TYPE DECIMAL(38,0)"]


def test_a_rebuild_rewrites_the_table_in_one_statement_from_the_records_values():
    columns = [Column("n", "n", "double", pa.float64()), Column("we ird", "we ird", "string", pa.string()),
               Column("big", "big", "decimal", pa.decimal128(38, 0))]
    layout = Layouts("main", {}, frozenset({TableName("s", "t")})).new_table(TableName("s", "t"), ("n",))
    [statement] = retype.statements("main", TableName("s", "t"), EXISTING, columns, "s3://b/s/t", layout)
    assert statement == (
        "CREATE OR REPLACE TABLE `main`.`s`.`t` USING DELTA CLUSTER BY (`n`) TBLPROPERTIES ("
        "'delta.enableDeletionVectors' = 'true', 'delta.enableChangeDataFeed' = 'true') LOCATION 's3://b/s/t' AS "
        "SELECT `_airbyte_data`, TRY_CAST(get_json_object(`_airbyte_data`, '$.n') AS DOUBLE) AS `n`, "
        "CAST(`we ird` AS STRING) AS `we ird`, TRY_CAST(get_json_object(`_airbyte_data`, '$.big') AS DECIMAL(38,0)) "
        "AS `big` FROM `main`.`s`.`t`")
