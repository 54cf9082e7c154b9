"""Zerobus Ingest as the local warehouse serves it: the public gRPC service `databricks.zerobus.Zerobus` (its
EphemeralStream: create a stream on a table, ingest JSON or Avro record batches, durability acks, a close
signal) and the Arrow Flight endpoint (`arrow.flight.protocol.FlightService/DoPut`: Arrow record batches, acked
with JSON `{"ack_up_to_offset", "ack_up_to_records"}` in each PutResult's app_metadata after a "ready" one), in
plaintext on 127.0.0.1, for the official SDK (`databricks-zerobus-ingest-sdk`) to talk to.

Messages are built from descriptors written here (field names and numbers as the service defines them), so no
protoc step is needed. A stream needs a token the warehouse's OIDC endpoint issued (the SDK asks for one with
its authorization details) and an existing table; each batch is appended to the table, through the engine,
before its ack. Faults for tests (`POST /_local/zerobus`): refuse the next streams, end a stream after N
batches (a reset, or a close signal first), delay acks, take streams and never answer them.
"""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field

import pyarrow as pa

SERVICE = "databricks.zerobus.Zerobus"
FLIGHT = "arrow.flight.protocol.FlightService"
_PACKAGE = "databricks.zerobus"
MAX_MESSAGE_BYTES = 64 << 20
MAX_STREAMS = 512  # streams served at once (each holds a server thread while it is open: a 17th waited forever at 16)
RECORD_TYPES = {0: "RECORD_TYPE_UNSPECIFIED", 1: "PROTO", 2: "JSON", 4: "AVRO"}


def _flight_messages() -> tuple[type, type]:
    """Arrow Flight's FlightData and PutResult message classes (the fields DoPut uses)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field_type = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field_type.LABEL_OPTIONAL, field_type.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(name="local_flight.proto", package="arrow.flight.protocol", syntax="proto3")
    descriptor = file.message_type.add(name="FlightDescriptor")
    descriptor.field.add(name="type", number=1, type=field_type.TYPE_INT32, label=optional)
    descriptor.field.add(name="cmd", number=2, type=field_type.TYPE_BYTES, label=optional)
    descriptor.field.add(name="path", number=3, type=field_type.TYPE_STRING, label=repeated)
    data = file.message_type.add(name="FlightData")
    data.field.add(name="flight_descriptor", number=1, type=field_type.TYPE_MESSAGE, label=optional,
                   type_name=".arrow.flight.protocol.FlightDescriptor")
    for name, number in (("data_header", 2), ("app_metadata", 3), ("data_body", 1000)):
        data.field.add(name=name, number=number, type=field_type.TYPE_BYTES, label=optional)
    file.message_type.add(name="PutResult").field.add(name="app_metadata", number=1, type=field_type.TYPE_BYTES,
                                                       label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(file.SerializeToString())
    return tuple(message_factory.GetMessageClass(pool.FindMessageTypeByName(f"arrow.flight.protocol.{name}"))  # type: ignore[return-value]
                 for name in ("FlightData", "PutResult"))


def _ipc_message(header: bytes, body: bytes) -> pa.ipc.Message:
    """A FlightData's IPC message (its flatbuffer header and body), as Arrow's stream format frames it."""
    padded = header + b"\x00" * (-len(header) % 8)
    framed = b"\xff\xff\xff\xff" + len(padded).to_bytes(4, "little") + padded + body
    return pa.ipc.read_message(pa.py_buffer(framed))


def _messages() -> tuple[type, type]:
    """The EphemeralStream request and response message classes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory

    field_type = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field_type.LABEL_OPTIONAL, field_type.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(name="local_zerobus.proto", package=_PACKAGE, syntax="proto2",
                                              dependency=["google/protobuf/duration.proto"])
    kinds = file.enum_type.add(name="RecordType")
    for number, name in RECORD_TYPES.items():
        kinds.value.add(name=name, number=number)

    def message(name: str, fields: list[tuple], oneof: str | None = None) -> None:
        made = file.message_type.add(name=name)
        if oneof:
            made.oneof_decl.add(name=oneof)
        for spec in fields:
            fname, number, ftype = spec[:3]
            entry = made.field.add(name=fname, number=number, type=ftype,
                                   label=repeated if "repeated" in spec[3:] else optional)
            typed = [s for s in spec[3:] if s.startswith(".")]
            if typed:
                entry.type_name = typed[0]
            if "choice" in spec[3:]:
                entry.oneof_index = 0

    string, bytes_, int64 = field_type.TYPE_STRING, field_type.TYPE_BYTES, field_type.TYPE_INT64
    nested, enum = field_type.TYPE_MESSAGE, field_type.TYPE_ENUM
    for batch, kind in (("JsonRecordBatch", string), ("ProtoEncodedRecordBatch", bytes_), ("AvroRecordBatch", bytes_)):
        message(batch, [("records", 1, kind, "repeated")])
    message("CreateIngestStreamRequest", [("table_name", 1, string), ("descriptor_proto", 3, bytes_),
                                          ("record_type", 4, enum, f".{_PACKAGE}.RecordType"),
                                          ("avro_schema_json", 5, string)])
    message("CreateIngestStreamResponse", [("stream_id", 1, string)])
    message("IngestRecordRequest", [("offset_id", 1, int64), ("proto_encoded_record", 2, bytes_, "choice"),
                                    ("json_record", 3, string, "choice"), ("avro_encoded_record", 4, bytes_, "choice")],
            oneof="record")
    message("IngestRecordBatchRequest", [
        ("offset_id", 1, int64), ("proto_encoded_batch", 2, nested, f".{_PACKAGE}.ProtoEncodedRecordBatch", "choice"),
        ("json_batch", 3, nested, f".{_PACKAGE}.JsonRecordBatch", "choice"),
        ("avro_batch", 4, nested, f".{_PACKAGE}.AvroRecordBatch", "choice")], oneof="batch")
    message("EphemeralStreamRequest", [
        ("create_stream", 1, nested, f".{_PACKAGE}.CreateIngestStreamRequest", "choice"),
        ("ingest_record", 2, nested, f".{_PACKAGE}.IngestRecordRequest", "choice"),
        ("ingest_record_batch", 3, nested, f".{_PACKAGE}.IngestRecordBatchRequest", "choice")], oneof="payload")
    message("IngestRecordResponse", [("durability_ack_up_to_offset", 1, int64)])
    message("CloseStreamSignal", [("duration", 1, nested, ".google.protobuf.Duration")])
    message("EphemeralStreamResponse", [
        ("create_stream_response", 1, nested, f".{_PACKAGE}.CreateIngestStreamResponse", "choice"),
        ("ingest_record_response", 2, nested, f".{_PACKAGE}.IngestRecordResponse", "choice"),
        ("close_stream_signal", 3, nested, f".{_PACKAGE}.CloseStreamSignal", "choice")], oneof="payload")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(duration_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(file.SerializeToString())
    return tuple(message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))  # type: ignore[return-value]
                 for name in ("EphemeralStreamRequest", "EphemeralStreamResponse"))


