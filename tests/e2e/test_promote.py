"""`goship deploy production --version V`: CI builds and pushes once, another checkout with no build output
deploys that version by its digest; an unknown version is refused and the old one keeps serving."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import get as _get
from tests.e2e.remote import on_host as _remote
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


def _image_of(host, container: str) -> str:
    return _remote(host, "docker", "inspect", "--format", "{{.Config.Image}}", container).strip()


def test_a_version_pushed_from_one_checkout_is_deployed_from_another(production: Path, remote_host, test_registry,
                                                                       tmp_path):
    url = f"http://{remote_host.address}:80/"
    ci = production
    set_greeting(ci, "Hello from release one")
    first = run_goship("ship", "production", "-C", str(ci))
    assert first.returncode == 0, first.stderr
    assert _get(url) == "Hello from release one"
    release_one = json.loads((ci / ".goship" / "push.json").read_text())["reference"]

    # CI builds and pushes the next version and deploys nothing.
    set_greeting(ci, "Hello from release two")
    built = run_goship("build", "-C", str(ci))
    assert built.returncode == 0, built.stderr
    tag, digest = built.stdout.strip().splitlines()[-1].split()
    version = tag.rsplit(":", 1)[1]
    pushed = run_goship("push", "-C", str(ci))
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip().splitlines()[-1]
    assert reference == f"{test_registry.addr}/hello@{digest}"
    assert _get(url) == "Hello from release one"

    # Another checkout: the same goship.yaml, sources that differ, no build output at all.
    laptop = tmp_path / "laptop"
    shutil.copytree(ci, laptop, ignore=shutil.ignore_patterns(".goship"))
    set_greeting(laptop, "never built, never served")
    deployed = run_goship("deploy", "production", "--version", version, "-C", str(laptop))
    assert deployed.returncode == 0, deployed.stderr
    assert f"live at http://{remote_host.address}:80" in deployed.stdout and version in deployed.stdout
    assert _get(url) == "Hello from release two"
    assert not (laptop / ".goship" / "oci").exists()  # nothing was built here
    [container] = _remote_containers(remote_host, "hello")
    assert _image_of(remote_host, container["Names"]) == reference  # pulled by digest
    releases = run_goship("releases", "production", "-C", str(laptop))
    assert releases.returncode == 0 and version in releases.stdout, releases.stdout + releases.stderr

    # A version that was never pushed: refused before any host changes, release two keeps serving.
    refused = run_goship("deploy", "production", "--version", "v0.0.0-never", "-C", str(laptop))
    assert_clean_failure(refused, f"image {test_registry.addr}/hello:v0.0.0-never is not in the registry",
                         "goship push", "goship tags")
    assert _get(url) == "Hello from release two"
    assert [c["Names"] for c in _remote_containers(remote_host, "hello")] == [container["Names"]]

    # An image named by digest (an earlier one here): deployed as it is; a tag there is refused.
    by_tag = run_goship("deploy", "production", "--image", f"{test_registry.addr}/hello:{version}", "-C", str(laptop))
    assert_clean_failure(by_tag, "by tag, not by digest", "--version")
    back = run_goship("deploy", "production", "--image", release_one, "-C", str(laptop))
    assert back.returncode == 0, back.stderr
    assert _get(url) == "Hello from release one"
    [container] = _remote_containers(remote_host, "hello")
    assert _image_of(remote_host, container["Names"]) == release_one
