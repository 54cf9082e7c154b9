"""Reading input lines: fast path, exact path for big integers and NaN, clear errors otherwise."""
import pytest

from destination_databricks.errors import InputError
from destination_databricks.messages import parse_line


def test_plain_line_uses_the_fast_parser():
    assert parse_line(b'{"type":"RECORD","record":{"data":{"a":1}}}', 1) == ({"type": "RECORD", "record": {"data": {"a": 1}}}, False)


def test_integers_beyond_64_bits_are_exact():
    message, exact = parse_line(b'{"a": 123456789012345678901234567890}', 1)
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


def test_timed_lines_split_blocks_into_lines_and_say_when_the_input_is_idle():
    import os
    import threading
    import time

    from destination_databricks.messages import IDLE, timed_lines

    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    got = []

    def consume():
        for item in timed_lines(reader, idle_seconds=0.05, block=7):
            got.append(item)

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


def test_timed_lines_join_a_line_longer_than_many_blocks_once():
    import os
    import threading

    from destination_databricks.messages import IDLE, timed_lines

    read_end, write_end = os.pipe()
    big = b'{"x":"' + b"a" * 3_000_000 + b'"}'

    def feed():
        os.write(write_end, b"first\n" + big + b"\nlast")
        os.close(write_end)

    threading.Thread(target=feed).start()
    with os.fdopen(read_end, "rb") as reader:
        assert [g for g in timed_lines(reader, idle_seconds=5, block=4096) if g is not IDLE] == [b"first", big, b"last"]


def test_lines_whose_numbers_orjson_would_alter_take_the_exact_path():
    from destination_databricks.messages import needs_exact

    for risky in (b'{"n":12345678901234.123456789012}', b'{"n":123456789012345678901}',
                  b'{"n":0.12345678901234567}'):
        assert needs_exact(risky), risky
    for plain in (b'{"n":1.5,"t":"2024-01-02T03:04:05.123456Z","id":12345678901234}', b'{"n":1e-05,"m":2.5E10}',
                  b'{"uuid":"123e4567-e89b-12d3-a456-426614174000","phone":"+1-555-555-5555"}'):
        assert not needs_exact(plain), plain


def test_the_exact_data_text_keeps_every_number_as_it_came():
    from destination_databricks.messages import exact_data_text

    line = (b'{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"n":12345678901234.123456789012,'
            b'"big":1180591620717411303424,"e":1E400,"nan":NaN,"s":"\\ud800x","l":[1.10,-0.0]}}}')
    assert exact_data_text(line) == ('{"n":12345678901234.123456789012,"big":1180591620717411303424,"e":1E400,'
                                     '"nan":NaN,"s":"\ufffdx","l":[1.10,-0.0]}').encode()
