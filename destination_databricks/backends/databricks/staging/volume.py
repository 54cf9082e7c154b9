"""Volume staging: the ObjectStore of remote.py in a Unity Catalog volume, through the Files API.

Loads are `/Volumes/<catalog>/<schema>/<volume>/_airbyte_staging/<sync id>/<schema>.<table>.load_<n>/<name>.parquet`,
uploaded from memory through the Files API of databricks-sdk (no local temporary files); the warehouse reads a
load folder as ``parquet.`/Volumes/…` ``. The Files API deletes one path per call and only empty folders, so a
load's files and folder go as soon as it commits, beside the next loads, rather than all at the end.
"""
from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

from ....errors import ConfigError, SystemFailure, service_failure
from .remote import Body

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
            error = files_error(exc, f"write to the staging volume {self.root}")
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
            raise files_error(exc, f"list the staging volume {self.root}") from None

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
        levels: list[list[str]] = [[root]]
        files: list[str] = []
        with ThreadPoolExecutor(max_workers=PURGE_CALLS, thread_name_prefix="purge") as pool:
            while levels[-1]:
                below: list[str] = []
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


def files_error(exc: BaseException, what: str) -> Exception:
    """A failed Files API call → our error, naming what was being done."""
    from databricks.sdk import errors

    if isinstance(exc, (ConfigError, SystemFailure)):
        return exc
    reason = str(exc).split("\n")[0][:300]
    if isinstance(exc, (errors.Unauthenticated, errors.PermissionDenied)):  # the credentials, not the request
        return ConfigError(f"Databricks refused to {what}: {reason} (check the credentials and the principal's "
                           "permissions on the catalog, schema and volume)")
    return service_failure(f"Databricks failed to {what}: {type(exc).__name__}: {reason}", exc)
