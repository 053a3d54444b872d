"""goship test: go test -json read into packages and tests, JUnit XML, coverage, the gate,
the workspace, the race detector and the linter (with FakeRunner for go)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from goship.commands.gotest import TestOptions, run_tests
from goship.commands.gotest.ci import github_annotations, markdown_summary
from goship.commands.gotest.coverage import total
from goship.commands.gotest.events import parse
from goship.commands.gotest.junit import render
from goship.config import parse_config
from goship.errors import ConfigError, TestsFailed, ToolError
from goship.project import load_project
from goship.session import Session
from goship.testing.process import Call, FakeRunner


def _event(action: str, package: str = "example.com/shop", test: str | None = None, output: str | None = None,
           elapsed: float | None = None) -> str:
    event: dict[str, object] = {"Action": action, "Package": package}
    if test:
        event["Test"] = test
    if output is not None:
        event["Output"] = output
    if elapsed is not None:
        event["Elapsed"] = elapsed
    return json.dumps(event)


STREAM = [
    _event("start"),
    _event("run", test="TestOK"),
    _event("output", test="TestOK", output="=== RUN   TestOK\n"),
    _event("pass", test="TestOK", elapsed=0.01),
    _event("run", test="TestBad"),
    _event("output", test="TestBad", output="=== RUN   TestBad\n"),
    _event("output", test="TestBad", output="    shop_test.go:17: total = 3, want 4\n"),
    _event("fail", test="TestBad", elapsed=0.02),
    _event("run", test="TestLater"),
    _event("skip", test="TestLater", elapsed=0),
    _event("output", output="coverage: 71.4% of statements\n"),
    _event("fail", elapsed=0.5),
    _event("start", package="example.com/shop/internal/db"),
    _event("output", package="example.com/shop/internal/db", output="panic: init failed\n"),
    _event("fail", package="example.com/shop/internal/db", elapsed=0.1),
    '{"ImportPath":"example.com/shop/cmd/x","Action":"build-output","Output":"cmd/x/main.go:3:1: syntax error\\n"}',
    '{"ImportPath":"example.com/shop/cmd/x","Action":"build-fail"}',
]


def test_the_stream_becomes_packages_and_tests_with_where_they_failed():
    shop, db, broken = parse(STREAM)
    assert (shop.result, shop.coverage, [t.result for t in shop.tests.values()]) == ("fail", 71.4, ["pass", "fail", "skip"])
    assert shop.tests["TestBad"].where == ("shop_test.go", 17)
    assert db.failed_without_a_test and broken.failed_without_a_test and broken.name == "example.com/shop/cmd/x"


def test_junit_counts_match_the_stream_and_name_a_package_that_failed_without_a_test():
    xml = ET.fromstring(render(parse(STREAM)).split("\n", 1)[1])
    assert (xml.get("tests"), xml.get("failures"), xml.get("skipped")) == ("5", "3", "1")
    shop = xml.find("testsuite[@name='example.com/shop']")
    assert shop is not None and shop.get("tests") == "3"
    bad = shop.find("testcase[@name='TestBad']/failure")
    assert bad is not None and "total = 3, want 4" in (bad.text or "")
    db = xml.find("testsuite[@name='example.com/shop/internal/db']/testcase[@name='(package)']/failure")
    assert db is not None and "panic: init failed" in (db.text or "")


def test_junit_survives_what_a_test_prints():
    stream = [_event("run", test="TestX"), _event("output", test="TestX", output="\x00\x1b[31m<&>\ufffe\n"), _event("fail", test="TestX")]
    ET.fromstring(render(parse(stream)).split("\n", 1)[1])  # well-formed


@pytest.mark.parametrize(
    ("profile", "percent"),
    [
        ("mode: set\na.go:1.1,2.2 3 1\na.go:3.1,4.2 1 0\n", 75.0),
        ("mode: atomic\na.go:1.1,2.2 2 0\na.go:1.1,2.2 2 5\nb.go:1.1,1.5 2 0\n", 50.0),  # a block seen twice: covered once
        ("mode: set\n", None),
    ],
)
def test_total_coverage(profile, percent):
    assert total(profile) == percent


def test_the_test_section_is_checked_at_its_line():
    assert parse_config("test:\n  coverage_min: 72.5\n  race: off\n").test.coverage_min == 72.5
    assert parse_config("test:\n  race: off\n  lint: on\n").test.race_mode == "off"
    assert parse_config("test:\n  lint: on\n").test.lint_mode == "required"
    for text, message in (("test:\n  coverage_min: 120\n", "not a percentage"), ("test:\n  lint: maybe\n", "expected .auto.")):
        with pytest.raises(ConfigError, match=message) as refused:
            parse_config(text)
        assert refused.value.line == 2


def _module(tmp_path: Path, config: str = "") -> Path:
    (tmp_path / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "goship.yaml").write_text(config or "service: shop\n")
    return tmp_path


def _go(runner: FakeRunner, root: Path, stream: list[str], profile: str, *, vet: int = 0, modules: str = "") -> None:
    runner.answer("go", "list", "-m", stdout=modules or f"example.com/shop\t{root}\n")
    runner.answer("go", "vet", returncode=vet, stderr="main.go:9:2: unreachable code\n" if vet else "")

    def test(call: Call) -> None:
        out = next(a for a in call.argv if a.startswith("-coverprofile=")).split("=", 1)[1]
        Path(out).write_text(profile)

    runner.answer("go", "test", stdout="\n".join(stream) + "\n", returncode=1 if any('"fail"' in s for s in stream) else 0, do=test)


PASSING = [_event("run", test="TestOK"), _event("pass", test="TestOK"), _event("output", output="coverage: 75.0% of statements\n"), _event("pass")]


def test_all_passing_writes_junit_and_reports_coverage(tmp_path):
    root = _module(tmp_path)
    runner = FakeRunner()
    _go(runner, root, PASSING, "mode: set\nmain.go:1.1,2.2 3 1\nmain.go:3.1,4.2 1 0\n")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(race="off", lint="off"))
    assert report.failure() is None and report.coverage == 75.0 and report.counts()["passed"] == 1
    assert (root / ".goship" / "test" / "junit.xml").is_file()
    [test] = runner.ran("go")[2:]
    assert test.argv[-1] == "./..." and "-race" not in test.argv and test.env and test.env["GOTOOLCHAIN"] == "local"


def test_a_failing_test_and_vet_and_the_gate_are_each_named(tmp_path):
    root = _module(tmp_path, "service: shop\ntest:\n  coverage_min: 80\n")
    runner = FakeRunner()
    _go(runner, root, STREAM[:12], "mode: set\nmain.go:1.1,2.2 1 1\nmain.go:3.1,4.2 1 0\n", vet=1)
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(race="off", lint="off"))
    failure = report.failure()
    assert isinstance(failure, TestsFailed) and failure.exit_code == 7
    assert "go vet found problems" in failure.message and "1 test(s) failed" in failure.message
    assert "coverage 50.0% is below test.coverage_min 80%" in failure.message
    assert report.vet == ["main.go:9:2: unreachable code"]
    document = report.document()
    assert document["failures"][0]["test"] == "TestBad" and document["failures"][0]["line"] == 17


def test_a_workspace_tests_every_module(tmp_path):
    root = _module(tmp_path)
    runner = FakeRunner()
    _go(runner, root, PASSING, "mode: set\n", modules=f"example.com/shop\t{root}\nexample.com/lib\t{tmp_path / 'lib'}\n")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(race="off", lint="off"))
    assert report.patterns == ["example.com/shop/...", "example.com/lib/..."]
    assert runner.ran("go")[-1].argv[-2:] == ("example.com/shop/...", "example.com/lib/...")


def test_race_needs_a_c_compiler_and_says_so(tmp_path):
    root = _module(tmp_path)
    runner = FakeRunner()
    _go(runner, root, PASSING, "mode: set\n")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(lint="off"))
        assert not report.race and any("no C compiler" in note for note in report.notes)
        with pytest.raises(ToolError, match="C compiler"):
            run_tests(session, TestOptions(race="on", lint="off"))
    runner.answer("gcc", "--version")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(lint="off"))
    assert report.race and "-race" in runner.ran("go")[-1].argv
    assert runner.ran("go")[-1].env["CGO_ENABLED"] == "1"  # type: ignore[index]


def test_the_linter_runs_when_installed_and_is_required_when_asked(tmp_path):
    root = _module(tmp_path)
    runner = FakeRunner()
    _go(runner, root, PASSING, "mode: set\n")
    with Session(load_project(root), runner=runner) as session:
        with pytest.raises(ConfigError, match="required"):
            run_tests(session, TestOptions(race="off", lint="required"))
    runner.answer("staticcheck", returncode=1, stdout="main.go:5:2: SA4006: a value is never used\n")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(race="off"))
    assert report.linter == "staticcheck" and report.lint == ["main.go:5:2: SA4006: a value is never used"]
    assert "staticcheck found problems" in str(report.failure())


def test_github_gets_annotations_at_the_failing_line_and_a_summary(tmp_path):
    root = _module(tmp_path)
    runner = FakeRunner()
    _go(runner, root, STREAM[:12], "mode: set\n")
    with Session(load_project(root), runner=runner) as session:
        report = run_tests(session, TestOptions(race="off", lint="off"))
    [annotation] = github_annotations(report, root)
    assert annotation.startswith("::error file=shop_test.go,line=17,title=TestBad::example.com/shop.TestBad failed%0A")
    summary = markdown_summary(report)
    assert "| 1 | 3 | 1 | 1 | 1 |" in summary and "total = 3, want 4" in summary
