"""Under continuous load through a remote host's proxy: deploys fail no request.

Load goes only to the test host this session created (10.231.N.2), bounded
in time; hey's own report is the evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import Load
from tests.e2e.helpers import get as _get
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


def test_three_deploys_under_load_fail_nothing(production: Path, remote_host):
    url = f"http://{remote_host.address}:80/"
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    load = Load(url, seconds=30)
    for n in (2, 3, 4):
        set_greeting(production, f"version {n}")
        result = run_goship("ship", "production", "-C", str(production))
        assert result.returncode == 0, result.stderr
        assert _get(url) == f"version {n}"
    statuses, errors, rps = load.report()
    print(f"\nhey during 3 deploys: {statuses}, errors={errors}, {rps:.0f} req/s")
    assert errors == 0, load.output
    assert set(statuses) == {"200"}, load.output
    assert rps >= 1000, load.output


def _break_health_after(project: Path, seconds: int) -> None:
    """A version that passes readiness, then fails its health check."""
    main = project / "main.go"
    source = main.read_text().replace("func main() {", "var started = time.Now()\n\nfunc main() {", 1)
    source = source.replace(
        "\t\tw.WriteHeader(http.StatusOK)\n",
        f"\t\tif time.Since(started) > {seconds}*time.Second {{\n\t\t\tw.WriteHeader(http.StatusInternalServerError)\n"
        "\t\t\treturn\n\t\t}\n\t\tw.WriteHeader(http.StatusOK)\n",
    )
    main.write_text(source)


def test_failing_versions_under_load_keep_the_old_one_serving(production: Path, remote_host):
    url = f"http://{remote_host.address}:80/"
    config = production / "goship.yaml"
    config.write_text(config.read_text() + "deploy:\n  watch: 6s\n")
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    [old] = _remote_containers(remote_host, "hello")
    pristine = (production / "main.go").read_text()

    load = Load(url, seconds=25)
    # 1. never healthy
    (production / "main.go").write_text(pristine.replace("w.WriteHeader(http.StatusOK)", "w.WriteHeader(http.StatusBadGateway)"))
    set_greeting(production, "never healthy")
    never = run_goship("ship", "production", "-C", str(production))
    assert_clean_failure(never, "is not healthy", "HTTP 502")
    # 2. healthy at first, then failing inside deploy.watch
    (production / "main.go").write_text(pristine)
    _break_health_after(production, 2)
    set_greeting(production, "fails during watch")
    watched = run_goship("ship", "production", "-C", str(production))
    assert_clean_failure(watched, "during the watch period", "HTTP 500")
    statuses, errors, rps = load.report()
    print(f"\nhey during 2 failed deploys: {statuses}, errors={errors}, {rps:.0f} req/s")

    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _get(url) == "Hello from goship!"
    assert [c["Names"] for c in _remote_containers(remote_host, "hello")] == [old["Names"]]
    records = json.loads(run_goship("releases", "production", "--json", "-C", str(production)).stdout)["releases"]
    assert [r["result"] for r in records] == ["live", "failed", "failed"]
