"""A server that echoes the request in its error (request line with query, every header, the body) never makes
the connector print a secret, whatever form the secret was pasted in: with spaces around it, a SAS token with
its leading `?`. One case per data source and sign-in, for `check` and for `write`."""
from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from .destinations import AzureDatabricksDestination, ManagedDestination, S3DatabricksDestination
from .fault_proxy import Fault, FaultProxy
from .harness import catalog, lines, record, run, stream, stream_state, write_json

QUICK = {"DESTINATION_DATABRICKS_RETRY_ATTEMPTS": "2", "DESTINATION_DATABRICKS_RETRY_BACKOFF_SECONDS": "0.1",
         "DESTINATION_DATABRICKS_RETRY_MAX_SECONDS": "5"}
# (destination, which proxy echoes, the echo rule): a request that carries a secret, in each service's own style.
CASES = {
    "s3": ("s3", "s3", Fault("echo", "PUT", times=None, status=403)),  # SigV4: the key itself never travels, its id does
    "azure": ("azure", "azure", Fault("echo", "PUT", times=None, status=403)),  # the SAS token rides in the query
    "token-statements": ("managed", "warehouse", Fault("echo", "POST", r"^/sql/", times=None, status=403)),  # Bearer token
    "token-files-api": ("managed", "warehouse", Fault("echo", None, r"^/api/2\.0/fs/", times=None, status=403)),
    "oauth-token-exchange": ("managed-oauth", "warehouse", Fault("echo", "POST", r"/oidc/v1/token", times=None, status=403)),
}


def _padded(config: dict) -> dict:
    """Every secret as a careless paste leaves it: spaces around, a SAS token with its leading `?`."""
    source = config["data_source"]
    if "databricks_personal_access_token" in config:
        config["databricks_personal_access_token"] = f"  {config['databricks_personal_access_token']} "
    if "authentication" in config:
        config["authentication"]["databricks_client_secret"] = f" {config['authentication']['databricks_client_secret']}  "
    if "s3_secret_access_key" in source:
        source["s3_secret_access_key"] = f" {source['s3_secret_access_key']} "
    if "azure_blob_storage_sas_token" in source:
        source["azure_blob_storage_sas_token"] = f" ?{source['azure_blob_storage_sas_token']} "
    return config


def _secrets(destination, config: dict) -> list[str]:
    """Each secret as the connector uses it, and the forms a server may echo: URL-encoded, a SAS signature alone,
    the HTTP Basic credentials of the OAuth token exchange."""
    source = config["data_source"]
    found = [config.get("databricks_personal_access_token"), source.get("s3_secret_access_key"),
             source.get("azure_blob_storage_sas_token")]
    auth = config.get("authentication") or {}
    if auth.get("databricks_client_secret"):
        secret = auth["databricks_client_secret"].strip()
        found += [secret, base64.b64encode(f"{auth['databricks_client_id']}:{secret}".encode()).decode()]
    found = [s.strip().lstrip("?") for s in found if s]
    found += [part.split("=", 1)[1] for s in found for part in s.split("&") if part.startswith("sig=")]
    return sorted({*found, *(quote(s, safe="") for s in found)})


@pytest.fixture(params=list(CASES))
def echoed(request, warehouse):
    kind, service, fault = CASES[request.param]
    destination = {"s3": S3DatabricksDestination, "azure": AzureDatabricksDestination}.get(kind, ManagedDestination)
    destination = destination(warehouse) if kind in ("s3", "azure") else ManagedDestination(warehouse, kind.endswith("oauth"))
    upstream = {"s3": warehouse["s3_endpoint"], "azure": warehouse["azure_endpoint"],
                "warehouse": f"{warehouse['hostname']}:{warehouse['port']}"}[service]
    proxy = FaultProxy(upstream, {"warehouse": "databricks"}.get(service, service))
    address = proxy.start()
    proxy.add(fault)
    config = _padded(destination.config())
    if service == "warehouse":
        config["databricks_port"] = str(proxy.port)
    elif service == "s3":
        config["data_source"]["s3_endpoint"] = address
    else:
        config["data_source"]["azure_blob_storage_endpoint_domain_name"] = address
    yield config, proxy, _secrets(destination, config)
    proxy.stop()


def test_an_echoing_server_never_makes_a_secret_appear(tmp_path, echoed):
    config, proxy, secrets = echoed
    config_path = write_json(tmp_path / "c.json", config)
    checked = run(["check", "--config", config_path], env=QUICK, timeout=300)
    assert checked.messages[-1]["connectionStatus"]["status"] == "FAILED"
    messages = [record("users", {"id": i, "name": f"user {i}"}) for i in range(20)] + [stream_state("users", 20)]
    written = run(["write", "--config", config_path, "--catalog", write_json(tmp_path / "k.json", catalog(
        stream("users", {"id": {"type": "integer"}, "name": {"type": "string"}})))], lines(*messages), env=QUICK,
                  timeout=300)
    assert written.returncode == 1 and written.errors and not written.states
    assert proxy.fired(), "the echoing rule never fired: the test would prove nothing"
    output = checked.stdout + checked.stderr + written.stdout + written.stderr
    assert "Refused" in output, "the echoed answer never reached an error message: the test would prove nothing"
    leaked = [s for s in secrets if s in output]
    assert not leaked, f"secrets in the output: {[s[:6] + '…' for s in leaked]}"
