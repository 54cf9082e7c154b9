"""LOCAL's change of column types (records/types.py `retyping`): the table rewritten in one delta-rs commit, each
changed column's values taken anew from `_airbyte_data`, as the stream's kind converts them (delta-rs has no
ALTER COLUMN … TYPE, so a widening rewrites the table too)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake

from ...jsontext import loads_exact
from ...naming import AIRBYTE_COLUMNS
from ...records import types
from ...records.columns import Column

DATA = AIRBYTE_COLUMNS[2]


def _values(texts: pa.Array, key: str) -> list:
    """Each row's value of the property ``key``, from its `_airbyte_data`."""
    values = []
    for text in texts.to_pylist():
        try:
            record = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError:  # NaN, integers past 64 bits: the exact parser reads them
            record = loads_exact(text)
        values.append(record.get(key) if isinstance(record, dict) else None)
    return values


def _column(column: Column, values: Sequence, current: pa.Array) -> pa.Array:
    """The column in its new type: its property's values converted (a STRING takes strings as they are and
    anything else as JSON text, as SQL's get_json_object gives them); where that gives nothing, the current value
    cast (a DATE that the timestamp parser does not read as text, say)."""
    if column.kind == "json":  # nested values, as JSON text
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
    kind = "text" if pa.types.is_string(column.type) else column.kind
    converted = types.column_array(kind, column.type, values)
    try:
        cast = pc.cast(current, column.type)
    except (pa.ArrowException, ValueError):
        return converted
    return pc.if_else(converted.is_valid(), converted, cast)


def rebuild(uri: str, columns: Sequence[Column], description: str) -> None:
    """Rewrite the table with ``columns`` (table columns whose type changes) in their new types."""
    table = DeltaTable(uri)
    schema = types.canonical_schema(pa.schema(table.schema().to_arrow()))
    changed = {c.name: c for c in columns}
    target = pa.schema([pa.field(f.name, changed[f.name].type) if f.name in changed else f for f in schema])
    source = ds.dataset(table.file_uris(), format="parquet", schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source.to_batches():
            arrays = [_column(changed[f.name], _values(batch.column(DATA), changed[f.name].key or f.name),
                              batch.column(f.name)) if f.name in changed else batch.column(f.name) for f in schema]
            yield pa.RecordBatch.from_arrays(arrays, schema=target)

    write_deltalake(uri, pa.RecordBatchReader.from_batches(target, batches()), mode="overwrite",
                    schema_mode="overwrite", description=description)
