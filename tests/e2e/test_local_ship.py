"""`goship ship` to the local engine: native build, proxy, no downtime.

The proxy port is picked free for the run (``local_port``): the machine's own
8000 may be taken (it is, by the sentinel service of tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import urllib.request

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting

pytestmark = pytest.mark.e2e



def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def _app_containers(service: str) -> list[dict]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=goship.service={service}", "--filter", "label=goship.role=app",
         "--format", "{{json .}}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def _hey(url: str, seconds: int, results: dict) -> None:
    # Bounded load on loopback only; hey's own report is the evidence.
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", "8", "-t", "5", url], capture_output=True, text=True, timeout=seconds + 60
    ).stdout
    results["report"] = out


def _hey_counts(report: str) -> tuple[dict[str, int], int]:
    statuses = {m.group(1): int(m.group(2)) for m in re.finditer(r"\[(\d{3})\]\s+(\d+) responses", report)}
    errors = 0
    if "Error distribution:" in report:
        for m in re.finditer(r"^\s+\[(\d+)\]\s+", report.split("Error distribution:", 1)[1], re.MULTILINE):
            errors += int(m.group(1))
    return statuses, errors


def _only_port(project, port: int) -> str:
    """goship.yaml with nothing but the proxy port: every other setting is the default."""
    (project / "goship.yaml").write_text(f"proxy:\n  port: {port}\n")
    return f"http://127.0.0.1:{port}/"


def test_ship_local_then_replace_under_load(hello, local_engine, caddy_image, local_port):
    LOCAL_URL = _only_port(hello, local_port)
    first = run_goship("ship", "-C", str(hello))
    assert first.returncode == 0, first.stderr
    assert f"live at http://localhost:{local_port}" in first.stdout
    assert _get(LOCAL_URL).strip() == "Hello from goship!"
    [old] = _app_containers("hello")

    # The image runs as the non-root user goship put in it.
    user = subprocess.run(
        ["docker", "inspect", "--format", "{{.Config.User}}", old["Names"]], capture_output=True, text=True
    ).stdout.strip()
    assert user == "65532:65532"

    set_greeting(hello, "Hello, second version!")
    results: dict = {}
    load = threading.Thread(target=_hey, args=(LOCAL_URL, 12, results))
    load.start()
    second = run_goship("ship", "-C", str(hello))
    load.join()
    assert second.returncode == 0, second.stderr
    assert _get(LOCAL_URL).strip() == "Hello, second version!"

    statuses, errors = _hey_counts(results["report"])
    assert errors == 0, results["report"]
    assert set(statuses) == {"200"}, results["report"]
    assert statuses["200"] > 1000, results["report"]

    containers = _app_containers("hello")
    assert len(containers) == 1 and containers[0]["Names"] != old["Names"]


def test_unhealthy_version_leaves_the_old_one_serving(hello, local_engine, caddy_image, local_port):
    LOCAL_URL = f"http://127.0.0.1:{local_port}/"
    (hello / "goship.yaml").write_text(f"health:\n  timeout: 4s\nproxy:\n  port: {local_port}\n")
    assert run_goship("ship", "-C", str(hello)).returncode == 0
    [old] = _app_containers("hello")

    source = (hello / "main.go").read_text()
    (hello / "main.go").write_text(
        source.replace("w.WriteHeader(http.StatusOK)", "w.WriteHeader(http.StatusServiceUnavailable)")
    )
    set_greeting(hello, "broken version")
    result = run_goship("ship", "-C", str(hello))
    assert_clean_failure(result, "is not healthy", "HTTP 503", "the previous version keeps serving")

    assert _get(LOCAL_URL).strip() == "Hello from goship!"
    assert [c["Names"] for c in _app_containers("hello")] == [old["Names"]]


def test_container_that_crashes_reports_exit_code_and_logs(hello, local_engine, caddy_image, local_port):
    source = (hello / "main.go").read_text()
    (hello / "main.go").write_text(
        source.replace('logger.Info("listening"', 'logger.Error("cannot open database", "dsn", "x"); os.Exit(3)\n\t\tlogger.Info("listening"')
    )
    (hello / "goship.yaml").write_text(f"service: crashy\nhealth:\n  timeout: 20s\nproxy:\n  port: {local_port}\n")
    result = run_goship("ship", "-C", str(hello))
    assert_clean_failure(result, "the container exited with code 3", "cannot open database", "its last log lines say why")
    assert _app_containers("crashy") == []


def test_missing_health_endpoint_says_so(hello, local_engine, caddy_image, local_port):
    (hello / "goship.yaml").write_text(
        f"service: nohealth\nhealth:\n  path: /ready\n  timeout: 3s\nproxy:\n  port: {local_port}\n"
    )
    result = run_goship("ship", "-C", str(hello))
    assert_clean_failure(result, "HTTP 404", "no /ready endpoint")
    assert _app_containers("nohealth") == []


def test_busy_proxy_port_is_explained(hello, local_engine, caddy_image, unused_port):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", unused_port))
        busy.listen()
        (hello / "goship.yaml").write_text(f"service: busyport\nproxy:\n  port: {unused_port}\n")
        result = run_goship("ship", "-C", str(hello))
    assert_clean_failure(result, f"the proxy cannot start on port {unused_port}", "proxy.port")
    assert _app_containers("busyport") == []
