"""Config parsing: every problem names its field."""
import pytest

from destination_databricks.config import LocalStorage, ManagedTablesStorage, S3Storage, parse_config
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
    ({**DATABRICKS, "databricks_server_hostname": "a`b; DROP", "data_source": S3}, "databricks_server_hostname"),
    ({**DATABRICKS, "databricks_server_hostname": "abc.cloud.databricks.com:8443", "data_source": S3},
     "databricks_server_hostname"),
    ({**DATABRICKS, "data_source": {**S3, "s3_endpoint": "http://x'y"}}, "data_source.s3_endpoint"),
    ({**DATABRICKS, "data_source": {"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "acct",
                                    "azure_blob_storage_container_name": "cont", "azure_blob_storage_sas_token": "s",
                                    "azure_blob_storage_endpoint_domain_name": "line\nbreak"}},
     "data_source.azure_blob_storage_endpoint_domain_name"),
    ({**DATABRICKS, "data_source": {**S3, "s3_bucket_name": ""}}, "data_source.s3_bucket_name"),
    ({**DATABRICKS, "data_source": {"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "acct",
                                    "azure_blob_storage_container_name": "cont"}}, "data_source.azure_blob_storage_sas_token"),
    ({"data_source": {"data_source_type": "LOCAL", "local_path": "/x"}, "purge_staging_data": "yes"}, "purge_staging_data"),
    ({**DATABRICKS, "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}}, "database"),
    ({**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE",
                                                        "volume_name": "a.b"}}, "data_source.volume_name"),
    ({**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE", "direct_ingest": {
        "zerobus_endpoint": "1.zerobus.us-west-2.cloud.databricks.com"}}}, "data_source.direct_ingest"),  # a token
    ({**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE", "direct_ingest": {
        "zerobus_endpoint": "h/x?y"}}}, "data_source.direct_ingest.zerobus_endpoint"),
    ({**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE",
                                                        "direct_ingest": {}}}, "data_source.direct_ingest.zerobus_endpoint"),
    ({**DATABRICKS, "authentication": "token", "data_source": S3}, "authentication"),
    ({**DATABRICKS, "authentication": {"auth_type": "SAML"}, "data_source": S3}, "authentication.auth_type"),
    ({**DATABRICKS, "authentication": {"auth_type": "OAUTH_M2M", "databricks_client_id": "id"}, "data_source": S3},
     "authentication.databricks_client_secret"),
    ({**DATABRICKS, "authentication": {"auth_type": "PERSONAL_ACCESS_TOKEN"}, "data_source": S3},
     "authentication.databricks_personal_access_token"),
])
def test_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert f"'{field}'" in error.value.message


def test_secret_values_are_not_quoted_in_errors():
    with pytest.raises(ConfigError) as error:
        parse_config({**DATABRICKS, "databricks_port": "x", "data_source": S3})
    assert "dapiSECRET" not in error.value.message and "SECRET" not in error.value.message


def test_managed_tables_stage_in_a_volume_of_a_unity_catalog_catalog():
    config = parse_config({**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}})
    assert config.storage == ManagedTablesStorage(volume="airbyte_staging") and config.catalog == "main"
    direct = parse_config({**DATABRICKS, "database": "main", "authentication": {
        "auth_type": "OAUTH_M2M", "databricks_client_id": "i", "databricks_client_secret": "s"}, "data_source": {
        "data_source_type": "MANAGED_TABLES_STORAGE", "direct_ingest": {"zerobus_endpoint": "1.zerobus.x.com"}}})
    assert direct.storage == ManagedTablesStorage(volume="airbyte_staging", zerobus_endpoint="1.zerobus.x.com")


def test_sign_in_choices_and_the_token_only_configs_of_before():
    legacy = parse_config({**DATABRICKS, "data_source": S3}).databricks
    assert legacy.access_token == "dapiSECRET" and not legacy.oauth
    token = parse_config({**DATABRICKS, "databricks_personal_access_token": None, "data_source": S3, "authentication": {
        "auth_type": "PERSONAL_ACCESS_TOKEN", "databricks_personal_access_token": "dapiNEW"}}).databricks
    assert token.access_token == "dapiNEW" and not token.oauth
    oauth = parse_config({**DATABRICKS, "data_source": S3, "authentication": {
        "auth_type": "OAUTH_M2M", "databricks_client_id": "app-id", "databricks_client_secret": "dose1"}}).databricks
    assert oauth.oauth and (oauth.client_id, oauth.client_secret, oauth.access_token) == ("app-id", "dose1", "")


