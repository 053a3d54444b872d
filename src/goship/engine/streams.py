"""Byte streams to a Docker engine: a socket, or a pair of pipes.

The Engine API is HTTP over whatever reaches the engine: the unix socket,
a TCP (or TLS) connection, Windows' named pipe, or the standard input and
output of ``ssh HOST docker system dial-stdio``. Each of those is a
``Stream``: write bytes, read up to n bytes with a timeout, close.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import IO, Protocol


class StreamClosed(Exception):
    """The other end went away (or was never there); ``reason`` says what we know."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Stream(Protocol):
    def write(self, data: bytes) -> None:
        """Send all of ``data``; StreamClosed when the peer is gone."""
        ...

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` bytes, b"" at end of stream; TimeoutError after ``timeout`` s."""
        ...

    def close(self) -> None: ...

    def diagnose(self) -> str | None:
        """Why the stream ended, when the far side said so (ssh's stderr)."""
        ...


class SocketStream:
    """A connected socket (unix, TCP, or TLS over TCP)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        try:
            self._sock.settimeout(60)
            self._sock.sendall(data)
        except OSError as exc:
            raise StreamClosed(exc.strerror or type(exc).__name__) from None

    def read(self, size: int, timeout: float | None) -> bytes:
        try:
            self._sock.settimeout(timeout)
            return self._sock.recv(size)
        except TimeoutError:
            raise TimeoutError from None
        except OSError as exc:
            raise StreamClosed(exc.strerror or type(exc).__name__) from None

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def diagnose(self) -> str | None:
        return None


def connect_unix(path: str, timeout: float = 10) -> SocketStream:
    family = getattr(socket, "AF_UNIX", None)
    if family is None:
        raise StreamClosed("unix sockets are not available on this system")
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise StreamClosed(f"{path}: {exc.strerror or exc}") from None
    return SocketStream(sock)


def connect_tcp(host: str, port: int, tls: ssl.SSLContext | None = None, timeout: float = 10) -> SocketStream:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise StreamClosed(f"{host}:{port}: {exc.strerror or exc}") from None
    if tls is not None:
        try:
            sock = tls.wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise StreamClosed(f"TLS with {host}:{port} failed: {exc}") from None
    return SocketStream(sock)


class PipeStream:
    """Two pipes (or one duplex handle): a subprocess's stdout/stdin, or a named pipe.

    Reads happen on a helper thread only while a ``read`` waits for them, so
    a read never runs at the same time as a write: Windows serialises I/O on
    a synchronous named-pipe handle, and a pending read would block every
    write behind it.
    """

    def __init__(
        self,
        reader: IO[bytes],
        writer: IO[bytes],
        on_close: Callable[[], None] | None = None,
        diagnose: Callable[[], str | None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_close = on_close
        self._diagnose = diagnose
        self._requests: queue.Queue[int | None] = queue.Queue()
        self._results: queue.Queue[bytes | BaseException] = queue.Queue()
        self._pending = False
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            size = self._requests.get()
            if size is None:
                return
            try:
                read1 = getattr(self._reader, "read1", None)
                data = read1(size) if read1 is not None else self._reader.read(size)
                self._results.put(data or b"")
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self._results.put(exc)

    def write(self, data: bytes) -> None:
        if self._closed:
            raise StreamClosed("stream closed")
        try:
            self._writer.write(data)
            self._writer.flush()
        except (OSError, ValueError) as exc:
            raise StreamClosed(self.diagnose() or getattr(exc, "strerror", None) or "pipe closed") from None

    def read(self, size: int, timeout: float | None) -> bytes:
        if self._closed:
            raise StreamClosed("stream closed")
        if not self._pending:
            self._requests.put(size)
            self._pending = True
        try:
            result = self._results.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        self._pending = False
        if isinstance(result, BaseException):
            raise StreamClosed(self.diagnose() or str(result) or "pipe closed")
        return result

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        for handle in (self._writer, self._reader):
            try:
                handle.close()
            except (OSError, ValueError):
                pass
        if self._on_close is not None:
            self._on_close()

    def diagnose(self) -> str | None:
        return self._diagnose() if self._diagnose else None


def connect_npipe(path: str, timeout: float = 10) -> PipeStream:
    r"""Windows' named pipe (``\\.\pipe\docker_engine``), opened as a file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            handle = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed by the stream
            break
        except OSError as exc:
            # ERROR_PIPE_BUSY (231): every instance is in use; wait a moment.
            if getattr(exc, "winerror", None) == 231 and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise StreamClosed(f"{path}: {exc.strerror or exc}") from None
    return PipeStream(handle, handle)
