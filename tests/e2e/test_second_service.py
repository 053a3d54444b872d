"""Two services shipped to the local engine: the first holds the proxy's catch-all (localhost:PORT), the
second is routed by its name (shop.localhost:PORT). `goship status` of each probes and prints that
service's own address, and each address serves that service's page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, run_goship, set_greeting

pytestmark = pytest.mark.e2e


def _project(tmp_path: Path, name: str, port: int) -> Path:
    project = tmp_path / name
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    set_greeting(project, f"I am {name}")
    (project / "goship.yaml").write_text(f"service: {name}\nproxy:\n  port: {port}\n")
    return project


def _curl(url: str) -> str:
    # curl resolves every *.localhost name to loopback itself (RFC 6761), as browsers do.
    return subprocess.run(["curl", "-sS", "--max-time", "10", url], capture_output=True, text=True, timeout=30).stdout.strip()


def test_each_local_service_reports_and_serves_its_own_address(tmp_path, local_engine, caddy_image, local_port):
    urls = {"hello": f"http://localhost:{local_port}", "shop": f"http://shop.localhost:{local_port}"}
    projects = {name: _project(tmp_path, name, local_port) for name in urls}
    for name, project in projects.items():
        shipped = run_goship("ship", "-C", str(project))
        assert shipped.returncode == 0, shipped.stderr
        assert f"live at {urls[name]}" in shipped.stdout, shipped.stdout
    for name, project in projects.items():
        status = run_goship("status", "-C", str(project))
        assert status.returncode == 0, status.stderr
        assert urls[name] in status.stdout and "health=HTTP 200" in status.stdout, status.stdout
        as_json = run_goship("status", "-C", str(project), "--json")
        [row] = json.loads(as_json.stdout)["hosts"]
        assert row["url"] == urls[name] and row["health"].startswith("HTTP 200"), row
        assert _curl(row["url"]) == f"I am {name}"
