"""Review fixes: lint and doctor report what build/deploy refuse; go.mod, GS102, UTF-16 .dockerignore."""

from __future__ import annotations

from pathlib import Path

import pytest

from goship.commands.doctor.checks import Status, check_project
from goship.commands.doctor.report import load_context
from goship.commands.lint import Severity, lint_dockerfile_text, lint_project
from goship.errors import ProjectError
from goship.project import load_project, parse_go_mod
from tests.conftest import run_goship

GOOD_DOCKERFILE = (
    "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"
    "RUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n"
    "USER 65532\nHEALTHCHECK CMD [\"/app\", \"-health\"]\nENTRYPOINT [\"/app\"]\n"
)


def module(tmp_path: Path, config: str | None = None) -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (root / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / ".dockerignore").write_text(".git\n")
    if config is not None:
        (root / "goship.yaml").write_text(config)
    return root


def errors(report):
    return [(f.rule, f.file, f.line) for f in report.findings if f.severity is Severity.ERROR]


def test_lint_checks_build_dockerfile(tmp_path):
    root = module(tmp_path, 'build:\n  builder: docker\n  dockerfile: "deploy dir/Dockerfile"\n')
    (root / "deploy dir").mkdir()
    (root / "deploy dir" / "Dockerfile").write_text("FROM golang:1.22\nRUN go build -o /app .\n")
    report = lint_project(root, hadolint=False)
    assert "deploy dir/Dockerfile" in report.files
    assert any(f.rule == "GS101" and f.file == "deploy dir/Dockerfile" for f in report.findings)
    # --dockerfile still overrides
    (root / "Other").write_text(GOOD_DOCKERFILE)
    assert "Other" in lint_project(root, root / "Other", hadolint=False).files


def test_docker_builder_without_dockerfile_is_an_error(tmp_path):
    root = module(tmp_path, "service: svc\nbuild:\n  builder: docker\n")
    report = lint_project(root, hadolint=False)
    assert errors(report) == [("GS201", "goship.yaml", 3)]
    assert "goship dockerfile -o Dockerfile" in report.findings[0].message
    assert report.exit_code(Severity.ERROR) == 3
    result = check_project(None, load_context(root))
    assert result.status is Status.FAIL and "goship dockerfile -o Dockerfile" in result.fix


@pytest.mark.parametrize(
    ("config", "line", "words"),
    [
        ("service: Shop Name\n", 1, "not a valid name"),
        ("build:\n  main: ./cmd/nope\n", 2, "build.main"),
        ("proxy:\n  tls: letsencrypt\n", 2, "proxy.tls"),
        ("app:\n  security:\n    read_only: false\n", 2, "without a reason"),
        ("build:\n  context: ../nowhere\n", 2, "build.context"),
    ],
)
def test_settings_build_and_deploy_refuse_are_lint_errors_and_doctor_fails(tmp_path, config, line, words):
    root = module(tmp_path, config)
    (root / "Dockerfile").write_text(GOOD_DOCKERFILE)
    report = lint_project(root, hadolint=False)
    gs201 = [f for f in report.findings if f.rule == "GS201"]
    assert [(f.file, f.line) for f in gs201] == [("goship.yaml", line)], report.findings
    assert words in gs201[0].message
    assert report.exit_code(Severity.ERROR) == 3
    result = check_project(None, load_context(root))
    assert result.status is Status.FAIL and words in result.summary


def test_go_mod_bom_and_toolchain_without_go_prefix_are_refused(tmp_path):
    with pytest.raises(ProjectError, match=r"go.mod:3: invalid toolchain version '1.22.5'") as info:
        parse_go_mod("module x\ngo 1.22\ntoolchain 1.22.5\n")
    assert "toolchain go1.22.5" in info.value.hint
    assert parse_go_mod("module x\ntoolchain go1.22.5\n").toolchain == "go1.22.5"
    root = module(tmp_path)
    (root / "go.mod").write_bytes(b"\xef\xbb\xbfmodule example.com/svc\n")
    with pytest.raises(ProjectError, match=r"go.mod:1: unexpected input character") as info:
        load_project(root)
    assert "without BOM" in info.value.hint
    with pytest.raises(ProjectError, match=r"go.mod:1"):
        lint_project(root, hadolint=False)


CGO = "FROM {image} AS build\n{extra}RUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nUSER 1\n"


@pytest.mark.parametrize(
    ("image", "extra", "severity"),
    [
        ("golang:1.22-alpine", "", Severity.WARNING),  # no gcc: go turns cgo off by itself
        ("golang:1.22-alpine", "RUN apk add --no-cache gcc musl-dev\n", Severity.ERROR),
        ("golang:1.22-alpine", "RUN apk add --no-cache build-base\n", Severity.ERROR),
        ("golang:1.22", "", Severity.ERROR),  # Debian: gcc included, cgo on
    ],
)
def test_gs102_error_only_with_a_c_compiler(image, extra, severity):
    found = [f for f in lint_dockerfile_text(CGO.format(image=image, extra=extra)) if f.rule == "GS102"]
    assert [f.severity for f in found] == [severity]


def test_utf16_dockerignore_is_decoded_and_reported(tmp_path):
    root = module(tmp_path)
    (root / "Dockerfile").write_text(GOOD_DOCKERFILE)
    (root / ".dockerignore").write_bytes(b"\xff\xfe" + ".git\r\n".encode("utf-16-le"))
    report = lint_project(root, hadolint=False)
    rules = [(f.rule, f.file) for f in report.findings]
    assert ("GS116", ".dockerignore") in rules
    assert not any(rule == "GS114" for rule, _ in rules)


def test_context_limit_must_be_positive_and_dockerfile_directory_is_named(tmp_path):
    root = module(tmp_path)
    (root / "deploy dir").mkdir()
    result = run_goship("lint", "-C", str(root), "--no-hadolint", "--context-limit", "-5")
    assert result.returncode == 2 and "more than 0" in result.stderr
    result = run_goship("lint", "-C", str(root), "--no-hadolint", "--dockerfile", str(root / "deploy dir"))
    assert "is a directory" in result.stderr + result.stdout and "no such file" not in result.stderr + result.stdout
