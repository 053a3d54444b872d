"""app.volumes on the suite's local engine: a service that writes to a named volume
keeps its data across a zero-downtime ship and a plain ``remove``; ``remove --purge``
deletes the volume.

The service appends its version to /data/boots.txt at every start and serves the
file: the first start proves the non-root user may write to a fresh volume (its
owner comes from the mount point goship puts in the image), each later start that
the data from before is still there.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_goship

pytestmark = pytest.mark.e2e

SERVICE = "volsvc"
VOLUME = f"{SERVICE}-data"

MAIN = """package main

import (
	"fmt"
	"net/http"
	"os"
)

const version = "VERSION"

const boots = "/data/boots.txt"

func main() {
	f, err := os.OpenFile(boots, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(f, version)
	f.Close()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(boots)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(data)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
"""


def _write(project: Path, version: str) -> None:
    (project / "main.go").write_text(MAIN.replace("VERSION", version))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def _volume() -> dict | None:
    found = subprocess.run(["docker", "volume", "inspect", VOLUME], capture_output=True, text=True)
    return json.loads(found.stdout)[0] if found.returncode == 0 else None


@pytest.fixture
def volsvc(tmp_path: Path, local_engine, caddy_image) -> Iterator[Path]:
    """A module writing to a named volume; the volume (not named goship-*, which the
    suite's cleanup removes) is removed here, before and after."""
    subprocess.run(["docker", "volume", "rm", "-f", VOLUME], capture_output=True)
    project = tmp_path / SERVICE
    project.mkdir()
    (project / "go.mod").write_text(f"module example.com/{SERVICE}\n\ngo 1.22\n")
    _write(project, "one")
    try:
        yield project
    finally:
        run_goship("remove", "--yes", "--purge", "-C", str(project))
        subprocess.run(["docker", "volume", "rm", "-f", VOLUME], capture_output=True)


def test_data_on_a_named_volume_survives_ship_and_remove_and_purge_deletes_it(volsvc: Path, local_port: int):
    (volsvc / "goship.yaml").write_text(
        f"service: {SERVICE}\napp:\n  volumes:\n    - data:/data\nproxy:\n  port: {local_port}\n"
    )
    url = f"http://127.0.0.1:{local_port}/"

    first = run_goship("ship", "-C", str(volsvc))
    assert first.returncode == 0, first.stderr
    assert _get(url) == "one\n"  # the non-root service wrote to the fresh volume
    volume = _volume()
    assert volume is not None
    assert volume["Labels"]["goship.service"] == SERVICE and volume["Labels"]["goship.role"] == "data"

    _write(volsvc, "two")
    second = run_goship("ship", "-C", str(volsvc))
    assert second.returncode == 0, second.stderr
    assert _get(url) == "one\ntwo\n"  # the data of the version before, kept through the switch

    removed = run_goship("remove", "--yes", "-C", str(volsvc))
    assert removed.returncode == 0, removed.stderr
    assert f"kept its data volume(s) {VOLUME} (--purge deletes them)" in removed.stdout
    assert _volume() is not None

    _write(volsvc, "three")
    third = run_goship("ship", "-C", str(volsvc))
    assert third.returncode == 0, third.stderr
    assert _get(url) == "one\ntwo\nthree\n"  # a plain remove kept the data for the next ship

    refused = run_goship("remove", "--purge", "-C", str(volsvc))  # no terminal: --yes is needed
    assert refused.returncode != 0 and "confirm with --yes" in refused.stderr
    assert _volume() is not None

    purged = run_goship("remove", "--yes", "--purge", "-C", str(volsvc))
    assert purged.returncode == 0, purged.stderr
    assert f"its data volume(s) {VOLUME}" in purged.stdout
    assert _volume() is None
