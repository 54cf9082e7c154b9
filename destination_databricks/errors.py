"""The kinds of failure a user is told about: their config, the system, or a transient one.

Plain exceptions (no airbyte-cdk import): the write path stays free of the CDK's 2 s import time.
"""
from __future__ import annotations


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
    """A failure that a later attempt may not meet (another writer kept committing to a table)."""

    failure_type = "transient_error"


class InputError(SystemFailure):
    """The message stream on stdin broke the protocol."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, cut to ``limit`` characters (its type's name when it has no text): for logs
    and messages, where a driver's multi-line trace would bury the point."""
    text = str(exc)
    return text.splitlines()[0][:limit] if text.strip() else type(exc).__name__
