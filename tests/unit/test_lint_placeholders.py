"""GS204: the values goship init leaves for the user to fill in, still unfilled."""

from __future__ import annotations

import pytest

from goship.commands.init.files import InitAnswers, render_goship_yaml
from goship.commands.lint import RULES, Severity, lint_project
from goship.commands.lint.config_rules import check_config
from goship.golang.settings import Setting
from tests.unit.helpers import service_module

SETTINGS = (
    Setting("flag", "token", "string", None, "main.go:10", required="main.go:20"),
    Setting("flag", "db", "string", None, "main.go:11", required="main.go:21"),
    Setting("env", "DATABASE_URL", "", None, "main.go:12", required="main.go:22"),
    Setting("env", "REGION", "", None, "main.go:13", required="main.go:23"),
    Setting("env", "API_TOKEN", "", None, "main.go:14", required="main.go:24"),
    Setting("env", "LOG_LEVEL", "", "info", "main.go:15"),
)


def placeholders(text: str) -> list[tuple[int | None, str]]:
    findings, config = check_config(text, "goship.yaml")
    assert config is not None, findings
    return [(f.line, f.message) for f in findings if f.rule == "GS204"]


def init_yaml() -> str:
    """goship.yaml exactly as goship init writes it for a service with required flags and variables."""
    return render_goship_yaml(
        InitAnswers(service="svc", main=".", port=8080, health_path="/healthz", settings=SETTINGS)
    )


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_what_init_writes_is_found_each_at_its_line():
    text = init_yaml()
    args, url, region = line_of(text, "args:"), line_of(text, "DATABASE_URL:"), line_of(text, "REGION:")
    assert placeholders(text) == [
        (args, "app.args: -token= has no value yet (REQUIRED: give -token a value (main.go:20 exits without it))"),
        (args, "app.args: -db= has no value yet (REQUIRED: give -db a value (main.go:21 exits without it))"),
        (url, "app.env.DATABASE_URL is still empty (REQUIRED: set the value (main.go:22 exits without it))"),
        (region, "app.env.REGION is still empty (REQUIRED: set the value (main.go:23 exits without it))"),
    ]
    # app.secrets names variables whose values live outside the file: nothing to fill in here.
    assert not any("API_TOKEN" in message for _, message in placeholders(text))


def test_each_finding_says_how_to_fill_it():
    findings, _ = check_config(init_yaml(), "goship.yaml")
    fixes = {f.message.split()[0] + f.message.split()[1]: f.fix for f in findings if f.rule == "GS204"}
    assert fixes["app.args:-token="] == "Write the value after the '=' ('-token=VALUE'), then delete the '# REQUIRED' comment."
    assert fixes["app.env.DATABASE_URLis"].startswith("Set DATABASE_URL to the value the service needs")
    assert RULES["GS204"].severity is Severity.ERROR


def test_filled_values_are_not_reported_even_with_the_comment_left():
    text = (
        init_yaml()
        .replace('["-token=", "-db="]', '["-token=abc", "-db=postgres://db/app"]')
        .replace('DATABASE_URL: ""', "DATABASE_URL: postgres://db/app")
        .replace('REGION: ""', 'REGION: "eu-west-1"')
    )
    assert placeholders(text) == []


def test_only_the_flags_still_empty_are_reported():
    text = init_yaml().replace('["-token=", "-db="]', '["-token=abc", "-db="]')
    flags = [message.split(" has")[0] for _, message in placeholders(text) if message.startswith("app.args")]
    assert flags == ["app.args: -db="]


@pytest.mark.parametrize(
    "text",
    [
        'app:\n  env:\n    EMPTY: ""\n',  # empty on purpose: no REQUIRED comment
        'app:\n  args: ["-verbose="]\n',
        'app:\n  env:\n    NOTE: "# REQUIRED: not a comment"\n',  # the marker inside a value
        'app:\n  env:\n    X: ""  # required: lower case is the user\'s own note\n',
        'app:\n  args: ["-token=x"]  # REQUIRED: give -token a value\n',
    ],
)
def test_no_placeholder(text):
    assert placeholders(text) == []


def test_block_style_args_and_crlf_line_endings():
    text = 'app:\r\n  args:\r\n    - -a=1\r\n    - -token=   # REQUIRED: give -token a value\r\n  env:\r\n    X: ""  # REQUIRED: set it\r\n'
    assert placeholders(text) == [
        (4, "app.args: -token= has no value yet (REQUIRED: give -token a value)"),
        (6, "app.env.X is still empty (REQUIRED: set it)"),
    ]


def test_a_config_that_does_not_load_reports_that_alone():
    findings, config = check_config('app:\n  port: x\n  env:\n    X: ""  # REQUIRED: set it\n', "goship.yaml")
    assert config is None and [f.rule for f in findings] == ["GS201"]


def test_goship_lint_fails_on_init_s_placeholders(tmp_path):
    root = service_module(tmp_path, init_yaml())
    report = lint_project(root, hadolint=False)
    gs204 = [(f.file, f.line, f.severity) for f in report.findings if f.rule == "GS204"]
    text = init_yaml()
    assert gs204 == [
        ("goship.yaml", line_of(text, "args:"), Severity.ERROR),
        ("goship.yaml", line_of(text, "args:"), Severity.ERROR),
        ("goship.yaml", line_of(text, "DATABASE_URL:"), Severity.ERROR),
        ("goship.yaml", line_of(text, "REGION:"), Severity.ERROR),
    ]
    assert report.exit_code(Severity.ERROR) == 3
