"""Each table's layout on Databricks: what a new table is created with, and the statements that bring an existing
table's clustering and properties in line with the config's `streams` (layout.py), once per sync and only when
they differ from what the schema's listing says the table has (so a sync of unchanged tables sends none)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from ...layout import CLUSTERED_BY, NONE, TableLayout, clustered_by
from ...naming import TableName
from . import sql
from .sql_client import SqlClient

logger = logging.getLogger("airbyte")
_NO_LAYOUT = TableLayout()


class Layouts:
    def __init__(self, catalog: str, configured: Mapping[TableName, TableLayout], change_data_feed: frozenset[TableName]):
        """``configured``: the tables of the streams the config's `streams` names; ``change_data_feed``: tables Vector
        Search indexes (created with Change Data Feed on)."""
        self.catalog = catalog
        self.configured = configured
        self.change_data_feed = change_data_feed
        self.listed: dict[TableName, dict[str, str]] = {}  # what the schemas' listings say of existing tables
        self._checked: set[TableName] = set()
        self._lock = threading.Lock()

    def new_table(self, table: TableName, key: tuple[str, ...] = ()) -> sql.Layout:
        """How ``table`` is created (``key``: a deduplicated stream's key columns, its default clustering)."""
        layout = self.configured.get(table, _NO_LAYOUT)
        clustering = layout.clustering(key)
        properties = ([("delta.enableDeletionVectors", "true")] if key else []) + (
            [("delta.enableChangeDataFeed", "true")] if table in self.change_data_feed else []) + list(layout.properties)
        if layout.cluster_by is not None:  # what the config clustered the table by: a later change of it is seen
            properties.append((CLUSTERED_BY, clustered_by(clustering)))
        return sql.Layout(() if clustering == NONE else clustering, layout.partition_by, tuple(properties))

    def existing_table(self, client: SqlClient, table: TableName, key: tuple[str, ...] = ()) -> None:
        """Bring an existing table's clustering and properties in line with the config, once per sync: at most one
        ALTER … CLUSTER BY and one ALTER … SET TBLPROPERTIES, none when the listing shows them as asked."""
        with self._lock:
            if table not in self.configured or table in self._checked:
                return
            self._checked.add(table)
        wanted, layout = self.new_table(table, key), self.configured[table]
        has = self.listed.get(table, {})
        if layout.cluster_by is not None and has.get(CLUSTERED_BY) != clustered_by(layout.cluster_by):
            client.execute(sql.cluster_by(self.catalog, table, layout.cluster_by), f"change the clustering of {table}")
        changed = [(k, v) for k, v in wanted.properties if has.get(k) != v]
        if changed:
            client.execute(sql.set_properties(self.catalog, table, changed), f"set the properties of {table}")
        if wanted.partition_by:
            logger.info("%s exists: its partitioning stays as it is (streams' partition_by applies when a table is "
                        "created; to repartition, drop the table and sync again).", table)
