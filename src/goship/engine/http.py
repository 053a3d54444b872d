"""HTTP/1.1 as the Docker Engine API speaks it, over one kept-alive stream.

Small on purpose: requests are built as data (``Request``), sent over a
``Stream`` and answered as ``Response``; bodies come with a Content-Length,
chunked, or until the engine closes the connection (a hijacked ``exec``).
One connection serves one request at a time and is reopened only when the
engine closed it, so a whole deploy to an SSH host uses one SSH stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from goship.engine.streams import Stream, StreamClosed

USER_AGENT = "goship"
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Request:
    """One Engine API call. ``headers`` may hold credentials: never shown in repr."""

    method: str
    path: str  # without the /v1.xx prefix
    query: tuple[tuple[str, str], ...] = ()
    body: bytes = field(default=b"", repr=False)
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float | None = 60.0  # None: no limit (logs --follow)
    #: The caller reads the body as it arrives (pull progress, log follow).
    stream: bool = False

    @property
    def target(self) -> str:
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")

    def json(self) -> Any:
        """The JSON body, for tests and the fake engine."""
        return json.loads(self.body) if self.body else None

    def describe(self) -> str:
        return f"{self.method} {self.target}"


def json_request(method: str, path: str, body: Any, **kwargs: Any) -> Request:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return Request(method, path, body=data, content_type="application/json", **kwargs)


def path_part(value: str) -> str:
    """A name inside a URL path (image references hold '/' and ':')."""
    return quote(value, safe="")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    #: For ``Request.stream``: the body's pieces as they arrive.
    chunks: Iterator[bytes] | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def iter_chunks(self) -> Iterator[bytes]:
        if self.chunks is None:
            if self.body:
                yield self.body
            return
        yield from self.chunks

    def iter_lines(self) -> Iterator[bytes]:
        """The body split at newlines (the engine's JSON progress streams)."""
        pending = b""
        for chunk in self.iter_chunks():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from (line for line in lines if line.strip())
        if pending.strip():
            yield pending

    def error_message(self) -> str:
        """The engine's ``{"message": ...}`` for an error status, else the body text."""
        try:
            data = self.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
        return self.text().strip() or f"HTTP {self.status}"


class Transport(Protocol):
    """Answers Requests: the real connection, or the fake engine in tests."""

    #: The API version path put before every request path, once negotiated.
    prefix: str

    def handle(self, request: Request) -> Response: ...

    def close(self) -> None: ...


class ConnectionLost(Exception):
    """The stream ended or failed mid-request; ``sent`` tells whether the request left."""

    def __init__(self, reason: str, *, sent: bool, received: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.received = received


class _Reader:
    """Buffered reads from a stream, with one deadline per request."""

    def __init__(self, stream: Stream, timeout: float | None) -> None:
        self.stream = stream
        self.timeout = timeout
        self.buffer = b""
        self.received = False

    def _fill(self) -> bool:
        data = self.stream.read(65536, self.timeout)
        if not data:
            return False
        self.received = True
        self.buffer += data
        return True

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > _MAX_HEAD:
                raise ConnectionLost("response header too long", sent=True, received=True)
            if not self._fill():
                raise ConnectionLost(
                    self.stream.diagnose() or "the engine closed the connection", sent=True, received=self.received
                )
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, size: int) -> Iterator[bytes]:
        remaining = size
        while remaining > 0:
            if not self.buffer and not self._fill():
                raise ConnectionLost("the engine closed the connection mid-answer", sent=True, received=True)
            piece, self.buffer = self.buffer[:remaining], self.buffer[remaining:]
            remaining -= len(piece)
            yield piece

    def until_close(self) -> Iterator[bytes]:
        if self.buffer:
            piece, self.buffer = self.buffer, b""
            yield piece
        while True:
            try:
                data = self.stream.read(65536, self.timeout)
            except StreamClosed:
                return
            if not data:
                return
            yield data

    def chunked(self) -> Iterator[bytes]:
        """The body of a ``Transfer-Encoding: chunked`` answer, decoded: chunk
        extensions (``1a;name=value``) ignored, trailers read and dropped."""
        while True:
            size_line = self.line().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ConnectionLost(f"bad chunk size {size_line[:20]!r}", sent=True, received=True) from None
            if size == 0:
                while self.line():  # trailers, then the blank line
                    pass
                return
            yield from self.exactly(size)
            self.line()  # the CRLF after each chunk


class _Received:
    """An answer already read to its end, as a Stream (for ``dechunk``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def write(self, data: bytes) -> None:
        raise StreamClosed("nothing to send to an answer already read")

    def read(self, size: int, timeout: float | None) -> bytes:
        piece, self._data = self._data[:size], self._data[size:]
        return piece

    def close(self) -> None:
        pass

    def diagnose(self) -> str | None:
        return None


def dechunk(body: bytes) -> bytes:
    """A chunked body already read to its end (a ``Connection: close`` answer), decoded
    as the engine's answers are; what came before a malformed or cut-off chunk when
    the body has one."""
    pieces: list[bytes] = []
    try:
        for piece in _Reader(_Received(body), None).chunked():
            pieces.append(piece)
    except ConnectionLost:
        pass
    return b"".join(pieces)


def render_request(request: Request, host: str = "docker", prefix: str = "") -> bytes:
    lines = [f"{request.method} {prefix}{request.target} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}"]
    if request.body or request.method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(request.body)}")
    if request.content_type:
        lines.append(f"Content-Type: {request.content_type}")
    for key, value in request.headers:
        if "\r" in key + value or "\n" in key + value:
            raise ValueError(f"header {key} holds a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


class StreamTransport:
    """HTTP over one stream at a time, reopened with ``opener`` when needed.

    ``prefix`` is the API version path (``/v1.41``) once known. After a
    streamed response the connection is free again only when its body was
    read to the end; an abandoned stream is closed rather than reused.
    """

    def __init__(self, opener: Callable[[], Stream], prefix: str = "") -> None:
        self._opener = opener
        self._stream: Stream | None = None
        self._busy = False
        self._used = False
        self.prefix = prefix

    def _connect(self) -> Stream:
        if self._stream is None:
            self._stream = self._opener()
            self._used = False
        return self._stream

    def _drop(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream = None
        self._busy = False

    def close(self) -> None:
        self._drop()

    def handle(self, request: Request) -> Response:
        # A stream the engine may have closed while idle is retried once,
        # but only for requests that are safe to send twice.
        retry = request.method in ("GET", "HEAD", "PUT", "DELETE")
        while True:
            reused = self._used
            try:
                return self._exchange(request)
            except ConnectionLost as lost:
                self._drop()
                if reused and retry and not lost.received:
                    retry = False
                    continue
                raise
            except TimeoutError:
                raise  # the caller says how long it waited
            except (ValueError, OSError) as exc:
                # A header that is no number, a pipe that broke under us: the answer is lost.
                self._drop()
                raise ConnectionLost(f"unreadable answer: {exc}", sent=True, received=True) from None

    def _exchange(self, request: Request) -> Response:
        if self._busy:
            self._drop()  # the last streamed body was abandoned half-read
        stream = self._connect()
        self._used = True
        try:
            stream.write(render_request(request, prefix=self.prefix))
        except StreamClosed as exc:
            raise ConnectionLost(exc.reason, sent=False, received=False) from None
        reader = _Reader(stream, request.timeout)
        try:
            status, headers = self._head(reader)
            while status == 100:
                status, headers = self._head(reader)
        except StreamClosed as exc:
            raise ConnectionLost(exc.reason, sent=True, received=reader.received) from None
        except TimeoutError:
            self._drop()
            raise
        keep = headers.get("connection", "").lower() != "close"
        if request.method == "HEAD" or status in (204, 304) or (100 <= status < 200 and status != 101):
            body: Iterator[bytes] = iter(())
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = reader.chunked()
        elif "content-length" in headers:
            body = reader.exactly(int(headers["content-length"]))
        else:
            body = reader.until_close()
            keep = False
        if request.stream:
            self._busy = True
            return Response(status, headers, chunks=self._follow(body, keep))
        try:
            data = b"".join(body)
        except StreamClosed as exc:
            self._drop()
            raise ConnectionLost(exc.reason, sent=True, received=True) from None
        except TimeoutError:
            self._drop()
            raise
        if not keep:
            self._drop()
        return Response(status, headers, data)

    def _follow(self, body: Iterator[bytes], keep: bool) -> Iterator[bytes]:
        finished = False
        try:
            yield from body
            finished = True
        except StreamClosed as exc:
            raise ConnectionLost(exc.reason, sent=True, received=True) from None
        finally:
            if finished and keep:
                self._busy = False
            else:
                self._drop()

    @staticmethod
    def _head(reader: _Reader) -> tuple[int, dict[str, str]]:
        status_line = reader.line()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ConnectionLost(f"not an HTTP answer: {status_line[:60]!r}", sent=True, received=True)
        headers: dict[str, str] = {}
        while True:
            line = reader.line()
            if not line:
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        return int(parts[1]), headers
