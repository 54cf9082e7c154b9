"""What the local warehouse serves besides SQL, the way a Databricks workspace does.

- Sign-in: personal access tokens, and OAuth machine-to-machine (a service principal's client id and
  secret exchanged for short-lived JWT access tokens at the workspace's OIDC endpoints).
- Unity Catalog volumes: `CREATE VOLUME` / `DROP VOLUME`, the Files API (`/api/2.0/fs/files…`,
  `/api/2.0/fs/directories…`) on `/Volumes/<catalog>/<schema>/<volume>/…`, and `/Volumes/…` paths in
  statements resolved to the local folder that holds the volume, as a workspace resolves them to cloud
  storage.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pyarrow as pa

_IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_]+)"
_CREATE_VOLUME = re.compile(rf"^\s*CREATE\s+(?:EXTERNAL\s+)?VOLUME\s+(IF\s+NOT\s+EXISTS\s+)?({_IDENT})\.({_IDENT})\.({_IDENT})"
                            r"(?:\s+COMMENT\s+'(?:[^'\\]|\\.)*')?\s*;?\s*$", re.I | re.S)
_DROP_VOLUME = re.compile(rf"^\s*DROP\s+VOLUME\s+(IF\s+EXISTS\s+)?({_IDENT})\.({_IDENT})\.({_IDENT})\s*;?\s*$", re.I | re.S)
_VOLUME_PATH = re.compile(r"(?<=[`'])/Volumes/")


def _unquote(identifier: str) -> str:
    if identifier.startswith("`"):
        return identifier[1:-1].replace("``", "`")
    return identifier


@dataclass
class Auth:
    """Who may call: one personal access token, one service principal, the tokens issued to it."""

    token: str
    client_id: str
    client_secret: str
    token_seconds: int = 3600  # lifetime of issued OAuth tokens; tests shorten it
    issuer: str = ""  # set once the port is known
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    issued: list = field(default_factory=list)  # every access token issued, for tests
    used: set = field(default_factory=set)  # every OAuth token a request was accepted with
    refusals: list = field(default_factory=list)  # (path, reason) of every refused request

    def issue(self) -> dict:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.client_id, "aud": self.issuer, "iat": now,
                  "exp": now + self.token_seconds, "scope": "all-apis", "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, self.key, algorithm="HS256")
        self.issued.append(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_seconds, "scope": "all-apis"}

    def check(self, header: str | None, path: str) -> tuple[int, str] | None:
        """None if the Authorization header is accepted, else (HTTP status, reason) as a workspace answers."""
        reason = self._check(header)
        if reason is not None:
            self.refusals.append((path, reason[1]))
        return reason

    def _check(self, header: str | None) -> tuple[int, str] | None:
        if not header or not header.startswith("Bearer "):
            return 401, "Credential was not sent or was of an unsupported type for this API."
        presented = header[len("Bearer "):]
        if secrets.compare_digest(presented, self.token):
            return None
        try:
            jwt.decode(presented, self.key, algorithms=["HS256"], audience=self.issuer, leeway=0)
        except jwt.ExpiredSignatureError:
            return 401, "Token expired."
        except jwt.PyJWTError:
            return 403, "Invalid access token."
        self.used.add(presented)
        return None

    def client_credentials(self, header: str | None, form: dict) -> tuple[int, dict]:
        """The OAuth token endpoint: client credentials in HTTP Basic auth, form grant_type=client_credentials."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Only client_credentials is supported."}
        try:
            scheme, encoded = (header or "").split(" ", 1)
            client_id, client_secret = base64.b64decode(encoded).decode().split(":", 1)
        except ValueError:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed."}
        if scheme != "Basic" or client_id != self.client_id or not secrets.compare_digest(client_secret, self.client_secret):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed."}
        return 200, self.issue()


