"""goship lint on a whole module: the Dockerfile goship.yaml names, what build and
deploy would refuse (GS201, and doctor fails the same way), a UTF-16 .dockerignore."""

from __future__ import annotations

import pytest

from goship.commands.doctor.checks import Status, check_project
from goship.commands.doctor.report import load_context
from goship.commands.lint import Severity, lint_project
from tests.unit.helpers import service_module

GOOD_DOCKERFILE = (
    "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"
    "RUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n"
    "USER 65532\nHEALTHCHECK CMD [\"/app\", \"-health\"]\nENTRYPOINT [\"/app\"]\n"
)


def errors(report):
    return [(f.rule, f.file, f.line) for f in report.findings if f.severity is Severity.ERROR]


def test_lint_checks_build_dockerfile(tmp_path):
    root = service_module(tmp_path, 'build:\n  builder: docker\n  dockerfile: "deploy dir/Dockerfile"\n')
    (root / "deploy dir").mkdir()
    (root / "deploy dir" / "Dockerfile").write_text("FROM golang:1.22\nRUN go build -o /app .\n")
    report = lint_project(root, hadolint=False)
    assert "deploy dir/Dockerfile" in report.files
    assert any(f.rule == "GS101" and f.file == "deploy dir/Dockerfile" for f in report.findings)
    # --dockerfile still overrides
    (root / "Other").write_text(GOOD_DOCKERFILE)
    assert "Other" in lint_project(root, root / "Other", hadolint=False).files


def test_docker_builder_without_dockerfile_is_an_error(tmp_path):
    root = service_module(tmp_path, "service: svc\nbuild:\n  builder: docker\n")
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
    root = service_module(tmp_path, config)
    (root / "Dockerfile").write_text(GOOD_DOCKERFILE)
    report = lint_project(root, hadolint=False)
    gs201 = [f for f in report.findings if f.rule == "GS201"]
    assert [(f.file, f.line) for f in gs201] == [("goship.yaml", line)], report.findings
    assert words in gs201[0].message
    assert report.exit_code(Severity.ERROR) == 3
    result = check_project(None, load_context(root))
    assert result.status is Status.FAIL and words in result.summary


def test_utf16_dockerignore_is_decoded_and_reported(tmp_path):
    root = service_module(tmp_path)
    (root / "Dockerfile").write_text(GOOD_DOCKERFILE)
    (root / ".dockerignore").write_bytes(b"\xff\xfe" + ".git\r\n".encode("utf-16-le"))
    report = lint_project(root, hadolint=False)
    rules = [(f.rule, f.file) for f in report.findings]
    assert ("GS116", ".dockerignore") in rules
    assert not any(rule == "GS114" for rule, _ in rules)


