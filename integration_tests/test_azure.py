"""Azure specifics: the staged CSV read by an independent reader, check's diagnoses, staging cleanup."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from .destinations import AzureDatabricksDestination
from .harness import catalog, lines, record, run, stream, write_json


@pytest.fixture
def azdest(warehouse):
    assert warehouse["azure_endpoint"], "Azurite is not installed: run `make install` (npm install)"
    return AzureDatabricksDestination(warehouse)


def test_staged_csv_keeps_every_value_exactly(tmp_path, azdest):
    """Python's csv module, not the engine, reads what was staged: RFC 4180 with nothing narrowed."""
    values = ["comma, inside", 'quote " inside', "line\nbreak", "crlf\r\nend", "名前 ✓", "", "back\\slash"]
    cat = catalog(stream("s", {"id": {"type": "integer"}, "v": {"type": "string"}, "big": {"type": "integer"},
                               "when": {"type": "string", "format": "date-time"}}))
    messages = [record("s", {"id": i, "v": v, "big": 12345678901234567890123 + i, "when": "2024-05-06T07:08:09.123456+02:00"})
                for i, v in enumerate(values)]
    config = write_json(tmp_path / "c.json", azdest.config(purge_staging_data=False))
    result = run(["write", "--config", config, "--catalog", write_json(tmp_path / "k.json", cat)], lines(*messages))
    assert result.returncode == 0, result.stdout
    (name,) = [k for k in azdest.staging_leftovers() if k.endswith(".csv")]
    text = azdest.container().download_blob(name).readall().decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["v"] for r in sorted(rows, key=lambda r: int(r["id"]))] == values
    assert '""' in text  # the empty string is written quoted, apart from null (an empty field)
    for row in rows:
        data = json.loads(row["_airbyte_data"])
        assert data["big"] == 12345678901234567890123 + data["id"]  # 23 digits, as written
        assert row["when"] == "2024-05-06T05:08:09.123456Z"
        dt.datetime.fromisoformat(row["_airbyte_emitted_at"])  # ISO 8601 with zone
    # and the engine loaded the same values
    loaded = sorted(azdest.rows("default", "s"), key=lambda r: r["id"])
    assert [r["v"] for r in loaded] == [v or None for v in values]


def test_check_succeeds_and_names_a_bad_sas_token(tmp_path, azdest):
    ok = run(["check", "--config", write_json(tmp_path / "ok.json", azdest.config())])
    assert ok.messages[-1]["connectionStatus"] == {"status": "SUCCEEDED"}
    assert azdest.keys() == []
    config = azdest.config()
    config["data_source"]["azure_blob_storage_sas_token"] = azdest.sas_token.replace("sig=", "sig=AAAA")
    bad = run(["check", "--config", write_json(tmp_path / "bad.json", config)])
    status = bad.messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "azure_blob_storage_sas_token" in status["message"]
    signature = config["data_source"]["azure_blob_storage_sas_token"].split("sig=")[1].split("&")[0]
    assert signature not in bad.stdout + bad.stderr


def test_a_read_only_sas_token_is_named_for_the_permission_it_lacks(tmp_path, azdest):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from .local_warehouse.server import AZURE_KEY

    read_only = generate_container_sas(azdest.w["azure_account"], azdest.container_name, account_key=AZURE_KEY,
                                       permission=ContainerSasPermissions(read=True, list=True),
                                       expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    config = azdest.config()
    config["data_source"]["azure_blob_storage_sas_token"] = read_only
    status = run(["check", "--config", write_json(tmp_path / "c.json", config)]).messages[-1]["connectionStatus"]
    assert status["status"] == "FAILED" and "lacks the permission to write" in status["message"]
