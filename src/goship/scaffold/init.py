"""``goship init``: look at a Go module, settle the answers, and plan the files.

Planning (``plan_init``, ``plan_new``) reads the module but writes nothing:
it returns the files with their new and current contents, so ``--dry-run``
is a diff of the plan and the real run is ``write_plan`` of the same plan.
The one question (which main package, when there are several) goes through
an ``ask`` callback, so scripts, CI and tests never need a terminal.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from goship.config import CONFIG_NAME, parse_config
from goship.errors import ProjectError
from goship.project import (
    GoMod,
    Project,
    default_service_name,
    find_main_packages,
    parse_go_mod,
)
from goship.scaffold import detect
from goship.scaffold.dockerfile import (
    DEFAULT_GO_VERSION,
    dockerfile_spec,
    go_minor,
    render_dockerfile,
)
from goship.scaffold.files import (
    InitAnswers,
    render_dockerignore,
    render_gitattributes,
    render_goship_yaml,
)
from goship.scaffold.newservice import render_new_service
from goship.scaffold.workspace import Workspace, find_workspace

#: Asked when several main packages exist: (choices, default) -> the chosen one.
AskMain = Callable[[Sequence[str], str], str]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class InitOptions:
    """The flags of ``goship init``; None means "find it out"."""

    main: str | None = None
    port: int | None = None
    health_path: str | None = None
    service: str | None = None
    #: take the default answer to every question instead of asking.
    yes: bool = False


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    #: what is on disk now; None when the file does not exist.
    existing: str | None

    @property
    def changed(self) -> bool:
        return self.existing != self.content


@dataclass(frozen=True)
class InitPlan:
    root: Path
    answers: InitAnswers
    files: tuple[PlannedFile, ...]
    #: what init decided on its own or could not find, for the user to read.
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: a directory to create first (``--new``).
    create_dir: Path | None = None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # exists but unreadable: still an existing file, never overwritten silently


def _normalize_main(main: str) -> str:
    main = main.replace("\\", "/").strip().removeprefix("./").strip("/")
    return main or "."


#: Main packages picked without asking, in this order ({service} is the module's name).
PREFERRED_MAINS = ("cmd/{service}", ".", "cmd/api", "cmd/server", "cmd/app", "cmd/web")


def default_main(mains: Sequence[str], service: str) -> str | None:
    """The main package a user most likely ships, when one stands out."""
    for pattern in PREFERRED_MAINS:
        candidate = pattern.format(service=service)
        if candidate in mains:
            return candidate
    return None


def choose_main(
    mains: Sequence[str], service: str, requested: str | None, *, yes: bool, ask: AskMain | None
) -> tuple[str, str | None]:
    """The main package to ship and, when init picked it, a note saying so.

    With several and no ``--main``: ask when a terminal can answer; else
    take the obvious one (``cmd/<name>``, the root, ``cmd/api``...) and say
    so; with none obvious, ``--yes`` takes the first and anything else is an
    error asking for ``--main`` (a script should not ship a guess).
    """
    if requested is not None:
        wanted = _normalize_main(requested)
        if wanted not in mains:
            raise ProjectError(
                f"--main {requested}: not a main package of this module",
                hint=f"main packages found: {', '.join(mains)}",
            )
        return wanted, None
    if len(mains) == 1:
        return mains[0], None
    default = default_main(mains, service)
    if ask is not None and not yes:
        return ask(mains, default or mains[0]), None
    listed = ", ".join(mains)
    if default is None and not yes:
        raise ProjectError(
            f"several main packages ({listed}) and none is the obvious one",
            hint="choose with --main, e.g. --main " + mains[0],
        )
    chosen = default or mains[0]
    return chosen, f"several main packages ({listed}): chose {chosen}; use --main to pick another"


def read_go_mod(root: Path) -> GoMod:
    path = root / "go.mod"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ProjectError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}") from None
    return parse_go_mod(text, source=str(path))


def module_root(directory: Path) -> Path:
    """The directory itself must hold go.mod: init never writes into a parent module."""
    directory = directory.resolve()
    if not directory.is_dir():
        raise ProjectError(f"{directory}: no such directory")
    if not (directory / "go.mod").is_file():
        raise ProjectError(
            f"{directory} is not a Go module (no go.mod)",
            hint="run 'go mod init <module path>' there first, or scaffold a new service with "
            "'goship init --new NAME'",
        )
    return directory


def _local_binaries(root: Path, service: str, mains: Sequence[str]) -> tuple[str, ...]:
    # 'go build' leaves binaries named after the package directory (or the
    # module) at the root; never list a name that is a source directory.
    names = {service} | {m.rsplit("/", 1)[-1] for m in mains if m != "."}
    return tuple(sorted(n for n in names if not (root / n).is_dir()))


def _plan_files(
    root: Path, gomod: GoMod, answers: InitAnswers, workspace: Workspace | None, mains: Sequence[str]
) -> tuple[PlannedFile, ...]:
    yaml_text = render_goship_yaml(answers)
    # The written goship.yaml goes through the real loader: what init writes
    # is exactly what later commands read, and the Dockerfile follows it.
    config = parse_config(yaml_text, source=CONFIG_NAME)
    project = Project(
        root=root, gomod=gomod, config=config, config_path=root / CONFIG_NAME,
        service=answers.service, main=answers.main,
    )
    dockerfile = render_dockerfile(dockerfile_spec(project))
    if workspace is not None:
        # The context is the workspace root, and docker reads .dockerignore there.
        ignore_path = workspace.root / ".dockerignore"
        ignore = render_dockerignore()
    else:
        ignore_path = root / ".dockerignore"
        ignore = render_dockerignore(_local_binaries(root, answers.service, mains))
    contents = {
        root / CONFIG_NAME: yaml_text,
        root / "Dockerfile": dockerfile,
        ignore_path: ignore,
        root / ".gitattributes": render_gitattributes(),
    }
    return tuple(PlannedFile(path, text, _read(path)) for path, text in contents.items())


def _answers(
    root: Path, gomod: GoMod, mains: Sequence[str], options: InitOptions, ask: AskMain | None,
    workspace: Workspace | None,
) -> tuple[InitAnswers, list[str], list[str]]:
    notes: list[str] = []
    warnings: list[str] = []
    service = options.service or default_service_name(gomod.module)
    if not _NAME.match(service):
        raise ProjectError(
            f"service name {service!r} is not valid", hint="use lower-case letters, digits, '-', '_' or '.'"
        )
    main, note = choose_main(mains, service, options.main, yes=options.yes, ask=ask)
    if note:
        notes.append(note)
    sources = detect.package_sources(root, main, gomod.module)

    port_evidence = ""
    if options.port is not None:
        port = options.port
    else:
        port_guess = detect.guess_port(sources)
        if port_guess is not None:
            port, port_evidence = int(port_guess.value), port_guess.evidence
            notes.append(f"port {port}: found at {port_evidence}")
        else:
            port = detect.DEFAULT_PORT
            notes.append(f"no listen port found in {main}; using {port} (set app.port or pass --port)")

    health_found, health_evidence = True, ""
    if options.health_path is not None:
        health_path = options.health_path
    else:
        health_guess = detect.guess_health_path(sources)
        if health_guess is not None:
            health_path, health_evidence = health_guess.value, health_guess.evidence
            notes.append(f"health check {health_path}: handler found at {health_evidence}")
        else:
            health_path, health_found = "/healthz", False
            warnings.append(
                f"no health handler (/healthz, /health, /readyz or /ping) found in {main}: a deploy "
                "waits for health.path to answer 2xx, so add a handler for /healthz that does "
                "(or set health.path / pass --health-path)"
            )
    context = os.path.relpath(workspace.root, root).replace(os.sep, "/") if workspace else "."
    answers = InitAnswers(
        service=service, main=main, port=port, health_path=health_path,
        port_evidence=port_evidence, health_evidence=health_evidence, health_found=health_found,
        context=context,
    )
    return answers, notes, warnings


def plan_init(directory: Path, options: InitOptions = InitOptions(), ask: AskMain | None = None) -> InitPlan:
    """Inspect the module in ``directory`` and plan goship.yaml, Dockerfile,
    .dockerignore and .gitattributes; writes nothing."""
    root = module_root(directory)
    gomod = read_go_mod(root)
    mains = find_main_packages(root)
    if not mains:
        raise ProjectError(
            f"no main package in {root}",
            hint="add a 'package main' with func main(), or scaffold one with 'goship init --new NAME'",
        )
    workspace = find_workspace(root)
    answers, notes, warnings = _answers(root, gomod, mains, options, ask, workspace)
    if workspace is not None:
        notes.append(
            f"part of the workspace {workspace.root / 'go.work'}: the Dockerfile builds with the "
            "workspace root as its context"
        )
    files = _plan_files(root, gomod, answers, workspace, mains)
    return InitPlan(root=root, answers=answers, files=files, notes=tuple(notes), warnings=tuple(warnings))


def installed_go_version() -> str | None:
    """major.minor of the Go on PATH, for a new module's go line; None without Go."""
    go = shutil.which("go")
    if go is None:
        return None
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "GOTOOLCHAIN": "local"},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return go_minor(out.strip())