@dataclass
class Faults:
    """What the next streams suffer (tests set these through `POST /_local/zerobus`)."""

    refuse: int = 0  # streams refused at creation (UNAVAILABLE), then accepted
    end_after: int = 0  # the next stream ends after this many batches (0: never): reset, or a close signal first
    close_signal: bool = False
    ack_delay_seconds: float = 0.0
    stall: int = 0  # streams taken and never answered (until their client goes away), then answered


@dataclass
class Counts:
    streams: int = 0
    batches: int = 0
    rows: int = 0
    refused: list = field(default_factory=list)  # (table, reason)
    user_agents: list = field(default_factory=list)
    append_seconds: float = 0.0  # spent appending batches to their tables (before their acks)


class ZerobusServer:
    def __init__(self, append: Callable[[str, list[dict] | pa.RecordBatch], None], accepted: Callable[[str | None], bool],
                 table_exists: Callable[[str], bool]):
        """``append``: adds rows (dicts, or an Arrow batch) to a table (a three-part name), durably, before the ack;
        ``accepted``: whether an Authorization header's token is one the warehouse issued; ``table_exists``: whether a
        table is there."""
        import grpc

        self.append, self.accepted, self.table_exists = append, accepted, table_exists
        self.faults, self.counts = Faults(), Counts()
        self._lock = threading.Lock()
        self._request, self._response = _messages()
        self._flight_data, self._put_result = _flight_messages()
        handler = grpc.method_handlers_generic_handler(SERVICE, {"EphemeralStream": grpc.stream_stream_rpc_method_handler(
            self._stream, request_deserializer=self._request.FromString,
            response_serializer=self._response.SerializeToString)})
        flight = grpc.method_handlers_generic_handler(FLIGHT, {"DoPut": grpc.stream_stream_rpc_method_handler(
            self._do_put, request_deserializer=self._flight_data.FromString,
            response_serializer=self._put_result.SerializeToString)})
        # (gRPC's default 4 MiB per message would refuse one 10 MB record; the service's own limit is not known here)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_STREAMS, thread_name_prefix="zerobus"),
                                   options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)])
        self._server.add_generic_rpc_handlers((handler, flight))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_faults(self, given: dict) -> None:
        with self._lock:
            self.faults = Faults(**given)

    def stats(self) -> dict:
        c = self.counts
        return {"streams": c.streams, "batches": c.batches, "rows": c.rows, "refused": c.refused,
                "user_agents": c.user_agents, "append_seconds": round(c.append_seconds, 3)}

    def stop(self) -> None:
        self._server.stop(grace=None)

    def _refuse(self, context, code, table: str, reason: str):
        self.counts.refused.append((table, reason))
        context.abort(code, reason)

    def _stream(self, requests: Iterator, context) -> Iterator:
        import grpc

        table = dict(context.invocation_metadata()).get("x-databricks-zerobus-table-name", "")
        faults = self._opened(context, table)
        end_after = faults.end_after
        context.send_initial_metadata(())  # the SDK waits for the answer's headers before it sends the stream's first message
        decode: Callable[[object], list[dict]] | None = None
        batches = 0
        for request in requests:
            kind = request.WhichOneof("payload")
            if kind == "create_stream":
                create = request.create_stream
                table = create.table_name
                if not self.table_exists(table):
                    self._refuse(context, grpc.StatusCode.NOT_FOUND, table, f"Table {table} does not exist.")
                decode = _decoder(create)
                if decode is None:
                    self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, table,
                                 f"Record type {RECORD_TYPES.get(create.record_type)} is not served here.")
                self.counts.streams += 1
                yield self._response(create_stream_response={"stream_id": uuid.uuid4().hex})
                continue
            if decode is None:
                self._refuse(context, grpc.StatusCode.FAILED_PRECONDITION, table, "The first message must create the stream.")
            offset, rows = _rows(request, kind, decode)
            try:
                self.append(table, rows)
            except Exception as exc:  # a record the table cannot take: the stream ends, as the service's does
                self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, table, f"Records not ingested: {exc}")
            self.counts.batches += 1
            self.counts.rows += len(rows)
            if faults.ack_delay_seconds:
                time.sleep(faults.ack_delay_seconds)
            yield self._response(ingest_record_response={"durability_ack_up_to_offset": offset})
            batches += 1
            if end_after and batches >= end_after:
                if faults.close_signal:
                    yield self._response(close_stream_signal={"duration": {"seconds": 0}})
                self._refuse(context, grpc.StatusCode.UNAVAILABLE, table, "Stream ended on request (/_local/zerobus).")


    def _opened(self, context, table: str) -> Faults:
        """A new stream's checks (token, refusal on request); the faults it runs with."""
        import grpc

        metadata = dict(context.invocation_metadata())
        self.counts.user_agents.append(metadata.get("user-agent", ""))
        if not self.accepted(metadata.get("authorization")):
            self._refuse(context, grpc.StatusCode.UNAUTHENTICATED, table, "The token was not issued by this workspace.")
        with self._lock:
            faults = Faults(**vars(self.faults))
            refused = self.faults.refuse > 0
            self.faults.refuse -= 1 if refused else 0
            stalled = self.faults.stall > 0
            self.faults.stall -= 1 if stalled else 0
            self.faults.end_after = 0
        if refused:
            self._refuse(context, grpc.StatusCode.UNAVAILABLE, table, "Refused on request (/_local/zerobus).")
        while stalled and context.is_active():  # no answer at all, not even headers
            time.sleep(0.2)
        return faults

    def _do_put(self, requests: Iterator, context) -> Iterator:
        """An Arrow stream: the schema first (then "ready"), then record batches, appended and acked with the
        records durable so far. The batches that arrived while the last append ran are appended together, in one
        commit (a group commit: a client with several batches in flight gets one ack up to the last of them)."""
        import grpc

        table = dict(context.invocation_metadata()).get("x-databricks-zerobus-table-name", "")
        faults = self._opened(context, table)
        context.send_initial_metadata(())
        arrived = _read_ahead(requests)
        first = arrived.get()
        if first is _END:
            return
        if not self.table_exists(table):
            self._refuse(context, grpc.StatusCode.NOT_FOUND, table, f"Table {table} does not exist.")
        schema = pa.ipc.read_schema(_ipc_message(first.data_header, first.data_body))
        self.counts.streams += 1
        yield self._put_result(app_metadata=json.dumps({"ack_up_to_offset": -1, "ack_up_to_records": 0}).encode())
        records = batches = 0
        while True:
            group = _waiting(arrived)
            if not group:
                return
            parts = [pa.ipc.read_record_batch(_ipc_message(d.data_header, d.data_body), schema) for d in group]
            offset = json.loads(group[-1].app_metadata)["offset_id"]
            started = time.perf_counter()
            try:
                self.append(table, pa.Table.from_batches(parts, schema=schema).combine_chunks().to_batches()[0])
            except Exception as exc:
                self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, table, f"Records not ingested: {exc}")
            rows = sum(part.num_rows for part in parts)
            records += rows
            self.counts.append_seconds += time.perf_counter() - started
            self.counts.batches += len(parts)
            self.counts.rows += rows
            if faults.ack_delay_seconds:
                time.sleep(faults.ack_delay_seconds)
            yield self._put_result(app_metadata=json.dumps({"ack_up_to_offset": offset, "ack_up_to_records": records}).encode())
            batches += len(parts)
            if faults.end_after and batches >= faults.end_after:
                self._refuse(context, grpc.StatusCode.UNAVAILABLE, table, "Stream ended on request (/_local/zerobus).")


