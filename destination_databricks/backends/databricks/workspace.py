"""The Databricks workspace: signing in once per sync (a personal access token, or a service principal), the
SDK client signed in that way, and what its failures mean for the user.

A service principal's client id and secret are exchanged for short-lived OAuth access tokens by
databricks-sdk (machine-to-machine), which refreshes them before they expire; the SQL driver and the
Files API both take their Authorization header from the same token source, so a sync outlives any token.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from ... import identity
from ...config import DatabricksConnection
from ...errors import ConfigError, shown
from ...retries import RetryBudget, retrying

# HTTP connections the Files API client keeps (the SDK's default: 20). The SDK applies it to https:// only; against
# the local warehouse's http:// requests keeps 10, and urllib3 logs "Connection pool is full" when more run at once.
FILES_API_CONNECTIONS = 32

logger = logging.getLogger("airbyte")


class SignIn:
    def __init__(self, connection: DatabricksConnection, *, patient: bool = True):
        """``patient`` for syncs (retry a flaky network for minutes); a check answers within seconds."""
        self.connection = connection
        self.patient = patient
        self._config = None
        self._lock = threading.Lock()

    def _new_config(self):
        from databricks.sdk import useragent
        from databricks.sdk.core import Config

        useragent.with_product(identity.PRODUCT, identity.version())  # before the Config's first (discovery) calls

        c = self.connection
        credentials: dict[str, Any] = (
            dict(client_id=c.client_id, client_secret=c.client_secret, auth_type="oauth-m2m") if c.oauth
            else dict(token=c.access_token, auth_type="pat"))
        budget = RetryBudget.sync()
        try:
            return Config(host=c.host_url, disable_experimental_files_api_client=True,  # plain PUTs, any size
                          # up to 16 uploads and 16 deletions of loaded files at once, each keeping its connection
                          max_connection_pools=FILES_API_CONNECTIONS, max_connections_per_pool=FILES_API_CONNECTIONS,
                          retry_timeout_seconds=int(budget.max_seconds) if self.patient else 10,
                          http_timeout_seconds=60 if self.patient else 15, **credentials)
        except ValueError as exc:
            raise self._refused(exc) from None

    def config(self):
        """The databricks-sdk Config (made on first use; it fetches the workspace's OAuth endpoints)."""
        with self._lock:
            if self._config is None:
                self._config = self._new_config()
            return self._config

    def _refused(self, exc: BaseException) -> ConfigError:
        c = self.connection
        reason = str(exc).split("\n")[0].split(". Config: ")[0][:300]  # the SDK appends its (masked) settings
        if "Invalid URL 'None'" in reason or isinstance(exc, (ConnectionError, OSError)) or "connection" in reason.lower():
            return ConfigError(f"Cannot reach Databricks at {shown(c.host_url)} (databricks_server_hostname, databricks_port): "
                               "its OAuth endpoints did not answer.")
        if not c.oauth:
            return ConfigError(f"Databricks refused the access token (databricks_personal_access_token): {reason}")
        if "invalid_client" in reason or "unauthorized_client" in reason or "access_denied" in reason:
            return ConfigError("Databricks refused the service principal's OAuth sign-in: the token exchange failed "
                               f"for client id {shown(c.client_id)} (databricks_client_id, databricks_client_secret): {reason}")
        return ConfigError(f"Could not sign in to Databricks at {shown(c.host_url)} with OAuth (databricks_server_hostname, "
                           f"databricks_port, databricks_client_id): the token exchange failed: {reason}")

    def headers(self) -> dict[str, str]:
        """Fresh Authorization headers; a failed token exchange is retried briefly when the network is at fault."""
        config = self.config()
        budget = RetryBudget.sync()

        def network(exc: BaseException) -> bool:
            import requests

            return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError))

        return retrying(config.authenticate, attempts=budget.attempts if self.patient else 1,
                        backoff_seconds=budget.backoff_seconds, transient=network, fail=self._refused,
                        what="get an OAuth token")

    def sql_credentials(self) -> dict:
        """databricks-sql-connector arguments. With OAuth, a token is fetched now, so a refusal is reported as such."""
        if not self.connection.oauth:
            return {"access_token": self.connection.access_token}
        self.headers()
        return {"credentials_provider": lambda: self.headers}

    def workspace(self):
        """A databricks-sdk WorkspaceClient (the Files API) signed in the same way."""
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(config=self.config())
