"""Azure Blob Storage + Databricks: staged as CSV in the container (staging/azure.py, staging/csv.py), read by the
load's statement (read_files) into unmanaged tables at `abfss://<container>@<account>.dfs.<domain>/<schema>/<table>`.
"""
from __future__ import annotations

import uuid

from ...config import AzureStorage
from ...naming import TableName
from ...staging.base import StagedFormat
from ...staging.filename import DEFAULT_PATTERN, sync_namer
from ..base import Backend
from . import warehouse
from .loader import DatabricksLoader
from .staging.azure import AzureStore, abfss, azure_error
from .staging.csv import CSV_OPTIONS, csv_bytes
from .staging.remote import RemoteStager


class AzureBackend(Backend):
    storage: AzureStorage

    def loader(self, *, patient: bool = True, change_data_feed: frozenset[TableName] = frozenset()
               ) -> DatabricksLoader:
        def location(table: TableName) -> str:
            return abfss(self.storage, f"{table.schema}/{table.table}")

        # A table whose name is gone is created anew; Delta data left at its location is not read from here.
        return warehouse.loader(self.config, location, patient=patient, csv_options=CSV_OPTIONS,
                                change_data_feed=change_data_feed,
                                remove_data=warehouse.data_remover(lambda: AzureStore(self.storage)))

    def connect(self, sync_id: str, change_data_feed: frozenset[TableName] = frozenset(), plans=None):
        namer = sync_namer(DEFAULT_PATTERN, sync_id, extension="csv")
        stager = RemoteStager(AzureStore(self.storage), sync_id, namer, csv_bytes, StagedFormat.CSV)
        return warehouse.staged(self.config, stager, self.loader(change_data_feed=change_data_feed))

    def check(self) -> None:
        check_id = uuid.uuid4().hex
        store = AzureStore(self.storage, patient=False)
        name = f"_airbyte_check_{check_id}"
        for action, call in (("write a test blob", lambda: store.client.upload_blob(name, b"airbyte check")),
                             ("list blobs", lambda: list(store.client.list_blobs(name_starts_with=name))),
                             ("delete a test blob", lambda: store.client.delete_blob(name))):
            try:
                call()
            except Exception as exc:
                raise azure_error(exc, self.storage, action) from None
        try:
            warehouse.check_table(self.config, self.loader(patient=False), abfss(self.storage, f"{name}/table"), check_id)
        finally:
            try:
                store.delete_prefix(name)
            except Exception:
                pass