_END = object()


def _read_ahead(requests: Iterator) -> queue.Queue:
    """The stream's messages as they arrive, read on a thread of their own (ending with _END)."""
    arrived: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for data in requests:
                arrived.put(data)
        except Exception:  # the client went away: the stream ends
            pass
        arrived.put(_END)

    threading.Thread(target=read, daemon=True, name="zerobus-read").start()
    return arrived


def _waiting(arrived: queue.Queue) -> list:
    """The next message (waiting for it) and those already waiting behind it; [] at the stream's end."""
    first = arrived.get()
    if first is _END:
        return []
    group = [first]
    while True:
        try:
            more = arrived.get_nowait()
        except queue.Empty:
            return group
        if more is _END:
            arrived.put(_END)
            return group
        group.append(more)


def _decoder(create) -> Callable[[object], list[dict]] | None:
    """How a stream's records become rows: JSON objects, or Avro datums of the stream's writer schema."""
    if create.record_type == 2:
        return lambda records: [json.loads(r) for r in records]
    if create.record_type == 4 and create.avro_schema_json:
        import io

        import fastavro

        schema = fastavro.parse_schema(json.loads(create.avro_schema_json))
        return lambda records: [fastavro.schemaless_reader(io.BytesIO(r), schema, None) for r in records]
    return None


