"""A thin wrapper over databricks-sql-connector: connect, run one statement, translate failures once.

Failures are either terminal (the user's credentials, a rejected statement: raised at once, with what
failed) or transient (the network, throttling, a lost session: retried with backoff, reconnecting).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ... import identity
from ...config import DatabricksConnection
from ...errors import ConfigError, SystemFailure, TransientFailure, first_line, gave_up_on_the_network, service_failure, shown
from ...retries import RetryBudget, retrying
from .workspace import SignIn

logger = logging.getLogger("airbyte")
# The driver's error context can carry a stale code (200 after a retried 503 ran out of time), so a
# failed request counts as transient unless its code says the request itself is wrong.
TERMINAL_HTTP = {400, 401, 403, 404, 501}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # our own attempts, each with a fresh connection if needed
    backoff_seconds: float = 2.0
    driver_attempts: int = 6  # the driver's retries of one HTTP request
    driver_seconds: float = 120.0
    driver_delay_max: float = 10.0

    @classmethod
    def of(cls, budget: RetryBudget) -> RetryPolicy:
        return cls(attempts=min(4, budget.attempts), backoff_seconds=2 * budget.backoff_seconds,
                   driver_attempts=budget.attempts, driver_seconds=budget.max_seconds / 2,
                   driver_delay_max=budget.driver_delay_max())


def _http_code(exc: BaseException) -> int | None:
    context = getattr(exc, "context", None) or {}
    code = context.get("http-code") if isinstance(context, dict) else None
    return int(code) if code else None


# Delta's answer when another transaction committed first what this one read. Our appends read the table (the
# marker's NOT EXISTS), so they are no blind appends: two executions of one append (ours replayed on a new
# session while the first still runs) cannot both commit; the second fails with this, and run again it finds
# its marker and adds nothing. (SQL warehouses refuse `SET spark.databricks.delta.write.txnAppId`: only the
# documented configuration parameters may be set, so Delta's transaction identifiers are out of reach.)
CONCURRENT_COMMIT = ("DELTA_CONCURRENT_APPEND", "ConcurrentAppendException", "DELTA_CONCURRENT_TRANSACTION",
                     "ConcurrentTransactionException")


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying on a new connection: the network, throttling, a lost session."""
    import http.client

    import urllib3.exceptions
    from databricks.sql import exc as dbx

    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(chain) < 8:  # the driver wraps what the transport raised: read the whole chain
        chain.append(link)
        link = link.__cause__ or link.__context__
    for e in chain:
        if isinstance(e, (dbx.SessionAlreadyClosedError, dbx.CursorAlreadyClosedError)):
            return True
        if isinstance(e, dbx.RequestError) and _http_code(e) in TERMINAL_HTTP:
            return False  # credentials, a wrong HTTP path, a request the server cannot take
        if isinstance(e, dbx.ServerOperationError):
            return "Invalid SessionHandle" in str(e) or any(name in str(e) for name in CONCURRENT_COMMIT)
        if isinstance(e, (ConnectionError, TimeoutError, OSError, http.client.HTTPException, urllib3.exceptions.HTTPError)):
            return True  # reset, refused, cut mid-answer, timed out
        if "Invalid SessionHandle" in str(e):
            return True
    # A request that got no HTTP answer at all (the driver gave up retrying it): the network's fault.
    return any(isinstance(e, dbx.RequestError) for e in chain)


def connection_error(exc: BaseException, connection: DatabricksConnection) -> Exception:
    """What a failure to open a session means for the user, naming the config field."""
    code = _http_code(exc)
    reason = str(exc).split("\n")[0][:300]
    if code in (401, 403) and connection.oauth:
        return ConfigError(f"Databricks refused the OAuth token issued to client id {shown(connection.client_id)} "
                           f"(databricks_client_id: does the service principal have access to the SQL warehouse?): {reason}")
    if code in (401, 403):
        return ConfigError(f"Databricks refused the access token (databricks_personal_access_token): {reason}")
    if code == 404:
        return ConfigError(f"Databricks has no SQL endpoint at HTTP path {shown(connection.http_path)} "
                           f"(databricks_http_path): {reason}")
    if code is None:
        return ConfigError(
            f"Cannot reach Databricks at {shown(connection.hostname)} port {connection.port} "
            f"(databricks_server_hostname, databricks_port): {reason}")
    return service_failure(f"Databricks answered HTTP {code} when opening a session: {reason}", exc)


