"""A LintReport as text (for people), JSON (for scripts) or SARIF 2.1.0 (for code scanning).

All three are pure: a report in, a string out. For a terminal, ``text_lines``
gives the text as styled pieces, never as markup.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from goship._version import __version__
from goship.commands.lint.findings import Finding, LintReport, Rule, Severity
from goship.commands.lint.hadolint import help_uri
from goship.commands.lint.rules import RULES

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


#: One line of the text report: pieces of text, each with a style name or None.
Line = list[tuple[str, "str | None"]]


def text_lines(report: LintReport) -> list[Line]:
    """``file:line: severity ID message`` per finding, the fix under it, then a
    summary; as styled pieces, so a terminal colours them without reading any
    of the text (a message holding ``[/x]`` or ``:x:``) as markup."""
    lines: list[Line] = []
    for item in report.sorted_findings():
        lines.append([
            (item.location() + ":", "bold"), (" ", None), (item.severity.value, _COLOURS[item.severity]),
            (" ", None), (item.rule, "bold"), (f" {item.message}", None),
        ])
        if item.fix:
            lines.append([(f"    fix: {item.fix}", "dim")])
    for note in report.notes:
        lines.append([(f"note: {note}", "dim")])
    lines.append([(summary(report), None)])
    return lines


def render_text(report: LintReport) -> str:
    """The text report, plain."""
    return "".join("".join(text for text, _ in line) + "\n" for line in text_lines(report))


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


def render(report: LintReport, fmt: str) -> str:
    """``fmt`` is text, json or sarif."""
    if fmt == "json":
        return render_json(report)
    if fmt == "sarif":
        return render_sarif(report)
    return render_text(report)
