"""goship lint as a user runs it: exit codes, formats, bad input. No Docker needed."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship
from tests.unit.helpers import service_module

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
    assert result.returncode == 3  # the worst finding is an error
    assert "goship.yaml:2: error GS201 app.port: expected a whole number" in result.stdout
    assert "no Dockerfile" in result.stdout


@pytest.mark.parametrize(
    ("gomod", "fragment"),
    [("module \n", "go.mod:1: 'module' has no path"), ("modul x\n", "go.mod:1: unknown directive 'modul'")],
)
def test_a_go_mod_that_does_not_parse_is_one_clear_line(chapter1, gomod, fragment):
    (chapter1 / "go.mod").write_text(gomod)
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint")
    assert_clean_failure(result, fragment)
    assert result.returncode == 2 and "no problems found" not in result.stdout


def test_output_into_a_missing_directory_is_one_clear_line(chapter1, tmp_path):
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--format", "sarif", "-o", str(tmp_path / "nope" / "out.sarif"))
    assert_clean_failure(result, "does not exist")
    assert result.returncode == 2


@pytest.mark.parametrize("fmt", ["json", "sarif"])
@pytest.mark.parametrize(
    ("name", "text", "where"),
    [("Dockerfile", "FROM golang:1.22\nRUNN go build\n", ("Dockerfile", 2)), ("go.mod", "modul x\n", ("go.mod", 1))],
)
def test_machine_formats_still_write_a_document_when_a_file_does_not_parse(chapter1, tmp_path, fmt, name, text, where):
    (chapter1 / name).write_text(text)
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--format", fmt)
    assert_clean_failure(result, f"{where[0]}:{where[1]}:")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    if fmt == "json":
        assert [(f["rule"], f["severity"], f["file"], f["line"]) for f in document["findings"]] == [("GS100", "error", *where)]
        assert document["error"].startswith(f"{where[0]}:{where[1]}:")
    else:
        run = document["runs"][0]
        assert run["invocations"][0]["executionSuccessful"] is False
        assert run["invocations"][0]["toolExecutionNotifications"][-1]["level"] == "error"
        (only,) = run["results"]
        location = only["locations"][0]["physicalLocation"]
        assert (only["ruleId"], only["level"], location["artifactLocation"]["uri"], location["region"]["startLine"]) == (
            "GS100", "error", *where)
    # -o writes the same document to the file, for the upload step.
    out = tmp_path / f"lint.{fmt}"
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--format", fmt, "-o", str(out))
    assert result.returncode == 2 and json.loads(out.read_text(encoding="utf-8"))


def test_exit_status_is_3_when_the_worst_finding_is_an_error(chapter1):
    (chapter1 / "Dockerfile").write_text("FROM golang:1.22\nENV DB_PASSWORD=x\nCMD [\"/app\"]\n")
    assert run_goship("lint", "-C", str(chapter1), "--no-hadolint").returncode == 3
    assert run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--ignore", "GS109").returncode == 1
    assert run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--fail-on", "none").returncode == 0
    assert "3 when it is an error" in " ".join(run_goship("lint", "--help").stdout.split())


def test_unknown_ignore_ids_are_warned_about_but_hadolint_ids_are_not(chapter1):
    result = run_goship("lint", "-C", str(chapter1), "--no-hadolint", "--ignore", "GS999,DL3018", "--ignore", "SC2086")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: --ignore GS999: no such rule; known: GS100, GS101"), result.stderr
    assert result.returncode == 1  # still lints


def test_context_limit_must_be_positive_and_dockerfile_directory_is_named(tmp_path):
    root = service_module(tmp_path)
    (root / "deploy dir").mkdir()
    result = run_goship("lint", "-C", str(root), "--no-hadolint", "--context-limit", "-5")
    assert result.returncode == 2 and "more than 0" in result.stderr
    result = run_goship("lint", "-C", str(root), "--no-hadolint", "--dockerfile", str(root / "deploy dir"))
    assert "is a directory" in result.stderr + result.stdout and "no such file" not in result.stderr + result.stdout
