"""A LOCAL table's properties and comments brought in line with the config and the stream's schema through delta-rs,
once per sync, after the table's first commit: only what differs, one metadata commit each."""
from __future__ import annotations

import pyarrow as pa

from ...layout import TableLayout
from ...records.columns import COMMENT, column_comments


def lay_out(uri: str, layout: TableLayout | None, schema: pa.Schema, comment: str) -> None:
    """``layout``: the config's for this table (None: not named); ``schema``: the stream's columns with their comments
    (field metadata `comment`); ``comment``: the table's (its Delta description)."""
    commented = column_comments(schema)
    if not commented and (layout is None or not layout.properties):
        return  # nothing asked: the table is not even opened (10,000 streams)
    from deltalake import DeltaTable

    table = DeltaTable(uri)
    if layout is not None and layout.properties:
        has = table.metadata().configuration
        changed = {k: v for k, v in layout.properties if has.get(k) != v}
        if changed:
            table.alter.set_table_properties(changed, raise_if_not_exists=False)  # (custom keys too)
    if not commented:
        return
    if comment and table.metadata().description != comment:
        table.alter.set_table_description(comment)
    fields = {f.name: f.metadata.get(COMMENT) for f in table.schema().fields}
    for name, text in commented.items():
        if name in fields and fields[name] != text:
            table.alter.set_column_metadata(name, {COMMENT: text})
