"""LOCAL, the embedded default: Parquet staged in a folder (staging.py), committed by delta-rs into Delta tables
at `<local_path>/<schema>/<table>` (loader.py; deduplicated loads merge through merge.py)."""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid

import pyarrow as pa

from ...config import LocalStorage
from ...errors import ConfigError, shown
from ...naming import TableName
from ...staging.filename import DEFAULT_PATTERN, sync_namer
from ..base import Backend, configured_schemas, staged_sync
from .loader import DeltaRsLoader
from .staging import STAGING_FOLDER, LocalStager


class LocalBackend(Backend):
    storage: LocalStorage

    def loader(self, sync_id: str = "discover") -> DeltaRsLoader:
        return DeltaRsLoader(self.storage.path, sync_id, configured_schemas(self.config))

    def connect(self, sync_id: str, change_data_feed: frozenset[TableName] = frozenset(), plans=None):
        try:
            os.makedirs(self.storage.path, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"Config field 'data_source.local_path': cannot create {shown(self.storage.path, 500)}: "
                              f"{exc.strerror}.") from None
        stager = LocalStager(self.storage.path, sync_id, sync_namer(DEFAULT_PATTERN, sync_id))
        return staged_sync(stager, self.loader(sync_id), self.config.purge_staging_data)

    def check(self) -> None:
        from deltalake import DeltaTable, QueryBuilder, write_deltalake

        path = self.storage.path
        check_id = uuid.uuid4().hex
        try:
            os.makedirs(path, exist_ok=True)
            location = os.path.join(path, STAGING_FOLDER, f"_airbyte_connection_test_{check_id}")
            write_deltalake(location, pa.table({"_airbyte_ab_id": [check_id]}))
            # QueryBuilder, not to_pyarrow_table(): the latter can abort the interpreter at exit (delta-rs #2184).
            read = QueryBuilder().register("t", DeltaTable(location)).execute("SELECT _airbyte_ab_id FROM t").read_all()
            if pa.table(read).column(0).to_pylist() != [check_id]:
                raise ConfigError(f"Config field 'data_source.local_path': a test table written to {shown(path, 500)} "
                                  "did not read back.")
            shutil.rmtree(location)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(location))  # only when no sync is staging here
        except OSError as exc:
            raise ConfigError(f"Config field 'data_source.local_path': {shown(path, 500)} is not writable: "
                              f"{exc.strerror}.") from None
