"""Staging on S3 as Delta tables: `s3://<bucket>/<path>/<sync id>/<schema>/<table>/` holds Parquet files named by
`file_name_pattern` and a `_delta_log` written by deltalake.

Uploads run on a small thread pool while the next batch is converted; at most ``max_in_flight`` files
wait in memory, so a slow store slows the sync down instead of growing it.
"""
from __future__ import annotations

import logging

import pyarrow as pa

from .. import delta_files
from ..config import S3Storage
from ..errors import SystemFailure
from ..naming import TableName
from ..retries import RetryBudget
from .base import StagedFile, StagedTable, first_id
from .filename import FileNamer
from .liveness import HEARTBEAT, KEPT, Heartbeat, sweep
from .uploads import Uploads
from .parquet import write_parquet

logger = logging.getLogger("airbyte")
MULTIPART_CHUNK = 16 << 20


def storage_options(storage: S3Storage) -> dict[str, str]:
    """What deltalake needs to read and write Delta tables in the bucket."""
    options = {"AWS_REGION": storage.region or "us-east-1", "AWS_ACCESS_KEY_ID": storage.access_key_id,
               "AWS_SECRET_ACCESS_KEY": storage.secret_access_key, **RetryBudget.sync().object_store()}
    if storage.endpoint:
        options["AWS_ENDPOINT_URL"] = storage.endpoint
        if storage.endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def s3_client(storage: S3Storage):
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3", endpoint_url=storage.endpoint or None, region_name=storage.region or "us-east-1",
        aws_access_key_id=storage.access_key_id, aws_secret_access_key=storage.secret_access_key,
        config=BotoConfig(retries=RetryBudget.sync().boto(), max_pool_connections=16),
    )


def key_prefix(storage: S3Storage, *parts: str) -> str:
    return "/".join(p for p in (storage.path, *parts) if p)


def uri(storage: S3Storage, key: str) -> str:
    return f"s3://{storage.bucket}/{key}"


def delete_prefix(client, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix/``, a page (up to 1,000 keys) per request."""
    deleted = 0
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


class S3Stager:
    def __init__(self, storage: S3Storage, sync_id: str, namer: FileNamer, max_in_flight: int = 4):
        self.storage = storage
        self.sync_id = sync_id
        self.sync_prefix = key_prefix(storage, sync_id)
        self.namer = namer
        self.client = s3_client(storage)
        self.options = storage_options(storage)
        self._uploads = Uploads(max_in_flight)
        self._heartbeat = Heartbeat(lambda: self.client.put_object(
            Bucket=storage.bucket, Key=f"{self.sync_prefix}/{HEARTBEAT}", Body=b""))

    # --- liveness (see liveness.py) ------------------------------------------------------------------
    def start(self) -> None:
        """Mark this sync's staging alive, keep it so, and clear staging left by dead syncs."""
        self._heartbeat.start()
        parent = key_prefix(self.storage) + "/" if self.storage.path else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.storage.bucket, Prefix=parent, Delimiter="/")
        folders = [c["Prefix"][len(parent):].rstrip("/") for page in pages for c in page.get("CommonPrefixes", [])]

        def last_seen(folder: str):
            prefix = parent + folder
            try:
                return self.client.head_object(Bucket=self.storage.bucket, Key=f"{prefix}/{HEARTBEAT}")["LastModified"]
            except Exception:
                listing = self.client.list_objects_v2(Bucket=self.storage.bucket, Prefix=prefix + "/", MaxKeys=1000)
                return max((o["LastModified"] for o in listing.get("Contents", [])), default=None)

        def kept(folder: str) -> bool:
            try:
                self.client.head_object(Bucket=self.storage.bucket, Key=f"{parent}{folder}/{KEPT}")
                return True
            except Exception:
                return False

        sweep(folders, self.sync_id, last_seen, kept,
              lambda folder: delete_prefix(self.client, self.storage.bucket, parent + folder),
              f"s3://{self.storage.bucket}/{self.storage.path}")

    def keep(self) -> None:
        """purge_staging_data is off: mark this staging as kept, so no later sync sweeps it away."""
        self.client.put_object(Bucket=self.storage.bucket, Key=f"{self.sync_prefix}/{KEPT}", Body=b"")

    def location(self, table: TableName) -> str:
        return uri(self.storage, f"{self.sync_prefix}/{table.schema}/{table.table}")

    def _upload(self, key: str, body: pa.Buffer) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client.upload_fileobj(pa.BufferReader(body), self.storage.bucket, key,
                                   Config=TransferConfig(multipart_threshold=MULTIPART_CHUNK,
                                                         multipart_chunksize=MULTIPART_CHUNK, max_concurrency=4))

    def write(self, table: TableName, batch: pa.RecordBatch, avro_schema_json: str) -> StagedFile:
        name = self.namer.name(self._uploads.next_part(table))
        sink = pa.BufferOutputStream()
        write_parquet(sink, batch, avro_schema_json)
        body = sink.getvalue()
        key = f"{self.sync_prefix}/{table.schema}/{table.table}/{name}"
        self._uploads.submit(table, self._upload, key, body)
        return StagedFile(table, name, uri(self.storage, key), body.size, batch.num_rows, first_id(batch))

    def seal(self, table: TableName, files: list[StagedFile], schema: pa.Schema) -> StagedTable:
        self._uploads.wait(table, f"S3 bucket {self.storage.bucket!r}")
        location = self.location(table)
        data = [delta_files.DataFile(f.name, f.size, f.rows) for f in files]
        try:
            delta_files.commit(location, data, schema, "overwrite", storage_options=self.options)
        except Exception as exc:
            raise SystemFailure(f"Committing the staging Delta table at {location} failed: {exc}") from exc
        return StagedTable(table, location, files, schema)

    def purge(self) -> None:
        self.close()
        deleted = delete_prefix(self.client, self.storage.bucket, self.sync_prefix)
        logger.info("Purged %d staged objects under s3://%s/%s/", deleted, self.storage.bucket, self.sync_prefix)

    def close(self) -> None:
        self._heartbeat.stop()
        self._uploads.close()
