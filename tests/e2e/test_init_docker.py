"""`goship init`, then the Dockerfile it wrote, built offline with BuildKit on the
test-bed's engine: each fixture's image builds from the seeded Go images only,
and its container answers on its port as a non-root user.

The ``seeded_go_images`` fixture seeds the golang:<X.Y>-alpine tags the
generated Dockerfiles name, offline, into the local engine.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_goship
from tests.projects import FIXTURES, Fixture, copy_fixture

pytestmark = pytest.mark.e2e

NONROOT = "65532"


def _docker(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def go_images(seeded_go_images: list[str]) -> list[str]:
    return seeded_go_images


def _buildkit_build(*args: str) -> subprocess.CompletedProcess[str]:
    """``docker build`` with BuildKit, by whichever docker client on PATH has it
    (a client of 23.0+ without buildx has none)."""
    from goship.builders.docker_client import find_buildkit_client

    client = find_buildkit_client()
    verb = ["buildx", "build", "--load"] if client.mode == "buildx" else ["build"]
    return subprocess.run([client.path, *verb, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"})


def _builder_tag(dockerfile: str) -> str:
    line = next(l for l in dockerfile.splitlines() if l.startswith("FROM ") and " AS build" in l)
    return line.split()[-3]


def _wait_answer(url: str, deadline: float) -> int:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered: {last}")


def _process_uid(container: str) -> str:
    pid = _docker("inspect", "--format", "{{.State.Pid}}", container).stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    return next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))


def _run_and_probe(image: str, fixture: Fixture) -> None:
    name = f"goship-init-e2e-{uuid.uuid4().hex[:8]}"
    started = _docker(
        "run", "-d", "--name", name, "--label", "goship.managed=true", "--read-only",
        "-p", f"127.0.0.1::{fixture.port}", image,
    )
    assert started.returncode == 0, started.stderr
    try:
        mapped = _docker("port", name, f"{fixture.port}/tcp").stdout.split()[0]
        host_port = mapped.rsplit(":", 1)[1]
        deadline = time.monotonic() + 30
        assert _wait_answer(f"http://127.0.0.1:{host_port}{fixture.probe}", deadline) == 200
        if fixture.health:
            assert 200 <= _wait_answer(f"http://127.0.0.1:{host_port}{fixture.health}", deadline) < 300
        user = _docker("inspect", "--format", "{{.Config.User}}", name).stdout.strip()
        assert user == f"{NONROOT}:{NONROOT}"
        assert _process_uid(name) == NONROOT  # the running process, not just the config
    except AssertionError as failure:
        logs = _docker("logs", name)
        raise AssertionError(f"{failure}\ncontainer log:\n{logs.stdout}{logs.stderr}") from None
    finally:
        _docker("rm", "-f", name)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_generated_dockerfile_builds_offline_and_serves_as_nonroot(name, tmp_path, go_images):
    fixture = FIXTURES[name]
    root = copy_fixture(name, tmp_path)
    init = run_goship("init", "--yes", "-C", str(root))
    assert init.returncode == 0, init.stderr
    dockerfile = (root / "Dockerfile").read_text()
    base = _builder_tag(dockerfile)
    assert base in go_images, f"{base} is not among the seeded base images"

    # The Dockerfile itself, as a user would build it (the workspace root is the context).
    context = root.parent if name == "workspace" else root
    image = f"goship-init-e2e/{fixture.service}:{uuid.uuid4().hex[:8]}"
    built = _buildkit_build("-f", str(root / "Dockerfile"), "-t", image, str(context))
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        _run_and_probe(image, fixture)
    finally:
        _docker("rmi", "-f", image)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_goship_docker_builder_after_init(name, tmp_path, go_images):
    fixture = FIXTURES[name]
    root = copy_fixture(name, tmp_path)
    assert run_goship("init", "--yes", "-C", str(root)).returncode == 0
    assert _builder_tag((root / "Dockerfile").read_text()) in go_images
    built = run_goship("build", "--builder", "docker", "-C", str(root))
    assert built.returncode == 0, built.stderr
    tag = built.stdout.split()[0]
    if _docker("image", "inspect", tag).returncode != 0:
        # The image is kept in .goship (an OCI layout): load it as a local deploy does.
        from goship.builders.image import last_build
        from goship.images.layout import docker_archive
        from goship.project import load_project

        last = last_build(load_project(root))
        loaded = subprocess.run(["docker", "load"], input=docker_archive(last.image, [last.tag]),
                                capture_output=True, timeout=600)
        assert loaded.returncode == 0, loaded.stderr
    _run_and_probe(tag, fixture)
