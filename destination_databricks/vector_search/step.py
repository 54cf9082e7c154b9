"""After a sync commits rows of an indexed stream: the endpoint and the index exist, and a TRIGGERED index syncs.

Runs as a post-commit step (sync/rounds.py's AfterCommit): it notes the tables each commit round touched and does its work
once, when the sync has committed everything and its STATEs are out, so a failure here leaves the data and
the STATEs as they are and ends the sync with an error naming the index.
"""
from __future__ import annotations

import logging
import time

from .. import settings
from ..catalog import SyncMode
from ..errors import ConfigError, SystemFailure, first_line
from ..naming import TableName
from .config import VectorSearchConfig
from .plan import IndexPlan

logger = logging.getLogger("airbyte")


class VectorSearchStep:
    def __init__(self, config: VectorSearchConfig, indexes: list[IndexPlan], workspace, enable_change_data_feed,
                 poll_seconds: float | None = None):
        """``workspace``: a databricks-sdk WorkspaceClient; ``enable_change_data_feed(table)``: the statement that
        turns CDF on for a table that existed before it was indexed."""
        self.config = config
        self.by_table = {index.table: index for index in indexes}
        self.workspace = workspace
        self.enable_change_data_feed = enable_change_data_feed
        self.poll_seconds = settings.current().vector_search_poll_seconds if poll_seconds is None else poll_seconds
        self.touched: list[IndexPlan] = []

    def committed(self, table: TableName, rows: int, mode: SyncMode) -> None:
        index = self.by_table.get(table)
        if index is not None and index not in self.touched:
            self.touched.append(index)

    def close(self) -> None:
        """The sync's end: ensure the endpoint once, then each touched index; every failure names its index."""
        if not self.touched:
            return
        self._ensure_endpoint()
        failures = []
        for index in self.touched:
            try:
                self._ensure_index(index)
            except ConfigError:
                raise
            except Exception as exc:  # one index failing does not keep the others from syncing
                failures.append(f"{index.index_name}: {_reason(exc)}")
        if failures:
            raise SystemFailure("Vector Search failed for " + "; ".join(failures) +
                                " (the synced data and its STATEs are committed).")

    # --- the endpoint -----------------------------------------------------------------------------
    def _ensure_endpoint(self) -> None:
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.vectorsearch import EndpointType

        api, name = self.workspace.vector_search_endpoints, self.config.endpoint_name
        try:
            try:
                endpoint = api.get_endpoint(name)
            except NotFound:
                logger.info("Creating the Vector Search endpoint %s (%s).", name, self.config.endpoint_type)
                api.create_endpoint(name, EndpointType(self.config.endpoint_type))
                endpoint = api.get_endpoint(name)
            started = time.monotonic()
            while _state(endpoint) != "ONLINE":
                waited = time.monotonic() - started
                if _state(endpoint) in ("OFFLINE", "RED_STATE", "DELETED", "STOPPED"):
                    raise SystemFailure(f"the Vector Search endpoint {name} is {_state(endpoint)}: "
                                        f"{getattr(endpoint.endpoint_status, 'message', '') or 'no message'}")
                if waited > self.config.online_timeout_seconds:
                    raise SystemFailure(f"the Vector Search endpoint {name} was not ONLINE after {waited:.0f} s "
                                        f"(vector_search.online_timeout_seconds), still {_state(endpoint)}")
                logger.info("Waiting for the Vector Search endpoint %s to come ONLINE: %s after %.0f s.", name,
                            _state(endpoint), waited)
                time.sleep(self.poll_seconds)
                endpoint = api.get_endpoint(name)
        except (ConfigError, SystemFailure) as exc:
            raise SystemFailure(f"Vector Search: {exc}") from None
        except Exception as exc:
            raise SystemFailure(f"Vector Search: the endpoint {name} could not be ensured: {_reason(exc)} "
                                "(the synced data and its STATEs are committed).") from None

    # --- the index --------------------------------------------------------------------------------
    def _ensure_index(self, index: IndexPlan) -> None:
        from databricks.sdk.errors import NotFound

        api = self.workspace.vector_search_indexes
        try:
            existing = api.get_index(index.index_name)
        except NotFound:
            existing = None
        if existing is None:
            self.enable_change_data_feed(index.table)  # once: a table gets its index only once
            logger.info("Creating the Vector Search index %s on %s.", index.index_name, index.source_table)
            self._create(index)
            return  # a new index syncs the table's rows as it is created
        self._same_spec(index, existing)
        if index.config.pipeline_type == "TRIGGERED":
            logger.info("Syncing the Vector Search index %s.", index.index_name)
            api.sync_index(index.index_name)

    def _create(self, index: IndexPlan) -> None:
        from databricks.sdk.service.vectorsearch import (
            DeltaSyncVectorIndexSpecRequest,
            EmbeddingSourceColumn,
            EmbeddingVectorColumn,
            PipelineType,
            VectorIndexType,
        )

        c = index.config
        spec = DeltaSyncVectorIndexSpecRequest(
            source_table=index.source_table, pipeline_type=PipelineType(c.pipeline_type),
            columns_to_sync=list(index.columns_to_sync) if index.columns_to_sync else None,
            embedding_source_columns=[EmbeddingSourceColumn(embedding_model_endpoint_name=c.embedding_model_endpoint_name,
                                                            name=index.embedding_column)] if c.computed else None,
            embedding_vector_columns=None if c.computed else [
                EmbeddingVectorColumn(embedding_dimension=c.embedding_dimension, name=index.embedding_column)])
        self.workspace.vector_search_indexes.create_index(index.index_name, self.config.endpoint_name,
                                                          index.primary_key, VectorIndexType.DELTA_SYNC,
                                                          delta_sync_index_spec=spec)

    def _same_spec(self, index: IndexPlan, existing) -> None:
        """An existing index built otherwise than the config says is the user's to resolve: never dropped here."""
        c, spec = index.config, existing.delta_sync_index_spec
        differences = []

        def differ(field: str, wanted, found) -> None:
            if wanted != found:
                differences.append(f"{c.field}.{field}: the config says {wanted!r}, the index has {found!r}")

        differ("endpoint_name", self.config.endpoint_name, existing.endpoint_name)
        differ("primary_key", index.primary_key, existing.primary_key)
        if spec is None:
            raise ConfigError(f"Config field '{c.field}.index_name': {index.index_name} exists but is no Delta Sync "
                              "index; choose another name.")
        differ("stream", index.source_table, spec.source_table)
        differ("pipeline_type", c.pipeline_type, spec.pipeline_type.value if spec.pipeline_type else None)
        if c.computed:
            found = [(e.name, e.embedding_model_endpoint_name) for e in spec.embedding_source_columns or []]
            differ("embedding_source_column", [(index.embedding_column, c.embedding_model_endpoint_name)], found)
        else:
            found = [(e.name, e.embedding_dimension) for e in spec.embedding_vector_columns or []]
            differ("embedding_vector_column", [(index.embedding_column, c.embedding_dimension)], found)
        if differences:
            raise ConfigError(f"The Vector Search index {index.index_name} exists with another spec ("
                              + "; ".join(differences) + "). It is not dropped: delete it, or set "
                              f"'{c.field}.index_name' to a new name.")


def _state(endpoint) -> str | None:
    status = getattr(endpoint, "endpoint_status", None)
    state = getattr(status, "state", None)
    return getattr(state, "value", state)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc, 300) if str(exc).strip() else ''}"


def check_model_endpoints(config: VectorSearchConfig, workspace) -> None:
    """Each computed-embedding index's model serving endpoint exists (else a ConfigError naming the field)."""
    from databricks.sdk.errors import NotFound

    for index in config.indexes:
        if not index.computed:
            continue
        try:
            workspace.serving_endpoints.get(index.embedding_model_endpoint_name)
        except NotFound:
            raise ConfigError(f"Config field '{index.field}.embedding_model_endpoint_name': the workspace has no model "
                              f"serving endpoint {index.embedding_model_endpoint_name!r}.") from None
        except Exception as exc:
            raise SystemFailure(f"Could not look up the model serving endpoint {index.embedding_model_endpoint_name!r} "
                                f"({index.field}.embedding_model_endpoint_name): {_reason(exc)}") from None
