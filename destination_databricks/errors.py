"""The kinds of failure a user is told about: their config, the system, or a transient one.

Plain exceptions (no airbyte-cdk import): the write path stays free of the CDK's 2 s import time.
"""
from __future__ import annotations

import errno
import os


class ConnectorError(Exception):
    failure_type = "system_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(ConnectorError):
    """Something the user can fix in their config or catalog."""

    failure_type = "config_error"


class SystemFailure(ConnectorError):
    """Storage or engine failures, and anything else that is not the user's config."""


class TransientFailure(SystemFailure):
    """A failure a later attempt may not meet: the network, throttling or a service's own trouble outlasted every
    retry, or another writer kept committing to a table first."""

    failure_type = "transient_error"


class InputError(SystemFailure):
    """The message stream on stdin broke the protocol."""


def shown(value: object, limit: int = 80) -> str:
    """A config value as an error quotes it: its repr, cut to ``limit`` characters (a 10 KB value pasted by
    mistake must not bury the message)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, cut to ``limit`` characters (its type's name when it has no text): for logs
    and messages, where a driver's multi-line trace would bury the point."""
    text = str(exc)
    return text.splitlines()[0][:limit] if text.strip() else type(exc).__name__


_OS_ERRORS = {errno.ENOSPC: "no space is left on the device", errno.EDQUOT: "the disk quota is used up",
              errno.EACCES: "permission is denied", errno.EPERM: "the operation is not permitted",
              errno.EROFS: "the file system is read-only"}


def classified(exc: BaseException) -> ConnectorError | None:
    """An error raised by no code of ours, as the user is told of it: an operating-system failure names its path
    (system_error); a network failure that outlasted every retry is a transient_error (a later attempt may well
    succeed). None: nothing better to say than the exception itself."""
    if gave_up_on_the_network(exc):  # (before the OSError case: a reset is an OSError too)
        return TransientFailure(f"A service or the network failed after every retry: {type(exc).__name__}: "
                                f"{first_line(exc)}")
    if isinstance(exc, OSError) and exc.errno is not None:
        what = _OS_ERRORS.get(exc.errno, exc.strerror or os.strerror(exc.errno))
        where = f" at {exc.filename!r}" if exc.filename else ""
        return SystemFailure(f"A file operation failed{where}: {what} ({exc.strerror or exc.errno}).")
    if type(exc).__name__ == "CommitFailedError":  # delta-rs: another writer's commit won, every time
        return TransientFailure(f"A Delta commit kept losing to other writers' commits: {first_line(exc)}")
    return None


_THROTTLED_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable",
                    "InternalError", "RequestTimeout", "ServerBusy", "OperationTimedOut", "TEMPORARILY_UNAVAILABLE"}


def gave_up_on_the_network(exc: BaseException) -> bool:
    """Whether a failure (or what caused it) is one a later attempt may well not meet: the network (resets,
    refusals, timeouts), throttling (429) or a service's own trouble (5xx), as every client library reports
    them. The clients have retried such failures already: this decides what the user is told."""
    link: BaseException | None = exc
    for _ in range(8):
        if link is None:
            return False
        if isinstance(link, (ConnectionError, TimeoutError)) or type(link).__name__ in (
                "EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError",
                "ServiceRequestError", "ServiceResponseError", "ProtocolError", "TemporarilyUnavailable",
                "TooManyRequests", "DeadlineExceeded", "ResourceExhausted") or (
                type(link).__name__ == "InternalError" and type(link).__module__.startswith("databricks")):
            return True
        response = getattr(link, "response", None)
        status = getattr(link, "status_code", None) or (
            (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") if isinstance(response, dict) else None)
        code = (response.get("Error") or {}).get("Code") if isinstance(response, dict) else getattr(link, "error_code", None)
        if (isinstance(status, int) and (status == 429 or status >= 500)) or code in _THROTTLED_CODES:
            return True
        link = link.__cause__ or link.__context__
    return False


def service_failure(message: str, cause: BaseException) -> SystemFailure:
    """A service's failure as the user is told of it: transient_error when the network, throttling or the service's
    own trouble outlasted every retry (the platform's next attempt may succeed), else system_error."""
    return TransientFailure(message) if gave_up_on_the_network(cause) else SystemFailure(message)
