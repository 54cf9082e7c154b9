"""S3 + Databricks: staged as Delta tables on S3, loaded by SQL into unmanaged tables at
`s3://<bucket>/<path>/<schema>/<table>`.

Staging: `s3://<bucket>/<path>/_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/` holds Parquet files named by
`file_name_pattern` and a `_delta_log` written by deltalake (staging/remote.py does the rest). Big files go
up multipart.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa

from .. import delta_files
from ..config import S3Storage
from ..errors import ConfigError, SystemFailure
from ..naming import TableName
from ..retries import RetryBudget
from ..staging.base import StagedFile
from ..staging.filename import FileNamer, sync_namer
from ..staging.parquet import parquet_bytes
from ..staging.remote import Body, RemoteStager
from . import DataSource, warehouse

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


def key(storage: S3Storage, path: str) -> str:
    """The object key of ``path`` under the configured bucket path."""
    return "/".join(p for p in (storage.path, path) if p)


def s3_uri(storage: S3Storage, path: str) -> str:
    return f"s3://{storage.bucket}/{key(storage, path)}"


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str((response.get("Error") or {}).get("Code", "")) if isinstance(response, dict) else ""


class S3Store:
    """The ObjectStore of staging/remote.py on an S3 bucket, under the configured bucket path."""

    def __init__(self, storage: S3Storage):
        self.storage = storage
        self.bucket = storage.bucket
        self.client = s3_client(storage)
        self.where = f"S3 bucket {storage.bucket!r}"

    def key(self, path: str) -> str:
        return key(self.storage, path)

    def uri(self, path: str) -> str:
        return s3_uri(self.storage, path)

    def put(self, path: str, body: Body) -> None:
        from boto3.s3.transfer import TransferConfig

        stream = pa.BufferReader(body if isinstance(body, pa.Buffer) else pa.py_buffer(body))
        self.client.upload_fileobj(stream, self.bucket, self.key(path),
                                   Config=TransferConfig(multipart_threshold=MULTIPART_CHUNK,
                                                         multipart_chunksize=MULTIPART_CHUNK, max_concurrency=4))

    def folders(self, prefix: str) -> list[str]:
        parent = self.key(prefix) + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=parent, Delimiter="/")
        return [c["Prefix"][len(parent):].rstrip("/") for page in pages for c in page.get("CommonPrefixes", [])]

    def modified(self, path: str) -> dt.datetime | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(path))["LastModified"]
        except Exception as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def delete_prefix(self, folder: str) -> int:
        """Delete every object under ``folder/``, a page (up to 1,000 keys) per request."""
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key(folder).rstrip("/") + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted


def s3_error(exc: Exception, storage: S3Storage, action: str) -> ConfigError:
    """A failed S3 request at check time → what the user should fix, naming the field."""
    code = _code(exc)
    where = f"s3://{storage.bucket}/{storage.path}"
    if code in ("NoSuchBucket",):
        return ConfigError(f"S3 bucket {storage.bucket!r} does not exist (s3_bucket_name).")
    if code in ("InvalidAccessKeyId",):
        return ConfigError("S3 does not know this access key (s3_access_key_id).")
    if code in ("SignatureDoesNotMatch",):
        return ConfigError("S3 rejected the secret key for this access key (s3_secret_access_key).")
    if code in ("AccessDenied", "AllAccessDisabled", "403"):
        return ConfigError(f"S3 denied permission to {action} under {where}: check the key's policy (s3_access_key_id).")
    if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "301"):
        return ConfigError(f"S3 bucket {storage.bucket!r} is in another region than {storage.region!r} (s3_bucket_region).")
    return ConfigError(f"Could not {action} under {where} ({type(exc).__name__}: {str(exc)[:300]}); "
                       "check s3_endpoint, s3_bucket_region and the credentials.")


class S3Source(DataSource):
    storage: S3Storage

    def loader(self, *, patient: bool = True):
        options = storage_options(self.storage)

        def location(table: TableName) -> str:
            return s3_uri(self.storage, f"{table.schema}/{table.table}")

        return warehouse.loader(self.config, location, patient=patient,
                                schema_at=lambda where: delta_files.read_schema(where, options))

    def connect(self, sync_id: str):
        namer = sync_namer(self.storage.file_name_pattern, sync_id)
        namer.validate()
        options = storage_options(self.storage)

        def seal(location: str, files: list[StagedFile], schema: pa.Schema) -> str:
            data = [delta_files.DataFile(f.name, f.size, f.rows) for f in files]
            try:
                delta_files.commit(location, data, schema, "overwrite", storage_options=options)
            except Exception as exc:
                raise SystemFailure(f"Committing the staging Delta table at {location} failed: {exc}") from exc
            return "delta"

        stager = RemoteStager(S3Store(self.storage), sync_id, namer, parquet_bytes, "delta", seal=seal)
        return warehouse.remote_sync(self.config, stager, self.loader())

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
