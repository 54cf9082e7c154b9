"""Table layout, properties and comments on every destination: the config's `streams` (cluster_by, partition_by,
table_properties) applied when a table is created and changed on an existing one only when they differ; column
comments from the stream's descriptions, a table comment naming the stream. Statements the local engine cannot
run (CLUSTER BY, a COMMENT in CREATE TABLE … AS SELECT) are taken out by the local warehouse and checked as sent."""
from __future__ import annotations

from .harness import catalog, record, stream, stream_state
from .test_concurrency import statements
from .test_contract import sync

PROPERTIES = {"id": {"type": "integer", "description": "The user's id"}, "name": {"type": "string", "title": "Name"},
              "day": {"type": "string"}}
OWNER = {"x.owner": "data team", "delta.appendOnly": "false"}


def _sync(destination, tmp_path, streams_config, n=1, **more):  # streams_config None: no `streams`
    cat = catalog(stream("users", PROPERTIES, namespace="app"))
    result = sync(destination, tmp_path, cat, [record("users", {"id": i, "name": f"u{i}", "day": "d"}, namespace="app")
                                               for i in range(n)] + [stream_state("users", n, namespace="app")],
                  streams=streams_config, **more)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _listed(destination) -> str:
    rows = destination.query(f"SHOW TABLE EXTENDED IN `{destination.catalog}`.`app` LIKE '*'").to_pylist()
    return next(r["information"] for r in rows if r["tableName"] == "users")


def _sent(destination, action):
    if not hasattr(destination, "w"):
        action()
        return []
    before = len(statements(destination.w))
    action()
    return [s for s in statements(destination.w)[before:] if "`users`" in s]


def test_layout_properties_and_comments_land_and_an_unchanged_sync_sends_nothing_more(destination, tmp_path):
    config = [{"name": "users", "namespace": "app", "cluster_by": ["id"], "table_properties": OWNER}]
    sent = _sent(destination, lambda: _sync(destination, tmp_path, config, n=3))
    if not hasattr(destination, "query"):  # LOCAL: properties and comments in the Delta log (no clustering there)
        from deltalake import DeltaTable

        table = DeltaTable(f"{destination.root}/app/users")
        assert {k: table.metadata().configuration.get(k) for k in OWNER} == OWNER
        assert table.metadata().description == "Synced by destination-databricks from stream 'users' of namespace 'app'."
        comments = {f.name: f.metadata.get("comment") for f in table.schema().fields}
        assert comments["id"] == "The user's id" and comments["name"] == "Name" and comments["day"] is None
        return
    create = next(s for s in sent if s.startswith("CREATE TABLE"))
    assert "CLUSTER BY (`id`)" in create and "'x.owner' = 'data team'" in create
    assert "`id` BIGINT COMMENT 'The user\\'s id'" in create and "`name` STRING COMMENT 'Name'" in create
    assert "COMMENT 'Synced by destination-databricks from stream \\'users\\' of namespace \\'app\\'.'" in create
    described = {r["col_name"]: r["comment"] for r in destination.query(
        f"DESCRIBE TABLE `{destination.catalog}`.`app`.`users`").to_pylist()}
    assert described["id"] == "The user's id" and described["name"] == "Name"
    listed = _listed(destination)
    assert "x.owner=data team" in listed and "airbyte.clustered_by=id" in listed
    assert "Comment: Synced by destination-databricks from stream 'users' of namespace 'app'." in listed
    again = _sent(destination, lambda: _sync(destination, tmp_path, config, n=2))
    assert not [s for s in again if s.startswith(("ALTER", "CREATE"))], again  # nothing changed, nothing sent
    loads = 0 if destination.name == "zerobus" else 1  # (direct ingest: rows through Zerobus, no statement)
    assert len([s for s in again if not s.startswith("SHOW")]) == loads  # the load alone


def test_a_changed_layout_is_applied_to_the_existing_table_once(destination, tmp_path):
    _sync(destination, tmp_path, [{"name": "users", "namespace": "app", "cluster_by": ["id"]}])
    changed = [{"name": "users", "namespace": "app", "cluster_by": ["name", "id"], "table_properties": OWNER}]
    sent = _sent(destination, lambda: _sync(destination, tmp_path, changed))
    if not hasattr(destination, "query"):
        from deltalake import DeltaTable

        configuration = DeltaTable(f"{destination.root}/app/users").metadata().configuration
        assert {k: configuration.get(k) for k in OWNER} == OWNER
        return
    alters = [s for s in sent if s.startswith("ALTER")]
    ref = f"`{destination.catalog}`.`app`.`users`"
    assert alters == [f"ALTER TABLE {ref} CLUSTER BY (`name`, `id`)",
                      f"ALTER TABLE {ref} SET TBLPROPERTIES ('delta.appendOnly' = 'false', 'x.owner' = 'data team', "
                      "'airbyte.clustered_by' = 'name,id')"]
    assert "airbyte.clustered_by=name,id" in _listed(destination)
    again = _sent(destination, lambda: _sync(destination, tmp_path, changed))
    assert not [s for s in again if s.startswith("ALTER")], again
    rows = destination.rows("app", "users")
    assert len(rows) == 3  # nothing rewritten, nothing lost


