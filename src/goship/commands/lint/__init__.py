"""``goship lint``: problems in a Go service's Dockerfile, .dockerignore and goship.yaml.

    dockerfile.py    the parser (line numbers, continuations, heredocs, stages)
    dockerignore.py  Docker's .dockerignore pattern semantics
    context.py       the build context as Docker would send it (the only walk)
    rules.py         GS1xx rules over the Dockerfile and the context
    config_rules.py  GS2xx rules over goship.yaml
    hadolint.py      the optional hadolint run and the merge of its findings
    report.py        text, JSON and SARIF 2.1.0 output
    run.py           lint_project: reads the files and applies suppressions

Library use (``goship init`` checks the files it writes this way)::

    from goship.commands.lint import lint_project
    report = lint_project(Path("services/hello"), hadolint=False)
    assert not report.findings
"""

from goship.commands.lint.findings import Finding, LintReport, Rule, Severity
from goship.commands.lint.rules import RULES
from goship.commands.lint.run import DEFAULT_CONTEXT_LIMIT, lint_dockerfile_text, lint_project

__all__ = [
    "DEFAULT_CONTEXT_LIMIT",
    "RULES",
    "Finding",
    "LintReport",
    "Rule",
    "Severity",
    "lint_dockerfile_text",
    "lint_project",
]
