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