class TableNotFound(SystemFailure):
    """The statement named a table (or view) that does not exist."""


class TableExists(SystemFailure):
    """The statement would create a table that exists already."""


class SchemaNotFound(SystemFailure):
    """The statement named a schema that does not exist."""


def statement_error(exc: BaseException, what: str) -> Exception:
    """A statement's failure → our error; the engine's error class decides the typed ones, here and only here."""
    from databricks.sql import exc as dbx

    if isinstance(exc, (ConfigError, SystemFailure)):
        return exc
    text = first_line(exc, 500)
    kind = "rejected" if isinstance(exc, dbx.ServerOperationError) else "failed"
    message = f"Databricks {kind} the statement to {what}: {text}"
    if "TABLE_OR_VIEW_NOT_FOUND" in text:
        return TableNotFound(message)
    if "TABLE_OR_VIEW_ALREADY_EXISTS" in text or "table already exists" in text.lower():
        return TableExists(message)
    if "SCHEMA_NOT_FOUND" in text or "Database not found" in text:  # Databricks' error class; Spark engines' wording
        return SchemaNotFound(message)
    return TransientFailure(message) if is_transient(exc) or gave_up_on_the_network(exc) else SystemFailure(message)


class SqlClient:
    def __init__(self, signin: SignIn, retry: RetryPolicy = RetryPolicy()):
        self.signin = signin
        self.connection = signin.connection
        self.retry = retry
        self._conn: Any = None  # the driver's connection, opened at the first statement

    def _connect(self):
        from databricks import sql

        c = self.connection
        kwargs = dict(
            server_hostname=c.hostname.removeprefix("https://").removeprefix("http://"),
            http_path=c.http_path, _port=int(c.port), enable_telemetry=False, **self.signin.sql_credentials(),
            user_agent_entry=identity.user_agent_entry(),
            _retry_stop_after_attempts_count=self.retry.driver_attempts,
            _retry_stop_after_attempts_duration=self.retry.driver_seconds,
            _retry_delay_max=self.retry.driver_delay_max,
        )
        if c.hostname.startswith("http://"):  # plain HTTP only for a local warehouse; the driver forces https otherwise
            kwargs["_connection_uri"] = f"{c.hostname}:{c.port}/{c.http_path.lstrip('/')}"
        try:
            return sql.connect(**kwargs)
        except Exception as exc:
            raise connection_error(exc, c) from None

    def execute(self, statement: str, what: str) -> pa.Table:
        """Run one statement; ``what`` says in user's words what it was for, for error messages.

        Statements are retried after a transient failure, so each must be safe to run twice (appends carry
        a marker that makes them so, see sql.append).
        """
        def run() -> pa.Table:
            if self._conn is None:
                self._conn = self._connect()
            with self._conn.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall_arrow() if cursor.description else pa.table({})

        return retrying(run, attempts=self.retry.attempts, backoff_seconds=self.retry.backoff_seconds,
                        transient=lambda exc: not isinstance(exc, (ConfigError, SystemFailure)) and is_transient(exc),
                        fail=lambda exc: statement_error(exc, what), what=f"run the statement to {what}",
                        between=self.close)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


class ThreadClients:
    """One SqlClient per thread (the driver's connections are not thread-safe), made when a thread first needs
    one and closed all at once."""

    def __init__(self, connect: Callable[[], SqlClient]):
        self._connect = connect
        self._local = threading.local()
        self._clients: list[SqlClient] = []
        self._lock = threading.Lock()

    def get(self) -> SqlClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._connect()
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
