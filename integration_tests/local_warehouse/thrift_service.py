"""TCLIService over HTTP: the protocol databricks-sql-connector speaks, executed on a Spark Connect session.

Statements run as they come; nothing is rewritten. Results go back as Arrow IPC batches.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

log = logging.getLogger("local_warehouse")
OK = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)
T = ttypes.TTypeId


def _type_entry(t: pa.DataType) -> ttypes.TTypeEntry:
    qualifiers = None
    if pa.types.is_boolean(t):
        tid = T.BOOLEAN_TYPE
    elif pa.types.is_int8(t):
        tid = T.TINYINT_TYPE
    elif pa.types.is_int16(t):
        tid = T.SMALLINT_TYPE
    elif pa.types.is_int32(t):
        tid = T.INT_TYPE
    elif pa.types.is_integer(t):
        tid = T.BIGINT_TYPE
    elif pa.types.is_float32(t):
        tid = T.FLOAT_TYPE
    elif pa.types.is_floating(t):
        tid = T.DOUBLE_TYPE
    elif pa.types.is_timestamp(t):
        tid = T.TIMESTAMP_TYPE
    elif pa.types.is_date(t):
        tid = T.DATE_TYPE
    elif pa.types.is_decimal(t):
        tid = T.DECIMAL_TYPE
        qualifiers = ttypes.TTypeQualifiers(qualifiers={
            "precision": ttypes.TTypeQualifierValue(i32Value=t.precision),
            "scale": ttypes.TTypeQualifierValue(i32Value=t.scale)})
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        tid = T.BINARY_TYPE
    elif pa.types.is_null(t):
        tid = T.NULL_TYPE
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        tid = T.ARRAY_TYPE
    elif pa.types.is_struct(t):
        tid = T.STRUCT_TYPE
    elif pa.types.is_map(t):
        tid = T.MAP_TYPE
    else:
        tid = T.STRING_TYPE
    return ttypes.TTypeEntry(primitiveEntry=ttypes.TPrimitiveTypeEntry(type=tid, typeQualifiers=qualifiers))


def _normalize(table: pa.Table) -> pa.Table:
    """View types as their classic forms, as a Databricks warehouse sends them."""
    fields = []
    for f in table.schema:
        if f.type == pa.string_view():
            f = f.with_type(pa.string())
        elif f.type == pa.binary_view():
            f = f.with_type(pa.binary())
        fields.append(f)
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)


def _parameter(p: ttypes.TSparkParameter) -> Any:
    kind = (p.type or "STRING").upper()
    value = p.value.stringValue if p.value is not None else None
    if value is None or kind == "VOID":
        return None
    if kind in ("INT", "BIGINT", "SMALLINT", "TINYINT"):
        return int(value)
    if kind in ("DOUBLE", "FLOAT"):
        return float(value)
    if kind == "BOOLEAN":
        return value.lower() == "true"
    if kind.startswith("DECIMAL"):
        return Decimal(value)
    if kind == "DATE":
        return dt.date.fromisoformat(value)
    if kind.startswith("TIMESTAMP"):
        return dt.datetime.fromisoformat(value)
    return value


class _Operation:
    def __init__(self, table: pa.Table | None, error: str | None, staging: bool = False):
        self.table = table
        self.error = error
        self.offset = 0
        self.staging = staging


class WarehouseService:
    """The TCLIService handler. One Spark Connect session, like one shared metastore."""

    def __init__(self, spark: Any, hooks: Any = None):
        self.spark = spark
        self.lock = threading.Lock()
        self.sessions: set[bytes] = set()
        self.operations: dict[bytes, _Operation] = {}
        self.hooks = hooks  # optional: statements the warehouse serves itself (volumes), see server.py
        self.statements: list[str] = []  # every statement received, for tests to inspect

    # sessions ---------------------------------------------------------------------------------
    def OpenSession(self, req):
        guid = uuid.uuid4().bytes
        self.sessions.add(guid)
        handle = ttypes.TSessionHandle(sessionId=ttypes.THandleIdentifier(guid=guid, secret=uuid.uuid4().bytes))
        return ttypes.TOpenSessionResp(
            status=OK, serverProtocolVersion=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7,
            sessionHandle=handle, canUseMultipleCatalogs=True, initialNamespace=req.initialNamespace,
            configuration={})

    def CloseSession(self, req):
        self.sessions.discard(req.sessionHandle.sessionId.guid)
        return ttypes.TCloseSessionResp(status=OK)

    def GetInfo(self, req):
        return ttypes.TGetInfoResp(status=OK, infoValue=ttypes.TGetInfoValue(stringValue="local-warehouse"))

    # statements -------------------------------------------------------------------------------
    def _run(self, statement: str, args: dict) -> _Operation:
        self.statements.append(statement)
        if self.hooks is not None:
            served = self.hooks(statement)
            if served is not None:
                return _Operation(served, None, staging=True)
        try:
            with self.lock:
                frame = self.spark.sql(statement, args=args) if args else self.spark.sql(statement)
                table = frame.toArrow()
            return _Operation(_normalize(table), None)
        except Exception as exc:  # the engine's error goes back to the client as a failed operation
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.info("statement failed: %s -> %s", statement[:200], message)
            return _Operation(None, message)

    def ExecuteStatement(self, req):
        if req.sessionHandle.sessionId.guid not in self.sessions:
            return ttypes.TExecuteStatementResp(status=ttypes.TStatus(
                statusCode=ttypes.TStatusCode.INVALID_HANDLE_STATUS, errorMessage="Invalid SessionHandle"))
        args = {p.name: _parameter(p) for p in (req.parameters or []) if p.name}
        operation = self._run(req.statement, args)
        guid = uuid.uuid4().bytes
        self.operations[guid] = operation
        handle = ttypes.TOperationHandle(
            operationId=ttypes.THandleIdentifier(guid=guid, secret=b"0" * 16),
            operationType=ttypes.TOperationType.EXECUTE_STATEMENT, hasResultSet=operation.table is not None)
        direct = None
        if req.getDirectResults is not None:
            status = self._status(operation)
            if operation.error is not None:
                direct = ttypes.TSparkDirectResults(operationStatus=status)
            else:
                direct = ttypes.TSparkDirectResults(
                    operationStatus=status, resultSetMetadata=self._metadata(operation),
                    resultSet=self._fetch(operation, req.getDirectResults.maxRows or 100000))
        return ttypes.TExecuteStatementResp(status=OK, operationHandle=handle, directResults=direct)

    def _status(self, operation: _Operation) -> ttypes.TGetOperationStatusResp:
        if operation.error is not None:
            return ttypes.TGetOperationStatusResp(
                status=OK, operationState=ttypes.TOperationState.ERROR_STATE, errorMessage=operation.error,
                displayMessage=operation.error, sqlState="42000", hasResultSet=False)
        return ttypes.TGetOperationStatusResp(
            status=OK, operationState=ttypes.TOperationState.FINISHED_STATE, hasResultSet=True,
            numModifiedRows=None)

    def _operation(self, handle) -> _Operation | None:
        return self.operations.get(handle.operationId.guid)

    def GetOperationStatus(self, req):
        operation = self._operation(req.operationHandle)
        if operation is None:
            return ttypes.TGetOperationStatusResp(status=OK, operationState=ttypes.TOperationState.CLOSED_STATE)
        return self._status(operation)

    def _metadata(self, operation: _Operation) -> ttypes.TGetResultSetMetadataResp:
        schema = operation.table.schema
        columns = [ttypes.TColumnDesc(columnName=f.name, typeDesc=ttypes.TTypeDesc(types=[_type_entry(f.type)]), position=i + 1)
                   for i, f in enumerate(schema)]
        return ttypes.TGetResultSetMetadataResp(
            status=OK, schema=ttypes.TTableSchema(columns=columns),
            resultFormat=ttypes.TSparkRowSetType.ARROW_BASED_SET, lz4Compressed=False,
            arrowSchema=schema.serialize().to_pybytes(), isStagingOperation=operation.staging)

    def GetResultSetMetadata(self, req):
        return self._metadata(self._operation(req.operationHandle))

    def _fetch(self, operation: _Operation, max_rows: int) -> ttypes.TFetchResultsResp:
        start = operation.offset
        chunk = operation.table.slice(start, max(1, max_rows))
        operation.offset = start + chunk.num_rows
        batches = [ttypes.TSparkArrowBatch(batch=b.serialize().to_pybytes(), rowCount=b.num_rows)
                   for b in chunk.to_batches()]
        return ttypes.TFetchResultsResp(
            status=OK, hasMoreRows=operation.offset < operation.table.num_rows,
            results=ttypes.TRowSet(startRowOffset=start, rows=[], arrowBatches=batches),
            resultSetMetadata=self._metadata(operation))

    def FetchResults(self, req):
        operation = self._operation(req.operationHandle)
        if operation is None or operation.table is None:
            return ttypes.TFetchResultsResp(status=ttypes.TStatus(
                statusCode=ttypes.TStatusCode.INVALID_HANDLE_STATUS, errorMessage="Invalid OperationHandle"))
        return self._fetch(operation, req.maxRows or 100000)

    def CloseOperation(self, req):
        self.operations.pop(req.operationHandle.operationId.guid, None)
        return ttypes.TCloseOperationResp(status=OK)

    def CancelOperation(self, req):
        return ttypes.TCancelOperationResp(status=OK)


class ThriftHttpServer(ThreadingHTTPServer):
    """POST bodies are TBinaryProtocol calls; a bearer token guards every request."""

    daemon_threads = True

    def __init__(self, address, service: WarehouseService, authenticate):
        self.processor = TCLIService.Processor(service)
        self.authenticate = authenticate  # Authorization header → None if accepted, else (code, reason)
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        refusal = self.server.authenticate(self.headers.get("Authorization"))
        if refusal is not None:
            code, reason = refusal
            self.send_response(code)
            self.send_header("x-databricks-reason-phrase", reason)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        itrans = TTransport.TMemoryBuffer(body)
        otrans = TTransport.TMemoryBuffer()
        self.server.processor.process(TBinaryProtocol.TBinaryProtocol(itrans), TBinaryProtocol.TBinaryProtocol(otrans))
        out = otrans.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-thrift")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
