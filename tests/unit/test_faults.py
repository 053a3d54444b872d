"""Faults at every seam become one goship error, never a Python exception (issue 9).

Through the engine's HTTP/1.1 transport: streams that end, stall, send
garbage, non-numeric lengths, JSON of the wrong shape, truncated tars.
Through the registry's HTTP client: redirect loops, timeouts, garbage.
Through the process runner: a credential helper that hangs or prints junk.
Each drives a real code path (deploy, status, rollback, push, login) and
asserts that what comes out is a GoshipError.
"""

from __future__ import annotations

import json
import re
import stat
import sys
from pathlib import Path

import httpx
import pytest

from goship.engine.client import Engine
from goship.engine.http import Request, Response, StreamTransport
from goship.engine.streams import StreamClosed
from goship.errors import EngineConflict, EngineNotFound, GoshipError, HostError, RegistryError
from goship.registry import credentials
from goship.registry.client import RegistryClient
from goship.testing.engine import FakeEngine


class ScriptedStream:
    """A stream that answers every request with the same bytes (then ends, or stalls)."""

    def __init__(self, answer: bytes, *, stall: bool = False, die: str | None = None) -> None:
        self.answer, self.stall, self.die = answer, stall, die
        self.sent = b""

    def write(self, data: bytes) -> None:
        if self.die:
            raise StreamClosed(self.die)
        self.sent += data

    def read(self, size: int, timeout: float | None) -> bytes:
        if self.answer:
            data, self.answer = self.answer[:size], self.answer[size:]
            return data
        if self.stall:
            raise TimeoutError
        return b""

    def close(self) -> None:
        pass

    def diagnose(self) -> str | None:
        return None


VERSION = b'HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n{"Version": "20.10", "ApiVersion": "1.41"}'[:85]

ANSWERS = {
    "not http": b"SSH-2.0-OpenSSH_9.2\r\n",
    "ends at once": b"",
    "bad length": b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}",
    "bad chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"Version\"",
    "not json": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "json list": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
}


@pytest.mark.parametrize("answer", list(ANSWERS), ids=list(ANSWERS))
def test_a_broken_engine_stream_is_a_host_error(answer):
    engine = Engine(StreamTransport(lambda: ScriptedStream(ANSWERS[answer])), "root@web1")
    with pytest.raises(HostError) as raised:
        engine.version()
        engine.inspect("x")
        engine.containers({"goship.service": "hello"})
    assert "root@web1" in raised.value.message


@pytest.mark.parametrize(("status", "kind"), [(404, EngineNotFound), (409, EngineConflict), (500, HostError)])
def test_an_engine_refusal_is_a_host_error_of_its_kind(status, kind):
    class Refusing(FakeEngine):
        def handle(self, request: Request) -> Response:
            if request.path == "/containers/create":
                return Response(status, {}, b'{"message": "no"}')
            return super().handle(request)

    engine = Engine(Refusing("root@web1"), "root@web1")
    with pytest.raises(HostError) as raised:
        engine.call(Request("POST", "/containers/create"))
    assert type(raised.value) is kind and raised.value.message == "root@web1: no"
    assert raised.value.returncode == status


def test_a_stalled_engine_is_a_host_error_naming_the_wait():
    engine = Engine(StreamTransport(lambda: ScriptedStream(b"", stall=True)), "root@web1")
    with pytest.raises(GoshipError, match="did not answer within"):
        engine.version()


class ShapeShifter(FakeEngine):
    """The fake engine, but answers of the wrong shape for one path."""

    def __init__(self, path: str, body: bytes) -> None:
        super().__init__("root@web1")
        self.bad_path, self.bad_body = path, body
        self.armed = True
        self.add_image("caddy:2")

    def handle(self, request: Request) -> Response:
        if self.armed and self.bad_path in request.path:
            return Response(200, {}, self.bad_body)
        return super().handle(request)


