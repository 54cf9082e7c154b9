"""Each table's layout on Databricks: what a new table is created with, and the statements that bring an existing
table's clustering and properties in line with the config's `streams` (layout.py), once per sync and only when
they differ from what the schema's listing says the table has (so a sync of unchanged tables sends none)."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping

import orjson
import pyarrow as pa

from ...layout import CLUSTERED_BY, NONE, TableLayout, clustered_by
from ...naming import TableName
from ...records.columns import column_comments
from ...refresh import shadowed
from . import sql
from .sql_client import SqlClient

logger = logging.getLogger("airbyte")
# A digest of the comments the connector gave a table and its columns, kept as a table property: the listing does
# not show column comments, so a change of the stream's descriptions is seen without a statement.
COMMENTED = "airbyte.comments"


_NO_LAYOUT = TableLayout()


def comments_digest(schema: pa.Schema, comment: str) -> str | None:
    """The digest of ``schema``'s column comments and the table's ``comment``; None when no column has one."""
    columns = list(column_comments(schema).items())
    return hashlib.sha256(orjson.dumps([comment, columns])).hexdigest()[:16] if columns else None


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

    def new_table(self, table: TableName, key: tuple[str, ...] = (), schema: pa.Schema | None = None,
                  comment: str = "") -> sql.Layout:
        """How ``table`` is created (``key``: a deduplicated stream's key columns, its default clustering; ``schema``
        and ``comment``: its columns, with their comments, and its own comment). It needs no change this sync."""
        with self._lock:
            self._checked.add(table)
        layout = self.configured.get(table, _NO_LAYOUT)
        clustering = layout.clustering(key)
        properties = ([("delta.enableDeletionVectors", "true")] if key else []) + (
            [("delta.enableChangeDataFeed", "true")] if table in self.change_data_feed else []) + list(layout.properties)
        if layout.cluster_by is not None:  # what the config clustered the table by: a later change of it is seen
            properties.append((CLUSTERED_BY, clustered_by(clustering)))
        digest = comments_digest(schema, comment) if schema is not None else None
        if digest:  # what the comments were: a later change of them is seen
            properties.append((COMMENTED, digest))
        return sql.Layout(() if clustering == NONE else clustering, layout.partition_by, tuple(properties))

    def existing_table(self, client: SqlClient, table: TableName, key: tuple[str, ...] = (),
                       schema: pa.Schema | None = None, comment: str = "") -> None:
        """Bring an existing table's clustering, properties and comments in line with the config and the stream's
        schema, once per sync: an ALTER … CLUSTER BY, the columns' and the table's COMMENTs (only for a stream whose
        properties have descriptions), one ALTER … SET TBLPROPERTIES; none when the listing shows them as asked."""
        with self._lock:
            if table in self._checked or shadowed(table) is not None:
                return
        has = self.listed.get(table, {})
        digest = comments_digest(schema, comment) if schema is not None else None
        if table not in self.configured and (digest is None or has.get(COMMENTED) == digest):
            return
        layout = self.configured.get(table, _NO_LAYOUT)
        wanted = self.new_table(table, key, schema, comment)
        if layout.cluster_by is not None and has.get(CLUSTERED_BY) != clustered_by(layout.cluster_by):
            client.execute(sql.cluster_by(self.catalog, table, layout.cluster_by), f"change the clustering of {table}")
        if digest is not None and schema is not None and has.get(COMMENTED) != digest:
            for column, said in column_comments(schema).items():
                client.execute(sql.comment_column(self.catalog, table, column, said), f"comment a column of {table}")
            client.execute(sql.comment_table(self.catalog, table, comment), f"comment {table}")
        changed = [(k, v) for k, v in wanted.properties if has.get(k) != v]
        if changed:
            client.execute(sql.set_properties(self.catalog, table, changed), f"set the properties of {table}")
        if wanted.partition_by:
            logger.info("%s exists: its partitioning stays as it is (streams' partition_by applies when a table is "
                        "created; to repartition, drop the table and sync again).", table)
