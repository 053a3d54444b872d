"""What a CI system shows of a test run: GitHub Actions annotations and the job summary (pure)."""

from __future__ import annotations

import os
from pathlib import Path

from goship.commands.gotest.run import TestReport


def _escape(text: str) -> str:
    # Workflow commands: %, CR and LF in the message are escaped (and , : in properties).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: TestReport, workspace: Path) -> list[str]:
    """``::error file=...,line=...::`` lines for each failing test (GitHub shows them on the diff)."""
    lines = []
    for case in report.failed():
        found = report.file_of(case)
        message = f"{case.package}.{case.name} failed\n" + "\n".join(case.output[-20:])
        if found is None:
            lines.append(f"::error title={_property(case.name)}::{_escape(message)}")
            continue
        path, line = found
        try:
            shown = Path(os.path.relpath(path, workspace)).as_posix()
        except ValueError:  # another drive on Windows
            shown = path.as_posix()
        lines.append(f"::error file={_property(shown)},line={line},title={_property(case.name)}::{_escape(message)}")
    if report.below_gate():
        lines.append(f"::error title=coverage::{_escape(str(report.failure()))}")
    return lines


def markdown_summary(report: TestReport) -> str:
    """The job summary ($GITHUB_STEP_SUMMARY): one table, then each failure."""
    counts = report.counts()
    coverage = "-" if report.coverage is None else f"{report.coverage:.1f}%"
    gate = "" if report.coverage_min is None else f" (gate {report.coverage_min:g}%)"
    lines = [
        "### goship test",
        "",
        "| packages | tests | passed | failed | skipped | coverage |",
        "|---|---|---|---|---|---|",
        f"| {counts['packages']} | {counts['tests']} | {counts['passed']} | {counts['failed']} | "
        f"{counts['skipped']} | {coverage}{gate} |",
    ]
    for case in report.failed():
        lines += ["", f"**{case.package}.{case.name}**", "", "```", *case.output[-20:], "```"]
    return "\n".join(lines) + "\n"
