"""The typed config, parsed and validated once; every problem names the field it is about."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import fields, layout
from .errors import ConfigError, shown
from .layout import StreamLayout
from .records.columns import DEFAULT_TYPES, ColumnTypes
from .vector_search import config as vector_search_config
from .vector_search.config import VectorSearchConfig

DEFAULT_VOLUME = "airbyte_staging"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")
_NOT_IN_CATALOG = re.compile(r"[./?#\\\s\x00-\x1f`]")


@dataclass(frozen=True)
class LocalStorage:
    path: str


@dataclass(frozen=True)
class ManagedTablesStorage:
    volume: str  # the Unity Catalog volume, in the config's catalog and schema, that stages files
    zerobus_endpoint: str = ""  # direct_ingest: append streams go through Zerobus Ingest (backends/zerobus/)


@dataclass(frozen=True)
class S3Storage:
    bucket: str
    path: str
    region: str
    access_key_id: str
    secret_access_key: str
    file_name_pattern: str
    endpoint: str


@dataclass(frozen=True)
class AzureStorage:
    account: str
    container: str
    sas_token: str
    endpoint_domain: str


Storage = LocalStorage | ManagedTablesStorage | S3Storage | AzureStorage


@dataclass(frozen=True)
class DatabricksConnection:
    hostname: str
    http_path: str
    port: str
    access_token: str  # a personal access token, or "" when signing in as a service principal
    client_id: str = ""  # OAuth machine-to-machine: a service principal's client id and secret
    client_secret: str = ""

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)

    @property
    def host_url(self) -> str:
        """The workspace's base URL: https://host[:port]; a host given as http://… (a local warehouse) is kept."""
        host = self.hostname.rstrip("/")
        if not host.startswith(("http://", "https://")):
            host = "https://" + host
        return host if self.port == "443" else f"{host}:{self.port}"


@dataclass(frozen=True)
class Config:
    storage: Storage
    databricks: DatabricksConnection | None
    catalog: str
    schema: str
    enable_schema_evolution: bool
    purge_staging_data: bool
    max_concurrent_statements: int = 8  # statements a sync runs on the warehouse at once
    cdc_hard_delete: bool = True  # cdc_deletion_mode: a deduplicated stream's CDC delete removes the row ("hard")
    vector_search: VectorSearchConfig | None = None  # Delta Sync indexes to keep on the synced tables
    layouts: tuple[StreamLayout, ...] = ()  # `streams`: clustering, partitioning and properties of their tables
    column_types: ColumnTypes = DEFAULT_TYPES  # how `number` and nested properties are typed in new columns


def _string(raw: Mapping[str, Any], field: str, *, prefix: str = "", required: bool = True, default: str = "") -> str:
    return fields.text(raw, field, prefix=prefix, required=required) or default


def _boolean(raw: Mapping[str, Any], field: str, default: bool) -> bool:
    value = raw.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"Config field '{field}' must be true or false, got {type(value).__name__}.")
    return value


