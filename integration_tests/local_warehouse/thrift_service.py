"""TCLIService over HTTP: the protocol databricks-sql-connector speaks, executed on a Spark Connect session.

Statements run as they come; nothing is rewritten. Results go back as Arrow IPC batches.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

from . import workspace

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
    def __init__(self, table: pa.Table | None, error: str | None):
        self.table = table
        self.error = error
        self.offset = 0


CONCURRENT_APPEND = ("[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: Files were added to the root of the table "
                     "by a concurrent update. Please try the operation again.")


# Liquid clustering (CREATE TABLE … CLUSTER BY (cols) or AUTO, ALTER TABLE … CLUSTER BY) is a layout choice the
# engine cannot make, and it refuses a table COMMENT in CREATE TABLE … AS SELECT and any change of an existing
# table's or column's comment; the stand-in leaves these out (an ALTER … CLUSTER BY, ALTER COLUMN … COMMENT or
# COMMENT ON TABLE does nothing) and counts them, so the rest runs (their text is tested:
# unit_tests/test_sql_text.py; docs/local-warehouse.md lists them).
_LIQUID_CLUSTERING = re.compile(r"(?<= USING DELTA) CLUSTER BY (?:AUTO|\((?:`(?:[^`]|``)*`(?:, )?)+\))")
_CTAS_COMMENT = re.compile(r" COMMENT '(?:[^'\\]|\\.)*'(?= AS )")
_NAME = r"`(?:[^`]|``)*`\.`(?:[^`]|``)*`\.`(?:[^`]|``)*`"
_UNRUN = re.compile(rf"ALTER TABLE {_NAME} (?:CLUSTER BY |ALTER COLUMN `(?:[^`]|``)*` COMMENT )|COMMENT ON TABLE {_NAME} IS ")


# read_files(path, format => …, schema => …, option => …), Databricks' file reader, is not in the engine; the
# stand-in reads the files with the same format, schema and options through the engine's DataFrame reader into
# a temporary view, and the statement reads that view instead (docs/local-warehouse.md, "not verified locally").
_READ_FILES = re.compile(r"read_files\('((?:[^'\\]|\\.)*)'((?:, \w+ => '(?:[^'\\]|\\.)*')*)\)")
_OPTION = re.compile(r", (\w+) => '((?:[^'\\]|\\.)*)'")


# The engine's catalog lists a table with the columns it was created with; a workspace lists its current ones.
# Tables whose columns changed (MERGE WITH SCHEMA EVOLUTION, ALTER TABLE, CREATE OR REPLACE) are listed with their
# current columns, read from the table itself (SHOW TABLE EXTENDED's "Schema:" part, in the engine's notation).
_EVOLVES = re.compile(r"(?:MERGE WITH SCHEMA EVOLUTION INTO|ALTER TABLE|CREATE OR REPLACE TABLE) "
                      r"(`(?:[^`]|``)*`\.`(?:[^`]|``)*`\.`(?:[^`]|``)*`)")
_LISTS = re.compile(r"SHOW TABLE EXTENDED IN (`(?:[^`]|``)*`)\.")


def _listed_schema(schema: pa.Schema) -> str:
    from destination_databricks.records.types import sql_type

    return "Schema: root\n" + "".join(f" |-- {f.name}: {sql_type(f.type).lower()} (nullable = true)\n" for f in schema)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class WarehouseService:
    """The TCLIService handler. One Spark Connect session, like one shared metastore."""

    def __init__(self, spark: Any, volumes: Any = None, statement_seconds: float = 0.0,
                 lock: threading.Lock | None = None):
        """``statement_seconds``: how long each statement (and Files API call) waits before it runs, outside any
        lock, so concurrent statements overlap as on a real warehouse (about a second each there). ``lock``: the
        engine's lock, shared with the service this one replaces when the warehouse is reset."""
        self.spark = spark
        self.statement_seconds = statement_seconds
        self.lock = lock or threading.Lock()
        self.retired = False  # set when the warehouse is reset: a statement still on its way here is refused
        self._counting = threading.Lock()
        self.in_flight = {"statements": 0, "api_calls": 0}
        self._changed = threading.Condition(self._counting)
        # For tests: statements containing gate["match"] wait until gate["at_once"] statements are in flight (or
        # gate["seconds"] pass), so "reaches the bound" is checked without racing the clock; opens once reached.
        self.gate: dict | None = None
        self.max_in_flight = 0  # the most statements seen running at once
        self.max_api_calls_in_flight = 0  # the most REST calls (Files API, …) seen at once
        self.sessions: set[bytes] = set()
        self.operations: dict[bytes, _Operation] = {}
        self.volumes = volumes  # optional: Unity Catalog volumes (workspace.Volumes)
        self.statements: list[str] = []  # every statement received, for tests to inspect
        self.timeline: list[tuple[float, float, str]] = []  # for benchmarks: each statement's arrival, end, start
        # For tests: statements (by a substring) that commit and then answer as Delta answers the loser of two
        # concurrent commits, i.e. what our execution sees when a replay of it on another session won.
        self.conflicts: list[dict] = []
        # For tests: another writer's statements ("run"), run just before the first statement containing "match".
        self.before: list[dict] = []
        self.ignored_clauses = 0  # CLUSTER BY clauses taken out of CREATE TABLE statements (the engine has none)
        self.engine_seconds = 0.0  # time the engine spent running statements (one at a time, under the lock)
        self.vector_search = None  # optional: vector_search.VectorSearch (it records Change Data Feed)
        self.evolved: set[str] = set()  # tables that gained columns: listed with their current ones

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
    def run_sql(self, statement: str) -> pa.Table:
        with self.lock:
            return self.spark.sql(statement).toArrow()

    def wait_like_a_warehouse(self, kind: str = "statements", statement: str = "") -> None:
        """``kind``: "statements" or "api_calls", counted apart (each has its own most-at-once)."""
        with self._counting:
            self.in_flight[kind] += 1
            if kind == "statements":
                self.max_in_flight = max(self.max_in_flight, self.in_flight[kind])
                self._changed.notify_all()
                self._wait_at_gate(statement)
            else:
                self.max_api_calls_in_flight = max(self.max_api_calls_in_flight, self.in_flight[kind])
        try:
            if self.statement_seconds:
                time.sleep(self.statement_seconds)
        finally:
            with self._counting:
                self.in_flight[kind] -= 1

    def _wait_at_gate(self, statement: str) -> None:
        """(Under the counting lock.) Hold a gated statement until enough are in flight or the gate's time is up."""
        gate = self.gate
        if gate is None or gate.get("open") or gate["match"] not in statement:
            return
        deadline = time.monotonic() + gate["seconds"]
        reached = self._changed.wait_for(lambda: self.in_flight["statements"] >= gate["at_once"] or gate.get("open"),
                                         timeout=max(0.0, deadline - time.monotonic()))
        gate["open"] = True  # reached, or waited long enough: later statements pass
        gate["reached"] = gate.get("reached") or bool(reached)
        self._changed.notify_all()

    def stats(self) -> dict:
        return {"statements": len(self.statements), "max_in_flight": self.max_in_flight, "gate": self.gate,
                "max_api_calls_in_flight": self.max_api_calls_in_flight,
                "ignored_clauses": self.ignored_clauses, "engine_seconds": round(self.engine_seconds, 3)}

    def reset_maxima(self) -> None:
        """Start the most-at-once counts afresh (a benchmark does before each sync)."""
        with self._counting:
            self.max_in_flight = self.max_api_calls_in_flight = 0

    def _run(self, statement: str, args: dict) -> _Operation:
        received = time.time()
        try:
            return self._execute(statement, args)
        finally:
            self.timeline.append((received, time.time(), statement[:120]))

    def _execute(self, statement: str, args: dict) -> _Operation:
        self.statements.append(statement)
        self.wait_like_a_warehouse(statement=statement)
        for other in [b for b in self.before if b["match"] in statement]:
            self.before.remove(other)
            for text in other["run"]:
                self._run(text, {})
        if statement.startswith("CREATE "):
            statement, ignored = _LIQUID_CLUSTERING.subn("", statement)
            statement, commented = _CTAS_COMMENT.subn("", statement, count=1)
            self.ignored_clauses += ignored + commented
        if _UNRUN.match(statement):
            self.ignored_clauses += 1
            return _Operation(pa.table({"result": pa.array([], pa.string())}), None)
        if self.vector_search is not None:
            statement, served = self.vector_search.statement(statement)
            if served is not None:
                return _Operation(*served)
        if self.volumes is not None:
            served = self.volumes.statement(statement)
            if served is not None:
                return _Operation(*served)
            statement = self.volumes.resolve(statement)
        try:
            with self.lock:
                if self.retired:
                    return _Operation(None, "[LOCAL_WAREHOUSE_RESET] The warehouse was reset while this statement waited.")
                started = time.perf_counter()
                views: list[str] = []  # filled as they are made, so a reader failing midway leaves none behind
                try:
                    statement = self._read_files(statement, views)
                    frame = self.spark.sql(statement, args=args) if args else self.spark.sql(statement)
                    table = frame.toArrow()
                    evolves, lists = _EVOLVES.match(statement), _LISTS.match(statement)
                    if evolves:
                        self.evolved.add(evolves.group(1).lower())
                    elif lists and self.evolved:
                        table = self._current_columns(table, lists.group(1))
                finally:
                    for view in views:
                        self.spark.catalog.dropTempView(view)
                    self.engine_seconds += time.perf_counter() - started
            for conflict in self.conflicts:
                if conflict["times"] > 0 and conflict["match"] in statement:
                    conflict["times"] -= 1
                    return _Operation(None, CONCURRENT_APPEND)
            return _Operation(_normalize(table), None)
        except Exception as exc:  # the engine's error goes back to the client as a failed operation
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.info("statement failed: %s -> %s", statement[:200], message)
            return _Operation(None, message)

    def catalog_tables(self, query: dict) -> tuple[int, dict]:
        """Unity Catalog's table listing (`GET /api/2.1/unity-catalog/tables?catalog_name=…&schema_name=…`, as
        databricks-sdk's `tables.list` asks): each table's current columns (`type_text`) and properties, read
        through the engine's SHOW TABLE EXTENDED. Not a statement: it waits like any REST call."""
        from destination_databricks.backends.databricks.listing import listed_properties, schema_of
        from destination_databricks.records.types import sql_type

        catalog, schema = (query.get(name, [""])[0] for name in ("catalog_name", "schema_name"))
        ref = f"`{catalog.replace('`', '``')}`"
        with self.lock:
            try:
                listing = self.spark.sql(f"SHOW TABLE EXTENDED IN {ref}.`{schema.replace('`', '``')}` LIKE '*'").toArrow()
            except Exception:
                return 404, {"error_code": "NOT_FOUND", "message": f"Schema '{catalog}.{schema}' does not exist."}
            if self.evolved:
                listing = self._current_columns(listing, ref)
        tables = []
        for row in listing.to_pylist():
            if row.get("isTemporary"):
                continue
            columns = schema_of(row["information"] or "") or pa.schema([])
            tables.append({"name": row["tableName"], "catalog_name": catalog, "schema_name": schema,
                           "full_name": f"{catalog}.{schema}.{row['tableName']}", "table_type": "MANAGED",
                           "columns": [{"name": f.name, "type_text": sql_type(f.type).lower(), "position": i,
                                        "nullable": True} for i, f in enumerate(columns)],
                           "properties": listed_properties(row["information"] or "") or {}})
        return 200, {"tables": tables}

    def _current_columns(self, listing: pa.Table, catalog: str) -> pa.Table:
        """A listing whose evolved tables show their current columns (under the lock)."""
        rows = listing.to_pylist()
        for row in rows:
            ref = f"{catalog}.`{row['database']}`.`{row['tableName']}`"
            if ref.lower() in self.evolved and "Schema: root" in row["information"]:
                current = self.spark.sql(f"SELECT * FROM {ref} LIMIT 0").toArrow().schema
                row["information"] = row["information"].split("Schema: root")[0] + _listed_schema(current)
        return pa.Table.from_pylist(rows, schema=listing.schema)

    def _read_files(self, statement: str, views: list[str]) -> str:
        """Each read_files(…) call → a temporary view of the same files, named in ``views`` (the caller holds the
        lock and drops them)."""

        def view(match: re.Match) -> str:
            options = {key: _unescape(value) for key, value in _OPTION.findall(match.group(2))}
            reader = self.spark.read.format(options.pop("format", "parquet"))
            if "schema" in options:
                reader = reader.schema(options.pop("schema"))
            name = f"_read_files_{uuid.uuid4().hex}"
            reader.options(**options).load(_unescape(match.group(1))).createOrReplaceTempView(name)
            views.append(name)
            return f"`{name}`"

        return _READ_FILES.sub(view, statement)

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
            arrowSchema=schema.serialize().to_pybytes())

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
    """The workspace's front door: SQL (TCLIService calls in POST bodies), OAuth and the Files API.

    Every request but the OAuth discovery and token exchange needs a bearer token ``workspace.auth`` accepts.
    """

    daemon_threads = True

    def __init__(self, address, service: WarehouseService, auth, volumes):
        self.serve(service, auth, volumes)
        self.reset = None  # optional: a callable that empties the warehouse (POST /_local/reset)
        self.zerobus = None  # optional: its Zerobus server (zerobus.py), whose counts and faults /_local/zerobus serves
        super().__init__(address, _Handler)

    def serve(self, service: WarehouseService, auth, volumes) -> None:
        """Answer requests from now on with these (a reset warehouse hands over fresh ones)."""
        # For tests: (kind of call, User-Agent) of every request, in order (what a workspace attributes calls by).
        self.user_agents: list[tuple[str, str]] = []
        self.processor = TCLIService.Processor(service)
        self.service = service
        self.auth = auth  # workspace.Auth
        self.volumes = volumes  # workspace.Volumes

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _kind_of_call(path: str) -> str:
    """What a request is, as the User-Agent record groups them: sql, oauth, discovery, files, vector-search, api."""
    if path.startswith("/oidc/"):
        return "oauth"
    if path.startswith("/.well-known/"):
        return "discovery"
    if path.startswith("/api/2.0/fs/"):
        return "files"
    if path.startswith("/api/2.0/vector-search/"):
        return "vector-search"
    return "api" if path.startswith("/api/") else "sql"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status: int, headers: dict, body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, answer: dict) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def _route(self) -> None:
        server = self.server
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not path.startswith("/_local/"):
            server.user_agents.append((_kind_of_call(path), self.headers.get("User-Agent") or ""))
        # Discovery answers name the host the client called, as a workspace does (a proxy in between stays in between).
        called = f"http://{self.headers['Host']}" if self.headers.get("Host") else server.base_url
        if self.command == "GET" and path == "/.well-known/databricks-config":
            return self._json(200, workspace.host_metadata(called))
        if self.command == "GET" and path == "/oidc/.well-known/oauth-authorization-server":
            return self._json(200, workspace.oidc_discovery(called))
        if self.command == "GET" and path == "/_local/auth":  # for tests: what sign-ins the warehouse has seen
            auth = server.auth
            return self._json(200, {"issued": len(auth.issued), "used": len(auth.used), "refusals": auth.refusals})
        if self.command == "GET" and path == "/_local/stats":  # for benchmarks and tests: statements seen
            return self._json(200, server.service.stats())
        if self.command == "POST" and path == "/_local/stats/reset":  # for benchmarks: maxima per sync
            server.service.reset_maxima()
            return self._json(200, server.service.stats())
        if self.command == "GET" and path == "/_local/statements":  # for tests: every statement's text, in order
            return self._json(200, {"statements": list(server.service.statements)})
        if self.command == "GET" and path == "/_local/user_agents":  # for tests: [[kind of call, User-Agent], …]
            return self._json(200, {"user_agents": list(server.user_agents)})
        if self.command == "GET" and path == "/_local/timeline":  # for benchmarks: when each statement ran
            return self._json(200, {"timeline": list(server.service.timeline)})
        if self.command == "POST" and path == "/_local/gate":  # for tests: {"match": text, "at_once": n, "seconds": s}
            with server.service._counting:
                server.service.gate = {**json.loads(body), "open": False, "reached": False}
            return self._json(200, {})
        if self.command == "POST" and path == "/_local/before":  # for tests: {"match": text, "run": [statements]}
            server.service.before.append(json.loads(body))
            return self._json(200, {})
        if self.command == "POST" and path == "/_local/conflict":  # for tests: {"match": text, "times": n}
            server.service.conflicts.append(json.loads(body))
            return self._json(200, {})
        if path == "/_local/zerobus" and server.zerobus is not None:  # for tests: Zerobus's counts; POST: its faults
            if self.command == "POST":
                server.zerobus.set_faults(json.loads(body))
            return self._json(200, server.zerobus.stats())
        if self.command == "POST" and path == "/_local/reset" and server.reset is not None:  # for tests: start afresh
            server.reset()
            return self._json(200, {})
        if self.command == "POST" and path == "/oidc/v1/token":
            return self._json(*server.auth.client_credentials(self.headers.get("Authorization"), workspace.parse_form(body)))
        refusal = server.auth.check(self.headers.get("Authorization"), path)
        if path.startswith("/api/"):
            if refusal is not None:
                code = "UNAUTHENTICATED" if refusal[0] == 401 else "PERMISSION_DENIED"
                return self._json(refusal[0], {"error_code": code, "message": refusal[1]})
            server.service.wait_like_a_warehouse("api_calls")
            if self.command == "GET" and path == "/api/2.0/sql/warehouses":  # this warehouse, as clients list them
                return self._json(200, {"warehouses": [{"id": "local", "name": "local", "state": "RUNNING"}]})
            if self.command == "GET" and path == "/api/2.1/unity-catalog/tables":
                return self._json(*server.service.catalog_tables(parse_qs(urlsplit(self.path).query)))
            if server.service.vector_search is not None:
                answer = server.service.vector_search.handle(self.command, path, parse_qs(urlsplit(self.path).query), body)
                if answer is not None:
                    return self._json(*answer)
            return self._send(*server.volumes.files(self.command, self.path, parse_qs(urlsplit(self.path).query), body))
        if refusal is not None:
            return self._send(refusal[0], {"x-databricks-reason-phrase": refusal[1]})
        if self.command != "POST":
            return self._json(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{self.command} {path}'"})
        itrans = TTransport.TMemoryBuffer(body)
        otrans = TTransport.TMemoryBuffer()
        server.processor.process(TBinaryProtocol.TBinaryProtocol(itrans), TBinaryProtocol.TBinaryProtocol(otrans))
        self._send(200, {"Content-Type": "application/x-thrift"}, otrans.getvalue())

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _route
