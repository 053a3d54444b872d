"""The fixture Go projects of tests/fixtures/projects, and copies of them to work on.

Each builds offline with the standard library (and its own vendor/ or
workspace siblings): ``go build ./...`` with GOPROXY=off.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

PROJECTS = Path(__file__).resolve().parent / "fixtures" / "projects"


@dataclass(frozen=True)
class Fixture:
    name: str
    #: the module goship works on, relative to the fixture's directory.
    module: str
    service: str
    main: str
    port: int
    health: str | None
    #: a path the running service answers 2xx on.
    probe: str = "/"


FIXTURES = {
    f.name: f
    for f in (
        Fixture("root-single", ".", "rootsingle", ".", 8080, "/healthz"),
        Fixture("cmd-api-worker", ".", "shop", "cmd/api", 9000, "/health"),
        Fixture("workspace", "api", "api", ".", 8080, "/healthz"),
        Fixture("vendored", ".", "vendored", ".", 8080, "/ping"),
        Fixture("embed", ".", "embedsite", ".", 8081, "/healthz", probe="/index.html"),
        Fixture("no-health", ".", "nohealth", ".", 8082, None),
    )
}


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """A fresh copy of fixture ``name`` under tmp_path; returns its module directory."""
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(".goship"))
    return target / FIXTURES[name].module