@pytest.mark.parametrize("host, port, url", [
    ("abc.cloud.databricks.com", "443", "https://abc.cloud.databricks.com"),
    ("https://abc.cloud.databricks.com/", "443", "https://abc.cloud.databricks.com"),
    ("abc.cloud.databricks.com", "8443", "https://abc.cloud.databricks.com:8443"),
    ("http://127.0.0.1", "8080", "http://127.0.0.1:8080"),
])
def test_workspace_url(host, port, url):
    raw = {**DATABRICKS, "databricks_server_hostname": host, "databricks_port": port, "data_source": S3}
    assert parse_config(raw).databricks.host_url == url


S3_SOURCE = {"data_source_type": "S3_STORAGE", "s3_bucket_name": "bucket", "s3_access_key_id": "k", "s3_secret_access_key": "s"}
WAREHOUSE = {"accept_terms": True, "databricks_server_hostname": "h", "databricks_http_path": "p",
              "databricks_personal_access_token": "t"}


@pytest.mark.parametrize("source, field", [
    ({**S3_SOURCE, "s3_bucket_path": "prod?x"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_path": "prod#x"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_path": "a/../../b"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_path": "a/./b"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_path": "a\\b"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_path": "s3://other/x"}, "data_source.s3_bucket_path"),
    ({**S3_SOURCE, "s3_bucket_name": "b/x"}, "data_source.s3_bucket_name"),
    ({**S3_SOURCE, "s3_bucket_name": "b?x"}, "data_source.s3_bucket_name"),
    ({"data_source_type": "MANAGED_TABLES_STORAGE", "volume_name": "v?x"}, "data_source.volume_name"),
    ({"data_source_type": "MANAGED_TABLES_STORAGE", "volume_name": "../v"}, "data_source.volume_name"),
    ({"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "acct", "azure_blob_storage_sas_token": "s",
      "azure_blob_storage_container_name": "c/../d"}, "data_source.azure_blob_storage_container_name"),
    ({"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "a" * 25,
      "azure_blob_storage_sas_token": "s", "azure_blob_storage_container_name": "cont"},
     "data_source.azure_blob_storage_account_name"),
    ({"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "Acct",
      "azure_blob_storage_sas_token": "s", "azure_blob_storage_container_name": "cont"},
     "data_source.azure_blob_storage_account_name"),
    ({"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "acct",
      "azure_blob_storage_sas_token": "s", "azure_blob_storage_container_name": "a--b"},
     "data_source.azure_blob_storage_container_name"),
    ({"data_source_type": "LOCAL", "local_path": "/tmp/x?y"}, "data_source.local_path"),
    ({"data_source_type": "LOCAL", "local_path": "file:///tmp/x"}, "data_source.local_path"),
])
def test_values_that_become_paths_or_urls_stay_plain(source, field):
    with pytest.raises(ConfigError, match=f"Config field '{field.replace('.', '[.]')}'"):
        parse_config({**WAREHOUSE, "database": "main", "data_source": source})


def test_a_catalog_name_that_would_leave_its_volume_path_is_refused():
    with pytest.raises(ConfigError, match="Config field 'database'"):
        parse_config({**WAREHOUSE, "database": "main/../x", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}})


def test_secrets_are_masked_in_every_form_a_server_may_echo():
    from destination_databricks import secrets

    sas = " ?sv=2021-06-08&ss=b&sig=abc%2Bdef%3D&sp=rwdl "
    secrets.register({"data_source": {"azure_blob_storage_sas_token": sas}})
    for echoed in (sas, sas.strip(), sas.strip().lstrip("?"), "sig=abc+def=", "abc%2Bdef%3D",
                   "sv%3D2021-06-08%26ss%3Db%26sig%3Dabc%252Bdef%253D%26sp%3Drwdl"):
        assert "abc" not in secrets.mask(f"refused: {echoed}"), echoed


def test_the_basic_credentials_of_the_oauth_token_exchange_are_masked():
    import base64

    from destination_databricks import secrets

    secrets.register({"authentication": {"auth_type": "OAUTH_M2M", "databricks_client_id": "a1b2-c3",
                                         "databricks_client_secret": " dose0123456789abcdef "}})
    basic = base64.b64encode(b"a1b2-c3:dose0123456789abcdef").decode()
    assert basic not in secrets.mask(f"refused: Authorization: Basic {basic}")
