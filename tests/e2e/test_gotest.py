"""goship test with the real go: fixture modules that pass, fail, miss the coverage gate,
and a workspace; JUnit counts checked against go test -json itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import assert_clean_failure, run_goship

pytestmark = pytest.mark.e2e

CALC = "package calc\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return a - b }\n"
CALC_TEST = """package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("add")
	}
}

func TestTable(t *testing.T) {
	for _, c := range []struct{ a, b, want int }{{1, 1, 2}, {2, 2, 4}} {
		t.Run("case", func(t *testing.T) {
			if Add(c.a, c.b) != c.want {
				t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, Add(c.a, c.b), c.want)
			}
		})
	}
}

func TestSkipped(t *testing.T) { t.Skip("not today") }
"""
MAIN = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n"


def _module(root: Path, name: str, calc_test: str = CALC_TEST) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
    (root / "main.go").write_text(MAIN)
    (root / "calc").mkdir()
    (root / "calc" / "calc.go").write_text(CALC)
    (root / "calc" / "calc_test.go").write_text(calc_test)
    return root


def _go_test_counts(root: Path) -> tuple[int, int, int]:
    """(tests, failed, skipped) as go test -json itself reports them."""
    done = subprocess.run(["go", "test", "-json", "./..."], cwd=root, capture_output=True, text=True,
                          env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "GOTOOLCHAIN": "local",
                               "HOME": str(root), "GOCACHE": str(root.parent / "gocache"), "GOFLAGS": ""})
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    finals = [e for e in events if e.get("Test") and e["Action"] in ("pass", "fail", "skip")]
    return len(finals), sum(e["Action"] == "fail" for e in finals), sum(e["Action"] == "skip" for e in finals)


def test_all_passing_junit_counts_match_go_test(tmp_path):
    root = _module(tmp_path / "calc", "calc")
    done = run_goship("test", "-C", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed, 0 failed, 1 skipped" in done.stdout, done.stdout  # 3 tests + 2 subtests, 1 skipped
    suites = ET.parse(root / ".goship" / "test" / "junit.xml").getroot()
    tests, failed, skipped = _go_test_counts(root)
    assert (int(suites.get("tests")), int(suites.get("failures")), int(suites.get("skipped"))) == (tests, failed, skipped)
    report = json.loads(run_goship("test", "--json", "-C", str(root)).stdout)
    assert report["ok"] and report["counts"]["tests"] == tests and 0 < report["coverage"] <= 100


def test_a_failing_test_is_named_with_its_line_and_github_gets_an_annotation(tmp_path):
    broken = CALC_TEST.replace("{2, 2, 4}", "{2, 2, 5}")
    root = _module(tmp_path / "calc", "calc", broken)
    summary = tmp_path / "summary.md"
    done = run_goship("test", "-C", str(root), env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(root),
                                                      "GITHUB_STEP_SUMMARY": str(summary)})
    assert_clean_failure(done, "1 test(s) failed: TestTable/case#01", "--- FAIL TestTable/case#01 (calc_test.go:15)", "Add(2, 2) = 4, want 5")
    assert done.returncode == 7
    assert "::error file=calc/calc_test.go,line=15,title=TestTable/case#01::" in done.stdout, done.stdout
    assert "title=TestTable::" not in done.stdout  # the parent that failed only through its subtest
    assert "| 2 | 5 |" in summary.read_text()  # two packages (main and calc), five tests


def test_coverage_under_the_gate_shows_both_numbers(tmp_path):
    root = _module(tmp_path / "calc", "calc")
    (root / "goship.yaml").write_text("test:\n  coverage_min: 95\n")
    done = run_goship("test", "-C", str(root))
    assert_clean_failure(done, "is below test.coverage_min 95%")
    assert done.returncode == 7
    # Add is covered, Sub and main are not.
    shown = done.stderr.split("coverage ", 1)[1].split("%", 1)[0]
    assert 0 < float(shown) < 95


def test_a_workspace_tests_each_module(tmp_path):
    ws = tmp_path / "ws"
    _module(ws / "api", "api")
    _module(ws / "lib", "lib")
    (ws / "go.work").write_text("go 1.22\n\nuse (\n\t./api\n\t./lib\n)\n")
    done = run_goship("test", "-C", str(ws / "api"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "example.com/api/calc" in done.stdout and "example.com/lib/calc" in done.stdout


def test_bad_input_is_one_line(tmp_path):
    root = _module(tmp_path / "calc", "calc")
    out_of_range = run_goship("test", "--coverage-min", "120", "-C", str(root))
    assert_clean_failure(out_of_range, "120 is not a percentage")
    (root / "goship.yaml").write_text("test:\n  coverage_min: 101\n")
    assert_clean_failure(run_goship("test", "-C", str(root)), "goship.yaml:2: test.coverage_min: 101 is not a percentage")
