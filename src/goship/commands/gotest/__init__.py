"""``goship test``: go vet, go test with coverage, JUnit XML, a coverage gate, a linter when installed."""

from goship.commands.gotest.run import TestOptions, TestReport, run_tests

__all__ = ["TestOptions", "TestReport", "run_tests"]
