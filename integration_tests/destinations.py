"""The destinations the contract suite runs against: each knows its config and how to read a table back."""
from __future__ import annotations

import os
import uuid

from .delta_reader import rows as delta_rows

STAGING = "_airbyte_staging"  # every sync's staging folder lives under it, in the store's root


class LocalDestination:
    """The embedded default: Delta tables under a local folder, read back by an independent reader."""

    name = "local"
    empty_strings_kept = True  # "" in a STRING column reads back as "", not null

    def __init__(self, root):
        self.root = str(root)

    def config(self, **overrides) -> dict:
        config = {"data_source": {"data_source_type": "LOCAL", "local_path": self.root}, "schema": "default"}
        config.update(overrides)
        return config

    def table_exists(self, schema: str, table: str) -> bool:
        return os.path.isdir(os.path.join(self.root, schema, table, "_delta_log"))

    def rows(self, schema: str, table: str) -> list[dict]:
        return delta_rows(os.path.join(self.root, schema, table))

    def create_table(self, schema: str, table: str, data):
        """A table as another writer (or an earlier version of the connector) left it: ``data`` a pyarrow Table."""
        from deltalake import write_deltalake

        write_deltalake(os.path.join(self.root, schema, table), data)

    def staging_leftovers(self) -> list[str]:
        staging = os.path.join(self.root, ".airbyte-staging")
        found = []
        for dirpath, _, files in os.walk(staging):
            found += [os.path.join(dirpath, f) for f in files]
        return found


class S3DatabricksDestination:
    """S3 staging + Databricks SQL loading, on the local warehouse; tables are read back through SQL."""

    name = "s3"
    empty_strings_kept = True

    def __init__(self, warehouse: dict):
        self.w = warehouse
        self.path = f"tests/{uuid.uuid4().hex[:8]}"
        self.catalog = "hive_metastore"

    def databricks(self) -> dict:
        return {"accept_terms": True, "databricks_server_hostname": self.w["hostname"],
                "databricks_port": str(self.w["port"]), "databricks_http_path": self.w["http_path"],
                "databricks_personal_access_token": self.w["token"], "database": self.catalog}

    def config(self, **overrides) -> dict:
        config = {**self.databricks(), "schema": "default", "data_source": {
            "data_source_type": "S3_STORAGE", "s3_bucket_name": self.w["s3_bucket"], "s3_bucket_path": self.path,
            "s3_bucket_region": self.w["s3_region"], "s3_access_key_id": self.w["s3_access_key_id"],
            "s3_secret_access_key": self.w["s3_secret_access_key"], "s3_endpoint": self.w["s3_endpoint"],
            "file_name_pattern": "{sync_id}_{part_number}.{format_extension}"}}
        config.update(overrides)
        return config

    def query(self, statement: str):
        from databricks import sql

        w = self.w
        with sql.connect(server_hostname="127.0.0.1", http_path=w["http_path"], access_token=w["token"],
                         _connection_uri=f"{w['hostname']}:{w['port']}/{w['http_path']}", enable_telemetry=False) as c:
            with c.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall_arrow()

    def _ref(self, schema: str, table: str) -> str:
        return f"`{self.catalog}`.`{schema}`.`{table}`"

    def table_exists(self, schema: str, table: str) -> bool:
        try:
            self.query(f"SELECT * FROM {self._ref(schema, table)} LIMIT 0")
            return True
        except Exception:
            return False

    def rows(self, schema: str, table: str) -> list[dict]:
        return self.query(f"SELECT * FROM {self._ref(schema, table)}").to_pylist()

    def create_table(self, schema: str, table: str, data):
        """A table as another writer (or an earlier version of the connector) left it: ``data`` a pyarrow Table
        of string, bigint and timestamp columns, created and filled through SQL."""
        import pyarrow as pa

        sql_types = {pa.string(): "STRING", pa.int64(): "BIGINT"}
        columns = ", ".join(f"`{f.name}` {sql_types.get(f.type, 'TIMESTAMP')}" for f in data.schema)
        self.query(f"CREATE SCHEMA IF NOT EXISTS `{self.catalog}`.`{schema}`")
        self.query(f"CREATE TABLE {self._ref(schema, table)} ({columns}) USING DELTA")

        def value(v, t):
            if v is None:
                return "NULL"
            if t == pa.int64():
                return str(v)
            text = str(v).replace("'", "\\'")
            return f"'{text}'" if t == pa.string() else f"TIMESTAMP '{text}'"

        rows = ", ".join("(" + ", ".join(value(r[f.name], f.type) for f in data.schema) + ")" for r in data.to_pylist())
        if rows:
            self.query(f"INSERT INTO {self._ref(schema, table)} VALUES {rows}")

    def s3(self):
        import boto3

        w = self.w
        return boto3.client("s3", endpoint_url=w["s3_endpoint"], region_name=w["s3_region"],
                            aws_access_key_id=w["s3_access_key_id"], aws_secret_access_key=w["s3_secret_access_key"])

    def keys(self) -> list[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.w["s3_bucket"], Prefix=self.path + "/")
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def staging_leftovers(self) -> list[str]:
        """Objects of a sync's staging folder, `<path>/_airbyte_staging/<sync uuid>/…`, or of a check."""
        leftovers = []
        for key in self.keys():
            first = key[len(self.path) + 1:].split("/")[0]
            if first == STAGING or first.startswith("_airbyte_check"):
                leftovers.append(key)
        return leftovers


