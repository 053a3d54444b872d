"""Operating a deployed service: release history on the host, rollback, status."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import get as _get
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


def _releases(project: Path) -> list[dict]:
    result = run_goship("releases", "production", "--json", "-C", str(project))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["releases"]


def test_history_rollback_and_status(production: Path, remote_host):
    url = f"http://{remote_host.address}:80/"
    assert_clean_failure(run_goship("rollback", "production", "-C", str(production)), "no earlier successful release")

    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    set_greeting(production, "version two")
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    source = (production / "main.go").read_text()
    (production / "main.go").write_text(source.replace("w.WriteHeader(http.StatusOK)", "w.WriteHeader(http.StatusTeapot)"))
    unhealthy = run_goship("ship", "production", "-C", str(production))
    assert unhealthy.returncode == 6, unhealthy.stderr  # the health check failed (goship help exit-codes)

    records = _releases(production)
    assert [r["result"] for r in records] == ["live", "live", "failed"]
    assert all(r["host"] == f"root@{remote_host.address}" and r["deployed_by"] for r in records)
    assert records[0]["image"].split("@")[1] == records[0]["digest"]
    assert "HTTP 418" in records[2]["reason"]
    assert _get(url) == "version two"

    start = time.monotonic()
    rolled = run_goship("rollback", "production", "-C", str(production))
    seconds = time.monotonic() - start
    assert rolled.returncode == 0, rolled.stderr
    assert _get(url) == "Hello from goship!"
    print(f"rollback took {seconds:.2f}s")
    assert len(_remote_containers(remote_host, "hello")) == 1
    assert _releases(production)[-1]["result"] == "rollback"
    assert _releases(production)[-1]["version"] == records[0]["version"]

    # Rolling back to a named version.
    to_two = run_goship("rollback", "production", records[1]["version"], "-C", str(production))
    assert to_two.returncode == 0, to_two.stderr
    assert _get(url) == "version two"

    status = run_goship("status", "production", "--json", "-C", str(production))
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)["hosts"]
    assert row["version"] == records[1]["version"] and row["state"] == "running"
    assert row["health"].startswith("HTTP 200")

    text = run_goship("releases", "production", "-C", str(production)).stdout
    assert "rollback" in text and "failed" in text


def test_history_survives_kill_of_the_writer(production: Path, remote_host):
    # A truncated record file (a writer killed mid-copy) is skipped, the rest read.
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    import io
    import subprocess
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b'{"service": "hello", "vers'
        info = tarfile.TarInfo("releases/999999999999999-cut-live.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(
        remote_host.ssh_argv("docker", "cp", "-", "goship-state-hello:/state"), input=buffer.getvalue(), check=True
    )
    records = _releases(production)
    assert len(records) >= 1 and all(r["service"] == "hello" for r in records)


def test_logs_and_exec(production: Path, remote_host):
    assert_clean_failure(run_goship("logs", "production", "-C", str(production)), "hello is not deployed there")
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    logs = run_goship("logs", "production", "-n", "5", "-C", str(production))
    assert logs.returncode == 0, logs.stderr
    assert f"root@{remote_host.address} | " in logs.stdout and '"msg":"listening"' in logs.stdout

    missing = run_goship("exec", "production", "-C", str(production), "--", "/no/such/program")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


def test_old_images_are_pruned_but_rollback_still_works(production: Path, remote_host):
    config = production / "goship.yaml"
    config.write_text(config.read_text() + "deploy:\n  keep: 2\n  drain: 0s\n")
    for n in range(1, 5):
        set_greeting(production, f"v{n}")
        assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    records = _releases(production)
    images = subprocess.run(
        remote_host.ssh_argv("docker", "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}"),
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert records[0]["image"] not in images and records[1]["image"] not in images
    assert records[2]["image"] in images and records[3]["image"] in images
    assert run_goship("rollback", "production", "-C", str(production)).returncode == 0
    assert _get(f"http://{remote_host.address}:80/") == "v3"
