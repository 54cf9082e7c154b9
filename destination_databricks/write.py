"""The `write` command: config + catalog + stdin → tables. Kept free of airbyte-cdk imports (2 s)."""
from __future__ import annotations

import logging
import time
import uuid
from typing import BinaryIO

from . import secrets
from .catalog import read_catalog
from .config import parse_config
from .jsontext import read_json
from .messages import Output, timed_lines
from .records import arrow_runtime
from .sources import connect
from .sync import Sync, Tuning

logger = logging.getLogger("airbyte")


def write(config_path: str, catalog_path: str, stdin: BinaryIO, output: Output) -> None:
    arrow_runtime.configure()
    raw = read_json(config_path, "config")
    if isinstance(raw, dict):
        secrets.register(raw)
    config = parse_config(raw)
    plans = read_catalog(catalog_path, config.schema)
    sync_id = str(uuid.uuid4())
    steps = []
    with connect(config, sync_id=sync_id) as (stager, loader):
        if config.vector_search is not None:
            steps.append(vector_search_step(config, plans, loader))
        sync = Sync(plans, stager, loader, output.line, evolve=config.enable_schema_evolution,
                    tuning=Tuning.from_env(), cdc_hard_delete=config.cdc_hard_delete, after_commit=steps)
        started = time.monotonic()
        sync.run(timed_lines(stdin))
        logger.info("Sync %s wrote %d records of %d streams in %.1f s.", sync_id, sync.records, len(plans),
                    time.monotonic() - started)


def vector_search_step(config, plans, loader):
    """The post-commit step that keeps the configured Vector Search indexes; checks the config against the
    catalog and the workspace first, before any input is read."""
    from .vector_search.plan import plan_indexes
    from .vector_search.step import VectorSearchStep, check_model_endpoints
    from .workspace import SignIn

    indexes = plan_indexes(config.vector_search, config.catalog, plans)
    workspace = SignIn(config.databricks).workspace()
    check_model_endpoints(config.vector_search, workspace)
    loader.change_data_feed = {index.table for index in indexes}
    return VectorSearchStep(config.vector_search, indexes, workspace, loader.enable_change_data_feed)
