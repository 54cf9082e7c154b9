"""Config parsing: every problem names its field."""
import pytest

from destination_databricks.config import LocalStorage, S3Storage, parse_config
from destination_databricks.errors import ConfigError

DATABRICKS = {
    "accept_terms": True, "databricks_server_hostname": "abc.cloud.databricks.com",
    "databricks_http_path": "sql/1.0/warehouses/x", "databricks_personal_access_token": "dapiSECRET",
}
S3 = {"data_source_type": "S3_STORAGE", "s3_bucket_name": "b", "s3_bucket_path": "/p/", "s3_bucket_region": "us-east-1",
      "s3_access_key_id": "AKIA", "s3_secret_access_key": "SECRET"}


def test_local_needs_no_databricks_fields(tmp_path):
    config = parse_config({"data_source": {"data_source_type": "LOCAL", "local_path": str(tmp_path)}})
    assert config.storage == LocalStorage(str(tmp_path)) and config.databricks is None
    assert (config.catalog, config.schema, config.purge_staging_data, config.enable_schema_evolution) == (
        "hive_metastore", "default", True, False)


def test_relative_local_path_is_made_absolute():
    config = parse_config({"data_source": {"data_source_type": "LOCAL", "local_path": "out"}})
    assert config.storage.path.startswith("/") and config.storage.path.endswith("/out")


def test_s3_config_parses():
    config = parse_config({**DATABRICKS, "data_source": S3})
    assert isinstance(config.storage, S3Storage) and config.storage.path == "p" and config.databricks.port == "443"


@pytest.mark.parametrize("raw, field", [
    ({}, "data_source"),
    ({"data_source": {"data_source_type": "FTP"}}, "data_source.data_source_type"),
    ({"data_source": {"data_source_type": "LOCAL"}}, "data_source.local_path"),
    ({"data_source": {"data_source_type": "LOCAL", "local_path": 5}}, "data_source.local_path"),
    ({**DATABRICKS, "accept_terms": False, "data_source": S3}, "accept_terms"),
    ({**DATABRICKS, "databricks_server_hostname": "", "data_source": S3}, "databricks_server_hostname"),
    ({**DATABRICKS, "databricks_server_hostname": "h.com/path", "data_source": S3}, "databricks_server_hostname"),
    ({**DATABRICKS, "databricks_http_path": None, "data_source": S3}, "databricks_http_path"),
    ({**DATABRICKS, "databricks_personal_access_token": "  ", "data_source": S3}, "databricks_personal_access_token"),
    ({**DATABRICKS, "databricks_port": "http", "data_source": S3}, "databricks_port"),
    ({**DATABRICKS, "data_source": {**S3, "s3_bucket_name": ""}}, "data_source.s3_bucket_name"),
    ({**DATABRICKS, "data_source": {"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "a",
                                    "azure_blob_storage_container_name": "c"}}, "data_source.azure_blob_storage_sas_token"),
    ({"data_source": {"data_source_type": "LOCAL", "local_path": "/x"}, "purge_staging_data": "yes"}, "purge_staging_data"),
])
def test_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert f"'{field}'" in error.value.message


def test_secret_values_are_not_quoted_in_errors():
    with pytest.raises(ConfigError) as error:
        parse_config({**DATABRICKS, "databricks_port": "x", "data_source": S3})
    assert "dapiSECRET" not in error.value.message and "SECRET" not in error.value.message
