"""What the data sources loaded by SQL on a Databricks warehouse share: the SQL client, the loader, and a
remote stager's lifecycle around a sync."""
from __future__ import annotations

import contextlib
from typing import Callable

import pyarrow as pa

from ..config import Config
from ..loading.databricks import DatabricksLoader
from ..loading.sql_client import RetryPolicy, SqlClient
from ..naming import TableName
from ..retries import RetryBudget
from ..workspace import SignIn
from . import configured_schemas


def loader(config: Config, location: Callable[[TableName], str | None], *, patient: bool = True,
           signin: SignIn | None = None, schema_at: Callable[[str], pa.Schema | None] = lambda _: None,
           **options) -> DatabricksLoader:
    """``patient`` for syncs (retry a flaky network for minutes); a check answers within seconds.
    ``location``: where a table lives (None: managed); ``schema_at``: the Delta schema found at a location."""
    retry = RetryPolicy.of(RetryBudget.sync()) if patient else RetryPolicy(attempts=1, driver_attempts=2, driver_seconds=15)
    signin = signin or SignIn(config.databricks, patient=patient)
    return DatabricksLoader(lambda: SqlClient(signin, retry), config.catalog, location, schema_at,
                            configured_schemas(config), concurrency=config.max_concurrent_statements if patient else 1,
                            **options)


@contextlib.contextmanager
def remote_sync(config: Config, stager, loader: DatabricksLoader):
    """An object-store stager and the Databricks loader for one sync, cleaned up whatever happens."""
    try:
        stager.start()
        yield stager, loader
    finally:
        try:
            loader.close()
        finally:
            if config.purge_staging_data:
                stager.purge()
            else:
                try:
                    stager.keep()
                finally:
                    stager.close()


def check_table(config: Config, loader: DatabricksLoader, location: str | None, check_id: str) -> None:
    """Create and drop a uniquely named test table, then release the loader's connection."""
    try:
        loader.check(config.schema, location, check_id)
    finally:
        loader.close()
