"""S3 + Databricks specifics: check's diagnoses, file names, staging layout, discover, secrets."""
from __future__ import annotations

import json
import re

import pytest

from .destinations import S3DatabricksDestination
from .harness import catalog, lines, record, run, stream, stream_state, write_json


@pytest.fixture
def s3dest(warehouse):
    return S3DatabricksDestination(warehouse)


def check(tmp_path, config):
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.messages[-1]["connectionStatus"], result


def test_check_succeeds_and_leaves_nothing_behind(tmp_path, s3dest):
    status, _ = check(tmp_path, s3dest.config())
    assert status == {"status": "SUCCEEDED"}
    assert s3dest.keys() == []
    assert s3dest.query("SHOW TABLES IN `hive_metastore`.`default`").num_rows == 0


@pytest.mark.parametrize("change, field", [
    (lambda c: c.update(databricks_personal_access_token="dapiWRONGTOKEN"), "databricks_personal_access_token"),
    (lambda c: c.update(databricks_port="1"), "databricks_server_hostname"),
    (lambda c: c["data_source"].update(s3_bucket_name="no-such-bucket"), "s3_bucket_name"),
    (lambda c: c["data_source"].update(file_name_pattern="{nope}"), "file_name_pattern"),
    (lambda c: c.update(accept_terms=False), "accept_terms"),
])
def test_check_names_what_failed_without_secrets(tmp_path, s3dest, change, field):
    config = s3dest.config()
    change(config)
    status, result = check(tmp_path, config)
    assert status["status"] == "FAILED" and field in status["message"], status
    for secret in ("dapiWRONGTOKEN", s3dest.w["token"], s3dest.w["s3_secret_access_key"]):
        assert secret not in result.stdout + result.stderr


def test_concurrent_checks_do_not_collide(tmp_path, s3dest):
    import concurrent.futures

    path = write_json(tmp_path / "c.json", s3dest.config())
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: run(["check", "--config", path], timeout=300), range(3)))
    assert [r.messages[-1]["connectionStatus"]["status"] for r in results] == ["SUCCEEDED"] * 3


def test_staged_files_follow_the_pattern_and_are_kept_when_purge_is_off(tmp_path, s3dest):
    config = s3dest.config(purge_staging_data=False)
    config["data_source"]["file_name_pattern"] = "{date:yyyy_MM}-{part_number}.{format_extension}"
    cat = catalog(stream("s", {"id": {"type": "integer"}}))
    env = {"DESTINATION_DATABRICKS_BATCH_ROWS": "2"}
    result = run(["write", "--config", write_json(tmp_path / "c.json", config), "--catalog", write_json(tmp_path / "k.json", cat)],
                 lines(*[record("s", {"id": i}) for i in range(5)]), env=env)
    assert result.returncode == 0, result.stdout
    staged = [k for k in s3dest.staging_leftovers() if k.endswith(".parquet")]
    names = sorted(k.rsplit("/", 1)[1] for k in staged)
    assert len(names) == 3 and all(re.fullmatch(r"\d{4}_\d{2}-[0-2]\.parquet", n) for n in names)
    assert any("/default.s.load_0/_delta_log/" in k for k in s3dest.staging_leftovers())  # a folder per load
    table_keys = [k for k in s3dest.keys() if k.startswith(f"{s3dest.path}/default/s/")]
    assert any("_delta_log" in k for k in table_keys)  # the destination table lives at <path>/<schema>/<stream>


def test_discover_lists_the_tables_written(tmp_path, s3dest):
    config = write_json(tmp_path / "c.json", s3dest.config())
    cat = catalog(stream("users", {"id": {"type": "integer"}, "d": {"type": "string", "format": "date"}}))
    run(["write", "--config", config, "--catalog", write_json(tmp_path / "k.json", cat)], lines(record("users", {"id": 1})))
    result = run(["discover", "--config", config])
    assert result.returncode == 0, result.stdout
    (stream_,) = result.messages[-1]["catalog"]["streams"]
    assert stream_["name"] == "users" and stream_["json_schema"]["properties"]["d"]["format"] == "date"


def test_a_dropped_table_with_data_left_at_its_location_is_adopted(tmp_path, s3dest):
    config = write_json(tmp_path / "c.json", s3dest.config())
    cat = write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}})))
    run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 1})))
    s3dest.query("DROP TABLE `hive_metastore`.`default`.`s`")  # an unmanaged table: the data stays
    result = run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 2}), stream_state("s", 2)))
    assert result.returncode == 0, result.stdout
    assert sorted(r["id"] for r in s3dest.rows("default", "s")) == [1, 2]


def test_the_warehouse_executes_the_connectors_statements_verbatim(tmp_path, s3dest):
    """No stand-in rewriting: what the connector sends is what the engine ran (read back from S3 too)."""
    config = write_json(tmp_path / "c.json", s3dest.config())
    cat = write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}}, mode="overwrite")))
    result = run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 1})))
    assert result.returncode == 0
    from deltalake import DeltaTable, QueryBuilder
    import pyarrow as pa

    options = {"AWS_ENDPOINT_URL": s3dest.w["s3_endpoint"], "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
               "AWS_ACCESS_KEY_ID": s3dest.w["s3_access_key_id"], "AWS_SECRET_ACCESS_KEY": s3dest.w["s3_secret_access_key"]}
    table = DeltaTable(f"s3://{s3dest.w['s3_bucket']}/{s3dest.path}/default/s", storage_options=options)
    rows = pa.table(QueryBuilder().register("t", table).execute("SELECT id, _airbyte_data FROM t").read_all()).to_pylist()
    assert [(r["id"], json.loads(r["_airbyte_data"])) for r in rows] == [(1, {"id": 1})]


