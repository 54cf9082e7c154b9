"""Refreshes that truncate: a stream's new generation waits in a shadow table until the stream completes.

A stream truncates when its catalog says ``minimum_generation_id > 0`` (a platform with refreshes sends Overwrite
as append / append_dedup with minimum = generation) or it is an overwrite with a generation. Its rows then commit,
round by round, into the shadow table `_airbyte_tmp_g<generation>_<table>` in the table's schema, so STATEs flow
while readers of the table still see it exactly as it was. When the stream ends COMPLETE one commit (the swap)
makes the table hold the new generation: its rows of generations below the minimum go, the shadow's rows come in
(a deduplicated stream merges them by key, the old generations' rows never taking part), and the shadow is dropped.

A sync killed or ended INCOMPLETE leaves the table untouched and the shadow in place: the next attempt of the same
generation loads on into it. A shadow of another generation, or of a stream that no longer truncates, is stale:
the next sync of its table drops it. `discover` never lists shadows (nor any `_airbyte_` table).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .catalog import SyncMode
from .dedup import Merge, Truncation
from .naming import TableName
from .staging.base import StagedTable

if TYPE_CHECKING:
    from .catalog import StreamPlan

INTERNAL_PREFIX = "_airbyte_"  # tables the connector keeps for itself (shadows, connection checks): never streams
SHADOW_PREFIX = "_airbyte_tmp_g"
_SHADOW = re.compile(r"_airbyte_tmp_g(\d+)_(.+)")


@dataclass(frozen=True)
class Refresh:
    """Where a truncating stream's rows wait, and what its swap drops from the table."""

    shadow: TableName
    truncation: Truncation | None  # rows of the table that go at the swap; None: all of them (an overwrite)


def refresh_of(plan: StreamPlan) -> Refresh | None:
    """The stream's refresh, if its rows replace older generations at its end; None: it loads its table directly
    (an append, a merge refresh with minimum 0, an overwrite without a generation: that one still commits once, at
    the end, from its staged files, and holds its STATEs until then)."""
    generation, minimum = plan.generation_id or 0, plan.minimum_generation_id or 0
    if minimum > 0 or (plan.mode.replaces and generation > 0):
        shadow = TableName(plan.table.schema, f"{SHADOW_PREFIX}{generation}_{plan.table.table}")
        return Refresh(shadow, None if plan.mode.replaces else Truncation(minimum))
    return None


def into_shadow(staged: StagedTable, refresh: Refresh, merge: Merge | None
                ) -> tuple[StagedTable, SyncMode, Merge | None]:
    """How a refresh's staged load goes into its shadow: appended, or merged by key keeping a deduplicated stream's
    deletes as rows (the swap applies them to the table's rows of their keys)."""
    if merge is None:
        return replace(staged, table=refresh.shadow), SyncMode.APPEND, None
    return replace(staged, table=refresh.shadow), SyncMode.APPEND_DEDUP, replace(merge, hard_delete=False)


def shadowed(name: TableName) -> TableName | None:
    """The table a shadow table stands for; None when ``name`` is not a shadow."""
    match = _SHADOW.fullmatch(name.table)
    return TableName(name.schema, match.group(2)) if match else None


def stale_shadows(existing: list[TableName], plans: list[StreamPlan]) -> list[TableName]:
    """The shadows among ``existing`` tables that this sync's streams make stale: a shadow of a table the sync
    writes, other than the one its stream continues. (Shadows of tables no stream of the sync writes are left.)"""
    continued = {r.shadow for r in map(refresh_of, plans) if r is not None}
    written = {plan.table for plan in plans}
    return sorted(name for name in existing if shadowed(name) in written and name not in continued)


def is_internal(table_name: str) -> bool:
    return table_name.lower().startswith(INTERNAL_PREFIX)
