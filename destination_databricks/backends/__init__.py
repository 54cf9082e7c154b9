"""Backends: where a sync stages and commits. One folder each, one line each in REGISTRY.

A backend class (base.Backend) is built from (config, its data source config) and offers ``connect(sync_id)``
(the sync's stager and loader), ``check()`` and ``loader()``. Adding one: a config class in config.py (and its
fields in spec.json), a folder here with its backend class, and a line below (docs/architecture.md).
"""
from __future__ import annotations

import importlib

from ..config import AzureStorage, Config, LocalStorage, ManagedTablesStorage, S3Storage
from ..records.schema_json import json_schema_of
from .base import Backend

# config class → "module:class", imported when used: a LOCAL sync never imports boto3 or the Databricks SDKs.
REGISTRY = {
    LocalStorage: "local.backend:LocalBackend",
    S3Storage: "databricks.s3:S3Backend",
    AzureStorage: "databricks.azure:AzureBackend",
    ManagedTablesStorage: "databricks.managed:ManagedBackend",
}


def backend(config: Config) -> Backend:
    direct = isinstance(config.storage, ManagedTablesStorage) and config.storage.zerobus_endpoint
    module, name = ("zerobus.backend:DirectIngestBackend" if direct else REGISTRY[type(config.storage)]).split(":")
    cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return cls(config, config.storage)


def discover(config: Config) -> dict:
    """One stream per table this destination has written in the configured schema."""
    loader = backend(config).loader()
    try:
        tables = loader.tables()
    finally:
        loader.close()
    return {"streams": [{"name": t.table, "namespace": t.schema, "json_schema": json_schema_of(s),
                         "supported_sync_modes": ["full_refresh", "incremental"]} for t, s in tables.items()]}