def test_a_partitioned_table_and_what_local_leaves_to_databricks(destination, tmp_path):
    config = [{"name": "users", "namespace": "app", "partition_by": ["day"]}]
    results = []
    sent = _sent(destination, lambda: results.append(_sync(destination, tmp_path, config, n=2)))
    assert sorted(r["id"] for r in destination.rows("app", "users")) == [0, 1]
    if hasattr(destination, "query"):
        assert any(s.startswith("CREATE TABLE") and "PARTITIONED BY (`day`)" in s for s in sent), sent
    else:
        assert "LOCAL writes unpartitioned, unclustered tables" in results[0].stdout
    # On an existing table, partitioning stays as it is (said in a LOG line): no statement tries to change it.
    again = []
    sent = _sent(destination, lambda: again.append(_sync(destination, tmp_path, config)))
    assert not [s for s in sent if s.startswith("ALTER")]


def test_a_changed_description_comments_the_column_once(destination, tmp_path):
    _sync(destination, tmp_path, None)
    changed = {**PROPERTIES, "name": {"type": "string", "description": "The user's full name"}}
    cat = catalog(stream("users", changed, namespace="app"))
    results = []
    sent = _sent(destination, lambda: results.append(sync(
        destination, tmp_path, cat, [record("users", {"id": 9}, namespace="app"), stream_state("users", 9, namespace="app")])))
    assert results[0].returncode == 0, results[0].stdout
    if not hasattr(destination, "query"):  # LOCAL: the Delta schema's field metadata
        from deltalake import DeltaTable

        comments = {f.name: f.metadata.get("comment") for f in DeltaTable(f"{destination.root}/app/users").schema().fields}
        assert comments["name"] == "The user's full name" and comments["id"] == "The user's id"
        return
    ref = f"`{destination.catalog}`.`app`.`users`"
    altered = [s for s in sent if s.startswith(("ALTER", "COMMENT"))]
    assert altered[:3] == [f"ALTER TABLE {ref} ALTER COLUMN `id` COMMENT 'The user\\'s id'",
                           f"ALTER TABLE {ref} ALTER COLUMN `name` COMMENT 'The user\\'s full name'",
                           f"COMMENT ON TABLE {ref} IS 'Synced by destination-databricks from stream \\'users\\' of "
                           "namespace \\'app\\'.'"]
    assert altered[3].startswith(f"ALTER TABLE {ref} SET TBLPROPERTIES ('airbyte.comments' = ") and len(altered) == 4
    again = _sent(destination, lambda: sync(destination, tmp_path, cat, [record("users", {"id": 10}, namespace="app")]))
    assert not [s for s in again if s.startswith(("ALTER", "COMMENT"))], again


def test_a_streams_entry_naming_a_missing_column_fails_before_any_input(destination, tmp_path):
    cat = catalog(stream("users", PROPERTIES, namespace="app"))
    result = sync(destination, tmp_path, cat, [record("users", {"id": 1}, namespace="app")],
                  streams=[{"name": "users", "namespace": "app", "cluster_by": ["nope"]}])
    assert result.returncode != 0
    errors = [m["trace"]["error"] for m in result.messages if m.get("type") == "TRACE"]
    assert errors and errors[0]["failure_type"] == "config_error" and "streams[0].cluster_by" in errors[0]["message"]
    assert not destination.table_exists("app", "users")


def test_a_refresh_that_creates_a_described_table_comments_it_and_lands_its_rows(destination, tmp_path):
    """A truncate refresh's swap into a missing table: a CREATE TABLE with the comments, then the rows."""
    cat = catalog(stream("users", PROPERTIES, namespace="app", generation_id=2, minimum_generation_id=2, sync_id=2))
    sent = _sent(destination, lambda: sync(destination, tmp_path, cat, [
        record("users", {"id": i, "name": f"u{i}"}, namespace="app") for i in range(3)]
        + [stream_state("users", 3, namespace="app")]))
    assert sorted(r["id"] for r in destination.rows("app", "users")) == [0, 1, 2]
    if hasattr(destination, "query"):
        create = [s for s in sent if s.startswith("CREATE TABLE")]
        assert len(create) == 1 and "COMMENT 'The user\\'s id'" in create[0], sent
        described = {r["col_name"]: r["comment"] for r in destination.query(
            f"DESCRIBE TABLE `{destination.catalog}`.`app`.`users`").to_pylist()}
        assert described["id"] == "The user's id"
