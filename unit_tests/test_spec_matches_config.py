"""spec.json and the config parser agree field for field: every field the spec offers is read by config.py, and
config.py reads no field the spec does not offer (a platform's UI renders only the spec's fields)."""
from __future__ import annotations

import json
import pathlib

from destination_databricks.config import parse_config

SPEC = json.loads((pathlib.Path(__file__).resolve().parent.parent / "destination_databricks" / "spec.json").read_text())


def spec_fields(schema: dict, prefix: str = "") -> set[str]:
    """Every property path the spec declares ("data_source.s3_bucket_name", "vector_search.indexes[].stream"),
    the branches of a oneOf merged."""
    found = set()
    for name, prop in schema.get("properties", {}).items():
        found.add(prefix + name)
        for branch in prop.get("oneOf", []):
            found |= spec_fields(branch, f"{prefix}{name}.")
        found |= spec_fields(prop, f"{prefix}{name}.")
        if isinstance(prop.get("items"), dict):
            found |= spec_fields(prop["items"], f"{prefix}{name}[].")
    return found


class Recording(dict):
    """A config object that notes each field the parser asks for, by its path."""

    def __init__(self, raw: dict, path: str, seen: set[str]):
        super().__init__({k: wrap(v, f"{path}{k}", seen) for k, v in raw.items()})
        self.path, self.seen = path, seen

    def get(self, key, default=None):
        self.seen.add(self.path + key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(self.path + key)
        return super().__getitem__(key)


def wrap(value, path: str, seen: set[str]):
    if isinstance(value, dict):
        return Recording(value, path + ".", seen)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [Recording(v, path + "[].", seen) for v in value]
    return value


DATABRICKS = {"accept_terms": True, "databricks_server_hostname": "abc.cloud.databricks.com",
              "databricks_http_path": "sql/1.0/warehouses/x", "databricks_port": "443", "schema": "default",
              "enable_schema_evolution": True, "purge_staging_data": True, "cdc_deletion_mode": "soft",
              "max_concurrent_statements": 4}
S3 = {"data_source_type": "S3_STORAGE", "s3_bucket_name": "b", "s3_bucket_path": "p", "s3_bucket_region": "us-east-1",
      "s3_access_key_id": "k", "s3_secret_access_key": "s", "file_name_pattern": "{part_number}",
      "s3_endpoint": "http://127.0.0.1:9000"}
AZURE = {"data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": "acct",
         "azure_blob_storage_container_name": "cont", "azure_blob_storage_sas_token": "sv=x",
         "azure_blob_storage_endpoint_domain_name": "blob.core.windows.net"}
VECTOR_SEARCH = {"endpoint_name": "e", "endpoint_type": "STANDARD", "online_timeout_seconds": 60, "indexes": [
    {"stream": "docs", "namespace": "n", "index_name": "main.s.docs_index", "primary_key": "id",
     "embedding_source_column": "text", "embedding_model_endpoint_name": "m", "columns_to_sync": ["id"],
     "pipeline_type": "TRIGGERED"},
    {"stream": "vectors", "embedding_vector_column": "v", "embedding_dimension": 3}]}
CONFIGS = [
    {**DATABRICKS, "database": "main", "data_source": S3, "vector_search": VECTOR_SEARCH,
     "authentication": {"auth_type": "PERSONAL_ACCESS_TOKEN", "databricks_personal_access_token": "t"},
     "number_column_type": "DECIMAL", "json_column_type": "VARIANT",
     "streams": [{"name": "docs", "namespace": "n", "cluster_by": ["id"], "table_properties": {"a": "b"}},
                 {"name": "events", "partition_by": ["day"]}]},
    {**DATABRICKS, "database": "main", "data_source": AZURE,
     "authentication": {"auth_type": "OAUTH_M2M", "databricks_client_id": "i", "databricks_client_secret": "s"}},
    {**DATABRICKS, "database": "main", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE", "direct_ingest": {
        "zerobus_endpoint": "1.zerobus.us-west-2.cloud.databricks.com"}},
     "authentication": {"auth_type": "OAUTH_M2M", "databricks_client_id": "i", "databricks_client_secret": "s"}},
    {**DATABRICKS, "database": "main", "databricks_personal_access_token": "t",  # the token-only configs of before
     "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE", "volume_name": "v"}},
    {"data_source": {"data_source_type": "LOCAL", "local_path": "/tmp/out"}},
]


def test_the_parser_reads_exactly_the_fields_the_spec_offers():
    seen: set[str] = set()
    for raw in CONFIGS:
        parse_config(Recording(raw, "", seen))
    offered = spec_fields(SPEC["connectionSpecification"])
    assert sorted(seen - offered) == [], "config.py reads fields spec.json does not offer"
    assert sorted(offered - seen) == [], "spec.json offers fields config.py never reads"


def test_every_spec_field_has_a_title_and_a_description():
    def missing(schema: dict, prefix: str = "") -> list[str]:
        out = []
        for name, prop in schema.get("properties", {}).items():
            if "const" not in prop and not (prop.get("title") and prop.get("description")):
                out.append(prefix + name)
            for branch in prop.get("oneOf", []):
                out += missing(branch, f"{prefix}{name}.")
            out += missing(prop, f"{prefix}{name}.")
            if isinstance(prop.get("items"), dict):
                out += missing(prop["items"], f"{prefix}{name}[].")
        return out

    assert missing(SPEC["connectionSpecification"]) == []
