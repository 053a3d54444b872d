"""goship lint as a user runs it: exit codes, formats, bad input. No Docker needed."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"


@pytest.fixture
def chapter1(tmp_path):
    return Path(shutil.copytree(FIXTURES / "chapter1", tmp_path / "chapter1"))


def test_text_report_and_exit_code_follow_fail_on(chapter1):
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint")
    assert result.returncode == 1, result.stderr
    assert "Dockerfile:3: warning GS105" in result.stdout
    assert "Dockerfile:1: warning GS101" in result.stdout
    assert result.stdout.rstrip().endswith("4 warnings, 1 info")
    assert run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--fail-on", "error").returncode == 0
    assert run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--fail-on", "none").returncode == 0


def test_ignore_everything_but_info_passes(chapter1):
    result = run_goship(
        "lint", "-C", str(chapter1), "--no-hadolint", "--ignore", "GS101,GS103", "--ignore", "GS105", "--ignore", "GS113"
    )
    assert result.returncode == 0, result.stdout
    assert "GS112" in result.stdout and "1 info" in result.stdout


def test_json_and_sarif_outputs(chapter1, tmp_path):
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--format", "json")
    document = json.loads(result.stdout)
    assert [(f["rule"], f["line"]) for f in document["findings"]][:2] == [("GS113", None), ("GS101", 1)]
    assert json.loads(run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--json").stdout)["summary"]["warning"] == 4

    out = tmp_path / "lint.sarif"
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--format", "sarif", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 5


def test_explicit_dockerfile(chapter1):
    (chapter1 / "Dockerfile.prod").write_text(
        "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\n"
        'ENTRYPOINT ["/app"]\n'
    )
    (chapter1 / "Dockerfile.prod.dockerignore").write_text(".git\n")
    (chapter1 / "goship.yaml").write_text("health:\n  path: /healthz\n")
    result = run_goship("lint", "-C", str(chapter1), "--dockerfile", str(chapter1 / "Dockerfile.prod"), "--no-hadolint")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "no problems found"


def test_not_a_go_module_is_one_clear_line(tmp_path):
    result = run_goship("lint", "-C", str(tmp_path))
    assert_clean_failure(result, "no go.mod in", "go mod init")
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("FROM golang:1.22\nCMD [\"./main\"\n", "Dockerfile:2: CMD: not a valid JSON array"),
        ("FROM golang:1.22\nRUNN go build\n", "Dockerfile:2: unknown instruction 'RUNN'"),
        ("WORKDIR /app\n", "Dockerfile:1: WORKDIR before the first FROM"),
        ("FROM golang:1.22\nCOPY\n", "Dockerfile:2: COPY has no arguments"),
    ],
)
def test_a_dockerfile_that_does_not_parse_is_one_clear_line(chapter1, text, fragment):
    (chapter1 / "Dockerfile").write_text(text)
    result = run_goship("lint", "-C", str(chapter1))
    assert_clean_failure(result, fragment)
    assert result.returncode == 2


def test_missing_explicit_dockerfile(chapter1):
    result = run_goship("lint", "-C", str(chapter1), "--dockerfile", str(chapter1 / "nope"))
    assert_clean_failure(result, "nope: no such file")


def test_no_dockerfile_checks_goship_yaml_only(chapter1):
    (chapter1 / "Dockerfile").unlink()
    (chapter1 / "goship.yaml").write_text("app:\n  port: eighty\n")
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint")
    assert result.returncode == 1
    assert "goship.yaml:2: error GS201 app.port: expected a whole number" in result.stdout
    assert "no Dockerfile" in result.stdout
