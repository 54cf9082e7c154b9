"""What the data sources loaded by SQL on a Databricks warehouse share: the loader they build, and a remote
stager's lifecycle around a sync."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...config import Config, DatabricksConnection
from ...delta_files import UNREADABLE, DeltaLogs
from ...errors import ConfigError, first_line
from ...naming import TableName, sanitize
from ...records.columns import AIRBYTE_SCHEMA
from ...retries import RetryBudget
from ...staging.base import Stager
from ..base import configured_schemas, staged_sync
from . import sql
from .listing import Lister
from .loader import DatabricksLoader
from .sql_client import RetryPolicy, SqlClient
from .workspace import SignIn

logger = logging.getLogger("airbyte")


def connection(config: Config) -> DatabricksConnection:
    """The warehouse's connection settings (config.py requires them for every Databricks data source)."""
    if config.databricks is None:
        raise ConfigError("Config field 'databricks_server_hostname' is required for this data source.")
    return config.databricks


def loader(config: Config, location: Callable[[TableName], str | None], *, patient: bool = True,
           signin: SignIn | None = None, logs: DeltaLogs = UNREADABLE,
           csv_options: dict | None = None, change_data_feed: frozenset[TableName] = frozenset(),
           remove_data: Callable[[TableName], None] | None = None, lister: Lister | None = None) -> DatabricksLoader:
    """``patient`` for syncs (retry a flaky network for minutes); a check answers within seconds.
    ``location``: where a table lives (None: managed); ``logs``: the tables' Delta logs, where the connector reads them;
    ``remove_data``: deletes the files at a dropped unmanaged table's location."""
    retry = RetryPolicy.of(RetryBudget.sync()) if patient else RetryPolicy(attempts=1, driver_attempts=2, driver_seconds=15)
    sign_in = signin or SignIn(connection(config), patient=patient)
    return DatabricksLoader(lambda: SqlClient(sign_in, retry), config.catalog, location, logs,
                            configured_schemas(config), csv_options=csv_options,
                            concurrency=config.max_concurrent_statements if patient else 1,
                            change_data_feed=change_data_feed, remove_data=remove_data, lister=lister)


def staged(config: Config, stager: Stager, loader: DatabricksLoader):
    """An object-store stager and the Databricks loader for one sync, cleaned up whatever happens."""
    return staged_sync(stager, loader, config.purge_staging_data)


def check_table(config: Config, loader: DatabricksLoader, location: str | None, check_id: str,
                probe: Callable[[TableName, Any], None] | None = None) -> None:
    """Create and drop a uniquely named test table at ``location`` (None: managed), so concurrent checks cannot
    collide (``probe``: run on it in between); then release the loader's connection."""
    table = TableName(sanitize(config.schema, lowercase=True), f"_airbyte_connection_test_{check_id}")
    try:
        loader.ensure_schema(table.schema)
        loader.client.execute(sql.create_table(loader.catalog, table, AIRBYTE_SCHEMA, location,
                                               "Airbyte connection check"), "create a test table")
        try:
            if probe is not None:
                probe(table, AIRBYTE_SCHEMA)
        finally:
            loader.client.execute(sql.drop_table(loader.catalog, table), "drop the test table")
    finally:
        loader.close()


def data_remover(store: Callable[[], Any]) -> Callable[[TableName], None]:
    """Deletes the files of a dropped unmanaged table (a refresh's shadow) under `<schema>/<table>/` of the store
    (staging/s3.py, staging/azure.py). A failure is logged, not raised: the table is gone, and a later table of
    that name that finds its data (S3 adopts Delta data it finds) is swapped in idempotently."""
    def remove(table: TableName) -> None:
        try:
            store().delete_prefix(f"{table.schema}/{table.table}")
        except Exception as exc:
            logger.warning("Could not delete the files of the dropped table %s: %s", table, first_line(exc))

    return remove