def _whole(raw: Mapping[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = raw.get(field, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"Config field '{field}' must be a whole number from {low} to {high}, got {shown(value)}.")
    return value


def _path(value: str, field: str, *, dot_segments: bool = False) -> str:
    """A config value that becomes part of a path or URL: no `?`, `#` or `\\` (a URL parser would cut or turn them),
    no scheme, and (unless ``dot_segments``) no `.` or `..` segment, which a store would resolve out of its prefix."""
    if any(c in value for c in "?#\\") or "://" in value or any(ord(c) < 32 for c in value):
        raise ConfigError(f"Config field '{field}' must be a plain path: no '?', '#', '\\', control characters or "
                          f"'scheme://', got {shown(value)}.")
    if not dot_segments and any(segment in (".", "..") for segment in value.split("/")):
        raise ConfigError(f"Config field '{field}' must not have '.' or '..' segments, got {shown(value)}.")
    return value


# Azure's rules for the names (https://learn.microsoft.com/azure/storage/common/storage-account-overview and
# "Naming and referencing containers, blobs, and metadata").
_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_AZURE_CONTAINER = re.compile(r"(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*")


# A host as these fields take it: a name or IPv4 address, with http:// or https:// before it for a local or
# private endpoint, and (where a port has no field of its own) :port after it.
_HOST = re.compile(r"(?:https?://)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?P<port>:[0-9]{1,5})?/?")


def _host(value: str, field: str, port_allowed: bool = True) -> str:
    """``value`` if it is a host, or empty (not set): anything else would send requests to a URL of its making."""
    match = _HOST.fullmatch(value) if value else None
    if value and (match is None or (match.group("port") and not port_allowed)):
        raise ConfigError(f"Config field '{field}' must be a host name{'' if port_allowed else ' without a port'} "
                          f"(http:// or https:// may come first), got {shown(value)}.")
    return value


def _azure_name(value: str, field: str, rule: re.Pattern, described: str) -> str:
    if not rule.fullmatch(value):
        raise ConfigError(f"Config field '{field}' must be {described}, as Azure names are; got {shown(value)}.")
    return value


def _plain(value: str, field: str) -> str:
    if not _PLAIN_NAME.fullmatch(value):
        raise ConfigError(f"Config field '{field}' must be a plain name (letters, digits, '_' and '-'), got {shown(value)}.")
    return value


def _storage(raw: Mapping[str, Any]) -> Storage:
    source = raw.get("data_source")
    if not isinstance(source, Mapping):
        raise ConfigError("Config field 'data_source' is required and must be an object with a 'data_source_type'.")
    kind = source.get("data_source_type")
    p = "data_source."
    if kind == "LOCAL":
        path = _path(_string(source, "local_path", prefix=p), f"{p}local_path", dot_segments=True)  # a folder of ours
        return LocalStorage(path=os.path.abspath(os.path.expanduser(path)))
    if kind == "MANAGED_TABLES_STORAGE":
        volume = _string(source, "volume_name", prefix=p, required=False, default=DEFAULT_VOLUME)
        direct = source.get("direct_ingest")
        if direct is not None and not isinstance(direct, Mapping):
            raise ConfigError(f"Config field '{p}direct_ingest' must be an object with a 'zerobus_endpoint'.")
        endpoint = _host(_string(direct, "zerobus_endpoint", prefix=f"{p}direct_ingest.") if direct is not None else "",
                         f"{p}direct_ingest.zerobus_endpoint")
        return ManagedTablesStorage(volume=_plain(volume, f"{p}volume_name"), zerobus_endpoint=endpoint)
    if kind == "S3_STORAGE":
        bucket = _string(source, "s3_bucket_name", prefix=p)
        if not _BUCKET.fullmatch(bucket):
            raise ConfigError(f"Config field '{p}s3_bucket_name' must be a bucket name (letters, digits, '.', "
                              f"'-' and '_'), got {shown(bucket)}.")
        return S3Storage(
            bucket=bucket,
            path=_path(_string(source, "s3_bucket_path", prefix=p, required=False).strip("/"), f"{p}s3_bucket_path"),
            region=_string(source, "s3_bucket_region", prefix=p, required=False, default="us-east-1"),
            access_key_id=_string(source, "s3_access_key_id", prefix=p),
            secret_access_key=_string(source, "s3_secret_access_key", prefix=p),
            file_name_pattern=_string(source, "file_name_pattern", prefix=p, required=False),
            endpoint=_host(_string(source, "s3_endpoint", prefix=p, required=False), f"{p}s3_endpoint"),
        )
    if kind == "AZURE_BLOB_STORAGE":
        return AzureStorage(
            account=_azure_name(_string(source, "azure_blob_storage_account_name", prefix=p),
                                f"{p}azure_blob_storage_account_name", _AZURE_ACCOUNT,
                                "3 to 24 lower-case letters and digits"),
            container=_azure_name(_string(source, "azure_blob_storage_container_name", prefix=p),
                                  f"{p}azure_blob_storage_container_name", _AZURE_CONTAINER,
                                  "3 to 63 lower-case letters, digits and single hyphens, starting and ending with a "
                                  "letter or digit"),
            sas_token=_string(source, "azure_blob_storage_sas_token", prefix=p),
            endpoint_domain=_host(_string(
                source, "azure_blob_storage_endpoint_domain_name", prefix=p, required=False,
                default="blob.core.windows.net",
            ), f"{p}azure_blob_storage_endpoint_domain_name"),
        )
    raise ConfigError(
        "Config field 'data_source.data_source_type' must be one of LOCAL, MANAGED_TABLES_STORAGE, "
        f"S3_STORAGE, AZURE_BLOB_STORAGE; got {shown(kind)}."
    )


def _databricks(raw: Mapping[str, Any]) -> DatabricksConnection:
    if raw.get("accept_terms") is not True:
        raise ConfigError("Config field 'accept_terms' must be true to use a Databricks data source.")
    port = raw.get("databricks_port", "443")
    port = str(port).strip() if port is not None else "443"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Config field 'databricks_port' must be a port number, got {shown(port)}.")
    hostname = _string(raw, "databricks_server_hostname")
    if "/" in hostname.removeprefix("https://").removeprefix("http://").rstrip("/"):
        raise ConfigError("Config field 'databricks_server_hostname' must be a host name, without a path.")
    _host(hostname, "databricks_server_hostname", port_allowed=False)
    return DatabricksConnection(hostname=hostname, http_path=_string(raw, "databricks_http_path"), port=port,
                                **_credentials(raw))


def _credentials(raw: Mapping[str, Any]) -> dict[str, str]:
    """`authentication` (a oneOf: token or service principal); configs from before it have the token at the top."""
    auth = raw.get("authentication")
    if auth is None:
        return {"access_token": _string(raw, "databricks_personal_access_token")}
    if not isinstance(auth, Mapping):
        raise ConfigError("Config field 'authentication' must be an object with an 'auth_type'.")
    kind = auth.get("auth_type")
    p = "authentication."
    if kind == "PERSONAL_ACCESS_TOKEN":
        return {"access_token": _string(auth, "databricks_personal_access_token", prefix=p)}
    if kind == "OAUTH_M2M":
        return {"access_token": "", "client_id": _string(auth, "databricks_client_id", prefix=p),
                "client_secret": _string(auth, "databricks_client_secret", prefix=p)}
    raise ConfigError(f"Config field 'authentication.auth_type' must be PERSONAL_ACCESS_TOKEN or OAUTH_M2M; got {shown(kind)}.")


def parse_config(raw: Mapping[str, Any]) -> Config:
    """Validate a raw config mapping; raise ConfigError naming the first bad field."""
    if not isinstance(raw, Mapping):
        raise ConfigError("The config must be a JSON object.")
    storage = _storage(raw)
    databricks = None if isinstance(storage, LocalStorage) else _databricks(raw)
    catalog = _string(raw, "database", required=False, default="hive_metastore")
    if _NOT_IN_CATALOG.search(catalog):  # it becomes part of /Volumes/<catalog>/… paths and index names
        raise ConfigError(f"Config field 'database' must be a catalog name without '.', '/', '?', '#', '\\' or spaces, "
                          f"got {shown(catalog)}.")
    if isinstance(storage, ManagedTablesStorage) and catalog.lower() == "hive_metastore":
        raise ConfigError("Config field 'database' must name a Unity Catalog catalog for the Managed tables data source "
                          "(its staging volume cannot live in hive_metastore).")
    if isinstance(storage, ManagedTablesStorage) and storage.zerobus_endpoint and not (databricks and databricks.oauth):
        raise ConfigError("Config field 'data_source.direct_ingest' needs the OAuth sign-in (a service principal's "
                          "client id and secret): Zerobus Ingest takes no personal access token.")
    return Config(
        storage=storage,
        databricks=databricks,
        catalog=catalog,
        schema=_string(raw, "schema", required=False, default="default"),
        enable_schema_evolution=_boolean(raw, "enable_schema_evolution", False),
        purge_staging_data=_boolean(raw, "purge_staging_data", True),
        max_concurrent_statements=_whole(raw, "max_concurrent_statements", 8, 1, 64),
        cdc_hard_delete=fields.choice(raw, "cdc_deletion_mode", ("hard", "soft")) == "hard",
        vector_search=vector_search_config.parse(
            raw.get("vector_search"), unity_catalog=databricks is not None and catalog.lower() != "hive_metastore"),
        layouts=layout.parse(raw.get("streams")),
        column_types=ColumnTypes(
            decimal_numbers=fields.choice(raw, "number_column_type", ("DOUBLE", "DECIMAL"), upper=True) == "DECIMAL",
            # delta-rs cannot write VARIANT columns: the embedded default keeps nested values as JSON text
            variant=fields.choice(raw, "json_column_type", ("STRING", "VARIANT"), upper=True) == "VARIANT"
            and databricks is not None),
    )


def column_type_notes(config: Config, raw: Mapping[str, Any]) -> list[str]:
    """What `check` says of the column-type and layout options: they shape new columns and tables only."""
    notes = []
    if str(raw.get("json_column_type") or "").upper() == "VARIANT":
        notes.append("json_column_type VARIANT: new columns of nested values are VARIANT; existing columns keep their "
                     "types (a STRING column of JSON text stays STRING)." if config.column_types.variant else
                     "json_column_type VARIANT: LOCAL keeps nested values as JSON text in STRING columns (delta-rs "
                     "cannot write VARIANT).")
    if config.column_types.decimal_numbers:
        notes.append("number_column_type DECIMAL: new `number` columns are DECIMAL(38,10); existing columns keep their "
                     "types (a DOUBLE column stays DOUBLE).")
    if config.layouts:
        notes.append("streams: cluster_by and table_properties change existing tables at their next sync where they "
                     "differ; partition_by applies to new tables only" + (
                         "; LOCAL applies table_properties only." if config.databricks is None else "."))
    return notes

