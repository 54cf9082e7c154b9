"""spec, check, discover and write's config handling, through the console script."""
from __future__ import annotations

import os

from .harness import catalog, lines, record, run, stream, write_json

S3_CONFIG = {
    "accept_terms": True, "databricks_server_hostname": "abc.cloud.databricks.com",
    "databricks_http_path": "sql/1.0/warehouses/x", "databricks_personal_access_token": "dapiTOPSECRET123",
    "data_source": {"data_source_type": "S3_STORAGE", "s3_bucket_name": "b", "s3_bucket_path": "p",
                    "s3_bucket_region": "us-east-1", "s3_access_key_id": "AKIAEXAMPLEKEY",
                    "s3_secret_access_key": "sEcReT/KeyValue"},
}


def local(tmp_path, **extra):
    return {"data_source": {"data_source_type": "LOCAL", "local_path": str(tmp_path / "out")}, **extra}


def test_spec_lists_every_contract_field_and_marks_secrets():
    result = run(["spec"])
    assert result.returncode == 0
    (message,) = result.messages
    spec = message["spec"]
    props = spec["connectionSpecification"]["properties"]
    for name in ["accept_terms", "databricks_server_hostname", "databricks_http_path", "databricks_port",
                 "databricks_personal_access_token", "database", "schema", "enable_schema_evolution",
                 "purge_staging_data", "data_source"]:
        assert name in props
    assert props["databricks_personal_access_token"]["airbyte_secret"] is True
    sources = {o["properties"]["data_source_type"]["const"]: o for o in props["data_source"]["oneOf"]}
    assert set(sources) == {"LOCAL", "MANAGED_TABLES_STORAGE", "S3_STORAGE", "AZURE_BLOB_STORAGE"}
    assert sources["S3_STORAGE"]["properties"]["s3_secret_access_key"]["airbyte_secret"] is True
    assert sources["AZURE_BLOB_STORAGE"]["properties"]["azure_blob_storage_sas_token"]["airbyte_secret"] is True
    assert spec["supported_destination_sync_modes"] == ["overwrite", "append", "append_dedup", "overwrite_dedup"]


def test_check_succeeds_on_a_writable_folder_and_leaves_nothing(tmp_path):
    result = run(["check", "--config", write_json(tmp_path / "c.json", local(tmp_path))])
    assert result.messages[-1]["connectionStatus"] == {"status": "SUCCEEDED"}
    assert os.listdir(tmp_path / "out") == []


def test_check_fails_on_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = {"data_source": {"data_source_type": "LOCAL", "local_path": str(blocker / "sub")}}
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)])
    status = result.messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "local_path" in status["message"]


def test_check_names_a_missing_field(tmp_path):
    config = {**S3_CONFIG, "databricks_http_path": ""}
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)])
    status = result.messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "databricks_http_path" in status["message"]


MANAGED_CONFIG = {**S3_CONFIG, "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}}


def test_managed_tables_in_hive_metastore_fail_clearly_without_leaking_secrets(tmp_path):
    """Managed tables stage in a Unity Catalog volume, which hive_metastore (the default catalog) cannot hold."""
    path = write_json(tmp_path / "c.json", MANAGED_CONFIG)
    checked = run(["check", "--config", path])
    status = checked.messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "'database'" in status["message"] and "Unity Catalog" in status["message"]
    written = run(["write", "--config", path, "--catalog", write_json(tmp_path / "k.json", catalog(stream("s")))],
                  lines(record("s", {"a": 1})))
    assert written.returncode != 0 and written.errors[0]["failure_type"] == "config_error"
    for output in (checked.stdout + checked.stderr, written.stdout + written.stderr):
        for secret in ("dapiTOPSECRET123",):
            assert secret not in output


def test_spec_offers_token_or_service_principal_sign_in():
    props = run(["spec"]).messages[0]["spec"]["connectionSpecification"]["properties"]
    options = {o["properties"]["auth_type"]["const"]: o for o in props["authentication"]["oneOf"]}
    assert set(options) == {"PERSONAL_ACCESS_TOKEN", "OAUTH_M2M"}
    assert options["OAUTH_M2M"]["required"] == ["auth_type", "databricks_client_id", "databricks_client_secret"]
    assert options["OAUTH_M2M"]["properties"]["databricks_client_secret"]["airbyte_secret"] is True
    assert options["PERSONAL_ACCESS_TOKEN"]["properties"]["databricks_personal_access_token"]["airbyte_secret"] is True
