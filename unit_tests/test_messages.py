"""Reading input lines: fast path, exact path for big integers and NaN, clear errors otherwise."""
import json

import orjson
import pytest

from destination_databricks.errors import InputError
from destination_databricks.messages import parse_line


def test_plain_line_uses_the_fast_parser():
    assert parse_line(b'{"type":"RECORD","record":{"data":{"a":1}}}', 1) == ({"type": "RECORD", "record": {"data": {"a": 1}}}, False)


def test_integers_beyond_64_bits_are_exact_on_the_exact_path():
    # a record's line takes it when orjson would not write its numbers back (test_a_number_takes_the_fast_path…)
    message, exact = parse_line(b'{"a": 123456789012345678901234567890}', 1, exact=True)
    assert message["a"] == 123456789012345678901234567890 and exact


def test_nan_and_infinity_are_read():
    message, exact = parse_line(b'{"a": NaN, "b": Infinity, "c": -Infinity}', 1)
    assert exact and message["b"] == float("inf")


@pytest.mark.parametrize("line", [b"{not json", b'{"a": 1', b"\xff\xfe{}", b"[1, 2]", b'"text"'])
def test_bad_lines_are_input_errors_naming_the_line(line):
    with pytest.raises(InputError, match="line 7"):
        parse_line(line, 7)


def test_a_lone_surrogate_becomes_the_replacement_character_and_pairs_stay():
    message, exact = parse_line(rb'{"a": "x\ud800y", "\udc00k": ["\uDBFF"], "pair": "\ud83d\ude00", "n": 123456789012345678901}', 1)
    assert exact and message == {"a": "x\ufffdy", "\ufffdk": ["\ufffd"], "pair": "\U0001F600", "n": 123456789012345678901}


