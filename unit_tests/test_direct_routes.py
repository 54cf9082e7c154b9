"""Which streams go through Zerobus (backends/zerobus/routes.py), and the pieces direct ingest adds to the
Databricks loader: Unity Catalog's table listing read like SHOW TABLE EXTENDED's, and a no-row source of columns."""
from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from destination_databricks.backends.databricks import sql
from destination_databricks.backends.databricks.listing import tables_from_catalog
from destination_databricks.backends.zerobus.ingest import endpoint_url
from destination_databricks.backends.zerobus.routes import direct_tables, plan_reason, schema_reason
from destination_databricks.catalog import StreamPlan, SyncMode
from destination_databricks.naming import StreamKey, TableName
from destination_databricks.records.columns import AIRBYTE_SCHEMA
from destination_databricks.records.types import NUMBER_DECIMAL, VARIANT, stored


def plan(name="events", mode=SyncMode.APPEND, generation=None, minimum=None) -> StreamPlan:
    return StreamPlan(StreamKey(None, name), TableName("s", name), mode, "{}", (), generation_id=generation,
                      minimum_generation_id=minimum)


@pytest.mark.parametrize("made, why", [
    (plan(), None),
    (plan(generation=3, minimum=0), None),  # a generation that truncates nothing: an append
    (plan(mode=SyncMode.APPEND_DEDUP), "append_dedup"),
    (plan(mode=SyncMode.OVERWRITE), "overwrite"),
    (plan(generation=3, minimum=3), "truncating refresh"),
    (plan(name="événements"), "ASCII"),
    (plan(name="with-dash"), "ASCII"),
])
def test_only_append_streams_that_truncate_nothing_and_have_plain_names_go_direct(made, why):
    reason = plan_reason(made)
    assert reason is None if why is None else why in reason
    direct, reasons = direct_tables([made])
    assert (made.table in direct) is (why is None) and (made.table in reasons) is (why is not None)


def test_every_column_type_must_map_exactly():
    plain = pa.schema(list(AIRBYTE_SCHEMA) + [("n", pa.int64()), ("x", pa.float64()), ("ok", pa.bool_()),
                                               ("day", pa.date32()), ("amount", NUMBER_DECIMAL), ("small", pa.int16())])
    assert schema_reason(plain) is None
    assert "doc" in schema_reason(plain.append(pa.field("doc", VARIANT)))
    assert "doc (variant)" in schema_reason(stored(plain.append(pa.field("doc", VARIANT))))  # as batches carry it
    assert "v" in schema_reason(plain.append(pa.field("v", pa.list_(pa.float32()))))
    assert "naive" in schema_reason(plain.append(pa.field("naive", pa.timestamp("us"))))
    assert "first name" in schema_reason(plain.append(pa.field("first name", pa.string())))


def test_unity_catalogs_listing_reads_as_the_statements_does():
    def column(name, text, position):
        return SimpleNamespace(name=name, type_text=text, position=position)

    infos = [SimpleNamespace(name="events", properties={"delta.enableChangeDataFeed": "true"}, columns=[
                 column("score", "decimal(38,10)", 2), column("id", "bigint", 0), column("at", "timestamp", 1)]),
             SimpleNamespace(name="odd", properties=None, columns=[column("g", "geography(4326)", 0)])]
    schemas, properties = tables_from_catalog(infos)
    assert schemas["events"] == pa.schema([("id", pa.int64()), ("at", pa.timestamp("us", "UTC")),
                                           ("score", pa.decimal128(38, 10))])
    assert schemas["odd"] is None  # a type not read: its columns are read another way
    assert properties == {"events": {"delta.enableChangeDataFeed": "true"}, "odd": {}}


def test_a_no_row_source_names_every_column_typed():
    source = sql.no_rows(pa.schema([("id", pa.int64()), ("odd`name", pa.string())]))
    assert source == "(SELECT CAST(NULL AS BIGINT) AS `id`, CAST(NULL AS STRING) AS `odd``name`)"


def test_the_endpoint_is_reached_over_tls_unless_a_local_http_url_is_given():
    assert endpoint_url("123.zerobus.us-west-2.cloud.databricks.com") == "https://123.zerobus.us-west-2.cloud.databricks.com"
    assert endpoint_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
