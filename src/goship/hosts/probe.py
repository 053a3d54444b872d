"""HTTP probes as seen from a Docker host: the health gate's eyes.

A probe is one ``GET`` to an address on the host (a container's port
published on the host's loopback, or the proxy's port), answered with a
status code or the reason there is none. ``LocalProber`` connects directly;
``hosts.ssh.SSHConnection`` goes through the host's sshd (``ssh -W``), so hosts
need nothing installed for it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Protocol

from goship.engine.http import dechunk


@dataclass(frozen=True)
class ProbeResult:
    """One HTTP probe: a status code, or the error that prevented one."""

    status: int | None
    error: str | None
    seconds: float
    #: True when nothing listened (refused or reset): "not ready yet", not a failure of the path.
    refused: bool = False
    #: A TCP probe (``tcp_connect``) whose connection was accepted.
    connected: bool = False
    #: A check that is no request (a command in the container, a process that keeps
    #: running): what it saw, e.g. "exit code 1", and whether that is a success.
    checked: str | None = None
    succeeded: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    def describe(self) -> str:
        if self.checked is not None:
            return f"{self.checked} after {self.seconds * 1000:.0f} ms"
        if self.connected:
            return f"connected after {self.seconds * 1000:.0f} ms"
        what = f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")
        return f"{what} after {self.seconds * 1000:.0f} ms"


class Prober(Protocol):
    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        """GET http://host:port/path as seen from the Docker host itself."""
        ...

    def get_body(self, host: str, port: int, path: str, timeout: float = 5.0) -> bytes | None:
        """The body of a 200 answer to GET path; None for any other outcome."""
        ...

    def tcp_connect(self, host: str, port: int, timeout: float = 5.0) -> ProbeResult:
        """Whether host:port accepts a TCP connection (``connected``), as seen from the Docker host."""
        ...

    def close(self) -> None: ...


def http_request_bytes(host: str, port: int, path: str, host_header: str | None = None) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host_header or f'{host}:{port}'}\r\nUser-Agent: goship-probe\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")


def parse_status_line(response: bytes) -> int | None:
    """``HTTP/1.1 200 OK`` -> 200; None when the bytes are not an HTTP response."""
    first = response.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    parts = first.split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def parse_body(response: bytes) -> bytes:
    """The body of a whole ``Connection: close`` answer (chunked decoded)."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    return dechunk(body)


def _recv_all(sock: socket.socket, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class LocalProber:
    """Probes from this machine (the local engine publishes on its loopback)."""

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        start = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                sock.sendall(http_request_bytes(host, port, path, host_header))
                data = _recv_all(sock, 4096)
        except (ConnectionRefusedError, ConnectionResetError) as exc:
            return ProbeResult(None, exc.strerror or "connection refused", time.monotonic() - start, refused=True)
        except TimeoutError:
            return ProbeResult(None, f"no answer within {timeout:g}s", time.monotonic() - start)
        except OSError as exc:
            return ProbeResult(None, exc.strerror or type(exc).__name__, time.monotonic() - start)
        status = parse_status_line(data)
        if status is None:
            return ProbeResult(None, "connection closed without an HTTP answer", time.monotonic() - start, refused=not data)
        return ProbeResult(status, None, time.monotonic() - start)

    def tcp_connect(self, host: str, port: int, timeout: float = 5.0) -> ProbeResult:
        start = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return ProbeResult(None, None, time.monotonic() - start, connected=True)
        except (ConnectionRefusedError, ConnectionResetError):
            return ProbeResult(None, "connection refused", time.monotonic() - start, refused=True)
        except OSError as exc:
            return ProbeResult(None, exc.strerror or type(exc).__name__, time.monotonic() - start)

    def get_body(self, host: str, port: int, path: str, timeout: float = 5.0) -> bytes | None:
        """The body of GET path (the proxy's status endpoint), None when it does not answer 200."""
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                sock.sendall(http_request_bytes(host, port, path))
                data = _recv_all(sock, 1 << 20)
        except OSError:
            return None
        return parse_body(data) if parse_status_line(data) == 200 else None

    def close(self) -> None:
        pass
