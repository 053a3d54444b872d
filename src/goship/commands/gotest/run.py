"""``goship test`` on a project: vet, test with coverage, the gate, a linter, JUnit XML.

Programs run through the session's runner (FakeRunner in unit tests); what
they print is turned into a report by the pure modules beside this one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goship.builders.gobuild import go_executable
from goship.commands.gotest import coverage, junit
from goship.commands.gotest.events import Package, TestCase, parse
from goship.errors import ConfigError, TestsFailed, ToolError
from goship.events import Stage
from goship.images.layout import state_dir
from goship.session import Session

#: The linters goship runs when installed, in the order it prefers them.
LINTERS = (("golangci-lint", ("run",)), ("staticcheck", ()))


@dataclass(frozen=True)
class TestOptions:
    """The command line's choices; None: goship.yaml's test: section decides."""

    __test__ = False  # not a test class, for pytest

    junit: Path | None = None
    coverage_min: float | None = None
    race: str | None = None  # auto, on, off
    lint: str | None = None  # auto, off, required


@dataclass
class TestReport:
    __test__ = False  # not a test class, for pytest

    module: str
    patterns: list[str]
    packages: list[Package]
    junit: Path
    profile: Path
    coverage: float | None
    coverage_min: float | None
    race: bool
    notes: list[str] = field(default_factory=list)
    vet: list[str] = field(default_factory=list)  # what go vet said, when it failed
    linter: str | None = None
    lint: list[str] = field(default_factory=list)  # what the linter said, when it failed
    #: Each module's directory, to turn a test's file:line into a path of the repository.
    module_dirs: dict[str, Path] = field(default_factory=dict)

    def file_of(self, case: TestCase) -> tuple[Path, int] | None:
        """Where a failing test failed, as a path on this machine and a line."""
        where = case.where
        if where is None:
            return None
        for module, directory in sorted(self.module_dirs.items(), key=lambda item: -len(item[0])):
            if case.package == module or case.package.startswith(module + "/"):
                return directory / case.package[len(module):].lstrip("/") / where[0], where[1]
        return None

    @property
    def tests(self) -> list[TestCase]:
        return [case for package in self.packages for case in package.tests.values()]

    def counts(self) -> dict[str, int]:
        cases = self.tests
        return {
            "packages": len([p for p in self.packages if p.name]),
            "tests": len(cases),
            "passed": sum(c.result == "pass" for c in cases),
            "failed": sum(c.result in ("fail", "run") for c in cases),
            "skipped": sum(c.result == "skip" for c in cases),
            "packages_failed": sum(p.result == "fail" for p in self.packages if p.name),
        }

    def failed(self) -> list[TestCase]:
        """The failing tests, without a parent that failed only because a subtest did
        (go reports both; the subtest holds the line and the message)."""
        failing = [c for c in self.tests if c.result in ("fail", "run")]
        names = {(c.package, c.name) for c in failing}
        return [c for c in failing if not any((c.package, other) in names for other in _children(c, names))]

    def below_gate(self) -> bool:
        return self.coverage_min is not None and (self.coverage or 0.0) < self.coverage_min

    def failure(self) -> TestsFailed | None:
        """What stops the pipeline, or None when everything passed."""
        reasons = []
        if self.vet:
            reasons.append("go vet found problems")
        failed = self.failed()
        if failed:
            named = ", ".join(c.name for c in failed[:3]) + (", ..." if len(failed) > 3 else "")
            reasons.append(f"{len(failed)} test(s) failed: {named}")
        broken = [p.name for p in self.packages if p.name and p.failed_without_a_test]
        if broken:
            reasons.append(f"{', '.join(broken)} did not build or crashed")
        if self.lint:
            reasons.append(f"{self.linter} found problems")
        if self.below_gate():
            shown = "no statements" if self.coverage is None else f"{self.coverage:.1f}%"
            reasons.append(f"coverage {shown} is below test.coverage_min {self.coverage_min:g}%")
        if not reasons:
            return None
        return TestsFailed("; ".join(reasons), hint=f"the JUnit report is {self.junit}")

    def document(self) -> dict[str, Any]:
        """The report for --json (version 1)."""
        return {
            "version": 1,
            "module": self.module,
            "patterns": self.patterns,
            "counts": self.counts(),
            "coverage": None if self.coverage is None else round(self.coverage, 1),
            "coverage_min": self.coverage_min,
            "race": self.race,
            "junit": str(self.junit),
            "linter": self.linter,
            "notes": self.notes,
            "vet": self.vet,
            "lint": self.lint,
            "failures": [
                {"package": c.package, "test": c.name, "file": (c.where or (None, None))[0],
                 "line": (c.where or (None, None))[1], "output": c.output}
                for c in self.failed()
            ],
            "packages": [
                {"package": p.name, "result": p.result, "seconds": p.seconds, "coverage": p.coverage,
                 "output": p.output if p.failed_without_a_test else []}
                for p in self.packages if p.name
            ],
        }


def _children(case: TestCase, names: set[tuple[str, str]]) -> list[str]:
    return [name for package, name in names if package == case.package and name.startswith(case.name + "/")]


def run_tests(session: Session, options: TestOptions = TestOptions()) -> TestReport:
    """Vet, test and (when asked or installed) lint the module, or every module of its workspace."""
    project = session.project
    settings = project.config.test
    runner = session.runner
    stage = Stage(session.reporter, "test")
    go = go_executable(runner)
    root = project.root
    env = {**os.environ, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local")}

    listed = runner.run([go, "list", "-m", "-f", "{{.Path}}\t{{.Dir}}"], cwd=root, env=env, timeout=120, check=False)
    dirs = dict(line.split("\t", 1) for line in listed.text.splitlines() if "\t" in line) if listed.ok else {}
    modules = list(dirs) or [project.gomod.module]
    dirs = dirs or {project.gomod.module: str(root)}
    patterns = list(settings.packages) or ([f"{m}/..." for m in modules] if len(modules) > 1 else ["./..."])
    if len(modules) > 1:
        stage.info(f"workspace: testing {', '.join(modules)}")

    race_mode = options.race or settings.race_mode
    compiler = runner.find_program("gcc") or runner.find_program("cc") or runner.find_program("clang")
    race = race_mode == "on" or (race_mode == "auto" and compiler is not None)
    notes = []
    if race_mode == "on" and compiler is None:
        raise ToolError("test.race: on needs a C compiler (the race detector uses cgo)",
                        hint="install gcc (Debian: apt-get install gcc), or set test.race: auto")
    if race_mode == "auto" and compiler is None:
        notes.append("no C compiler on PATH: tests run without -race (install gcc to find data races)")

    out = state_dir(root) / "test"
    out.mkdir(parents=True, exist_ok=True)
    junit_path = options.junit or out / "junit.xml"
    profile = out / "cover.out"

    stage.step(f"go vet {' '.join(patterns)}")
    vetted = runner.run([go, "vet", *patterns], cwd=root, env=env, timeout=settings.timeout, check=False)
    vet = [] if vetted.ok else [line for line in (vetted.err + vetted.text).splitlines() if line.strip()]

    argv = [go, "test", "-json", f"-coverprofile={profile}", "-covermode=atomic" if race else "-covermode=set"]
    if race:
        argv.append("-race")
    stage.step(f"go test{' -race' if race else ''} {' '.join(patterns)}")
    tested = runner.run([*argv, *patterns], cwd=root, timeout=settings.timeout, check=False,
                        env={**env, "CGO_ENABLED": "1" if race else env.get("CGO_ENABLED", "0")})
    packages = parse([*tested.text.splitlines(), *([] if tested.ok else tested.err.splitlines())])
    try:
        percent = coverage.total(profile.read_text(encoding="utf-8"))
    except OSError:
        percent = None
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    junit_path.write_text(junit.render(packages), encoding="utf-8", newline="\n")

    gate = options.coverage_min if options.coverage_min is not None else settings.coverage_min
    report = TestReport(
        module=project.gomod.module, patterns=patterns, packages=packages, junit=junit_path, profile=profile,
        coverage=percent, coverage_min=gate, race=race, notes=notes, vet=vet,
        module_dirs={path: Path(directory) for path, directory in dirs.items()},
    )
    _lint(session, options.lint or settings.lint_mode, report, env, stage)
    return report


def _lint(session: Session, mode: str, report: TestReport, env: dict[str, str], stage: Stage) -> None:
    if mode == "off":
        return
    runner = session.runner
    for name, args in LINTERS:
        program = runner.find_program(name)
        if program is None:
            continue
        stage.step(f"{name} {' '.join(args)}".strip())
        patterns = report.patterns
        done = runner.run([program, *args, *patterns], cwd=session.project.root, env=env, timeout=600, check=False)
        report.linter = name
        if not done.ok:
            report.lint = [line for line in (done.text + done.err).splitlines() if line.strip()]
        return
    if mode == "required":
        raise ConfigError(
            "test.lint: required, and neither golangci-lint nor staticcheck is installed",
            hint="install one (go install honnef.co/go/tools/cmd/staticcheck@latest), or set test.lint: auto",
            key="test.lint",
        )
    report.notes.append("no golangci-lint or staticcheck on PATH: static checks skipped (test.lint: auto)")
