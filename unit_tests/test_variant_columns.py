"""json_column_type VARIANT: nested properties propose VARIANT columns, staged as their JSON text and parsed by the
load statement; an existing column keeps its type whichever way the option is set."""
import pyarrow as pa

from destination_databricks.backends.databricks.sql import csv_files, table_typed
from destination_databricks.records import types
from destination_databricks.records.avro_schema import stream_avro_schema
from destination_databricks.records.batch import BatchBuilder
from destination_databricks.records.buffer import StreamBuffer
from destination_databricks.records.columns import Column, file_schema, stream_columns, table_columns
from destination_databricks.records.spark_types import of_spark

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "o": {"type": "object"},
                                           "a": {"type": "array", "items": {"type": "string"}}}}


def test_nested_properties_propose_variant_columns_and_scalars_keep_their_types():
    columns = stream_columns(stream_avro_schema("s", SCHEMA), variant=True)
    assert [(c.name, c.kind, c.type) for c in columns] == [
        ("id", "long", pa.int64()), ("o", "variant", types.VARIANT), ("a", "variant", types.VARIANT)]
    assert types.sql_type(types.VARIANT) == "VARIANT"


def test_engines_spellings_of_variant_read_back_as_variant():
    assert of_spark("variant") == types.VARIANT
    storage = pa.struct([pa.field("value", pa.binary(), nullable=False), pa.field("metadata", pa.binary(), nullable=False)])
    assert types.canonical(storage) == types.VARIANT
    assert types.of_existing(storage, "json", pa.string(), "t.c") == "variant"  # option off: the column stays VARIANT
    assert types.retyping(storage, "json", pa.string()) is None and types.retyping(storage, "long", pa.int64()) is None


def test_an_existing_string_or_scalar_column_is_not_turned_into_variant():
    proposed = stream_columns(stream_avro_schema("s", SCHEMA), variant=True)
    existing = pa.schema([("id", pa.int64()), ("o", pa.string()), ("a", pa.int64())])
    got = {c.name: (c.kind, c.type) for c in table_columns(proposed, existing, evolve=False)}
    assert got["o"] == ("json", pa.string())  # JSON text, as before the option
    assert got["a"] == ("json", pa.string())  # the table's BIGINT is rebuilt as JSON text, as without the option
    assert types.retyping(pa.int64(), "json", pa.string()) == "rebuild"


def test_batches_carry_the_json_text_and_the_table_schema_says_variant():
    columns = [Column("o", "o", "variant", types.VARIANT)]
    builder = BatchBuilder(columns, file_schema(columns))
    assert builder.schema.field("o").type == types.VARIANT and builder.stored.field("o").type == pa.string()
    buffer = StreamBuffer(builder.layout)
    for text in (b'{"o":{"x":[1,2.5,"z"]}}', b'{"o":null}', b"{}"):
        buffer.add(text, 1_700_000_000_000, len(text))
    batch = builder.build(buffer)
    assert batch.schema.field("o").type == pa.string()
    assert batch.column(batch.schema.get_field_index("o")).to_pylist() == ['{"x":[1,2.5,"z"]}', None, None]


def test_the_load_parses_variant_columns_and_reads_csv_as_text():
    schema = pa.schema([("id", pa.int64()), ("o", types.VARIANT)])
    assert table_typed("parquet.`/v/x`", pa.schema([("id", pa.int64())])) == "parquet.`/v/x`"
    assert table_typed("parquet.`/v/x`", schema) == "(SELECT `id`, try_parse_json(`o`) AS `o` FROM parquet.`/v/x`)"
    assert "schema => '`id` BIGINT, `o` STRING'" in csv_files("abfss://c@a/x", schema, {})


def test_a_value_too_large_for_a_variant_is_null_and_recorded(monkeypatch):
    import json

    from destination_databricks.records import batch as batches

    monkeypatch.setattr(batches, "VARIANT_BYTES", 10)  # Databricks' limit is 16 MiB
    columns = [Column("o", "o", "variant", types.VARIANT)]
    builder = BatchBuilder(columns, file_schema(columns))
    buffer = StreamBuffer(builder.layout)
    for text in (b'{"o":[1,2]}', b'{"o":"a long text"}'):
        buffer.add(text, 1_700_000_000_000, len(text))
    built = builder.build(buffer)
    assert built.column(built.schema.get_field_index("o")).to_pylist() == ["[1,2]", None]
    metas = [json.loads(m)["changes"] for m in built.column(built.schema.get_field_index("_airbyte_meta")).to_pylist()]
    assert metas == [[], [{"field": "o", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]]
