"""The one decoder of chunked transfer encoding: the engine's answers, streamed or whole, and the probes'."""

from __future__ import annotations

import pytest

from goship.engine.http import ConnectionLost, Request, StreamTransport, dechunk
from goship.hosts.probe import parse_body

#: Two chunks, the first with extensions, then trailers after the last chunk.
CHUNKED = b'7;name=value;x\r\n{"a": 1\r\n3\r\n}\r\n\r\n0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n'
HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Trickle:
    """A stream that hands out its bytes a few at a time, then ends."""

    def __init__(self, data: bytes, step: int = 5) -> None:
        self.data, self.step = data, step

    def write(self, data: bytes) -> None:
        pass

    def read(self, size: int, timeout: float | None) -> bytes:
        piece, self.data = self.data[: min(size, self.step)], self.data[min(size, self.step) :]
        return piece

    def close(self) -> None:
        pass

    def diagnose(self) -> str | None:
        return None


def _transport(data: bytes) -> tuple[StreamTransport, list[Trickle]]:
    opened: list[Trickle] = []

    def opener() -> Trickle:
        opened.append(Trickle(data))
        return opened[-1]

    return StreamTransport(opener), opened


def test_extensions_and_trailers_are_read_and_the_connection_serves_the_next_request():
    transport, opened = _transport(HEAD + CHUNKED + SECOND)
    first = transport.handle(Request("GET", "/a"))
    assert first.status == 200 and first.json() == {"a": 1}
    second = transport.handle(Request("GET", "/b"))
    assert second.body == b"ok"
    assert len(opened) == 1  # the trailers were consumed: the stream was still in step


def test_a_streamed_chunked_answer_arrives_piece_by_piece():
    transport, _ = _transport(HEAD + CHUNKED + SECOND)
    response = transport.handle(Request("POST", "/images/create", stream=True))
    assert b"".join(response.iter_chunks()) == b'{"a": 1}\r\n'
    assert transport.handle(Request("GET", "/b")).body == b"ok"


@pytest.mark.parametrize("stream", [False, True])
def test_a_connection_that_closes_mid_chunk_is_a_lost_connection(stream):
    transport, _ = _transport(HEAD + b"10\r\nonly six")
    with pytest.raises(ConnectionLost, match="mid-answer"):
        response = transport.handle(Request("POST", "/images/create", stream=stream))
        b"".join(response.iter_chunks())


def test_a_bad_chunk_size_is_a_lost_connection():
    transport, _ = _transport(HEAD + b"zz\r\n")
    with pytest.raises(ConnectionLost, match="bad chunk size"):
        transport.handle(Request("GET", "/a"))


def test_dechunk_reads_a_whole_body_the_same_way():
    assert dechunk(CHUNKED) == b'{"a": 1}\r\n'
    # Cut off mid-chunk, or a chunk size that is no number: what came before.
    assert dechunk(b"3\r\nabc\r\n10\r\nonly six") == b"abconly six"
    assert dechunk(b"3\r\nabc\r\nzz\r\nmore") == b"abc"
    assert dechunk(b"") == b""


def test_probe_bodies_are_dechunked_only_when_chunked():
    assert parse_body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + CHUNKED) == (
        b'{"a": 1}\r\n'
    )
    assert parse_body(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + CHUNKED) == CHUNKED
