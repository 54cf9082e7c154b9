"""Every statement of backends/databricks/sql.py, run on the local warehouse through the production SqlClient."""
from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pytest

from destination_databricks import delta_files
from destination_databricks.config import DatabricksConnection
from destination_databricks.dedup import Truncation
from destination_databricks.errors import SystemFailure
from destination_databricks.backends.databricks import sql
from destination_databricks.backends.databricks.workspace import SignIn
from destination_databricks.backends.databricks.sql_client import SchemaNotFound, SqlClient, TableNotFound
from destination_databricks.naming import TableName

CATALOG = "hive_metastore"
SCHEMA = pa.schema([("_airbyte_ab_id", pa.string()), ("_airbyte_emitted_at", pa.timestamp("us", "UTC")),
                    ("_airbyte_data", pa.string()), ("n", pa.int64()), ("d", pa.decimal128(38, 0)),
                    ("day", pa.date32()), ("ok", pa.bool_()), ("x", pa.float64())])


@pytest.fixture
def env(warehouse):
    client = SqlClient(SignIn(DatabricksConnection(warehouse["hostname"], warehouse["http_path"], str(warehouse["port"]),
                                                   warehouse["token"])))
    options = {"AWS_ENDPOINT_URL": warehouse["s3_endpoint"], "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
               "AWS_ACCESS_KEY_ID": warehouse["s3_access_key_id"], "AWS_SECRET_ACCESS_KEY": warehouse["s3_secret_access_key"]}
    base = f"s3://{warehouse['s3_bucket']}/sql-{uuid.uuid4().hex[:6]}"
    yield client, options, base
    client.close()


def staged(options, location, rows, schema=SCHEMA):
    from deltalake import write_deltalake

    write_deltalake(location, pa.Table.from_pylist(rows, schema=schema), mode="overwrite", storage_options=options)
    return sql.delta_path(location)


def row(i, **extra):
    return {"_airbyte_ab_id": str(i), "_airbyte_emitted_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
            "_airbyte_data": "{}", "n": i, "d": None, "day": dt.date(2024, 1, 2), "ok": True, "x": 0.5, **extra}


def select_all(table: TableName) -> str:
    """Reading a table back is the tests' business; the connector never selects rows."""
    return f"SELECT * FROM {sql.table_ref(CATALOG, table)}"


def ids(client, table):
    return sorted(client.execute(select_all(table), "read").column("n").to_pylist())


def test_quoting_is_unbreakable():
    assert sql.quote("a`b") == "`a``b`"
    assert sql.literal("it's \\ here") == "'it\\'s \\\\ here'"


def test_create_append_overwrite_and_read_columns(env):
    client, options, base = env
    table = TableName("s1", "t")
    client.execute(sql.create_schema(CATALOG, "s1"), "schema")
    client.execute(sql.create_schema(CATALOG, "s1"), "schema again")  # IF NOT EXISTS
    hostile_comment = "Created from stream it's `odd`; -- \\ 名前"
    client.execute(sql.create_table(CATALOG, table, SCHEMA, f"{base}/s1/t", hostile_comment), "create")
    columns = client.execute(sql.table_columns(CATALOG, table), "columns").schema
    assert columns.names == SCHEMA.names
    client.execute(sql.append(CATALOG, table, staged(options, f"{base}/stage/a", [row(1), row(2, d=10**30)])), "append")
    client.execute(sql.append(CATALOG, table, staged(options, f"{base}/stage/b", [row(3)])), "append")
    assert ids(client, table) == [1, 2, 3]
    client.execute(sql.overwrite(CATALOG, table, staged(options, f"{base}/stage/c", [row(9)])), "overwrite")
    assert ids(client, table) == [9]
    client.execute(sql.overwrite(CATALOG, table, staged(options, f"{base}/stage/e", [])), "overwrite with nothing")
    assert ids(client, table) == []


def test_schema_evolving_append_and_replace(env):
    client, options, base = env
    table = TableName("s2", "t")
    client.execute(sql.create_schema(CATALOG, "s2"), "schema")
    client.execute(sql.create_table(CATALOG, table, SCHEMA, f"{base}/s2/t", "c"), "create")
    client.execute(sql.append(CATALOG, table, staged(options, f"{base}/stage/a", [row(1)])), "append")
    wider = SCHEMA.append(pa.field("added", pa.string()))
    client.execute(sql.append_with_new_columns(CATALOG, table, staged(options, f"{base}/stage/b", [row(2, added="new")], wider)), "evolve")
    got = client.execute(select_all(table), "read").to_pylist()
    assert sorted((r["n"], r["added"]) for r in got) == [(1, None), (2, "new")]
    widest = wider.append(pa.field("more", pa.int64()))
    source = staged(options, f"{base}/stage/c", [row(3, added="a", more=7)], widest)
    client.execute(sql.add_columns_from(CATALOG, table, source), "add columns")
    got = client.execute(select_all(table), "read").to_pylist()
    assert sorted((r["n"], r["more"]) for r in got) == [(1, None), (2, None)]  # rows untouched
    client.execute(sql.overwrite(CATALOG, table, source), "overwrite")
    got = client.execute(select_all(table), "read").to_pylist()
    assert [(r["n"], r["added"], r["more"]) for r in got] == [(3, "a", 7)]


