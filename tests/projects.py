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


@dataclass(frozen=True)
class Adopted:
    """A project shaped like a real service goship must adopt with at most one edit.

    ``edit`` is the goship.yaml line init's output asks for: (the line init
    wrote, the line with the value filled in); None when init's file ships as is.
    """

    name: str
    service: str
    port: int
    health_type: str
    health_path: str
    #: a path and what the running service answers there.
    probe: str
    answer: str
    edit: tuple[str, str] | None = None


ADOPTED = {
    a.name: a
    for a in (
        Adopted("port-in-package", "pkgport", 3000, "http", "/livez", "/", "port-in-package"),
        Adopted("needs-flag", "needsflag", 5678, "http", "/health", "/", "hello from a flag",
                edit=('args: ["-text="]', 'args: ["-text=hello from a flag"]')),
        Adopted("needs-env", "needsenv", 8090, "http", "/healthz", "/", "hello from the environment",
                edit=('GREETING: ""', 'GREETING: "hello from the environment"')),
        Adopted("status-route", "statusroute", 8070, "http", "/status/200", "/", "status-route"),
        Adopted("no-health-route", "nohealthroute", 8060, "answers", "/", "/api/items", '["a","b"]'),
        Adopted("kept-dist", "keptdist", 8050, "http", "/healthz", "/", "kept-dist"),
    )
}


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """A fresh copy of fixture ``name`` (of FIXTURES or ADOPTED) under tmp_path; returns
    its module directory."""
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(".goship"))
    return target / (FIXTURES[name].module if name in FIXTURES else ".")


def apply_edit(root: Path, adopted: Adopted) -> None:
    """Make the one goship.yaml edit init asked for (exactly one line changes)."""
    if adopted.edit is None:
        return
    path = root / "goship.yaml"
    before, after = adopted.edit
    lines = path.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if before in line]
    assert len(hits) == 1, f"{before!r} is not on exactly one line of goship.yaml:\n{''.join(lines)}"
    lines[hits[0]] = lines[hits[0]].replace(before, after)
    path.write_text("".join(lines))
