"""Deploys that cannot collide or be left half-done: locks, kill -9 recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import get as _get
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


def _slow_start(project: Path, seconds: int) -> None:
    """Make the service take ``seconds`` before it listens (a slow health gate)."""
    main = project / "main.go"
    main.write_text(
        main.read_text().replace('logger.Info("listening"', f"time.Sleep({seconds} * time.Second)\n\t\tlogger.Info(\"listening\"")
    )


def _start_goship(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GOTOOLCHAIN": "local", "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    return subprocess.Popen(
        [sys.executable, "-m", "goship", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_line(proc: subprocess.Popen[str], fragment: str, timeout: float = 120) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"{fragment!r} never printed:\n{''.join(seen)}")


def _deploy_slow_version(project: Path, greeting: str, seconds: int) -> subprocess.Popen[str]:
    """Ship the example, then start deploying a version that takes ``seconds``
    to become healthy; returns once that deploy has started its container."""
    assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    set_greeting(project, greeting)
    _slow_start(project, seconds)
    assert run_goship("build", "-C", str(project)).returncode == 0
    assert run_goship("push", "-C", str(project)).returncode == 0
    deploying = _start_goship("deploy", "production", "-C", str(project))
    _wait_for_line(deploying, "starting hello-")
    return deploying


def test_second_deploy_is_refused_naming_the_holder(production: Path, remote_host):
    first = _deploy_slow_version(production, "slow version", 6)
    second = run_goship("deploy", "production", "-C", str(production))
    assert_clean_failure(second, "hello is locked by", f"(pid {first.pid})", "deploying hello")

    status = run_goship("lock", "status", "production", "-C", str(production))
    assert f"pid {first.pid}" in status.stdout

    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    assert _get(f"http://{remote_host.address}:80/") == "slow version"
    assert "not locked" in run_goship("lock", "status", "production", "-C", str(production)).stdout


def test_kill_9_mid_deploy_then_deploy_again(production: Path, remote_host):
    doomed = _deploy_slow_version(production, "after the crash", 8)
    # Kill it while it waits for the new container to become healthy.
    deadline = time.monotonic() + 30
    while len(_remote_containers(remote_host, "hello")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    # The old version kept serving throughout; the half-started one is there.
    assert _get(f"http://{remote_host.address}:80/") == "Hello from goship!"
    assert len(_remote_containers(remote_host, "hello")) == 2

    again = run_goship("deploy", "production", "-C", str(production))
    assert again.returncode == 0, again.stderr
    assert _get(f"http://{remote_host.address}:80/") == "after the crash"
    assert len(_remote_containers(remote_host, "hello")) == 1


def test_lock_from_another_machine_needs_explicit_release(production: Path, remote_host):
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    [container] = _remote_containers(remote_host, "hello")
    image = subprocess.run(
        remote_host.ssh_argv("docker", "inspect", "--format", "{{.Image}}", container["Names"]),
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    subprocess.run(
        remote_host.ssh_argv(
            "docker", "create", "--name", "goship-lock-hello", "--label", "goship.managed=true", "--label", "goship.service=hello",
            "--label", "goship.lock.holder=bob", "--label", "goship.lock.machine=bobs-laptop",
            "--label", "goship.lock.pid=4242", "--label", "goship.lock.since=1700000000",
            "--label", "goship.lock.message=hotfix in progress", image,
        ),
        check=True, capture_output=True,
    )
    refused = run_goship("deploy", "production", "-C", str(production))
    assert_clean_failure(refused, "locked by bob on bobs-laptop (pid 4242)", "hotfix in progress", "goship lock release")
    released = run_goship("lock", "release", "production", "-C", str(production))
    assert released.returncode == 0 and "released lock of bob" in released.stdout
    assert run_goship("deploy", "production", "-C", str(production)).returncode == 0