def _rows(request, kind: str, decode: Callable) -> tuple[int, list[dict]]:
    if kind == "ingest_record":
        record = request.ingest_record
        one = getattr(record, record.WhichOneof("record"))
        return record.offset_id, decode([one])
    batch = request.ingest_record_batch
    return batch.offset_id, decode(list(getattr(batch, batch.WhichOneof("batch")).records))


def _ref(table: str) -> str:
    return ".".join(f"`{part}`" for part in table.split("."))


class Appender:
    """Rows (dicts, or an Arrow batch) → a table, typed as its columns (a column the rows lack is null). An Arrow batch
    is appended to the table's Delta log at its location by delta-rs (one commit, tens of milliseconds, as a service
    that writes files itself would); JSON and Avro rows by one INSERT through the engine."""

    def __init__(self, spark, lock: threading.Lock):
        self.spark, self.lock = spark, lock

    def __call__(self, table: str, rows: list[dict] | pa.RecordBatch) -> None:
        if isinstance(rows, pa.RecordBatch):
            return self._append_arrow(table, rows)
        with self.lock:
            schema = self.spark.sql(f"SELECT * FROM {_ref(table)} LIMIT 0").toArrow().schema
        self._insert(table, pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema))

    def _insert(self, table: str, data: pa.Table) -> None:
        """One INSERT of ``data`` (the table's columns) through the engine."""
        with self.lock:
            view = f"_zerobus_{uuid.uuid4().hex}"
            self.spark.createDataFrame(data).createOrReplaceTempView(view)
            try:
                self.spark.sql(f"INSERT INTO {_ref(table)} SELECT * FROM `{view}`").collect()
            finally:
                self.spark.sql(f"DROP VIEW IF EXISTS `{view}`").collect()

    def _append_arrow(self, table: str, batch: pa.RecordBatch) -> None:
        from deltalake import write_deltalake

        location, target = self._table(table)
        data = pa.Table.from_arrays([batch.column(f.name).cast(f.type) if f.name in batch.schema.names
                                     else pa.nulls(batch.num_rows, f.type) for f in target], schema=target)
        try:
            write_deltalake(location, data, mode="append")
        except Exception as exc:  # a table feature delta-rs cannot write (type widening): through the engine
            if "Unsupported table features" not in str(exc):
                raise
            self._insert(table, data)

    def _table(self, table: str) -> tuple[str, pa.Schema]:
        """The table's location and columns now (looked up for every append: a table retyped or replaced since the
        last one may have other columns, or another folder)."""
        from deltalake import DeltaTable

        catalog, schema, name = table.split(".")
        with self.lock:  # (the engine's session is shared: one caller at a time)
            listed = self.spark.sql(f"SHOW TABLE EXTENDED IN `{catalog}`.`{schema}` LIKE '{name}'").toArrow().to_pylist()
        info = next((row["information"] for row in listed if row["tableName"].lower() == name.lower()), "")
        location = next((line[len("Location: "):] for line in info.split("\n") if line.startswith("Location: ")), None)
        if location is None:
            raise ValueError(f"table {table} has no location")
        return location, pa.schema(DeltaTable(location).schema().to_arrow())
