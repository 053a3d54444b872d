"""A LintReport as text (for people), JSON (for scripts) or SARIF 2.1.0 (for code scanning).

All three are pure: a report in, a string out. Text uses rich markup only
when asked for colour, so a report written to a file is plain.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from rich.markup import escape

from goship._version import __version__
from goship.lint.findings import Finding, LintReport, Rule, Severity
from goship.lint.hadolint import help_uri
from goship.lint.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 or word == "info" else "s")


def summary(report: LintReport) -> str:
    if not report.findings:
        return "no problems found"
    parts = [_plural(report.count(s), s.value) for s in Severity if report.count(s)]
    return ", ".join(parts)


def render_text(report: LintReport, *, colour: bool = False) -> str:
    """``file:line: severity ID message`` per finding, the fix under it, then a summary.

    With ``colour`` the result is rich markup (print it with markup on).
    """

    def style(text: str, name: str) -> str:
        return f"[{name}]{escape(text)}[/]" if colour else text

    def plain(text: str) -> str:
        return escape(text) if colour else text

    lines: list[str] = []
    for item in report.sorted_findings():
        where = style(item.location() + ":", "bold")
        level = style(item.severity.value, _COLOURS[item.severity])
        rule = style(item.rule, "bold")
        lines.append(f"{where} {level} {rule} {plain(item.message)}")
        if item.fix:
            lines.append(style(f"    fix: {item.fix}", "dim"))
    for note in report.notes:
        lines.append(style(f"note: {note}", "dim"))
    lines.append(plain(summary(report)))
    return "\n".join(lines) + "\n"


def _finding_json(item: Finding) -> dict[str, Any]:
    return {
        "rule": item.rule,
        "severity": item.severity.value,
        "file": item.file,
        "line": item.line,
        "message": item.message,
        "fix": item.fix,
        "source": item.source,
    }


def render_json(report: LintReport) -> str:
    """One JSON document: findings, notes, counts."""
    document = {
        "root": str(report.root),
        "findings": [_finding_json(f) for f in report.sorted_findings()],
        "notes": report.notes,
        "files": report.files,
        "summary": {s.value: report.count(s) for s in Severity},
        # Why linting stopped (a file that does not parse), else null.
        "error": report.error,
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_rule(rule: Rule, external: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {"text": f"{rule.why} Fix: {rule.fix}", "markdown": f"{rule.why}\n\n**Fix:** {rule.fix}"},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["dockerfile", "hadolint" if external else "goship"]},
    }
    if external:
        entry["helpUri"] = help_uri(rule.id)
    return entry


def render_sarif(report: LintReport) -> str:
    """SARIF 2.1.0 for GitHub code scanning; URIs are relative to the project root."""
    findings = report.sorted_findings()
    used = {f.rule for f in findings}
    rules: list[tuple[Rule, bool]] = [(rule, False) for rule in RULES.values()]
    rules += [(rule, True) for rule_id, rule in sorted(report.external_rules.items()) if rule_id in used]
    index = {rule.id: i for i, (rule, _) in enumerate(rules)}
    results = []
    for item in findings:
        result: dict[str, Any] = {
            "ruleId": item.rule,
            "level": _SARIF_LEVEL[item.severity],
            "message": {"text": f"{item.message}. Fix: {item.fix}" if item.fix else item.message},
        }
        if item.file:
            physical: dict[str, Any] = {"artifactLocation": {"uri": quote(item.file), "uriBaseId": "PROJECTROOT"}}
            if item.line is not None:
                physical["region"] = {"startLine": item.line}
            result["locations"] = [{"physicalLocation": physical}]
        if item.rule in index:
            result["ruleIndex"] = index[item.rule]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "goship",
                "version": __version__,
                "informationUri": "https://pypi.org/project/goship/",
                "rules": [_sarif_rule(rule, external) for rule, external in rules],
            }
        },
        "originalUriBaseIds": {"PROJECTROOT": {"uri": report.root.resolve().as_uri() + "/"}},
        "invocations": [
            {
                "executionSuccessful": report.error is None,
                "toolExecutionNotifications": [{"message": {"text": note}, "level": "note"} for note in report.notes]
                + ([{"message": {"text": report.error}, "level": "error"}] if report.error is not None else []),
            }
        ],
        "results": results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def render(report: LintReport, fmt: str, *, colour: bool = False) -> str:
    """``fmt`` is text, json or sarif."""
    if fmt == "json":
        return render_json(report)
    if fmt == "sarif":
        return render_sarif(report)
    return render_text(report, colour=colour)
