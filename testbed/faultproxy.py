"""A fault-injecting HTTP reverse proxy to put in front of a real registry.

Why: retries, resumed uploads and "never a manifest without its blobs" can
only be proven against the real registry when the network misbehaves on
cue. The proxy forwards every request to the upstream registry and, when a
programmed fault matches, instead:

- ``drop``: reads the request and closes the connection without answering
  (the registry never sees it);
- ``drop_after``: forwards it, then closes without passing the answer on
  (the registry acted, the client cannot know);
- an HTTP status (500, 503, ...): answers that itself, not forwarding.

A fault matches a method and a path regex, from its ``nth`` match on, for
``times`` matches (None = forever). Every request is logged with what
happened, so tests can count. Absolute ``Location`` headers of the registry
are rewritten to the proxy's address. Standard library only.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
UPLOAD_PATH = r"/v2/.+/blobs/uploads/"


@dataclass
class Fault:
    action: str | int  # "drop", "drop_after", or an HTTP status to answer
    method: str | None = None  # None = any method
    path: str = ".*"  # regex searched in the request path (with query)
    nth: int = 1  # first matching request (1-based) the fault applies to
    times: int | None = 1  # how many matching requests from nth on; None = all
    matched: int = 0  # matching requests seen so far
    fired: int = 0  # how often the fault was applied

    def applies(self, method: str, path: str) -> bool:
        methods = self.method.split("|") if self.method else None
        if methods is not None and method not in methods:
            return False
        if not re.search(self.path, path):
            return False
        self.matched += 1
        if self.matched < self.nth or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    outcome: str  # "200", "drop", "drop_after:202", "fault:500"


@dataclass
class FaultProxy:
    """A running proxy: ``addr`` replaces the registry's address in image references."""

    upstream_host: str
    upstream_port: int
    host: str = "127.0.0.1"
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget faults and the request log."""
        with self._lock:
            self.faults.clear()
            self.log.clear()

    def count(self, method: str | None = None, path: str = ".*", outcome: str | None = None) -> int:
        """Logged requests matching a method, a path regex and an outcome prefix."""
        with self._lock:
            return sum(
                1
                for entry in self.log
                if (method is None or entry.method == method)
                and re.search(path, entry.path)
                and (outcome is None or entry.outcome.startswith(outcome))
            )

    def _decide(self, method: str, path: str) -> str | int | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(method, path):
                    return fault.action
        return None

    def _record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.log.append(Logged(method, path, outcome))

    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _handle(self) -> None:
                method, path = self.command, self.path
                body = self._body()
                action = proxy._decide(method, path)
                if action == "drop":
                    proxy._record(method, path, "drop")
                    self._drop()
                    return
                if isinstance(action, int):
                    proxy._record(method, path, f"fault:{action}")
                    payload = f"injected fault {action}\n".encode()
                    self.send_response(action)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if method != "HEAD":
                        self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    headers["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
                    upstream.request(method, path, body=body if body or method in ("POST", "PUT", "PATCH") else None,
                                     headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                finally:
                    upstream.close()
                if action == "drop_after":
                    proxy._record(method, path, f"drop_after:{response.status}")
                    self._drop()
                    return
                proxy._record(method, path, str(response.status))
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() in _HOP_BY_HOP or key.lower() == "content-length":
                        continue
                    if key.lower() == "location":
                        value = proxy._rewrite(value)
                    self.send_header(key, value)
                length = response.getheader("Content-Length") if method == "HEAD" else str(len(payload))
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True).start()
        return self

    def _rewrite(self, location: str) -> str:
        parts = urlsplit(location)
        if parts.netloc in (f"{self.upstream_host}:{self.upstream_port}",):
            return location.replace(f"{parts.scheme}://{parts.netloc}", f"http://{self.addr}", 1)
        return location

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_proxy(upstream: str, host: str = "127.0.0.1") -> FaultProxy:
    """A proxy on a free port of host, forwarding to upstream ``host:port`` (plain HTTP)."""
    upstream_host, _, port = upstream.rpartition(":")
    return FaultProxy(upstream_host, int(port), host).start()
