"""A real source piped in: airbyte-source-faker (its own venv: it needs airbyte-cdk < 7), emitting records,
STATEs and its own stream statuses. Cut off mid-stream, it must leave an overwrite table as it was; a complete
run replaces it."""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from .destinations import LocalDestination
from .harness import CONNECTOR, client_venv, parse_stdout, write_json

@pytest.fixture(scope="module")
def faker():
    """The source's console script, installed once per machine (about 40 s the first time)."""
    python = client_venv("source-faker", "airbyte-source-faker==7.2.1")
    return os.path.join(os.path.dirname(python), "source-faker")


def configured_catalog(faker: str, config: str, path) -> str:
    out = subprocess.run([faker, "discover", "--config", config], capture_output=True, check=True, timeout=120).stdout
    (found,) = [m["catalog"] for m in parse_stdout(out.decode()) if m["type"] == "CATALOG"]
    streams = [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
               for s in found["streams"] if s["name"] in ("products", "users")]
    return write_json(path, {"streams": streams})


def pipe(faker: str, source_config: str, catalog: str, config: str, cut_after: int | None = None):
    """source read | destination write; ``cut_after`` records, the source is killed (as a failing source is)."""
    source = subprocess.Popen([faker, "read", "--config", source_config, "--catalog", catalog],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    destination = subprocess.Popen([CONNECTOR, "write", "--config", config, "--catalog", catalog],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    records, states = 0, []
    try:
        for line in source.stdout:
            destination.stdin.write(line)
            if b'"type":"STATE"' in line or b'"type": "STATE"' in line:
                states.append(json.loads(line)["state"])
            if b'"type":"RECORD"' in line or b'"type": "RECORD"' in line:
                records += 1
                if records == cut_after:
                    source.send_signal(signal.SIGKILL)
                    break
    finally:
        destination.stdin.close()
        source.wait(60)
    out = destination.stdout.read().decode()
    destination.wait(120)
    return destination.returncode, parse_stdout(out), records, states


def test_a_real_source_cut_off_mid_stream_leaves_the_overwrite_table_and_a_complete_run_replaces_it(faker, tmp_path):
    dest = LocalDestination(tmp_path / "out")
    source_config = write_json(tmp_path / "source.json", {"count": 50, "seed": 42, "records_per_slice": 10})
    catalog = configured_catalog(faker, source_config, tmp_path / "catalog.json")
    config = write_json(tmp_path / "config.json", dest.config())

    code, messages, records, sent = pipe(faker, source_config, catalog, config)
    assert code == 0, messages
    first = {t: sorted((r["id"], r["_airbyte_ab_id"]) for r in dest.rows("default", t)) for t in ("products", "users")}
    assert [len(first["products"]), len(first["users"])] == [50, 50] and records == 100

    code, messages, records, sent = pipe(faker, source_config, catalog, config, cut_after=30)
    assert code == 1 and records == 30
    (error,) = [m["trace"]["error"] for m in messages if m["type"] == "TRACE"]
    assert error["failure_type"] == "system_error" and "its table keeps its previous data" in error["message"]
    for table in ("products", "users"):  # not replaced by the 30 records that came, nor emptied
        assert sorted((r["id"], r["_airbyte_ab_id"]) for r in dest.rows("default", table)) == first[table]

    code, messages, records, sent = pipe(faker, source_config, catalog, config)
    assert code == 0, messages
    again = {t: sorted((r["id"], r["_airbyte_ab_id"]) for r in dest.rows("default", t)) for t in ("products", "users")}
    assert [len(again["products"]), len(again["users"])] == [50, 50]
    assert not {ab for _, ab in again["products"]} & {ab for _, ab in first["products"]}  # replaced by the new run
    emitted = [m["state"] for m in messages if m["type"] == "STATE"]
    for state in emitted:
        del state["destinationStats"]
    assert sent and emitted == sent  # every STATE back, as it came, in order
