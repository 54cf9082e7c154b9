"""Direct ingest wired into a Managed tables sync: the stager that sends append streams through Zerobus and stages
the rest in the volume, and `check`'s proof that the service principal can open a stream."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pyarrow as pa

from ... import settings
from ...catalog import StreamPlan
from ...errors import ConfigError, ConnectorError
from ...layout import table_comment
from ...naming import StreamKey, TableName
from ...retries import RetryBudget
from ...staging.base import Stager
from ..databricks.listing import Lister
from ..databricks.loader import DatabricksLoader
from ..databricks.managed import ManagedBackend
from ..databricks.unity_catalog import catalog_lister
from ..databricks.workspace import SignIn
from . import routes, tables
from .ingest import Streams
from .stager import DirectStager

logger = logging.getLogger("airbyte")


class DirectIngestBackend(ManagedBackend):
    """Managed tables with `direct_ingest`: tables listed through Unity Catalog's API (no statement), append streams
    sent through Zerobus, the rest staged in the volume (made only if one needs it); `check` also opens a stream."""

    def lister(self, signin: SignIn) -> Lister | None:
        return catalog_lister(signin)

    def stager(self, signin: SignIn, loader: DatabricksLoader, plans: Mapping[StreamKey, StreamPlan],
               volume_stager: Callable[[], Stager]) -> Stager:
        direct, reasons = routes.direct_tables(plans.values())
        for table, why in sorted(reasons.items(), key=lambda item: str(item[0])):
            logger.info("%s is staged in the volume, not sent through Zerobus: %s.", table, why)
        logger.info("Direct ingest: %d of %d streams may go through Zerobus.", len(direct), len(plans))
        return DirectStager(self.config.catalog, self._streams(signin, RetryBudget.sync(), settings.current().zerobus_streams),
                            direct, {plan.table: table_comment(plan.key) for plan in plans.values()},
                            lambda table, schema, comment: tables.prepare(loader, table, schema, comment), volume_stager,
                            concurrency=loader.capabilities.concurrent_loads)

    def probe(self, signin: SignIn) -> Callable[[TableName, pa.Schema], None]:
        def probe(table: TableName, schema: pa.Schema) -> None:
            opened = self._streams(signin, RetryBudget(attempts=1, backoff_seconds=0.5, max_seconds=15), 1)
            name = f"{self.config.catalog}.{table.schema}.{table.table}"
            try:
                opened.probe(name, schema)
            except ConnectorError as exc:
                raise ConfigError(f"Config field 'data_source.direct_ingest.zerobus_endpoint': the service principal "
                                  f"could not open a Zerobus stream on {name}: {exc.message}") from None

        return probe

    def _streams(self, signin: SignIn, budget: RetryBudget, limit: int) -> Streams:
        c = signin.connection
        return Streams(self.storage.zerobus_endpoint, c.host_url, c.client_id, c.client_secret, limit, budget)
