"""Run the checks and render what they found: text for people, JSON for machines."""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goship.commands.doctor.checks import ALL_CHECKS, Check, CheckResult, Context, Status
from goship.commands.doctor.facts import Facts
from goship.commands.doctor.machine import Machine
from goship.errors import GoshipError, ProjectError
from goship.project import find_module_root, load_project, project_problems
from goship.ui import say

_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red bold", Status.SKIP: "dim"}


@dataclass(frozen=True)
class Report:
    checks: list[CheckResult]

    @property
    def status(self) -> Status:
        found = {check.status for check in self.checks}
        for status in (Status.FAIL, Status.WARN):
            if status in found:
                return status
        return Status.PASS

    @property
    def exit_code(self) -> int:
        """1 when any check FAILs; warnings alone do not fail a CI job."""
        return 1 if self.status is Status.FAIL else 0

    def counts(self) -> dict[str, int]:
        return {status.value: sum(c.status is status for c in self.checks) for status in Status}

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "counts": self.counts(),
            "checks": [
                {"name": c.name, "status": c.status.value, "summary": c.summary, "fix": c.fix}
                for c in self.checks
            ],
        }


def load_context(directory: Path, config_file: Path | None = None) -> Context:
    """The project doctor runs in; outside a Go module the project checks SKIP.

    A directory that does not exist is the user's typo (``-C /nonexistent``),
    not a machine to diagnose: ProjectError (exit 2), before any check runs.
    """
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "no such directory"
        raise ProjectError(f"{directory}: {what}", hint="-C takes the directory to check (default: the current one)")
    try:
        root = find_module_root(directory)
    except GoshipError as error:
        return Context(str(directory.resolve()), skip_reason=f"{error.message}: project checks skipped")
    try:
        project = load_project(directory, config_file)
    except GoshipError as error:
        return Context(str(root), error=error)
    return Context(str(project.root), project=project, problems=list[GoshipError](project_problems(project)))


def run_checks(machine: Machine, context: Context, checks: Sequence[Check] = ALL_CHECKS) -> Report:
    """Run every check; one that crashes is reported as a FAIL, not a lost report."""
    facts = Facts(machine)
    results: list[CheckResult] = []
    for check in checks:
        try:
            produced = check(facts, context)
        except Exception as bug:  # noqa: BLE001 - one broken check must not hide the others
            name = check.__name__.removeprefix("check_").replace("_", "-")
            where = traceback.extract_tb(bug.__traceback__)[-1]
            place = f"{Path(where.filename).name}:{where.lineno}"
            summary = f"internal error (a bug in goship): {type(bug).__name__}: {bug} at {place}"
            results.append(CheckResult(name, Status.FAIL, summary))
            continue
        results.extend([produced] if isinstance(produced, CheckResult) else produced)
    return Report(results)


def render_text(report: Report) -> None:
    """One line per check; the fix under each one that is not PASS."""
    width = max((len(c.name) for c in report.checks), default=0)
    for check in report.checks:
        label = check.status.value.upper()
        say((f"{label:<4}", _STYLE[check.status]), (f"  {check.name.ljust(width)}  {check.summary}", None))
        if check.fix and check.status is not Status.PASS:
            say((f"      {' ' * width}  ", None), ("fix:", "yellow"), (f" {check.fix}", None))
    say((_summary_line(report.counts().items()), _STYLE[report.status]))


def _summary_line(counts: Iterable[tuple[str, int]]) -> str:
    words = {"pass": "passed", "warn": "warning", "fail": "failed", "skip": "skipped"}
    return ", ".join(f"{n} {words[s]}{'s' if s == 'warn' and n > 1 else ''}" for s, n in counts if n)
