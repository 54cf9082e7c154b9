"""A fault-injecting HTTP proxy on 127.0.0.1, put between the connector and one service.

Requests pass through unchanged unless a rule matches (method, a regex on the path and query, a regex on
the body, e.g. a statement inside a Thrift call); a matching rule then does one of

- ``reset``: the connection is reset (RST), before the request reaches the service or, with
  ``after=True``, after the service has done it (so only the answer is lost);
- ``status``: answer an error status (500, 503, 429…) in the service's own style, with Retry-After;
- ``slow``: wait ``delay`` seconds, then pass the request through;
- ``cut``: pass it through, then send the answer's headers and only half its body, and close;
- ``echo``: answer ``status`` in the service's own style, its message quoting the request whole
  (request line with its query, every header, the body), as careless servers and proxies do; a Databricks-style
  answer also carries it in `x-databricks-reason-phrase`.

A rule fires ``times`` times (None: for ever) after letting ``skip`` matching requests through.
"""
from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_STYLE = {
    "s3": ("application/xml", b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                              b"<Message>Please reduce your request rate.</Message></Error>"),
    "azure": ("application/xml", b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
                                 b"<Message>The server is busy.</Message></Error>"),
    "databricks": ("application/json", b'{"error_code":"TEMPORARILY_UNAVAILABLE","message":"The service is busy."}'),
}


@dataclass
class Fault:
    kind: str  # reset | status | slow | cut | echo
    method: str | None = None
    path: str = ""  # regex searched in the path and query
    body: bytes = b""  # regex searched in the request body
    times: int | None = 1  # None: every matching request
    skip: int = 0
    status: int = 503
    delay: float = 0.0
    after: bool = False  # reset: after the service has handled the request
    fired: int = 0
    seen: int = 0

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.method and method != self.method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        return not self.body or re.search(self.body, body) is not None

    def take(self) -> bool:
        """Count one matching request; whether the fault fires on it."""
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class FaultProxy:
    upstream: str  # http://127.0.0.1:PORT
    style: str = "databricks"  # how error answers look: s3 | azure | databricks
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[float, str, str, str]] = field(default_factory=list)  # (when, method, path, what happened)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def fired(self) -> list[tuple[float, str, str, str]]:
        return [entry for entry in self.log if entry[3] != "passed"]

    def _decide(self, method: str, path: str, body: bytes) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, body) and fault.take():
                    self.log.append((time.monotonic(), method, path, fault.kind))
                    return fault
            self.log.append((time.monotonic(), method, path, "passed"))
            return None

    def start(self) -> str:
        proxy = self

        class Handler(_Handler):
            pass

        Handler.proxy = proxy
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy

    def log_message(self, fmt, *args):
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body: bytes):
        upstream = urlsplit(self.proxy.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        return response.status, response.reason, response.getheaders(), payload

    def _relay(self) -> None:
        body = self._body()
        fault = self.proxy._decide(self.command, self.path, body)
        if fault is not None and fault.kind == "reset" and not fault.after:
            return self._reset()
        if fault is not None and fault.kind == "status":
            content_type, answer = _STYLE[self.proxy.style]
            self.send_response(fault.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)
            return
        if fault is not None and fault.kind == "echo":
            return self._echo(fault, body)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        status, reason, headers, payload = self._forward(body)
        if fault is not None and fault.kind == "reset":  # after: the service did the work, the answer is lost
            return self._reset()
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault is not None and fault.kind == "cut":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            return self._reset()
        self.wfile.write(payload)

    def _echo(self, fault: Fault, body: bytes) -> None:
        from xml.sax.saxutils import escape

        quoted = " | ".join([f"{self.command} {self.path}", *(f"{k}: {v}" for k, v in self.headers.items()),
                             body[:2000].decode("latin-1")])
        extra = {}
        if self.proxy.style == "databricks":
            oauth = "/oidc/" in self.path  # the token endpoint answers as OAuth servers do
            answer = json.dumps({"error": "invalid_client", "error_description": f"Refused: {quoted}"} if oauth else
                                {"error_code": "PERMISSION_DENIED", "message": f"Refused: {quoted}"}).encode()
            extra["x-databricks-reason-phrase"] = f"Refused: {quoted}".replace("\r", " ").replace("\n", " ")[:4000]
        else:
            answer = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                      f"<Message>Refused: {escape(quoted)}</Message></Error>").encode()
        self.send_response(fault.status)
        self.send_header("Content-Type", _STYLE[self.proxy.style][0])
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _relay