def test_staging_sweep_spares_live_and_kept_staging_and_removes_dead(tmp_path, s3dest):
    import uuid

    cat = write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}})))
    kept_config = write_json(tmp_path / "kept.json", s3dest.config(purge_staging_data=False))
    config = write_json(tmp_path / "c.json", s3dest.config())
    assert run(["write", "--config", kept_config, "--catalog", cat], lines(record("s", {"id": 1}))).returncode == 0
    kept = {k.split("/")[3] for k in s3dest.staging_leftovers()}
    other = str(uuid.uuid4())  # another sync's staging, heartbeat fresh
    client, bucket = s3dest.s3(), s3dest.w["s3_bucket"]
    for key in (f"{s3dest.path}/_airbyte_staging/{other}/_airbyte_sync_alive",
                f"{s3dest.path}/_airbyte_staging/{other}/default/s/part_0.parquet"):
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    # Objects this connector never wrote, in folders named like a sync's: never deleted, however old.
    foreign = [f"{s3dest.path}/{uuid.uuid4()}/invoice.pdf", f"{s3dest.path}/_airbyte_staging/{uuid.uuid4()}/notes.txt"]
    for key in foreign:
        client.put_object(Bucket=bucket, Key=key, Body=b"not ours")
    assert run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 2}))).returncode == 0
    assert {k.split("/")[3] for k in s3dest.staging_leftovers() if k not in foreign} == kept | {other}  # live: spared
    dead = run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 3})),
               env={"DESTINATION_DATABRICKS_STALE_STAGING_SECONDS": "0"})  # every heartbeat now counts as old
    assert dead.returncode == 0
    assert {k.split("/")[3] for k in s3dest.staging_leftovers() if k not in foreign} == kept  # dead removed, kept stays
    assert set(foreign) <= set(s3dest.keys())


def test_a_service_principal_signs_in_on_the_s3_path_too(tmp_path, s3dest):
    config = s3dest.config()
    del config["databricks_personal_access_token"]
    config["authentication"] = {"auth_type": "OAUTH_M2M", "databricks_client_id": s3dest.w["client_id"],
                                "databricks_client_secret": s3dest.w["client_secret"]}
    status, _ = check(tmp_path, config)
    assert status == {"status": "SUCCEEDED"}
    cat = catalog(stream("s", {"id": {"type": "integer"}}))
    result = run(["write", "--config", write_json(tmp_path / "c.json", config), "--catalog", write_json(tmp_path / "k.json", cat)],
                 lines(record("s", {"id": 1}), stream_state("s", 1)))
    assert result.returncode == 0 and len(result.states) == 1, result.stdout
    assert [r["id"] for r in s3dest.rows("default", "s")] == [1]


def test_every_object_a_sync_writes_is_under_its_bucket_path(tmp_path, s3dest):
    """Staging, staging Delta logs, tables, a refresh's shadow, a check's probe: the whole bucket is listed (this
    test's warehouse started empty), and nothing lies outside `s3_bucket_path`, even with staging kept."""
    config = s3dest.config(purge_staging_data=False)
    check(tmp_path, config)
    config["data_source"]["s3_bucket_path"] = s3dest.path + "/deeper"
    props = {"id": {"type": "integer"}, "u": {"type": "integer"}}
    cat = catalog(stream("a", props), {**stream("d", props, mode="append_dedup"), "primary_key": [["id"]],
                                       "cursor_field": ["u"]},
                  stream("r", props, generation_id=2, minimum_generation_id=2))
    messages = []
    for i in range(60):
        messages += [record(name, {"id": i % 7, "u": i}) for name in "adr"]
        if i % 20 == 19:
            messages += [stream_state(name, i) for name in "adr"]
    env = {"DESTINATION_DATABRICKS_BATCH_ROWS": "10", "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0"}
    result = run(["write", "--config", write_json(tmp_path / "c.json", config), "--catalog",
                  write_json(tmp_path / "k.json", cat)], lines(*messages), env=env)
    assert result.returncode == 0, result.stdout[-2000:]
    pages = s3dest.s3().get_paginator("list_objects_v2").paginate(Bucket=s3dest.w["s3_bucket"])
    everything = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert any("/_airbyte_staging/" in k for k in everything) and any("/default/r/" in k for k in everything)
    outside = [k for k in everything if not k.startswith(f"{s3dest.path}/")]
    assert not outside, outside[:5]
    assert not [k for k in everything if k.startswith(f"{s3dest.path}/") and not k.startswith(f"{s3dest.path}/deeper/")
                and "_airbyte_check" not in k], "the sync wrote outside its own s3_bucket_path"
