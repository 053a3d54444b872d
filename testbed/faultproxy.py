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

``paginate_tags``: Debian's docker-registry (distribution 2.8) ignores the
``n``/``last`` parameters of ``GET /v2/<name>/tags/list`` and returns every
tag unsorted. With this set, the proxy pages the registry's real tag list
the way the OCI distribution spec (and distribution 3) does: sorted, ``n``
per page, ``Link: <...?n=N&last=T>; rel="next"`` while more remain.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
UPLOAD_PATH = r"/v2/.+/blobs/uploads/"
_TAGS_LIST = re.compile(r"^/v2/(.+)/tags/list(?:\?(.*))?$")


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
    paginate_tags: bool = False
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

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
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
                paging = _TAGS_LIST.match(path) if proxy.paginate_tags and method == "GET" else None
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    headers["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
                    forwarded = f"/v2/{paging.group(1)}/tags/list" if paging else path
                    upstream.request(method, forwarded,
                                     body=body if body or method in ("POST", "PUT", "PATCH") else None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                finally:
                    upstream.close()
                extra: dict[str, str] = {}
                if paging and response.status == 200:
                    payload, extra = _page_tags(paging.group(1), paging.group(2) or "", payload)
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
                for key, value in extra.items():
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


def _page_tags(name: str, query: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    """One page of the full tag list, per the OCI distribution spec."""
    params = parse_qs(query)
    body = json.loads(payload)
    tags = sorted(body.get("tags") or [])
    if "last" in params:
        tags = [tag for tag in tags if tag > params["last"][0]]
    headers = {}
    if "n" in params:
        n = int(params["n"][0])
        if len(tags) > n:
            headers["Link"] = f'</v2/{name}/tags/list?{urlencode({"n": n, "last": tags[n - 1]})}>; rel="next"'
        tags = tags[:n]
    body["tags"] = tags
    return json.dumps(body).encode(), headers


def start_proxy(upstream: str, host: str = "127.0.0.1", paginate_tags: bool = False) -> FaultProxy:
    """A proxy on a free port of host, forwarding to upstream ``host:port`` (plain HTTP)."""
    upstream_host, _, port = upstream.rpartition(":")
    return FaultProxy(upstream_host, int(port), host, paginate_tags).start()
