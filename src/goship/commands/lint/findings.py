"""What lint reports: severities, rule descriptions and findings.

Plain frozen data, so rules stay pure functions (parsed input in, findings
out) and every output format (text, JSON, SARIF) renders the same objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from goship.errors import ExitCode


class Severity(enum.Enum):
    """How bad a finding is; the CLI's exit code follows the worst one."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: error 3, warning 2, info 1."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text.strip().lower())


@dataclass(frozen=True)
class Rule:
    """A check with a stable ID: what it looks for, why it matters, how to fix it."""

    id: str
    severity: Severity
    title: str
    why: str
    fix: str


@dataclass(frozen=True)
class Finding:
    """One problem at one place.

    ``file`` is relative to the project root and '/'-separated; ``line`` is
    1-based, or None for a finding about a whole (possibly missing) file.
    """

    rule: str
    severity: Severity
    message: str
    file: str
    line: int | None = None
    fix: str = ""
    #: "goship", or the external tool that reported it ("hadolint").
    source: str = "goship"

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


def _sort_key(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.file, finding.line or 0, -finding.severity.rank, finding.rule)


@dataclass
class LintReport:
    """Everything one lint run found, plus notes about what it could not check."""

    root: Path
    findings: list[Finding] = field(default_factory=list)
    #: Things the user should know that are not problems (e.g. "hadolint not installed").
    notes: list[str] = field(default_factory=list)
    #: The files that were read, relative to root.
    files: list[str] = field(default_factory=list)
    #: Descriptions of external rules seen (hadolint IDs), for SARIF.
    external_rules: dict[str, Rule] = field(default_factory=dict)
    #: Why linting stopped (a file that does not parse); the findings then hold only that.
    error: str | None = None

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=_sort_key)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def at_least(self, threshold: Severity) -> list[Finding]:
        """Findings as bad as ``threshold`` or worse."""
        return [f for f in self.findings if f.severity.rank >= threshold.rank]

    def exit_code(self, fail_on: Severity | None) -> int:
        """The CLI's exit status: 0 when nothing reaches ``fail_on`` (None: never fail),
        else 3 when the worst finding is an error and 1 when it is a warning (or info).

        2 is left to input goship lint cannot lint (not a Go module, a Dockerfile
        or go.mod that does not parse, a bad option).
        """
        if fail_on is None or not self.at_least(fail_on):
            return 0
        return EXIT_ERRORS if self.worst() is Severity.ERROR else EXIT_FINDINGS


#: ``goship lint`` exit statuses, from goship's one table (goship help exit-codes).
EXIT_CLEAN, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_ERRORS = (
    int(ExitCode.OK), int(ExitCode.FAILURE), int(ExitCode.USAGE), int(ExitCode.LINT_ERRORS),
)
