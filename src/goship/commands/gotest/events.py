"""What ``go test -json`` says, as packages and tests (pure: lines in, a model out).

The stream (``go doc test2json``) interleaves events of many packages; each
test's output lines are kept so a failure can be shown with its own words,
and the first ``file.go:line:`` in them is where it failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_WHERE = re.compile(r"^\s*([\w./\\-]+\.go):(\d+):")


@dataclass
class TestCase:
    package: str
    name: str
    result: str = "run"  # pass, fail, skip; "run" when the stream ended first (a crash, a timeout)
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)

    @property
    def where(self) -> tuple[str, int] | None:
        """The file and line the test's output points at first (t.Errorf's prefix)."""
        for line in self.output:
            match = _WHERE.match(line)
            if match:
                return match.group(1), int(match.group(2))
        return None


@dataclass
class Package:
    name: str
    result: str = "run"  # pass, fail, skip (no test files)
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)
    tests: dict[str, TestCase] = field(default_factory=dict)
    #: go test's own "coverage: 71.4% of statements" for the package, if it printed one.
    coverage: float | None = None

    @property
    def failed_without_a_test(self) -> bool:
        """A build failure, a panic in init, a TestMain that exits: the package failed, no test did."""
        return self.result == "fail" and not any(t.result == "fail" for t in self.tests.values())


_COVERAGE = re.compile(r"coverage: ([\d.]+)% of statements")


def parse(lines: Iterable[str]) -> list[Package]:
    """Packages in the order go reported them, each with its tests. Lines that are not
    JSON (a build error go prints before the stream starts) go to a package named ''."""
    packages: dict[str, Package] = {}

    def package(name: str) -> Package:
        if name not in packages:
            packages[name] = Package(name)
        return packages[name]

    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            package("").output.append(line)
            continue
        if not isinstance(event, dict):
            continue
        pkg = package(str(event.get("Package") or event.get("ImportPath") or ""))
        action = event.get("Action")
        test = event.get("Test")
        text = str(event.get("Output") or "").rstrip("\n")
        if action in ("output", "build-output"):
            if test:
                pkg.tests.setdefault(test, TestCase(pkg.name, test)).output.append(text)
            else:
                pkg.output.append(text)
                match = _COVERAGE.search(text)
                if match:
                    pkg.coverage = float(match.group(1))
        elif action in ("pass", "fail", "skip"):
            seconds = float(event.get("Elapsed") or 0.0)
            if test:
                case = pkg.tests.setdefault(test, TestCase(pkg.name, test))
                case.result, case.seconds = action, seconds
            else:
                pkg.result, pkg.seconds = action, seconds
        elif action == "build-fail":
            pkg.result = "fail"
        elif action == "run" and test:
            pkg.tests.setdefault(test, TestCase(pkg.name, test))
    return [p for p in packages.values() if p.name or p.output]
