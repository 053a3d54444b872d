"""JUnit XML from ``go test -json`` (pure): what CI systems show as a test report.

One ``<testsuite>`` per package, one ``<testcase>`` per test (subtests too,
named as go names them, ``TestX/case``); a package that failed without a
failing test (it did not build, it panicked in init) is a failed testcase of
its own, so the report never says "all passed" for it.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from goship.commands.gotest.events import Package


def render(packages: list[Package]) -> str:
    suites = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for package in packages:
        if not package.name:
            continue
        cases = list(package.tests.values())
        suite = ET.SubElement(suites, "testsuite", name=package.name, time=f"{package.seconds:.3f}")
        failures = skipped = 0
        for case in cases:
            element = ET.SubElement(
                suite, "testcase", classname=package.name, name=case.name, time=f"{case.seconds:.3f}"
            )
            if case.result in ("fail", "run"):
                failures += 1
                message = "did not finish (the package crashed or timed out)" if case.result == "run" else "failed"
                ET.SubElement(element, "failure", message=message).text = _clean("\n".join(case.output))
            elif case.result == "skip":
                skipped += 1
                ET.SubElement(element, "skipped", message=_clean(_last(case.output)))
        if package.failed_without_a_test:
            failures += 1
            element = ET.SubElement(suite, "testcase", classname=package.name, name="(package)", time="0.000")
            ET.SubElement(element, "failure", message="the package failed").text = _clean("\n".join(package.output))
        count = len(cases) + (1 if package.failed_without_a_test else 0)
        suite.set("tests", str(count))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
        totals["tests"] += count
        totals["failures"] += failures
        totals["skipped"] += skipped
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _last(lines: list[str]) -> str:
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _clean(text: str) -> str:
    """Only the characters XML 1.0 allows (a test may print anything)."""
    return "".join(c for c in text if c in "\t\n\r" or (c >= " " and c not in {"\ufffe", "\uffff"}))