class Volumes:
    """Volumes of the warehouse's Unity Catalog, each a folder under ``root``."""

    def __init__(self, root: str, run_sql):
        self.root = root
        self.run_sql = run_sql  # statement → pa.Table, raises on failure (to see whether a schema exists)
        self.volumes: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()

    # --- SQL ------------------------------------------------------------------------------------
    def resolve(self, statement: str) -> str:
        """`/Volumes/…` in a path literal → the folder that holds the volume."""
        return _VOLUME_PATH.sub(lambda _: self.root.rstrip("/") + "/", statement)

    def statement(self, statement: str) -> tuple[pa.Table | None, str | None] | None:
        """Serve CREATE VOLUME / DROP VOLUME; None for any other statement."""
        match = _CREATE_VOLUME.match(statement)
        if match:
            key = tuple(_unquote(g) for g in match.groups()[1:4])
            catalog, schema, _ = key
            if catalog == "hive_metastore":
                return None, ("[UC_NOT_ENABLED] Volumes are a Unity Catalog feature; catalog hive_metastore "
                              "cannot hold a volume. Use a Unity Catalog catalog.")
            try:
                self.run_sql(f"SHOW TABLES IN `{catalog}`.`{schema}`")
            except Exception:
                return None, f"[SCHEMA_NOT_FOUND] The schema `{catalog}`.`{schema}` cannot be found."
            with self.lock:
                if key in self.volumes and not match.group(1):
                    return None, f"[VOLUME_ALREADY_EXISTS] Volume `{'`.`'.join(key)}` already exists."
                self.volumes.add(key)
                os.makedirs(os.path.join(self.root, *key), exist_ok=True)
            return pa.table({"result": pa.array([], pa.string())}), None
        match = _DROP_VOLUME.match(statement)
        if match:
            key = tuple(_unquote(g) for g in match.groups()[1:4])
            with self.lock:
                if key not in self.volumes:
                    if match.group(1):
                        return pa.table({"result": pa.array([], pa.string())}), None
                    return None, f"[VOLUME_NOT_FOUND] Volume `{'`.`'.join(key)}` cannot be found."
                self.volumes.discard(key)
                shutil.rmtree(os.path.join(self.root, *key), ignore_errors=True)
            return pa.table({"result": pa.array([], pa.string())}), None
        return None

    # --- Files API ------------------------------------------------------------------------------
    def _local(self, volume_path: str) -> str | None:
        """/Volumes/c/s/v/rest → the local path, or None when no such volume exists (or the path escapes it)."""
        parts = volume_path.split("/")
        if len(parts) < 5 or parts[0] != "" or parts[1] != "Volumes" or tuple(parts[2:5]) not in self.volumes:
            return None
        if any(p in ("..", ".") for p in parts[5:]):
            return None
        return os.path.join(self.root, *parts[2:])

    def files(self, method: str, raw_path: str, query: dict, body: bytes) -> tuple[int, dict, bytes]:
        """One Files API call → (status, headers, body)."""
        url = urlsplit(raw_path)
        for prefix, kind in (("/api/2.0/fs/files", "file"), ("/api/2.0/fs/directories", "directory")):
            if url.path.startswith(prefix + "/"):
                path = unquote(url.path[len(prefix):])
                break
        else:
            return _error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {url.path}'")
        local = self._local(path)
        if local is None:
            return _error(404, "NOT_FOUND", f"The volume of path {path} does not exist.")
        if kind == "file":
            return self._file(method, path, local, query, body)
        return self._directory(method, path, local, query)

    def _file(self, method, path, local, query, body):
        if method == "PUT":
            if os.path.isdir(local):
                return _error(409, "ALREADY_EXISTS", f"{path} is a directory.")
            if os.path.exists(local) and query.get("overwrite", ["false"])[0] != "true":
                return _error(409, "ALREADY_EXISTS", f"The file {path} already exists.")
            os.makedirs(os.path.dirname(local), exist_ok=True)
            tmp = f"{local}.{secrets.token_hex(4)}.uploading"
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, local)
            return 204, {}, b""
        if not os.path.isfile(local):
            return _error(404, "NOT_FOUND", f"The file {path} does not exist.")
        if method == "DELETE":
            os.unlink(local)
            return 204, {}, b""
        stat = os.stat(local)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(stat.st_size),
                   "Last-Modified": formatdate(stat.st_mtime, usegmt=True)}
        if method == "HEAD":
            return 200, headers, b""
        if method == "GET":
            with open(local, "rb") as f:
                return 200, headers, f.read()
        return _error(405, "BAD_REQUEST", f"{method} is not allowed on files.")

    def _directory(self, method, path, local, query):
        if method == "PUT":
            os.makedirs(local, exist_ok=True)
            return 204, {}, b""
        if not os.path.isdir(local):
            return _error(404, "NOT_FOUND", f"The directory {path} does not exist.")
        if method == "HEAD":
            return 200, {}, b""
        if method == "DELETE":
            if os.listdir(local):
                return _error(409, "DIRECTORY_NOT_EMPTY", f"The directory {path} is not empty.")
            os.rmdir(local)
            return 204, {}, b""
        if method == "GET":
            names = sorted(n for n in os.listdir(local) if not n.endswith(".uploading"))
            size = int(query.get("page_size", ["1000"])[0])
            start = int(query.get("page_token", ["0"])[0])
            contents = []
            for name in names[start:start + size]:
                full = os.path.join(local, name)
                stat = os.stat(full)
                entry = {"path": f"{path.rstrip('/')}/{name}", "name": name, "is_directory": os.path.isdir(full),
                         "last_modified": int(stat.st_mtime * 1000)}
                if not entry["is_directory"]:
                    entry["file_size"] = stat.st_size
                contents.append(entry)
            answer = {"contents": contents}
            if start + size < len(names):
                answer["next_page_token"] = str(start + size)
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        return _error(405, "BAD_REQUEST", f"{method} is not allowed on directories.")


def _error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"error_code": code, "message": message}).encode()


def host_metadata(base: str) -> dict:
    """GET /.well-known/databricks-config: where this workspace's OIDC endpoints are."""
    return {"oidc_endpoint": f"{base}/oidc", "workspace_id": "1234567890", "cloud": "aws"}


def oidc_discovery(base: str) -> dict:
    return {"issuer": f"{base}/oidc", "authorization_endpoint": f"{base}/oidc/v1/authorize",
            "token_endpoint": f"{base}/oidc/v1/token", "grant_types_supported": ["client_credentials"]}


def parse_form(body: bytes) -> dict:
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