@pytest.mark.parametrize(
    ("path", "body", "live", "words"),
    [
        ("/containers/json", b'{"not": "a list"}', False, "answer to GET /containers/json is not a list of containers"),
        ("/containers/json", b'[{"Names": 7, "Labels": "x"}]', False,
         "answer to GET /containers/json is not a list of containers"),
        # The proxy's files "written" (200) but not there: Caddy's check refuses them.
        ("/archive", b"this is no tar", False, "Caddy refuses the proxy's configuration"),
        ("/archive", b"\x1f\x8b garbage", False, "Caddy refuses the proxy's configuration"),
        # Only a proxy already serving a version is reloaded through exec.
        ("/exec", b"[1, 2]", True, "the proxy refused the new configuration"),
    ],
)
def test_wrong_shaped_answers_during_a_deploy_end_in_a_goship_error(tmp_path, path, body, live, words):
    from goship.deploy.rollout import deploy_to_host, ensure_image
    from goship.events import CollectingReporter, Stage
    from goship.hosts import HostConnection
    from goship.testing.engine import Behaviour
    from goship.testing.prober import FakeProber
    from tests.unit.helpers import fake_host, image, release

    fake = fake_host()
    engine = ShapeShifter(path, body)
    engine.clock = fake.clock
    fake.host.connection = HostConnection("root@web1", Engine(engine, "root@web1"), FakeProber(engine))

    def deploy(version: str):
        engine.add_image(image(version), Behaviour())
        rel = release(version)
        return deploy_to_host(fake.host, rel, lambda e: ensure_image(e, rel.image), Stage(CollectingReporter(), "deploy"),
                              fake.clock)

    if live:
        engine.armed = False
        deploy("1")
        engine.armed = True
    with pytest.raises(GoshipError, match=f"^root@web1: .*{re.escape(words)}"):  # one line for the user
        deploy("2")


def _registry(handler) -> RegistryClient:
    return RegistryClient("reg.example.com", transport=httpx.MockTransport(handler), retry=None)


def test_a_redirect_loop_is_a_registry_error():
    def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    with _registry(loop) as client, pytest.raises(RegistryError, match=r"^registry reg\.example\.com: GET /v2/ failed"):
        client.check()


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("junk"), httpx.DecodingError("gzip")],
    ids=["timeout", "protocol", "decoding"],
)
def test_transport_faults_are_registry_errors(fault):
    def fail(request: httpx.Request) -> httpx.Response:
        raise fault

    from goship.registry.protocol import RetryPolicy

    client = RegistryClient("reg.example.com", transport=httpx.MockTransport(fail), retry=RetryPolicy(attempts=2, base=0.0, cap=0.0))
    with client, pytest.raises(RegistryError, match=r"^registry reg\.example\.com: GET /v2/ (got no answer|failed)"):
        client.check()


def test_tags_that_are_not_json_are_a_registry_error():
    def tags(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy error</html>")

    with _registry(tags) as client, pytest.raises(RegistryError, match="sent a malformed tag list for team/app"):
        client.list_tags("team/app")


def _helper(tmp_path: Path, script: str) -> Path:
    helper = tmp_path / "docker-credential-broken"
    helper.write_text(f"#!{sys.executable}\n{script}\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "broken"}))
    return helper


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("print('{not json')", "is not its JSON"),
        ("import time; time.sleep(60)", "did not answer within 30s"),
    ],
    ids=["junk", "hangs"],
)
def test_a_broken_credential_helper_is_one_registry_error(tmp_path, monkeypatch, script, words):
    _helper(tmp_path, script)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    monkeypatch.delenv("GOSHIP_REGISTRY_PASSWORD", raising=False)
    monkeypatch.setattr("goship.registry.credentials.HELPER_TIMEOUT", 1.0, raising=False)
    with pytest.raises(GoshipError, match=words.replace("30s", r"\d+s")):
        credentials.lookup("reg.example.com")


def test_ending_a_stream_never_raises():
    from goship import process

    spawned = process.spawn([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)"])
    spawned.terminate(grace=0.2)  # ignores SIGTERM: killed, and no exception escapes
    assert spawned.returncode is not None
    assert isinstance(HostError("x"), GoshipError)
