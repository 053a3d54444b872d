"""Text from users, services, Docker and BuildKit is printed as it is, by every renderer.

Hostile text: emoji codes (``:x:``, which rich would make an emoji), markup
(``[/x]``, which made rich raise MarkupError, and ``[bold]``), ANSI escapes
(shown as ``\\x1b``, never obeyed by the terminal) and invalid UTF-8 (a lone
surrogate, as Python decodes undecodable bytes of argv and file names).
Each renderer is run without a terminal (plain writes) and with FORCE_COLOR
(through rich), and each error path through the real CLI.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goship import ui
from goship.commands.doctor.checks import CheckResult, Status
from goship.commands.doctor.report import Report
from goship.commands.doctor.report import render_text as doctor_text
from goship.commands.lint.findings import Finding, LintReport, Severity
from goship.commands.lint.report import text_lines
from goship.errors import BuildError
from goship.events import Event, JSONReporter

EMOJI, MARKUP, BOLD = ":x:", "[/x]", "[bold]not bold[/bold]"
ANSI = "\x1b[31mred\x1b[0m"
PASSWD = "root:x:0:0:root:/root"
INVALID = "bad-\udcff-utf8"  # b"bad-\xff-utf8" decoded with surrogateescape
HOSTILE = f"{PASSWD} {EMOJI} {MARKUP} {BOLD} {ANSI} {INVALID}"
#: How each piece must come out: the same characters, control ones spelled out.
SHOWN = f"{PASSWD} {EMOJI} {MARKUP} {BOLD} \\x1b[31mred\\x1b[0m bad-\\xdcff-utf8"


@pytest.fixture(params=["plain", "colour"])
def mode(request, monkeypatch):
    """Both ways ui writes: a pipe (plain text) and a terminal (rich, colours on)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    if request.param == "colour":
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    ui._consoles.clear()  # consoles are bound to the stream of their first use
    yield request.param
    ui._consoles.clear()


def _without_styles(text: str) -> str:
    """What a person reads: rich's own colour codes (SGR sequences) taken out."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _check(text: str) -> None:
    assert "❌" not in text  # :x: was not made an emoji
    assert SHOWN in _without_styles(text), text
    assert "\x1b[31mred" not in text  # the service's escape sequence is not obeyed


def test_say_prints_pieces_literally(mode, capsys):
    ui.say((HOSTILE, "bold"), (f" {MARKUP}", None))
    ui.err(HOSTILE, "red")
    captured = capsys.readouterr()
    _check(captured.out)
    _check(captured.err)
    assert _without_styles(captured.out).endswith(f" {MARKUP}\n")


def test_console_reporter_prints_events_literally(mode, capsys):
    ui.ConsoleReporter().emit(Event(stage="build", level="info", message=HOSTILE, host=f"web{MARKUP}"))
    err = capsys.readouterr().err
    _check(err)
    assert f"web{MARKUP}" in _without_styles(err)


def test_errors_print_message_details_and_hint_literally(mode, capsys):
    ui.render_error(BuildError(HOSTILE, hint=HOSTILE, details=(HOSTILE,)))
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    for line in _without_styles(err).splitlines():
        assert SHOWN in line, err


def test_lint_text_prints_findings_literally(mode, capsys):
    report = LintReport(root=Path("."))
    report.findings.append(Finding("GS104", Severity.WARNING, HOSTILE, f"Dockerfile{MARKUP}", 3, fix=HOSTILE))
    report.notes.append(HOSTILE)
    for line in text_lines(report):
        ui.say(*line)
    out = capsys.readouterr().out
    lines = _without_styles(out).splitlines()
    assert lines[0] == f"Dockerfile{MARKUP}:3: warning GS104 {SHOWN}"
    assert lines[1] == f"    fix: {SHOWN}" and lines[2] == f"note: {SHOWN}"


def test_doctor_prints_checks_literally(mode, capsys):
    doctor_text(Report([CheckResult(f"engine {MARKUP}", Status.FAIL, HOSTILE, fix=HOSTILE)]))
    out = _without_styles(capsys.readouterr().out)
    assert f"engine {MARKUP}" in out and out.count(SHOWN) == 2


def test_json_events_round_trip_every_character():
    stream = io.StringIO()
    JSONReporter(stream).emit(Event(stage="build", level="info", message=HOSTILE, data={"line": HOSTILE}))
    line = stream.getvalue()
    assert line.isascii()  # escapes, so no terminal or log sees a raw control byte
    event = json.loads(line)
    assert event["message"] == HOSTILE and event["data"]["line"] == HOSTILE


def _goship_bytes(*args: str | bytes, cwd: Path | None = None, colour: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GOTOOLCHAIN": "local", "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    env.pop("NO_COLOR", None)
    if colour:
        env["FORCE_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "goship", *args], cwd=cwd, env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("build", "--builder", MARKUP),  # argparse's own error: it was a rich MarkupError traceback
        ("build", "--builder", EMOJI),
        ("ship", f"{BOLD}"),  # no such target
        ("init", "--yes", "--health-path", f"/{MARKUP}"),
        ("init", "--yes", "--service", EMOJI),
        ("releases", ANSI),
        ("build", "-C", b"/nonexistent/bad-\xff-utf8"),  # undecodable bytes in argv
        ("lint", "--format", BOLD),
    ],
    ids=lambda args: " ".join(a if isinstance(a, str) else repr(a) for a in args).encode("ascii", "backslashreplace").decode(),
)
@pytest.mark.parametrize("colour", [True, False], ids=["colour", "plain"])
def test_hostile_arguments_get_one_clean_error(args, colour, tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    result = _goship_bytes(*args, cwd=tmp_path, colour=colour)
    err = result.stderr.decode("utf-8", errors="strict")  # goship itself writes valid UTF-8
    assert result.returncode != 0
    assert "Traceback" not in err and "MarkupError" not in err, err
    assert "❌" not in err
    assert "\x1b[31mred" not in err
    hostile = [a for a in args if isinstance(a, str) and a in (MARKUP, EMOJI, BOLD, f"/{MARKUP}")]
    for value in hostile:
        assert value in _without_styles(err), err


def test_hostile_config_values_are_quoted_literally(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "goship.yaml").write_text(f'service: "{MARKUP}{EMOJI}"\nhealth:\n  path: "{BOLD}"\n')
    result = _goship_bytes("build", cwd=tmp_path)
    err = _without_styles(result.stderr.decode())
    assert result.returncode != 0 and "Traceback" not in err
    assert f"{MARKUP}{EMOJI}" in err and "❌" not in err
