"""S3 staging: the ObjectStore of remote.py on a bucket, under the configured bucket path, with boto3.

Loads are `s3://<bucket>/<path>/_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/`: Parquet files named by
`file_name_pattern` and a `_delta_log` written by deltalake (the backend seals them so). Big files go up
multipart.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ....config import S3Storage
from ....errors import ConfigError, shown
from ....retries import RetryBudget
from .remote import Body

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
        return ConfigError(f"S3 bucket {shown(storage.bucket)} does not exist (s3_bucket_name).")
    if code in ("InvalidAccessKeyId",):
        return ConfigError("S3 does not know this access key (s3_access_key_id).")
    if code in ("SignatureDoesNotMatch",):
        return ConfigError("S3 rejected the secret key for this access key (s3_secret_access_key).")
    if code in ("AccessDenied", "AllAccessDisabled", "403"):
        return ConfigError(f"S3 denied permission to {action} under {where}: check the key's policy (s3_access_key_id).")
    if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "301"):
        return ConfigError(f"S3 bucket {shown(storage.bucket)} is in another region than {shown(storage.region)} "
                           "(s3_bucket_region).")
    return ConfigError(f"Could not {action} under {where} ({type(exc).__name__}: {str(exc)[:300]}); "
                       "check s3_endpoint, s3_bucket_region and the credentials.")


