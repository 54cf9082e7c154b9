"""S3 + Databricks: staged as Delta tables on S3 (staging/s3.py), loaded by SQL into unmanaged tables at
`s3://<bucket>/<path>/<schema>/<table>`."""
from __future__ import annotations

import uuid

import pyarrow as pa

from ... import delta_files
from ...config import S3Storage
from ...errors import SystemFailure
from ...naming import TableName
from ...staging.base import StagedFile, StagedFormat
from ...staging.filename import FileNamer, sync_namer
from ...staging.parquet import parquet_bytes
from ..base import Backend
from . import warehouse
from .loader import DatabricksLoader
from .staging.remote import RemoteStager
from .staging.s3 import S3Store, s3_error, s3_uri, storage_options


class S3Backend(Backend):
    storage: S3Storage

    def loader(self, *, patient: bool = True, change_data_feed: frozenset[TableName] = frozenset()
               ) -> DatabricksLoader:
        options = storage_options(self.storage)

        def location(table: TableName) -> str:
            return s3_uri(self.storage, f"{table.schema}/{table.table}")

        return warehouse.loader(self.config, location, patient=patient, change_data_feed=change_data_feed,
                                logs=delta_files.DeltaLogs(options),
                                remove_data=warehouse.data_remover(lambda: S3Store(self.storage)))

    def connect(self, sync_id: str, change_data_feed: frozenset[TableName] = frozenset(), plans=None):
        namer = sync_namer(self.storage.file_name_pattern, sync_id)
        namer.validate()
        options = storage_options(self.storage)

        def seal(location: str, files: list[StagedFile], schema: pa.Schema) -> StagedFormat:
            data = [delta_files.DataFile(f.name, f.size, f.rows) for f in files]
            try:
                delta_files.commit(location, data, schema, "overwrite", storage_options=options)
            except Exception as exc:
                raise SystemFailure(f"Committing the staging Delta table at {location} failed: {exc}") from exc
            return StagedFormat.DELTA

        stager = RemoteStager(S3Store(self.storage), sync_id, namer, parquet_bytes, StagedFormat.PARQUET, seal=seal)
        return warehouse.staged(self.config, stager, self.loader(change_data_feed=change_data_feed))

    def check(self) -> None:
        FileNamer(self.storage.file_name_pattern, "check").validate()
        check_id = uuid.uuid4().hex
        store = S3Store(self.storage)
        path = f"_airbyte_check_{check_id}"
        try:
            store.client.put_object(Bucket=store.bucket, Key=store.key(path), Body=b"airbyte check")
        except Exception as exc:
            raise s3_error(exc, self.storage, "write a test object") from None
        try:
            store.client.delete_object(Bucket=store.bucket, Key=store.key(path))
        except Exception as exc:
            raise s3_error(exc, self.storage, "delete a test object") from None
        try:
            warehouse.check_table(self.config, self.loader(patient=False), store.uri(f"{path}/table"), check_id)
        finally:
            try:
                store.delete_prefix(path)
            except Exception:
                pass
