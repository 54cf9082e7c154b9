"""Managed tables + Databricks: Parquet staged in a Unity Catalog volume, loaded by SQL into managed tables
(no location; the metastore keeps their data).

Staging: `/Volumes/<catalog>/<schema>/<volume>/_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/<name>.parquet`,
uploaded from memory through the Files API of databricks-sdk (no local temporary files); the warehouse reads a
load folder as ``parquet.`/Volumes/…` ``. The Files API deletes one path per call and only empty folders, so a
load's files and folder go as soon as it commits, beside the next loads, rather than all at the end.
"""
from __future__ import annotations

import datetime as dt
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

from ..config import ManagedTablesStorage
from ..errors import ConfigError
from ..naming import sanitize
from ..staging.filename import DEFAULT_PATTERN, sync_namer
from ..staging.parquet import parquet_bytes
from ..staging.remote import Body, RemoteStager
from ..workspace import SignIn, api_error
from . import DataSource, warehouse


PURGE_CALLS = 16  # Files API calls at once while purging staging


def volume_root(catalog: str, schema: str, volume: str) -> str:
    return f"/Volumes/{catalog}/{schema}/{volume}"


def _is_missing(exc: BaseException) -> bool:
    from databricks.sdk import errors

    return isinstance(exc, errors.NotFound)


class VolumeStore:
    """The ObjectStore of staging/remote.py in a volume, through the Files API; paths relative to the volume."""

    def __init__(self, workspace, root: str):
        """``workspace``: a databricks-sdk WorkspaceClient; ``root``: the volume's path, /Volumes/c/s/v."""
        self.files = workspace.files
        self.root = root
        self.where = f"the Databricks volume {root}"

    def uri(self, path: str) -> str:
        return f"{self.root}/{path}"

    def put(self, path: str, body: Body) -> None:
        try:
            self.files.upload(self.uri(path), io.BytesIO(body), overwrite=True)
        except Exception as exc:
            error = api_error(exc, f"write to the staging volume {self.root}")
            if isinstance(error, ConfigError):  # the credentials or permissions: the user's to fix
                raise error from None
            raise

    def folders(self, prefix: str) -> list[str]:
        try:
            return [e.name or e.path.rstrip("/").rsplit("/", 1)[-1]
                    for e in self.files.list_directory_contents(self.uri(prefix)) if e.is_directory]
        except Exception as exc:
            if _is_missing(exc):
                return []
            raise api_error(exc, f"list the staging volume {self.root}") from None

    def modified(self, path: str) -> dt.datetime | None:
        try:
            modified = self.files.get_metadata(self.uri(path)).last_modified
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise
        return dt.datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=dt.timezone.utc)

    def delete_prefix(self, folder: str) -> int:
        return self._delete_tree(self.uri(folder))

    def delete_file(self, path: str) -> None:
        self._delete_file(self.uri(path))

    def delete_empty_folder(self, path: str) -> None:
        self._delete_directory(self.uri(path))

    def _delete_tree(self, root: str) -> int:
        """Delete the folder ``root`` and everything in it. The Files API lists one folder per call and removes
        only empty folders, each call taking its round trip: so every folder of a level is listed at once, then
        every file is deleted at once, then the folders, deepest level first."""
        levels, files = [[root]], []
        with ThreadPoolExecutor(max_workers=PURGE_CALLS, thread_name_prefix="purge") as pool:
            while levels[-1]:
                below = []
                for entries in pool.map(self._entries, levels[-1]):
                    for entry in entries:
                        (below if entry.is_directory else files).append(entry.path)
                levels.append(below)
            deleted = sum(pool.map(self._delete_file, files))
            for level in reversed(levels):
                list(pool.map(self._delete_directory, level))
        return deleted

    def _entries(self, path: str) -> list:
        try:
            return list(self.files.list_directory_contents(path))
        except Exception as exc:
            if _is_missing(exc):
                return []
            raise

    def _delete_directory(self, path: str) -> None:
        try:
            self.files.delete_directory(path)
        except Exception as exc:
            if not _is_missing(exc):
                raise

    def _delete_file(self, path: str) -> int:
        try:
            self.files.delete(path)
            return 1
        except Exception as exc:
            if _is_missing(exc):
                return 0
            raise


class ManagedSource(DataSource):
    storage: ManagedTablesStorage

    def loader(self, *, patient: bool = True, signin: SignIn | None = None):
        return warehouse.loader(self.config, lambda _: None, patient=patient, signin=signin)  # managed: no location

    def _volume(self, loader) -> str:
        """Create the staging volume (and its schema) if missing; its path."""
        schema = sanitize(self.config.schema, lowercase=True)
        loader.ensure_volume(schema, self.storage.volume)
        return volume_root(self.config.catalog, schema, self.storage.volume)

    def connect(self, sync_id: str):
        signin = SignIn(self.config.databricks)
        loader = self.loader(signin=signin)
        try:
            store = VolumeStore(signin.workspace(), self._volume(loader))
            stager = RemoteStager(store, sync_id, sync_namer(DEFAULT_PATTERN, sync_id), parquet_bytes, "parquet",
                                  free_loaded=self.config.purge_staging_data)
        except BaseException:
            loader.close()
            raise
        return warehouse.remote_sync(self.config, stager, loader)

    def check(self) -> None:
        check_id = uuid.uuid4().hex
        signin = SignIn(self.config.databricks, patient=False)
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
                    raise api_error(exc, f"{action} the staging volume {root} (data_source.volume_name)") from None
        except BaseException:
            loader.close()
            raise
        warehouse.check_table(self.config, loader, None, check_id)