def test_truncate_deletes_older_generations(env):
    client, options, base = env
    table = TableName("s5", "t")
    client.execute(sql.create_schema(CATALOG, "s5"), "schema")
    client.execute(sql.create_table(CATALOG, table, SCHEMA, f"{base}/s5/t", "c"), "create")
    client.execute(sql.append(CATALOG, table, staged(options, f"{base}/stage/a", [row(1)])), "before generations")
    with_generation = SCHEMA.append(pa.field("_airbyte_generation_id", pa.int64()))
    rows = [row(2, _airbyte_generation_id=1), row(3, _airbyte_generation_id=2), row(4, _airbyte_generation_id=3)]
    client.execute(sql.append_with_new_columns(CATALOG, table, staged(options, f"{base}/stage/b", rows, with_generation)), "add")
    client.execute(sql.truncate(CATALOG, table, Truncation(2)), "delete")
    assert ids(client, table) == [3, 4]  # generation 1 and the row of no generation are gone
    client.execute(sql.truncate(CATALOG, table, Truncation(2)), "delete again")  # a replay changes nothing
    assert ids(client, table) == [3, 4]
    assert sql.truncate(CATALOG, table, Truncation(2, column=False)) == "DELETE FROM `hive_metastore`.`s5`.`t`"
    # A truncating refresh's swap: its shadow's rows in, older generations out, one commit; replayed, the same.
    shadow = TableName("s5", "_airbyte_tmp_g4_t")
    client.execute(sql.create_table(CATALOG, shadow, with_generation, f"{base}/s5/shadow", "c"), "create the shadow")
    client.execute(sql.append(CATALOG, shadow, staged(options, f"{base}/stage/c", [row(5, _airbyte_generation_id=4)],
                                                       with_generation)), "load the shadow")
    rows = sql.rows_from(sql.table_ref(CATALOG, shadow), with_generation.names, with_generation)
    for _ in range(2):
        client.execute(sql.swap_appending(CATALOG, table, rows, Truncation(4)), "swap")
        assert ids(client, table) == [5]


def test_appends_with_a_marker_run_twice_add_once(env):
    """A replayed append (its answer was lost) must not add its rows again."""
    client, options, base = env
    table = TableName("s4", "t")
    client.execute(sql.create_schema(CATALOG, "s4"), "schema")
    client.execute(sql.create_table(CATALOG, table, SCHEMA, f"{base}/s4/t", "c"), "create")
    first = staged(options, f"{base}/stage/a", [row(1), row(2)])
    for _ in range(2):
        client.execute(sql.append(CATALOG, table, first, marker="1"), "append")
    wider = SCHEMA.append(pa.field("added", pa.string()))
    second = staged(options, f"{base}/stage/b", [row(3, added="x")], wider)
    for _ in range(2):
        client.execute(sql.append_with_new_columns(CATALOG, table, second, marker="3"), "evolve")
    assert ids(client, table) == [1, 2, 3]


def test_adopt_show_and_drop(env):
    client, options, base = env
    location = f"{base}/s3/adopted"
    from deltalake import write_deltalake

    write_deltalake(location, pa.Table.from_pylist([row(5)], schema=SCHEMA), storage_options=options)
    table = TableName("s3", "adopted")
    client.execute(sql.create_schema(CATALOG, "s3"), "schema")
    client.execute(sql.adopt_table(CATALOG, table, location), "adopt")
    assert ids(client, table) == [5]
    assert client.execute(sql.show_tables_extended(CATALOG, "s3"), "show").column("tableName").to_pylist() == ["adopted"]
    client.execute(sql.drop_table(CATALOG, table), "drop")
    client.execute(sql.drop_table(CATALOG, table), "drop again")  # IF EXISTS
    assert delta_files.read_schema(location, options) is not None  # unmanaged: the data stays


def test_rejected_statement_is_terminal_and_says_what_for(env):
    client, _, _ = env
    with pytest.raises(SystemFailure, match="rejected the statement to read a missing table"):
        client.execute(select_all(TableName("nope", "missing")), "read a missing table")
    # Typed, so callers never match the engine's text.
    with pytest.raises(TableNotFound):
        client.execute(select_all(TableName("nope", "missing")), "read a missing table")
    with pytest.raises(SchemaNotFound):
        client.execute(sql.show_tables_extended(CATALOG, "nope"), "list the tables of a missing schema")
