"""Which streams go through Zerobus: append streams that replace nothing (no refresh, no overwrite, no dedup),
whose table names Zerobus takes and whose columns all have an Arrow type it maps exactly. Every other stream keeps
the staged path in the same sync, with a LOG line saying why."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyarrow as pa

from ...catalog import StreamPlan, SyncMode
from ...naming import TableName
from ...records.types import STORED_AS
from ...refresh import refresh_of

# Zerobus takes table names of ASCII letters, digits and underscores (its documented limits).
_NAME = re.compile(r"[A-Za-z0-9_]+")


def _exact(arrow: pa.DataType) -> bool:
    """The column types the connector writes that Arrow Flight ingestion maps one to one onto Delta's."""
    return (pa.types.is_boolean(arrow) or (pa.types.is_integer(arrow) and pa.types.is_signed_integer(arrow))
            or (pa.types.is_floating(arrow) and arrow.bit_width in (32, 64)) or pa.types.is_string(arrow)
            or pa.types.is_date32(arrow) or pa.types.is_decimal128(arrow)
            or (pa.types.is_timestamp(arrow) and arrow.unit == "us" and arrow.tz == "UTC"))


def plan_reason(plan: StreamPlan) -> str | None:
    """Why the stream cannot go through Zerobus (None: it may, if its columns allow)."""
    if plan.mode is not SyncMode.APPEND:
        return f"its sync mode is {plan.mode.value} (only append streams go direct)"
    if refresh_of(plan) is not None:
        return "it is a truncating refresh (its rows wait in a shadow table until the stream completes)"
    if not all(_NAME.fullmatch(part) for part in (plan.table.schema, plan.table.table)):
        return "its table name has characters other than ASCII letters, digits and '_' (Zerobus takes no others)"
    return None


def schema_reason(schema: pa.Schema) -> str | None:
    """Why a table of these columns cannot take Zerobus's batches (None: every column maps exactly)."""
    odd = [f"{f.name} ({(f.metadata or {}).get(STORED_AS, b'').decode() or f.type})" for f in schema
           if not _exact(f.type) or STORED_AS in (f.metadata or {}) or not _NAME.fullmatch(f.name)]
    return f"columns {', '.join(odd)} have a type or name Arrow Flight ingestion does not map exactly" if odd else None


def direct_tables(plans: Iterable[StreamPlan]) -> tuple[set[TableName], Mapping[TableName, str]]:
    """The tables that may go through Zerobus (their columns are checked at their first batch), and why the others
    do not."""
    reasons = {plan.table: plan_reason(plan) for plan in plans}
    return {t for t, why in reasons.items() if why is None}, {t: why for t, why in reasons.items() if why is not None}
