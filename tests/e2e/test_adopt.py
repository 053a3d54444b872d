"""Real-shaped services from `goship init` to a serving container, on one laptop.

Each project of tests/projects.py's ADOPTED gets `goship init --yes`, at most
the one goship.yaml edit init's output asked for (a flag's or a variable's
value), and `goship ship`: all of them to the same local proxy port, as a
developer shipping several projects would (the first keeps the catch-all
route, the others answer at <service>.localhost). The only other change is
the proxy port, because the machine's own 8000 belongs to the sentinel
service of tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import run_goship
from tests.projects import ADOPTED, apply_edit, copy_fixture

pytestmark = pytest.mark.e2e

# The one whose first ship fails (its flag has no value yet): checked before the edit.
NEEDS_A_VALUE = "needs-flag"


def _get(url: str, host: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _go_build_dist(root: Path) -> None:
    """The project's own release step (as GoReleaser would): dist/<os>/<arch>/keptdist."""
    arch = subprocess.run(["go", "env", "GOARCH"], capture_output=True, text=True, check=True,
                          env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": arch, "GOTOOLCHAIN": "local",
           "GOFLAGS": "-mod=mod", "GOPROXY": "off",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    subprocess.run(["go", "build", "-trimpath", "-o", f"dist/linux/{arch}/keptdist", "."], cwd=root, env=env,
                   check=True, capture_output=True, timeout=300)


def test_init_then_ship_serves_each_real_shaped_service(tmp_path, local_engine, caddy_image, local_port):
    roots = {}
    for name in ADOPTED:
        root = copy_fixture(name, tmp_path)
        init = run_goship("init", "--yes", "-C", str(root))
        assert init.returncode == 0, init.stderr
        with (root / "goship.yaml").open("a") as config:
            config.write(f"proxy:\n  port: {local_port}\n")
        roots[name] = root

    # Shipped before the edit, the service that needs a flag fails with its own words first.
    failed = run_goship("ship", "-C", str(roots[NEEDS_A_VALUE]))
    assert failed.returncode != 0
    assert "needsflag: missing -text" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr

    first = None
    for name, adopted in ADOPTED.items():
        apply_edit(roots[name], adopted)
        shipped = run_goship("ship", "-C", str(roots[name]))
        assert shipped.returncode == 0, f"{name}:\n{shipped.stdout}{shipped.stderr}"
        first = first or name

    base = f"http://127.0.0.1:{local_port}"
    for name, adopted in ADOPTED.items():
        host = f"{adopted.service}.localhost"
        status, body = _get(base + adopted.probe, host)
        assert (status, body.strip()) == (200, adopted.answer), f"{name} at {host}{adopted.probe}"
        if adopted.health_type == "http":
            assert 200 <= _get(base + adopted.health_path, host)[0] < 300
    assert _get(base + ADOPTED[first].probe, "127.0.0.1")[1].strip() == ADOPTED[first].answer  # the catch-all

    # The kept Dockerfile still builds after init: its prebuilt binary is in dist/,
    # which init's .dockerignore left in. Shipped again with it, the route keeps answering.
    kept = roots["kept-dist"]
    _go_build_dist(kept)
    config = (kept / "goship.yaml").read_text()
    (kept / "goship.yaml").write_text(config.replace("  # builder: docker ", "  builder: docker   "))
    again = run_goship("ship", "-C", str(kept))
    assert again.returncode == 0, again.stdout + again.stderr
    assert _get(base + "/", "keptdist.localhost") == (200, "kept-dist\n")
    [running] = subprocess.run(
        ["docker", "ps", "--filter", "label=goship.service=keptdist", "--filter", "label=goship.role=app",
         "--format", "{{.Names}}"], capture_output=True, text=True, check=True,
    ).stdout.split()
    entrypoint = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Entrypoint}}", running],
                                capture_output=True, text=True, check=True).stdout.strip()
    assert entrypoint == '["/keptdist"]'  # the kept Dockerfile's image, not goship's native one