def test_timed_blocks_split_reads_into_lines_and_say_when_the_input_is_idle():
    import os
    import threading
    import time

    from destination_databricks.messages import IDLE, timed_blocks

    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    got = []

    def consume():
        for item in timed_blocks(reader, idle_seconds=0.05, block=7):
            got.extend([item] if item is IDLE else item)

    thread = threading.Thread(target=consume)
    thread.start()
    os.write(write_end, b'{"a":1}\n{"b":')  # a line cut across blocks
    time.sleep(0.3)
    os.write(write_end, b'2}\n\n{"c":3}')  # an empty line, and a last line without a newline
    os.close(write_end)
    thread.join(5)
    reader.close()
    lines = [g for g in got if g is not IDLE]
    assert lines == [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']
    first_idle = got.index(IDLE)
    assert got[:first_idle] == [b'{"a":1}']  # the cut line waits for its end; meanwhile the input is idle
    assert sum(1 for g in got if g is IDLE) >= 2 and got[-1] == b'{"c":3}'


def test_timed_blocks_join_a_line_longer_than_many_reads_once():
    import os
    import threading

    from destination_databricks.messages import IDLE, timed_blocks

    read_end, write_end = os.pipe()
    big = b'{"x":"' + b"a" * 3_000_000 + b'"}'

    def feed():
        os.write(write_end, b"first\n" + big + b"\nlast")
        os.close(write_end)

    threading.Thread(target=feed).start()
    with os.fdopen(read_end, "rb") as reader:
        assert [line for g in timed_blocks(reader, idle_seconds=5, block=4096) if g is not IDLE for line in g] == \
        [b"first", big, b"last"]


# Number texts: whether a record holding one may keep orjson's text of its data (the fast path), and the exact
# `_airbyte_data` it must get either way.
NUMBERS = [
    (b"1.5", True), (b"2.0", True), (b"-0.0", True), (b"1e-7", True),
    (b"23.796462709189136", True),  # 17 significant digits, as json.dumps writes a computed double
    (b"9223372036854775807", True), (b"18446744073709551615", True),  # 2^63 - 1, 2^64 - 1
    (b"18446744073709551616", False),  # 2^64: orjson reads a float
    (b"1e400", False), (b"1E-400", False), (b"0.1e1", False), (b"1.10", False), (b"-0", False), (b"1.5E300", False),
    (b"12345678901234.123456789012", False),
]


@pytest.mark.parametrize("number, fast", NUMBERS, ids=[n.decode() for n, _ in NUMBERS])
def test_a_number_takes_the_fast_path_only_when_orjson_writes_it_back_as_it_came(number, fast):
    from destination_databricks.messages import exact_data_text, fast_data_text

    line = b'{"type":"RECORD","record":{"stream":"s","data":{"n":' + number + b',"t":"x"},"emitted_at":1}}'
    expected = b'{"n":' + number + b',"t":"x"}'
    try:
        text = fast_data_text(orjson.loads(line)["record"]["data"], line)
    except orjson.JSONDecodeError:  # orjson refuses it outright: the exact parser reads the line
        text = None
    assert (text is not None) == fast
    assert (text if fast else exact_data_text(line)) == expected


def test_long_digit_strings_19_digit_ids_and_escaped_letters_keep_the_fast_path():
    from destination_databricks.messages import fast_data_text

    for data in ({"id": 6189637281920394857, "account": "06344863178936378387", "score": 15.547949981178155,
                  "at": "2024-06-04T02:24:06.385451171Z", "uuid": "123e4567-e89b-12d3-a456-426614174000"},
                 {"name": "café ✓ 名前", "nested": {"lat": -82.17892027384251, "list": [1, 2.5, None]}}):
        for line in (orjson.dumps({"type": "RECORD", "record": {"data": data}}),
                     json.dumps({"type": "RECORD", "record": {"data": data}}).encode()):  # \u escapes, ", " and ": "
            assert fast_data_text(orjson.loads(line)["record"]["data"], line) == orjson.dumps(data), line


def test_a_changed_number_is_never_hidden_by_text_around_it():
    from destination_databricks.messages import fast_data_text

    # the same characters in a string beside the number, or in the envelope, do not make up for its change
    for line in (b'{"record":{"data":{"a":1.10,"b":"1.1"}}}', b'{"record":{"data":{"a":"0","b":-0}}}',
                 b'{"record":{"data":{"a":0.1e1}},"x":"1.0"}', b'{"record":{"data":{"s":"\\u00e9","n":1.10}}}'):
        assert fast_data_text(orjson.loads(line)["record"]["data"], line) is None, line


def test_the_exact_data_text_keeps_every_number_as_it_came():
    from destination_databricks.messages import exact_data_text

    line = (b'{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"n":12345678901234.123456789012,'
            b'"big":1180591620717411303424,"e":1E400,"nan":NaN,"s":"\\ud800x","l":[1.10,-0.0]}}}')
    assert exact_data_text(line) == ('{"n":12345678901234.123456789012,"big":1180591620717411303424,"e":1E400,'
                                     '"nan":NaN,"s":"\ufffdx","l":[1.10,-0.0]}').encode()


def test_failures_of_no_code_of_ours_are_classified_and_name_their_path():
    import errno
    import io
    import json as json_module

    from destination_databricks.messages import Output

    def trace(exc):
        out = io.StringIO()
        Output(out).error(exc)
        return json_module.loads(out.getvalue())["trace"]["error"]

    full = trace(OSError(errno.ENOSPC, "No space left on device", "/data/out/default/t/part-1.parquet"))
    assert full["failure_type"] == "system_error"
    assert full["message"] == ("A file operation failed at '/data/out/default/t/part-1.parquet': no space is left on "
                               "the device (No space left on device).")
    assert trace(PermissionError(errno.EACCES, "Permission denied", "/data"))["message"].endswith(
        "permission is denied (Permission denied).")
    assert trace(ConnectionResetError(104, "Connection reset by peer"))["failure_type"] == "transient_error"
    assert trace(ValueError("odd"))["message"] == "The connector failed: ValueError: odd"


def test_a_service_failure_that_outlasted_its_retries_is_transient():
    from destination_databricks.errors import SystemFailure, TransientFailure, service_failure

    class ClientError(Exception):  # as botocore reports a 503 after its own retries
        response = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}

    class HttpResponseError(Exception):  # as azure-core reports a 500
        status_code = 500

    class Denied(Exception):
        status_code = 403

    assert isinstance(service_failure("S3 upload failed", ClientError()), TransientFailure)
    assert isinstance(service_failure("Azure upload failed", HttpResponseError()), TransientFailure)
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as reset:
            raise RuntimeError("upload failed") from reset
    except RuntimeError as wrapped:
        assert isinstance(service_failure("wrapped", wrapped), TransientFailure)
    denied = service_failure("denied", Denied())
    assert isinstance(denied, SystemFailure) and not isinstance(denied, TransientFailure)
