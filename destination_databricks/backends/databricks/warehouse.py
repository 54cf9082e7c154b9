"""What the data sources loaded by SQL on a Databricks warehouse share: the loader they build, and a remote
stager's lifecycle around a sync."""
from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ...config import Config, DatabricksConnection
from ...errors import ConfigError
from ...naming import TableName
from ...retries import RetryBudget
from ..base import configured_schemas, staged_sync
from .loader import DatabricksLoader
from .sql_client import RetryPolicy, SqlClient
from .staging.remote import RemoteStager
from .workspace import SignIn


def connection(config: Config) -> DatabricksConnection:
    """The warehouse's connection settings (config.py requires them for every Databricks data source)."""
    if config.databricks is None:
        raise ConfigError("Config field 'databricks_server_hostname' is required for this data source.")
    return config.databricks


def loader(config: Config, location: Callable[[TableName], str | None], *, patient: bool = True,
           signin: SignIn | None = None, schema_at: Callable[[str], pa.Schema | None] = lambda _: None,
           csv_options: dict | None = None, change_data_feed: frozenset[TableName] = frozenset()
           ) -> DatabricksLoader:
    """``patient`` for syncs (retry a flaky network for minutes); a check answers within seconds.
    ``location``: where a table lives (None: managed); ``schema_at``: the Delta schema found at a location."""
    retry = RetryPolicy.of(RetryBudget.sync()) if patient else RetryPolicy(attempts=1, driver_attempts=2, driver_seconds=15)
    sign_in = signin or SignIn(connection(config), patient=patient)
    return DatabricksLoader(lambda: SqlClient(sign_in, retry), config.catalog, location, schema_at,
                            configured_schemas(config), csv_options=csv_options,
                            concurrency=config.max_concurrent_statements if patient else 1,
                            change_data_feed=change_data_feed)


def staged(config: Config, stager: RemoteStager, loader: DatabricksLoader):
    """An object-store stager and the Databricks loader for one sync, cleaned up whatever happens."""
    return staged_sync(stager, loader, config.purge_staging_data)


def check_table(config: Config, loader: DatabricksLoader, location: str | None, check_id: str) -> None:
    """Create and drop a uniquely named test table, then release the loader's connection."""
    try:
        loader.check(config.schema, location, check_id)
    finally:
        loader.close()
