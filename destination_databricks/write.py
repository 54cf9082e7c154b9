"""The `write` command: config + catalog + stdin → tables. Kept free of airbyte-cdk imports (2 s)."""
from __future__ import annotations

import logging
import time
import uuid
from typing import BinaryIO

from . import secrets, settings
from .backends import backend
from .backends.base import Loader
from .catalog import StreamPlan, read_catalog
from .config import Config, parse_config
from .errors import ConfigError
from .jsontext import read_json
from .layout import plan_layouts
from .messages import Output, timed_blocks
from .naming import StreamKey, TableName
from .records import arrow_runtime
from .sync import AfterCommit, Sync

logger = logging.getLogger("airbyte")


def write(config_path: str, catalog_path: str, stdin: BinaryIO, output: Output) -> None:
    arrow_runtime.configure()
    raw = read_json(config_path, "config")
    if isinstance(raw, dict):
        secrets.register(raw)
    config = parse_config(raw)
    knobs = settings.current()  # a bad environment variable fails here, before any input
    plans = read_catalog(catalog_path, config.schema, config.column_types)
    indexed = _indexed_tables(config, plans)
    sync_id = str(uuid.uuid4())
    layouts = plan_layouts(config.layouts, plans)  # (checked against the catalog before any input)
    with backend(config).connect(sync_id, indexed, plans) as (stager, loader):
        loader.configure(layouts)
        steps = [vector_search_step(config, plans, loader)] if config.vector_search is not None else []
        sync = Sync(plans, stager, loader, output.line, evolve=config.enable_schema_evolution, settings=knobs,
                    cdc_hard_delete=config.cdc_hard_delete, after_commit=steps)
        started = time.monotonic()
        sync.run(timed_blocks(stdin))
        logger.info("Sync %s wrote %d records of %d streams in %.1f s.", sync_id, sync.records, len(plans),
                    time.monotonic() - started)


def _indexed_tables(config: Config, plans: dict[StreamKey, StreamPlan]) -> frozenset[TableName]:
    """The tables Vector Search indexes, which must be created with Change Data Feed on (checked before input)."""
    if config.vector_search is None:
        return frozenset()
    from .vector_search.plan import plan_indexes

    return frozenset(index.table for index in plan_indexes(config.vector_search, config.catalog, plans))


def vector_search_step(config: Config, plans: dict[StreamKey, StreamPlan], loader: Loader) -> AfterCommit:
    """The post-commit step that keeps the configured Vector Search indexes; checks the config against the
    catalog and the workspace first, before any input is read."""
    from .backends.databricks.warehouse import connection
    from .backends.databricks.workspace import SignIn
    from .vector_search.plan import plan_indexes
    from .vector_search.step import VectorSearchStep, check_model_endpoints

    assert config.vector_search is not None
    if not loader.capabilities.change_data_feed:
        raise ConfigError("Config field 'vector_search' needs a Databricks data source (its tables are indexed there).")
    indexes = plan_indexes(config.vector_search, config.catalog, plans)
    workspace = SignIn(connection(config)).workspace()
    check_model_endpoints(config.vector_search, workspace)
    return VectorSearchStep(config.vector_search, indexes, workspace, loader.enable_change_data_feed)
