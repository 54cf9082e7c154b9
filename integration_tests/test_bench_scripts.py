"""The benchmark scripts run end to end at a tiny size, so they cannot rot (no timing is asserted)."""
import json

from bench import generate, streams, throughput


def test_generator_is_deterministic_and_well_formed(tmp_path):
    a = generate.generate(str(tmp_path / "a"), records=50, streams=3, state_every=5)
    b = generate.generate(str(tmp_path / "b"), records=50, streams=3, state_every=5)
    text_a = open(a["messages"]).read()
    assert text_a == open(b["messages"]).read()
    messages = [json.loads(line) for line in text_a.splitlines()]
    assert sum(m["type"] == "RECORD" for m in messages) == 50
    assert {m["record"]["stream"] for m in messages if m["type"] == "RECORD"} == {"stream_00000", "stream_00001", "stream_00002"}
    assert sum(m["type"] == "STATE" for m in messages) >= 3


def test_throughput_script_runs(capsys):
    rows = throughput.main(["--records", "300", "--repeat", "1"])
    runs = ["floor (orjson + 3 columns + write_table)", "destination-databricks write (LOCAL)"]
    inputs = ["short", "realistic", "realistic-short-numbers"]
    assert [(r[0], r[1]) for r in rows] == [(i, run) for i in inputs for run in runs]
    out = capsys.readouterr().out
    assert "realistic messages" in out and "against the same records with short numbers" in out


def test_the_realistic_input_has_full_precision_doubles_and_19_digit_ids(tmp_path):
    data = generate.generate(str(tmp_path), records=20, streams=1, kind="realistic")
    records = [json.loads(line)["record"]["data"] for line in open(data["messages"]) if '"RECORD"' in line]
    assert all(len(str(r["id"])) == 19 for r in records)
    assert sum(len(repr(r["score"]).replace(".", "")) >= 15 for r in records) >= 15  # not rounded
    assert {len(r["created_at"].split(".")[1]) - 1 for r in records} >= {3, 6, 9}  # fraction digits, before the Z


def test_the_realistic_inputs_twin_differs_only_in_its_numbers(tmp_path):
    realistic, twin = (generate.generate(str(tmp_path / kind), records=30, streams=1, kind=kind)
                       for kind in ("realistic", "realistic-short-numbers"))
    records = [[json.loads(line)["record"]["data"] for line in open(d["messages"]) if '"RECORD"' in line]
               for d in (realistic, twin)]
    for long, short in zip(*records):
        assert short["id"] < 10 ** 6 and len(repr(short["score"])) <= 8
        assert {k: v for k, v in long.items() if k not in ("id", "score", "description", "address", "orders")} == \
            {k: v for k, v in short.items() if k not in ("id", "score", "description", "address", "orders")}
        assert [w for w in short["description"].split() if w.isdigit() and len(w) > 6] == []
        assert short["address"]["street"] == long["address"]["street"]


def test_streams_script_runs(capsys):
    rows = streams.main(["--streams", "1", "5", "--records-per-stream", "3", "--big", "50"])
    assert [r[0] for r in rows] == ["1", "5", "1"] and "peak RSS MB" in capsys.readouterr().out


def test_warehouse_script_runs_and_counts_statements(capsys):
    from bench import warehouse

    rows = warehouse.main(["--streams", "2", "--records-per-stream", "3", "--statement-seconds", "0.05"])
    assert [(r[0], r[1], r[2]) for r in rows] == [("s3", "2", "first"), ("s3", "2", "second")]
    assert all(int(r[5]) >= 2 for r in rows)  # at least one load per stream reached the warehouse
    assert all(0 < float(r[4]) <= float(r[3]) for r in rows)  # the engine's share of the sync's time
    # statements at once within the default bound, counted per sync; S3 staging makes no Files API call
    assert all(1 <= int(r[7]) <= 8 and r[8] == "0" for r in rows)
    assert "per stream" in capsys.readouterr().out


def test_dedup_script_runs_and_keeps_one_row_per_key(capsys):
    from bench import dedup

    rows = dedup.main(["--records", "400", "--keys", "50", "--updates", "30"])
    assert [r[0] for r in rows] == ["append", "append_dedup", "second sync"]
    assert rows[0][6] == "400" and int(rows[1][6]) <= 50  # one row per key left (deleted keys gone)
    assert rows[2][6] == "400"  # updates of existing keys add no row
    assert 20 < int(rows[2][7]) <= 30  # the merge updated a row per distinct updated key (30 updates, random keys)
    assert "records/s" in capsys.readouterr().out


def test_column_types_script_runs_and_both_queries_agree(capsys):
    from bench import column_types

    rows = column_types.main(["--records", "300", "--statement-seconds", "0.05", "--repeat", "1"])
    assert [r[0] for r in rows] == ["number_column_type DOUBLE", "number_column_type DECIMAL",
                                    "json_column_type STRING", "json_column_type VARIANT"]
    assert rows[2][6] == rows[3][6]  # the nested field read from JSON text and from VARIANT: the same sum
    assert int(rows[2][3]) == int(rows[3][3])  # VARIANT costs no statement more
    assert "query seconds" in capsys.readouterr().out


def test_direct_ingest_script_runs_and_a_steady_sync_sends_no_statement(capsys):
    from bench import direct_ingest

    rows = direct_ingest.main(["--cases", "2x50", "--statement-seconds", "0.05"])
    assert [(r[1], r[2]) for r in rows] == [("volume", "first"), ("volume", "second"), ("direct", "first"),
                                            ("direct", "second")]
    assert rows[3][5] == "0" and rows[3][6] == "0"  # the direct path's steady state: no statement, no Files API call
    assert int(rows[1][5]) >= 2 and int(rows[1][6]) > 0  # the volume path: a load per stream, files staged
    assert "STATE latency" in capsys.readouterr().out


def test_zerobus_formats_script_encodes_both_formats(capsys):
    from bench import zerobus_formats

    rows = zerobus_formats.main(["--records", "300", "--batch-rows", "100"])
    assert [r[0] for r in rows] == ["Arrow IPC (Flight)", "Avro records"]
    assert all(float(r[3]) > 0 for r in rows)
    assert "records/s" in capsys.readouterr().out
