"""STATE bookkeeping: released only once the records before it are committed, in order, with counts."""
import json

from destination_databricks.checkpoint import Checkpoints
from destination_databricks.naming import StreamKey

A, B = StreamKey(None, "a"), StreamKey("ns", "b")


def stream_state(key, value):
    descriptor = {"name": key.name, **({"namespace": key.namespace} if key.namespace else {})}
    return {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": descriptor, "stream_state": {"v": value}}}}


def global_state(value):
    return {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"v": value}}}}


def as_line(message) -> bytes:
    return json.dumps(message).encode()


def values(lines):
    state = [json.loads(line)["state"] for line in lines]
    return [s.get("stream", {}).get("stream_state", {}).get("v") or s.get("global", {}).get("shared_state", {}).get("v") for s in state]


def test_stream_state_waits_for_its_records():
    c = Checkpoints()
    c.received(as_line(stream_state(A, 1)), {A: 5})
    assert c.release() == []
    c.commit(A, 4)
    assert c.release() == []
    c.commit(A, 5)
    (line,) = c.release()
    assert json.loads(line)["state"]["destinationStats"] == {"recordCount": 5.0}
    assert c.pending == 0


def test_state_with_no_new_records_is_released_at_once():
    c = Checkpoints()
    c.received(as_line(stream_state(A, 1)), {})
    assert values(c.release()) == [1]


def test_stream_state_does_not_wait_for_other_streams_but_keeps_its_own_order():
    c = Checkpoints()
    c.received(as_line(stream_state(B, "b1")), {B: 3})
    c.received(as_line(stream_state(A, "a1")), {A: 2, B: 3})
    c.received(as_line(stream_state(B, "b2")), {A: 2, B: 4})
    c.commit(A, 2)
    assert values(c.release()) == ["a1"]
    c.commit(B, 4)
    assert values(c.release()) == ["b1", "b2"]


def test_global_state_waits_for_every_stream_and_for_earlier_states():
    c = Checkpoints()
    c.received(as_line(global_state(1)), {A: 2, B: 1})
    c.commit(A, 2)
    assert c.release() == []
    c.commit(B, 1)
    assert values(c.release()) == [1]


def test_stream_state_cannot_pass_a_waiting_global_state():
    c = Checkpoints()
    c.received(as_line(global_state("g")), {A: 1, B: 1})
    c.received(as_line(stream_state(A, "a")), {A: 1, B: 1})
    c.commit(A, 1)
    assert c.release() == []
    c.commit(B, 1)
    assert values(c.release()) == ["g", "a"]


def test_record_counts_are_per_stream_since_its_last_state_and_global_since_any():
    c = Checkpoints()
    c.received(as_line(stream_state(A, 1)), {A: 3})
    c.received(as_line(stream_state(B, 1)), {A: 3, B: 2})
    c.received(as_line(stream_state(A, 2)), {A: 10, B: 2})
    c.received(as_line(global_state(3)), {A: 11, B: 4})
    c.commit(A, 11)
    c.commit(B, 4)
    assert [json.loads(m)["state"]["destinationStats"]["recordCount"] for m in c.release()] == [3.0, 2.0, 7.0, 15.0]


def test_existing_destination_stats_are_kept():
    c = Checkpoints()
    message = stream_state(A, 1)
    message["state"]["destinationStats"] = {"other": 1}
    c.received(as_line(message), {})
    assert json.loads(c.release()[0])["state"]["destinationStats"] == {"other": 1, "recordCount": 0.0}


def test_legacy_state_is_global():
    c = Checkpoints()
    c.received(as_line({"type": "STATE", "state": {"data": {"cursor": 1}}}), {A: 1})
    assert c.release() == []
    c.commit(A, 1)
    assert json.loads(c.release()[0])["state"]["data"] == {"cursor": 1}


def test_a_cursor_beyond_64_bits_is_released_exactly():
    c = Checkpoints()
    c.received(as_line(stream_state(A, 2**70)), {})
    (line,) = c.release()
    assert '"v":1180591620717411303424' in line and json.loads(line)["state"]["stream"]["stream_state"]["v"] == 2**70


def test_a_state_leaves_value_for_value_as_it_came():
    # orjson would round the first two cursors, write 1e400 and NaN as null, and the lone surrogate as U+FFFD.
    text = ('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":'
            '{"big":123456789012345678.5,"ts":1700000000.123456789,"huge":1e400,"nan":NaN,"neg":-Infinity,'
            '"s":"\\ud800 caf\u00e9 \u00e9","int":1180591620717411303424,"zero":-0.0,"list":[1.10,{"x":null}]}}}}')
    c = Checkpoints()
    c.received(text.encode(), {})
    (out,) = c.release()
    assert out.startswith('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},'
                          '"stream_state":{"big":123456789012345678.5,"ts":1700000000.123456789,"huge":1e400,'
                          '"nan":NaN,"neg":-Infinity,"s":"\\ud800 caf\u00e9 \u00e9","int":1180591620717411303424,'
                          '"zero":-0.0,"list":[1.10,{"x":null}]}}')
    assert out.endswith(',"destinationStats":{"recordCount":0.0}}}')
