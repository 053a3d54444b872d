"""``goship doctor``: is this machine (and are the target hosts) ready to ship?

    machine.py  the Machine seam: every input the checks read (RealMachine; the fake is goship.testing.machine)
    facts.py    facts shared by checks (WSL?, which Docker endpoint?, engine answer) and their parsers
    checks.py   the checks: Facts + Context -> CheckResult (PASS/WARN/FAIL/SKIP with the fix)
    report.py   running them, text and JSON rendering
"""

from goship.commands.doctor.checks import ALL_CHECKS, CheckResult, Context, Status
from goship.commands.doctor.machine import CommandResult, HttpDate, Machine, RealMachine
from goship.commands.doctor.report import Report, load_context, render_text, run_checks

__all__ = [
    "ALL_CHECKS",
    "CheckResult",
    "CommandResult",
    "Context",
    "HttpDate",
    "Machine",
    "RealMachine",
    "Report",
    "Status",
    "load_context",
    "render_text",
    "run_checks",
]