def plan_new(
    directory: Path, name: str, module: str | None = None, go_version: str | None = None,
    options: InitOptions = InitOptions(),
) -> InitPlan:
    """Plan a new service in ``directory/name``: Go sources plus everything init writes."""
    target = (directory / name).resolve()
    module = module or name
    service = options.service or default_service_name(module)
    if not _NAME.match(Path(name).name.lower()) or not _NAME.match(service):
        raise ProjectError(
            f"--new {name}: not a valid service name", hint="use lower-case letters, digits, '-', '_' or '.'"
        )
    if not re.fullmatch(r"[\w.~/-]+", module) or module.startswith("/") or "//" in module:
        raise ProjectError(f"--module {module}: not a valid Go module path", hint="e.g. github.com/acme/" + service)
    warnings = []
    if go_version is None:
        go_version = DEFAULT_GO_VERSION
        warnings.append(f"Go not found on PATH: the new go.mod says go {go_version}")
    sources = render_new_service(service, module, go_version)
    gomod = parse_go_mod(sources["go.mod"])
    answers = InitAnswers(
        service=service, main=".", port=options.port or detect.DEFAULT_PORT,
        health_path=options.health_path or "/healthz",
        port_evidence="main.go (the PORT variable's default)", health_evidence="main.go",
    )
    planned = [PlannedFile(target / n, text, _read(target / n)) for n, text in sources.items()]
    planned += _plan_files(target, gomod, answers, None, ["."])
    return InitPlan(root=target, answers=answers, files=tuple(planned), warnings=tuple(warnings), create_dir=target)


