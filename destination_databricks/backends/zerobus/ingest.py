"""One Zerobus Arrow Flight stream per table, through the official SDK (`databricks-zerobus-ingest-sdk`): opened at
a table's first batch, at most ``limit`` open at once (the least recently used one is flushed and closed to make
room), all closed at the end. A batch is sent as it is built; ``wait`` returns once the server acknowledged it
durable. The SDK recovers a stream the server closed or reset, or one not acknowledged in time, within the sync's
retry budget; a failure it gives up on ends the sync naming Zerobus and the table."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

from ... import identity
from ...errors import ConnectorError, TransientFailure, first_line, service_failure
from ...messages import protect_stdout
from ...retries import RetryBudget

T = TypeVar("T")
RECOVERY_SECONDS = 15.0  # one recovery attempt's limit (the SDK's default)
IN_FLIGHT = 16  # messages a stream sends before their acks: a send waits beyond (memory stays bounded per stream)


@dataclass(eq=False)
class _Stream:
    name: str  # the table's three-part name
    schema: pa.Schema
    sdk_stream: Any
    closed: bool = False  # flushed and closed by us: every batch sent on it was acknowledged


@dataclass(frozen=True)
class Sent:
    """Where a table's batches stand: everything up to ``offset`` on ``stream`` (None: nothing sent)."""

    stream: _Stream | None
    offset: int = -1


def endpoint_url(endpoint: str) -> str:
    """The config's endpoint as the SDK takes it: a host is reached over TLS; http:// (a local server) is kept."""
    return endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"


class Streams:
    def __init__(self, endpoint: str, workspace_url: str, client_id: str, client_secret: str, limit: int,
                 budget: RetryBudget):
        os.environ.setdefault("RUST_LOG", "warn")  # the SDK's native core logs at INFO by default…
        protect_stdout()  # …to file descriptor 1: sent to stderr, away from the protocol's messages
        from zerobus.sdk.shared.arrow import ArrowStreamConfigurationOptions
        from zerobus.sdk.sync import ZerobusSdk

        self._sdk = ZerobusSdk(endpoint_url(endpoint), workspace_url, application_name=identity.user_agent_entry())
        self._credentials = (client_id, client_secret)
        self._options = ArrowStreamConfigurationOptions(
            max_inflight_batches=IN_FLIGHT,  # (the SDK's default, 1,000, held ~600 MB of one fast stream's batches)
            recovery=True, recovery_timeout_ms=int(RECOVERY_SECONDS * 1000), recovery_retries=budget.attempts,
            recovery_backoff_ms=int(budget.backoff_seconds * 1000),
            flush_timeout_ms=int(max(budget.max_seconds, 60) * 1000))
        self._limit = limit
        # How long opening a stream may take, its recovery attempts included (a server that takes the call and never
        # answers held the SDK's create call for good: no timeout of its own covers that).
        self._open_seconds = budget.attempts * (RECOVERY_SECONDS + budget.backoff_seconds) + 30
        self._open: OrderedDict[str, _Stream] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def send(self, name: str, batch: pa.RecordBatch) -> Sent:
        """Send one batch to the table ``name`` (one writer thread sends); where the table's batches stand now."""
        stream = self._stream(name, batch.schema)
        offset = _call(lambda: stream.sdk_stream.ingest_batch(batch), f"send a batch of {batch.num_rows} records to", name)
        return Sent(stream, offset)

    def wait(self, sent: Sent) -> None:
        """Return once everything up to ``sent`` is acknowledged durable (any thread)."""
        stream = sent.stream
        if stream is None or stream.closed:
            return
        try:
            stream.sdk_stream.wait_for_offset(sent.offset)
        except Exception as exc:
            if not stream.closed:  # (closed by us meanwhile: it was flushed, so the offset was acknowledged)
                raise _failure("have the records acknowledged by", stream.name, exc) from None

    def probe(self, name: str, schema: pa.Schema) -> None:
        """Open a stream on the table ``name`` and close it (`check`)."""
        self._close(self._stream(name, schema))
        with self._lock:
            self._open.pop(name, None)

    def close(self, flush: bool = True) -> None:
        """Close every stream: flushed first (``flush``), else dropped (the sync failed; nothing waits on them)."""
        with self._lock:
            streams, self._open = list(self._open.values()), OrderedDict()
        failures = []
        for stream in streams:
            try:
                self._close(stream) if flush else stream.sdk_stream.close()
            except Exception as exc:
                failures.append(exc)
        if failures and flush:
            raise failures[0]

    def _stream(self, name: str, schema: pa.Schema) -> _Stream:
        with self._lock:
            stream = self._open.get(name)
            if stream is not None and stream.schema.equals(schema):
                self._open.move_to_end(name)
                return stream
            retired = [self._open.pop(name)] if stream is not None else []
            while len(self._open) >= self._limit:
                retired.append(self._open.popitem(last=False)[1])
        for old in retired:
            self._close(old)
        client_id, secret = self._credentials
        opened = _within(self._open_seconds, lambda: self._sdk.create_arrow_stream(name, schema, client_id, secret,
                                                                                   self._options), name)
        stream = _Stream(name, schema, opened)
        with self._lock:
            self._open[name] = stream
        return stream

    @staticmethod
    def _close(stream: _Stream) -> None:
        _call(stream.sdk_stream.flush, "have the records acknowledged by", stream.name)
        stream.closed = True
        _call(stream.sdk_stream.close, "close the stream on", stream.name)


def _failure(what: str, name: str, exc: BaseException) -> BaseException:
    if isinstance(exc, ConnectorError):
        return exc
    return service_failure(f"Zerobus Ingest failed to {what} the table {name}: {first_line(exc)}", exc)


def _within(seconds: float, call: Callable[[], T], name: str) -> T:
    """``call`` (opening a stream on ``name``), given up after ``seconds`` (its thread is left behind: the SDK's call
    cannot be cancelled; the sync ends)."""
    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer["value"] = call()
        except BaseException as exc:
            answer["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name="zerobus-open")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TransientFailure(f"Zerobus Ingest failed to open a stream on the table {name}: no answer in {seconds:.0f} s.")
    if "error" in answer:
        raise _failure("open a stream on", name, answer["error"])
    return answer["value"]


def _call(call: Callable[[], T], what: str, name: str) -> T:
    try:
        return call()
    except Exception as exc:
        raise _failure(what, name, exc) from None
