"""The local warehouse the suite shares between tests: emptied between them as if it had just started."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

from .destinations import AzureDatabricksDestination, ManagedDestination, S3DatabricksDestination
from .warehouse_fixture import SharedWarehouse


def _call(w: dict, path: str, body: bytes | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(f"{w['hostname']}:{w['port']}{path}", data=body, headers=headers or {},
                                     method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def _oauth_token(w: dict) -> str:
    basic = base64.b64encode(f"{w['client_id']}:{w['client_secret']}".encode()).decode()
    return _call(w, "/oidc/v1/token", b"grant_type=client_credentials&scope=all-apis",
                 {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})["access_token"]


def test_a_reset_leaves_no_table_object_count_hook_or_token_of_the_test_before():
    shared = SharedWarehouse()
    try:
        w = shared.details()
        s3, managed, azure = S3DatabricksDestination(w), ManagedDestination(w), AzureDatabricksDestination(w)
        for ref in ("`hive_metastore`.`default`.`t`", "`main`.`other`.`t`"):
            managed.query(f"CREATE SCHEMA IF NOT EXISTS {ref.rsplit('.', 1)[0]}")
            managed.query(f"CREATE TABLE {ref} (a BIGINT) USING DELTA")
            managed.query(f"INSERT INTO {ref} VALUES (1), (2)")
        managed.query("CREATE VOLUME `main`.`default`.`v`")
        s3.s3().put_object(Bucket=w["s3_bucket"], Key=f"{s3.path}/x", Body=b"x")
        azure.container().upload_blob("x", b"x")
        _call(w, "/_local/gate", json.dumps({"match": "never", "at_once": 9, "seconds": 1}).encode())
        old_token = _oauth_token(w)
        assert shared.details() == w  # emptied, its connection details unchanged
        assert managed.query("SHOW SCHEMAS IN `main`").column("name").to_pylist() == ["default"]
        for catalog in ("hive_metastore", "main"):
            assert managed.query(f"SHOW TABLES IN `{catalog}`.`default`").num_rows == 0
        assert os.listdir(w["volume_root"]) == []
        assert s3.keys() == [] and azure.container_name not in [c.name for c in _service(w).list_containers()]
        stats = _call(w, "/_local/stats")
        assert stats["gate"] is None and stats["statements"] == 3  # the three SHOW statements above
        assert _call(w, "/_local/auth")["issued"] == 0
        request = urllib.request.Request(f"{w['hostname']}:{w['port']}/api/2.0/sql/warehouses",
                                         headers={"Authorization": f"Bearer {old_token}"})
        try:
            urllib.request.urlopen(request, timeout=30)
            raise AssertionError("a token issued before the reset was accepted")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
        managed.query("CREATE TABLE `hive_metastore`.`default`.`t` (b STRING) USING DELTA")  # same name, new table
        assert managed.query("SELECT * FROM `hive_metastore`.`default`.`t`").column_names == ["b"]
        assert managed.query("SELECT * FROM `hive_metastore`.`default`.`t`").num_rows == 0
    finally:
        shared.close()


def _service(w: dict):
    from azure.storage.blob import BlobServiceClient

    from .local_warehouse.server import AZURE_KEY

    return BlobServiceClient(f"{w['azure_endpoint']}/{w['azure_account']}",
                             credential={"account_name": w["azure_account"], "account_key": AZURE_KEY})
