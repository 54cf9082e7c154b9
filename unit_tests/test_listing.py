"""Schemas read from SHOW TABLE EXTENDED's `information`, in Spark's tree notation and the local engine's."""
import pyarrow as pa

from destination_databricks.backends.databricks.listing import schema_of, tables_with_schemas
from destination_databricks.records.spark_types import of_spark
from destination_databricks.records.types import TIMESTAMP_TYPE

SPARK = """Catalog: main
Database: s
Table: orders
Type: EXTERNAL
Provider: delta
Location: s3://bucket/s/orders
Schema: root
 |-- _airbyte_ab_id: string (nullable = true)
 |-- amount: decimal(38,9) (nullable = true)
 |-- at: timestamp (nullable = true)
 |-- n: long (nullable = false)
 |-- tags: array (nullable = true)
 |    |-- element: string (containsNull = true)
 |-- attrs: map (nullable = true)
 |    |-- key: string
 |    |-- value: integer (valueContainsNull = true)
 |-- address: struct (nullable = true)
 |    |-- City: string (nullable = true)
 |    |-- points: array (nullable = true)
 |    |    |-- element: float (containsNull = true)
 |-- odd: name: double (nullable = true)
"""

SAIL = ("Database: s\nTable: t\nType: EXTERNAL\nProvider: delta\nLocation: /x\nSchema: root\n"
        " |-- a: bigint (nullable = true)\n |-- v: array<float> (nullable = true)\n"
        " |-- g: struct<X:int,y:string> (nullable = true)\n |-- l: timestamp_ntz (nullable = true)\n")


def test_spark_tree_notation_with_nested_child_lines():
    assert schema_of(SPARK) == pa.schema([
        ("_airbyte_ab_id", pa.string()), ("amount", pa.decimal128(38, 9)), ("at", TIMESTAMP_TYPE), ("n", pa.int64()),
        ("tags", pa.list_(pa.string())), ("attrs", pa.map_(pa.string(), pa.int32())),
        ("address", pa.struct([("City", pa.string()), ("points", pa.list_(pa.float32()))])),
        ("odd: name", pa.float64())])


def test_the_local_engines_inline_notation():
    assert schema_of(SAIL) == pa.schema([("a", pa.int64()), ("v", pa.list_(pa.float32())),
                                         ("g", pa.struct([("X", pa.int32()), ("y", pa.string())])),
                                         ("l", TIMESTAMP_TYPE)])


def test_what_is_not_read_in_full_gives_none():
    assert schema_of("Database: s\nTable: v\nType: VIEW\n") is None  # no schema at all
    assert schema_of(SAIL.replace("bigint", "geography")) is None  # a type not known here
    assert schema_of(SAIL.replace(" |-- a:", " |-- a\\nb:")) is None  # an escaped name
    assert schema_of(SAIL.replace("array<float>", "array")) is None  # a container without its parts
    assert schema_of("Schema: root\n") is None


def test_rows_of_the_listing_skip_temporary_views():
    rows = pa.table({"database": ["s", "s"], "tableName": ["t", "tmp"], "isTemporary": [False, True],
                     "information": [SAIL, SAIL]})
    assert list(tables_with_schemas(rows)) == ["t"]


def test_spark_and_sql_spellings_of_types():
    assert of_spark("BIGINT") == of_spark("long") == pa.int64()
    assert of_spark("integer") == of_spark("int") == pa.int32()
    assert of_spark("Decimal(10, 2)") == pa.decimal128(10, 2)
    assert of_spark("varchar(10)") == pa.string()
    assert of_spark("map<string,array<bigint>>") == pa.map_(pa.string(), pa.list_(pa.int64()))
    assert of_spark("array<float") is None
    assert of_spark("interval day") is None
