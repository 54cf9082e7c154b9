"""Managed tables staged in a Unity Catalog volume; signing in with a token or as a service principal."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from .destinations import ManagedDestination
from .harness import CONNECTOR, catalog, lines, parse_stdout, record, run, stream, stream_state, write_json
from .warehouse_fixture import local_warehouse


@pytest.fixture(params=["token", "oauth"])
def managed(request, warehouse):
    return ManagedDestination(warehouse, oauth=request.param == "oauth")


def check(tmp_path, config):
    result = run(["check", "--config", write_json(tmp_path / "c.json", config)], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.messages[-1]["connectionStatus"], result


def auth_seen(warehouse: dict) -> dict:
    with urllib.request.urlopen(f"{warehouse['hostname']}:{warehouse['port']}/_local/auth") as answer:
        return json.load(answer)


def test_check_creates_the_volume_and_leaves_nothing_behind(tmp_path, managed):
    status, _ = check(tmp_path, managed.config())
    assert status == {"status": "SUCCEEDED"}
    assert os.path.isdir(os.path.join(managed.w["volume_root"], "main", "default", "airbyte_staging"))
    assert managed.keys() == []  # the test file is gone
    assert managed.query("SHOW TABLES IN `main`.`default`").num_rows == 0  # and the test table


def _wrong_token(c):
    c["databricks_personal_access_token"] = "dapiWRONGTOKEN0000"


def _wrong_secret(c):
    c["authentication"]["databricks_client_secret"] = "doseWRONGSECRET0000"


def _unreachable(c):
    c["databricks_port"] = "1"


@pytest.mark.parametrize("oauth, change, named, cause", [
    (False, _wrong_token, "databricks_personal_access_token", "refused the access token"),
    (True, _wrong_secret, "databricks_client_secret", "token exchange failed"),
    (False, _unreachable, "databricks_server_hostname", "Cannot reach"),
    (True, _unreachable, "databricks_server_hostname", "Cannot reach"),
    (False, lambda c: c.update(database="hive_metastore"), "'database'", "Unity Catalog"),
])
def test_check_names_the_cause_and_none_of_the_secrets(tmp_path, warehouse, oauth, change, named, cause):
    destination = ManagedDestination(warehouse, oauth=oauth)
    config = destination.config()
    change(config)
    started = time.monotonic()
    status, result = check(tmp_path, config)
    assert status["status"] == "FAILED" and named in status["message"] and cause in status["message"], status
    assert time.monotonic() - started < 60  # a check answers, it does not retry for minutes
    for secret in ("dapiWRONGTOKEN0000", "doseWRONGSECRET0000", warehouse["token"], warehouse["client_secret"]):
        assert secret not in result.stdout + result.stderr


def test_a_sync_with_a_wrong_client_secret_fails_with_a_config_error(tmp_path, warehouse):
    destination = ManagedDestination(warehouse, oauth=True)
    config = destination.config()
    _wrong_secret(config)
    result = run(["write", "--config", write_json(tmp_path / "c.json", config),
                  "--catalog", write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}})))],
                 lines(record("s", {"id": 1}), stream_state("s", 1)))
    assert result.returncode != 0 and result.states == []
    (error,) = result.errors
    assert error["failure_type"] == "config_error" and "databricks_client_secret" in error["message"]
    assert "doseWRONGSECRET0000" not in result.stdout + result.stderr


def test_staged_parquet_lives_in_the_volume_and_is_kept_when_purge_is_off(tmp_path, managed):
    config = managed.config(purge_staging_data=False)
    cat = catalog(stream("s", {"id": {"type": "integer"}}))
    env = {"DESTINATION_DATABRICKS_BATCH_ROWS": "2"}
    result = run(["write", "--config", write_json(tmp_path / "c.json", config), "--catalog", write_json(tmp_path / "k.json", cat)],
                 lines(*[record("s", {"id": i}) for i in range(5)], stream_state("s", 5)), env=env)
    assert result.returncode == 0, result.stdout
    staged = [k for k in managed.staging_leftovers() if k.endswith(".parquet")]
    assert len(staged) == 3 and all("/Volumes/main/default/airbyte_staging/" in k and "/default.s.load_0/" in k for k in staged)
    assert any(k.endswith("/_airbyte_sync_kept") for k in managed.staging_leftovers())
    # The table is a managed one: its files are in the warehouse's own storage, none in ours.
    assert sorted(r["id"] for r in managed.rows("default", "s")) == [0, 1, 2, 3, 4]
    assert any(f.endswith(".parquet") for _, _, files in os.walk(managed.w["managed_root"]) for f in files)


def test_an_expiring_oauth_token_does_not_fail_a_long_sync(tmp_path):
    """Tokens live 4 s; the sync lasts about 12 s and commits every second, so several tokens expire during it."""
    with local_warehouse(token_seconds=4) as w:
        destination = ManagedDestination(w, oauth=True)
        cat = catalog(stream("s", {"id": {"type": "integer"}}))
        env = {**os.environ, "DESTINATION_DATABRICKS_COMMIT_SECONDS": "1"}
        proc = subprocess.Popen([CONNECTOR, "write", "--config", write_json(tmp_path / "c.json", destination.config()),
                                 "--catalog", write_json(tmp_path / "k.json", cat)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for second in range(12):
            proc.stdin.write(lines(*[record("s", {"id": second * 10 + i}) for i in range(10)], stream_state("s", second)))
            proc.stdin.flush()
            time.sleep(1)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out.decode()[-3000:] + err.decode()[-3000:]
        states = [m["state"] for m in parse_stdout(out.decode()) if m["type"] == "STATE"]
        assert states[-1]["stream"]["stream_state"] == {"cursor": 11}
        assert sorted(r["id"] for r in destination.rows("default", "s")) == list(range(120))
        seen = auth_seen(w)
        assert seen["used"] >= 3, seen  # the sync went through several tokens…
        assert seen["refusals"] == [], seen  # …and never presented an expired one


def test_the_volume_sweep_spares_live_and_kept_staging_and_removes_dead(tmp_path, warehouse):
    """Another sync's staging with a fresh heartbeat survives; once stale, it is removed; kept staging stays."""
    import uuid

    managed = ManagedDestination(warehouse)
    cat = write_json(tmp_path / "k.json", catalog(stream("s", {"id": {"type": "integer"}})))
    kept_config = write_json(tmp_path / "kept.json", managed.config(purge_staging_data=False))
    config = write_json(tmp_path / "c.json", managed.config())
    assert run(["write", "--config", kept_config, "--catalog", cat], lines(record("s", {"id": 1}))).returncode == 0
    kept = {k.split("/")[6] for k in managed.staging_leftovers()}
    other = str(uuid.uuid4())  # another sync's staging in the volume, heartbeat fresh
    volume = os.path.join(warehouse["volume_root"], "main", "default", "airbyte_staging")
    folder = os.path.join(volume, "_airbyte_staging", other)
    os.makedirs(os.path.join(folder, "default", "s"))
    for name in ("_airbyte_sync_alive", "default/s/part_0.parquet"):
        open(os.path.join(folder, name), "wb").close()
    # Files this connector never wrote, in folders named like a sync's: never deleted, however old.
    foreign = [os.path.join(volume, str(uuid.uuid4()), "invoice.pdf"),
               os.path.join(volume, "_airbyte_staging", str(uuid.uuid4()), "notes.txt")]
    for path in foreign:
        os.makedirs(os.path.dirname(path))
        open(path, "wb").close()
    ours = lambda: {k.split("/")[6] for k in managed.staging_leftovers() if not k.endswith(("notes.txt", "invoice.pdf"))}
    assert run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 2}))).returncode == 0
    assert ours() == kept | {other}  # a live sync's is spared
    dead = run(["write", "--config", config, "--catalog", cat], lines(record("s", {"id": 3})),
               env={"DESTINATION_DATABRICKS_STALE_STAGING_SECONDS": "0"})  # every heartbeat now counts as old
    assert dead.returncode == 0
    assert ours() == kept  # dead removed, kept-on-purpose stays
    assert all(os.path.exists(path) for path in foreign)


