"""Planned go builds and proxy files, compared with the exact text (Kamal-style tables)."""

import io
import tarfile
from pathlib import Path

import pytest

from goship.builders.gobuild import GoBuildRequest, parse_platform, plan_go_build
from goship.deploy import proxy
from goship.errors import BuildError


def test_config_tar_for_docker_cp():
    data = proxy.config_tar({"sites/hello.caddy": "x", "Caddyfile": "y"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["sites", "Caddyfile", "sites/hello.caddy"]


def test_go_build_plan_is_static_and_trimmed(tmp_path):
    plan = plan_go_build(
        GoBuildRequest(module_root=tmp_path, main="cmd/api", output=Path("/o/api"), platform=parse_platform("linux/arm64"), tags=("netgo",))
    )
    assert plan.argv == ("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "netgo", "-o", "/o/api", "./cmd/api")
    assert plan.env == {"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"}


def test_go_build_plan_vendor_and_arm_variant(tmp_path):
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor/modules.txt").write_text("")
    plan = plan_go_build(
        GoBuildRequest(module_root=tmp_path, main=".", output=Path("b"), platform=parse_platform("linux/arm/v7"))
    )
    assert plan.argv[-1] == "."
    assert plan.env["GOFLAGS"] == "-mod=vendor" and plan.env["GOARM"] == "7"


def test_unsupported_platform():
    with pytest.raises(BuildError, match="unsupported platform 'windows/amd64'"):
        parse_platform("windows/amd64")
