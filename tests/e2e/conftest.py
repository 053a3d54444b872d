"""The real test-bed, shared by the whole session: one dockerd, one registry,
SSH hosts in network namespaces, the caddy:2 image seeded offline.

Everything started here is stopped here, by process id, at session end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import engine, hosts, images, registry

STATE = Path("/tmp/goship-testbed")


@pytest.fixture(scope="session")
def local_engine() -> Iterator[engine.Dockerd]:
    dockerd = engine.ensure_dockerd(STATE / "engine")
    yield dockerd
    _remove_goship_containers(["docker"])
    dockerd.stop()


def _remove_goship_containers(docker: list[str]) -> None:
    ids = subprocess.run(
        [*docker, "ps", "-aq", "--filter", "label=goship.managed=true"], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run([*docker, "rm", "-f", *ids], capture_output=True)
    volumes = subprocess.run(
        [*docker, "volume", "ls", "-q", "--filter", "name=goship-"], capture_output=True, text=True
    ).stdout.split()
    if volumes:
        subprocess.run([*docker, "volume", "rm", "-f", *volumes], capture_output=True)


@pytest.fixture(autouse=True)
def _fresh_local_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each e2e test starts with no goship containers on the local engine."""
    if "local_engine" in request.fixturenames:
        _remove_goship_containers(["docker"])
    yield


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
