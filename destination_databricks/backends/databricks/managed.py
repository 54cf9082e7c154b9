"""Managed tables + Databricks: Parquet staged in a Unity Catalog volume (staging/volume.py), loaded by SQL into
managed tables (no location; the metastore keeps their data). With `direct_ingest` the registry picks
backends/zerobus/'s subclass instead, which overrides ``lister``, ``stager`` and ``probe``."""
from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Mapping

import pyarrow as pa

from ...catalog import StreamPlan
from ...config import ManagedTablesStorage
from ...naming import StreamKey, TableName, sanitize
from ...staging.base import StagedFormat, Stager
from ...staging.filename import DEFAULT_PATTERN, sync_namer
from ...staging.parquet import parquet_bytes
from ..base import Backend
from . import sql, warehouse
from .listing import Lister
from .loader import DatabricksLoader
from .sql_client import SchemaNotFound
from .staging.remote import RemoteStager
from .staging.volume import VolumeStore, files_error, volume_root
from .workspace import SignIn


class ManagedBackend(Backend):
    storage: ManagedTablesStorage

    def loader(self, *, patient: bool = True, signin: SignIn | None = None,
               change_data_feed: frozenset[TableName] = frozenset()) -> DatabricksLoader:
        signin = signin or SignIn(warehouse.connection(self.config), patient=patient)
        return warehouse.loader(self.config, lambda _: None, patient=patient, signin=signin,  # managed: no location
                                change_data_feed=change_data_feed, lister=self.lister(signin))

    def lister(self, signin: SignIn) -> Lister | None:
        """How tables are listed (None: by statement, SHOW TABLE EXTENDED)."""
        return None

    def _volume(self, loader: DatabricksLoader) -> str:
        """Create the staging volume (and its schema) if missing; its path."""
        schema, catalog, volume = sanitize(self.config.schema, lowercase=True), self.config.catalog, self.storage.volume
        # One statement once they exist: a volume is in its schema, so the schema needs no statement of its own then.
        statement = sql.create_volume(catalog, schema, volume, "Airbyte staging files")
        what = f"create the staging volume {catalog}.{schema}.{volume} (data_source.volume_name)"
        try:
            loader.client.execute(statement, what)
        except SchemaNotFound:
            loader.ensure_schema(schema)
            loader.client.execute(statement, what)
        loader.ensure_schema(schema, exists=True)
        return volume_root(self.config.catalog, schema, self.storage.volume)

    def connect(self, sync_id: str, change_data_feed: frozenset[TableName] = frozenset(), plans=None):
        signin = SignIn(warehouse.connection(self.config))
        loader = self.loader(signin=signin, change_data_feed=change_data_feed)

        def volume_stager() -> RemoteStager:
            store = VolumeStore(signin.workspace(), self._volume(loader))
            return RemoteStager(store, sync_id, sync_namer(DEFAULT_PATTERN, sync_id), parquet_bytes,
                                StagedFormat.PARQUET, free_loaded=self.config.purge_staging_data)

        try:
            stager = self.stager(signin, loader, plans or {}, volume_stager)
        except BaseException:
            loader.close()
            raise
        return warehouse.staged(self.config, stager, loader)

    def stager(self, signin: SignIn, loader: DatabricksLoader, plans: Mapping[StreamKey, StreamPlan],
               volume_stager: Callable[[], Stager]) -> Stager:
        """The sync's stager: the volume's."""
        return volume_stager()

    def probe(self, signin: SignIn) -> Callable[[TableName, pa.Schema], None] | None:
        """What `check` runs on its test table, besides creating and dropping it."""
        return None

    def check(self) -> None:
        check_id = uuid.uuid4().hex
        signin = SignIn(warehouse.connection(self.config), patient=False)
        loader = self.loader(patient=False, signin=signin)
        try:
            root = self._volume(loader)
            files = signin.workspace().files
            path = f"{root}/_airbyte_check_{check_id}"
            for action, call in (("write a test file to", lambda: files.upload(path, io.BytesIO(b"airbyte check"),
                                                                                overwrite=True)),
                                 ("delete a test file from", lambda: files.delete(path))):
                try:
                    call()
                except Exception as exc:
                    raise files_error(exc, f"{action} the staging volume {root} (data_source.volume_name)") from None
        except BaseException:
            loader.close()
            raise
        warehouse.check_table(self.config, loader, None, check_id, self.probe(signin))
