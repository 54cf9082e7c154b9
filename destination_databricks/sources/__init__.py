"""Data sources: where a sync stages and loads. One module each, the same small surface, one registry.

Each module has a class built from (config, its storage config) with
- ``connect(sync_id)``: a context manager giving the sync's (stager, loader), cleaned up whatever happens;
- ``check()``: prove the destination is writable end to end, or raise ConfigError naming the field;
- ``loader()``: a loader for discover (closed by the caller).

Adding a store: a config class in config.py, a module here (its ObjectStore adapter for staging/remote.py,
its error translation, its check), and one line in REGISTRY.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from typing import Any, Iterator

from ..config import AzureStorage, Config, LocalStorage, ManagedTablesStorage, S3Storage
from ..loading.base import Loader
from ..naming import sanitize
from ..records.schema_json import json_schema_of
from ..staging.base import Stager

# config class → "module:class"; imported when used, so a LOCAL sync never imports boto3 or the Databricks SDKs.
REGISTRY = {
    LocalStorage: "local:LocalSource",
    S3Storage: "s3:S3Source",
    AzureStorage: "azure:AzureSource",
    ManagedTablesStorage: "managed:ManagedSource",
}


@dataclass
class DataSource:
    """What each data source module's class is made from."""

    config: Config
    storage: Any  # the config's data source, of the class REGISTRY maps to the module


def configured_schemas(config: Config) -> set[str]:
    """The schemas discover looks in."""
    return {sanitize(config.schema, lowercase=True)}


def data_source(config: Config):
    module, name = REGISTRY[type(config.storage)].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)(config, config.storage)


@contextlib.contextmanager
def connect(config: Config, sync_id: str) -> Iterator[tuple[Stager, Loader]]:
    """The stager and loader of one sync; staging is purged (or kept, marked) on the way out."""
    with data_source(config).connect(sync_id) as pair:
        yield pair


def check(config: Config) -> None:
    data_source(config).check()


def discover(config: Config) -> dict:
    """One stream per table this destination has written in the configured schema."""
    loader = data_source(config).loader()
    try:
        tables = loader.tables()
    finally:
        loader.close()
    return {"streams": [{"name": t.table, "namespace": t.schema, "json_schema": json_schema_of(s),
                         "supported_sync_modes": ["full_refresh", "incremental"]} for t, s in tables.items()]}