def _display(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def render_diff(plan: InitPlan, base: Path | None = None) -> str:
    """A unified diff of every planned file against what is on disk."""
    base = base or plan.root
    chunks: list[str] = []
    for planned in plan.files:
        if not planned.changed:
            continue
        name = _display(planned.path, base)
        old = (planned.existing or "").splitlines(keepends=True)
        chunks += difflib.unified_diff(
            old,
            planned.content.splitlines(keepends=True),
            fromfile=f"a/{name}" if planned.existing is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    return "".join(chunks)


def conflicts(plan: InitPlan) -> list[PlannedFile]:
    return [p for p in plan.files if p.existing is not None]


def write_plan(plan: InitPlan, force: bool = False) -> list[Path]:
    """Write the planned files; with any of them already there and no
    ``force``, refuse before writing anything."""
    existing = conflicts(plan)
    if existing and not force:
        names = ", ".join(_display(p.path, plan.root) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise ProjectError(
            f"{names} already {verb} in {plan.root}: not overwriting",
            hint="pass --force to replace, or --dry-run to see what would change",
        )
    if plan.create_dir is not None:
        plan.create_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for planned in plan.files:
        if planned.existing == planned.content:
            continue
        # newline="\n": Dockerfiles and scripts must stay LF, on Windows too.
        with open(planned.path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(planned.content)
        written.append(planned.path)
    return written