def test_a_loads_staged_files_leave_the_volume_once_it_commits_while_the_sync_goes_on(tmp_path, warehouse):
    """The Files API deletes one path per call, so a load's files and folder go right after its commit, beside the
    sync's other work, rather than all in the purge at the end (where they cost a call per folder level)."""
    managed = ManagedDestination(warehouse)
    staging = os.path.join(warehouse["volume_root"], "main", "default", "airbyte_staging", "_airbyte_staging")
    cat = catalog(stream("s", {"id": {"type": "integer"}}))
    env = {**os.environ, "DESTINATION_DATABRICKS_COMMIT_SECONDS": "0.5", "DESTINATION_DATABRICKS_BATCH_ROWS": "2"}
    proc = subprocess.Popen([CONNECTOR, "write", "--config", write_json(tmp_path / "c.json", managed.config()),
                             "--catalog", write_json(tmp_path / "k.json", cat)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        proc.stdin.write(lines(*[record("s", {"id": i}) for i in range(5)], stream_state("s", 5)))
        proc.stdin.flush()
        while True:  # the STATE comes out once the first load (three files) has committed
            line = proc.stdout.readline()
            assert line, "the connector ended before releasing the STATE"
            if json.loads(line).get("type") == "STATE":
                break

        def folders() -> list[str]:
            return sorted(os.path.relpath(d, staging) for d, _, _ in os.walk(staging) if ".load_" in d)

        deadline = time.monotonic() + 30
        while folders() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert folders() == [] and proc.poll() is None  # gone, and not by the end-of-sync purge
        sync_folders = os.listdir(staging)
        assert len(sync_folders) == 1 and os.listdir(os.path.join(staging, sync_folders[0])) == ["_airbyte_sync_alive"]
        proc.stdin.write(lines(record("s", {"id": 5}), stream_state("s", 6)))
        proc.stdin.close()
        out = proc.stdout.read().decode()
        assert proc.wait(timeout=120) == 0, out[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [m["state"]["stream"]["stream_state"] for m in parse_stdout(out) if m["type"] == "STATE"] == [{"cursor": 6}]
    assert sorted(r["id"] for r in managed.rows("default", "s")) == list(range(6))
    assert managed.staging_leftovers() == [] and os.listdir(staging) == []