class AzureDatabricksDestination(S3DatabricksDestination):
    """Azure Blob Storage (Azurite) CSV staging + Databricks SQL loading, on the local warehouse."""

    name = "azure"
    # The local engine reads a quoted empty CSV field ("") as null and ignores nullValue, so in typed
    # STRING columns "" comes back null here (intact in _airbyte_data; the staged CSV is checked by
    # test_azure.py with an independent reader). Databricks reads "" as an empty string by default;
    # that is not verified locally.
    empty_strings_kept = False

    def __init__(self, warehouse: dict):
        """A container of its own, as the S3 destination has a folder of its own: tables live at the same paths in
        every test (`<schema>/<table>` in the container), which the engine must not confuse with an earlier test's."""
        import datetime as dt

        from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

        from .local_warehouse.server import AZURE_KEY

        super().__init__(warehouse)
        w = warehouse
        self.container_name = f"t{uuid.uuid4().hex[:12]}"
        BlobServiceClient(f"{w['azure_endpoint']}/{w['azure_account']}",
                          credential={"account_name": w["azure_account"], "account_key": AZURE_KEY}
                          ).create_container(self.container_name)
        self.sas_token = generate_container_sas(
            w["azure_account"], self.container_name, account_key=AZURE_KEY,
            permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12))

    def config(self, **overrides) -> dict:
        w = self.w
        config = {**self.databricks(), "schema": "default", "data_source": {
            "data_source_type": "AZURE_BLOB_STORAGE", "azure_blob_storage_account_name": w["azure_account"],
            "azure_blob_storage_container_name": self.container_name, "azure_blob_storage_sas_token": self.sas_token,
            "azure_blob_storage_endpoint_domain_name": w["azure_endpoint"]}}
        config.update(overrides)
        return config

    def container(self):
        from azure.storage.blob import ContainerClient

        w = self.w
        return ContainerClient(f"{w['azure_endpoint']}/{w['azure_account']}", self.container_name, credential=self.sas_token)

    def keys(self) -> list[str]:
        return [b.name for b in self.container().list_blobs()]

    def staging_leftovers(self) -> list[str]:
        return [k for k in self.keys() if k.split("/")[0] == STAGING or k.startswith("_airbyte_check")]


class ManagedDestination(S3DatabricksDestination):
    """Managed tables in a Unity Catalog catalog, staged in a volume of the local warehouse.

    ``oauth``: sign in as the warehouse's service principal (OAuth M2M) instead of with the access token.
    """

    name = "managed"

    def __init__(self, warehouse: dict, oauth: bool = False):
        super().__init__(warehouse)
        self.catalog = "main"
        self.oauth = oauth

    def databricks(self) -> dict:
        config = super().databricks()
        if self.oauth:
            del config["databricks_personal_access_token"]
            config["authentication"] = {"auth_type": "OAUTH_M2M", "databricks_client_id": self.w["client_id"],
                                        "databricks_client_secret": self.w["client_secret"]}
        return config

    def config(self, **overrides) -> dict:
        config = {**self.databricks(), "schema": "default", "data_source": {"data_source_type": "MANAGED_TABLES_STORAGE"}}
        config.update(overrides)
        return config

    def keys(self) -> list[str]:
        """Every file in the warehouse's volumes, as /Volumes/… paths."""
        root = self.w["volume_root"]
        return sorted("/Volumes/" + os.path.relpath(os.path.join(d, f), root)
                      for d, _, files in os.walk(root) for f in files)

    def staging_leftovers(self) -> list[str]:
        leftovers = []
        for path in self.keys():
            parts = path.split("/")  # "", Volumes, catalog, schema, volume, first, …
            if len(parts) > 5 and (parts[5] == STAGING or parts[5].startswith("_airbyte_check")):
                leftovers.append(path)
        return leftovers


class ZerobusDestination(ManagedDestination):
    """Managed tables with direct ingest: append streams through the local warehouse's Zerobus server (signed in as
    its service principal, as Zerobus requires), every other stream staged in the volume in the same sync."""

    name = "zerobus"

    def __init__(self, warehouse: dict):
        super().__init__(warehouse, oauth=True)

    def config(self, **overrides) -> dict:
        config = super().config(**overrides)
        if "data_source" not in overrides:
            config["data_source"] = {**config["data_source"], "direct_ingest": {"zerobus_endpoint": self.w["zerobus_endpoint"]}}
        return config

    def zerobus(self, **faults) -> dict:
        """The Zerobus server's counts; with ``faults``, what the next streams suffer (/_local/zerobus)."""
        import json
        import urllib.request

        request = urllib.request.Request(f"{self.w['hostname']}:{self.w['port']}/_local/zerobus",
                                         data=json.dumps(faults).encode() if faults else None,
                                         method="POST" if faults else "GET")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
