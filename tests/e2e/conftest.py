"""The real test-bed, shared by the whole session: a dockerd of the suite's own,
registries, SSH hosts in network namespaces, the caddy:2 image seeded offline.

The suite never touches the machine's own Docker engine. Its local-engine
tests run against an engine of their own (``testbed.engine.start_suite_engine``),
reached through ``DOCKER_HOST`` for the session. To prove it, before anything
else a sentinel goship service is shipped to the machine's engine (started
if none runs, as on CI); the last test checks that every container and
volume there is as it was and that the sentinel still answers.

Everything started here is stopped here, by process id, at session end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import engine, hosts, images, registry
from tests.conftest import EXAMPLE, run_goship, wait_for_answer
from tests.e2e.helpers import (
    SENTINEL_GREETING,
    MachineEngine,
    machine_docker,
    machine_env,
    machine_snapshot,
    production_config,
)
from tests.e2e.remote import on_host

STATE = Path("/tmp/goship-testbed")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``last`` run after all others (the machine-engine check)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which README blocks tests/e2e/test_readme.py ran, and which it skipped and why."""
    from tests import readme

    if readme.REPORT:
        terminalreporter.section("README command blocks")
        for line in readme.REPORT:
            terminalreporter.write_line(line)


def _port(preferred: int) -> int:
    """``preferred`` when it is free on loopback (the default local port: proves the suite
    does not need it), else any free one."""
    for candidate in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


@pytest.fixture(scope="session")
def machine_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineEngine]:
    started = None
    if not engine.engine_answers():
        started = engine.ensure_dockerd(STATE / "engine")
    images.seed_caddy_image("caddy:2")
    service = f"sentinel-{uuid.uuid4().hex[:8]}"
    project = tmp_path_factory.mktemp("sentinel") / service
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    main = project / "main.go"
    main.write_text(main.read_text().replace("Hello from goship!", SENTINEL_GREETING))
    port = _port(8000)
    (project / "goship.yaml").write_text(f"service: {service}\nproxy:\n  port: {port}\n")
    shipped = run_goship("ship", "-C", str(project), env=machine_env())
    assert shipped.returncode == 0, shipped.stderr
    url = f"http://127.0.0.1:{port}/"
    assert wait_for_answer(url) == SENTINEL_GREETING
    containers, volumes = machine_snapshot()
    found = MachineEngine(started, service, url, containers, volumes)
    yield found
    # Only what the suite put there goes: the sentinel, its proxy and state.
    for line in sorted(found.containers):
        identifier, name, _ = line.split(" ", 2)
        if name.startswith(f"{service}-") or name in (f"goship-proxy-{port}", f"goship-state-{service}"):
            machine_docker("rm", "-f", identifier)
    for volume in (f"goship-proxy-{port}-config", f"goship-proxy-{port}-data", f"goship-state-{service}"):
        machine_docker("volume", "rm", "-f", volume)
    if started is not None:
        started.stop()


@pytest.fixture(scope="session")
def local_engine(machine_engine: MachineEngine) -> Iterator[engine.Dockerd]:
    """The suite's own dockerd; DOCKER_HOST points every docker and goship run of the session at it."""
    dockerd = engine.start_suite_engine(STATE / "suite-engine")
    saved = os.environ.get("DOCKER_HOST")
    if saved:
        os.environ["GOSHIP_SUITE_SAVED_DOCKER_HOST"] = saved
    assert dockerd.host is not None
    os.environ["DOCKER_HOST"] = dockerd.host
    os.environ["GOSHIP_SUITE_ENGINE"] = "1"
    try:
        yield dockerd
    finally:
        dockerd.stop()
        os.environ.pop("GOSHIP_SUITE_ENGINE", None)
        os.environ.pop("GOSHIP_SUITE_SAVED_DOCKER_HOST", None)
        if saved:
            os.environ["DOCKER_HOST"] = saved
        else:
            os.environ.pop("DOCKER_HOST", None)


def _remove_goship_containers() -> None:
    """Empty the suite's own engine of goship's containers and volumes (never the machine's)."""
    assert os.environ.get("GOSHIP_SUITE_ENGINE"), "refusing to clean an engine that is not the suite's"
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=goship.managed=true"], capture_output=True,
                         text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", "name=goship-"], capture_output=True,
                             text=True).stdout.split()
    if volumes:
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)


@pytest.fixture(autouse=True)
def _fresh_local_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each e2e test starts with no goship containers on the suite's engine."""
    if "local_engine" in request.fixturenames:
        _remove_goship_containers()
    yield


@pytest.fixture
def local_port() -> int:
    """A free loopback port for a local proxy: nothing the machine runs (its 8000) is in the way."""
    return _port(0)


@pytest.fixture(scope="session")
def caddy_image(local_engine: engine.Dockerd) -> str:
    images.seed_caddy_image("caddy:2")
    return "caddy:2"


@pytest.fixture(scope="session")
def registry_address() -> str:
    return hosts.ensure_registry_address()


@pytest.fixture(scope="session")
def test_registry(local_engine: engine.Dockerd, registry_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry.Registry]:
    reg = registry.start_registry(tmp_path_factory.mktemp("registry"), host=registry_address)
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hosts.make_client_key(tmp_path_factory.mktemp("ssh"))


def _test_host(index: int, reg: registry.Registry, key: Path, caddy: str, factory: pytest.TempPathFactory) -> Iterator[hosts.RemoteHost]:
    host = hosts.start_host(index, factory.mktemp(f"rh{index}"), key, [reg.addr])
    images.copy_image(caddy, ["docker"], host.docker_argv())
    yield host
    host.stop()


@pytest.fixture(scope="session")
def remote_host(
    test_registry: registry.Registry, client_key: Path, caddy_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[hosts.RemoteHost]:
    yield from _test_host(1, test_registry, client_key, caddy_image, tmp_path_factory)


@pytest.fixture(scope="session")
def second_host(
    test_registry: registry.Registry, client_key: Path, caddy_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[hosts.RemoteHost]:
    yield from _test_host(2, test_registry, client_key, caddy_image, tmp_path_factory)


@pytest.fixture(scope="session")
def seeded_go_images(local_engine: engine.Dockerd) -> list[str]:
    """golang:*, golang:*-alpine and alpine:latest stand-ins, for Dockerfile builds offline."""
    tags = images.seed_go_images()
    tags.append(images.seed_alpine_image())
    return tags


@pytest.fixture
def production(hello: Path, test_registry, remote_host, client_key) -> Path:
    """examples/hello whose goship.yaml targets remote_host as production; its containers and state go afterwards."""
    (hello / "goship.yaml").write_text(production_config(test_registry.addr, remote_host, client_key))
    yield hello
    ids = on_host(remote_host, "docker", "ps", "-aq", "--filter", "label=goship.service=hello").split()
    if ids:
        on_host(remote_host, "docker", "rm", "-f", *ids)
    subprocess.run(remote_host.ssh_argv("docker", "volume", "rm", "-f", "goship-state-hello"), capture_output=True)
