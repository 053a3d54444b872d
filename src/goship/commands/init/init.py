"""``goship init``: look at a Go module, settle the answers, and plan the files.

Planning (``plan_init``, ``plan_new``) reads the module but writes nothing:
it returns the files with their new and current contents, so ``--dry-run``
is a diff of the plan and the real run is ``write_plan`` of the same plan.
The one question (which main package, when there are several) goes through
an ``ask`` callback, so scripts, CI and tests never need a terminal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from goship import process
from goship.commands.init.dockerfile import (
    DEFAULT_GO_VERSION,
    dockerfile_spec,
    go_minor,
    render_dockerfile,
)
from goship.commands.init.files import (
    InitAnswers,
    dockerignore_entries,
    merge_gitattributes,
    render_dockerignore,
    render_gitattributes,
    render_goship_yaml,
    required_env,
    required_flags,
)
from goship.commands.init.fills import config_files, listen_fills
from goship.commands.init.needed import blocked_exclusions, dockerfile_needs, needed_paths
from goship.commands.init.newservice import MIN_GO, render_new_service
from goship.commands.init.plan import (
    KEEP,
    Found,
    InitPlan,
    PlannedFile,
    kept_notes,
    plan_report,
    planned,
    render_diff,
    write_plan,
)
from goship.config import CONFIG_NAME, parse_config
from goship.errors import ConfigError, ProcessError, ProjectError, ToolError
from goship.golang import detect
from goship.golang.goscan import is_loopback
from goship.golang.listeners import find_listeners
from goship.golang.settings import find_settings
from goship.golang.workspace import Workspace, find_workspace
from goship.project import (
    GoMod,
    Project,
    default_service_name,
    find_main_packages,
    parse_go_mod,
)

__all__ = [
    "InitOptions", "InitPlan", "PlannedFile", "choose_main", "default_main", "installed_go_version",
    "plan_init", "plan_new", "plan_report", "render_diff", "validate_options", "write_plan",
]

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
    #: replace files that exist (.gitattributes is always added to, never replaced).
    force: bool = False


def validate_options(options: InitOptions) -> None:
    """Reject a --port or --health-path goship.yaml could not use."""
    if options.port is not None and not 1 <= options.port <= 65535:
        raise ProjectError(f"--port {options.port}: not a TCP port", hint="use a number from 1 to 65535, e.g. --port 8080")
    path = options.health_path
    if path is None:
        return
    if not path.startswith("/"):
        raise ProjectError(
            f"--health-path {path}: must start with '/'", hint=f"e.g. --health-path /{path.lstrip('/') or 'healthz'}"
        )
    if re.search(r'[\s"\\?#\x00-\x1f\x7f]', path) or len(path) > 200:
        raise ProjectError(
            f"--health-path {path!r}: not a plain URL path", hint="use letters, digits and '/-_.~', e.g. /healthz"
        )


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
    so; with none obvious, an error listing them and asking for ``--main``,
    with ``--yes`` too (a script should not ship a guess).
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
    if default is None:
        raise ProjectError(
            f"several main packages ({listed}) and none is the obvious one",
            hint="choose one with --main, e.g. --main " + mains[0],
        )
    return default, f"several main packages ({listed}): chose {default}; use --main to pick another"


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
    """The module ``directory`` is in: the nearest directory upward holding go.mod
    (as other goship commands find it), so init in cmd/server adopts the module."""
    directory = directory.resolve()
    if not directory.is_dir():
        raise ProjectError(f"{directory}: no such directory")
    for candidate in (directory, *directory.parents):
        if (candidate / "go.mod").is_file():
            return candidate
    raise ProjectError(
        f"{directory} is not a Go module (no go.mod there or in a parent directory)",
        hint="run 'go mod init <module path>' there first, or scaffold a new service with "
        "'goship init --new NAME'",
    )


def _local_binaries(root: Path, service: str, mains: Sequence[str]) -> tuple[str, ...]:
    # 'go build' leaves binaries named after the package directory (or the
    # module) at the root; never list a name that is a source directory.
    names = {service} | {m.rsplit("/", 1)[-1] for m in mains if m != "."}
    return tuple(sorted(n for n in names if not (root / n).is_dir()))


def _dockerfile_project(
    root: Path, gomod: GoMod, answers: InitAnswers, yaml_file: PlannedFile
) -> tuple[Project, list[str]]:
    """The project the Dockerfile is generated for: from the goship.yaml that will
    be on disk (a kept one too, so its port and main are what the Dockerfile uses)."""
    # The written goship.yaml goes through the real loader: what init writes
    # is exactly what later commands read, and the Dockerfile follows it.
    config = parse_config(yaml_file.content, source=CONFIG_NAME)
    warnings: list[str] = []
    if yaml_file.action == KEEP and yaml_file.existing is not None:
        try:
            config = parse_config(yaml_file.existing, source=str(yaml_file.path))
        except ConfigError as error:
            warnings.append(f"the existing {CONFIG_NAME} does not load ({error}): the Dockerfile follows init's answers")
    service = config.service or answers.service
    main = config.build.main or answers.main
    project = Project(root=root, gomod=gomod, config=config, config_path=root / CONFIG_NAME, service=service, main=main)
    return project, warnings


def _plan_files(
    root: Path, gomod: GoMod, answers: InitAnswers, workspace: Workspace | None, mains: Sequence[str],
    force: bool,
) -> tuple[tuple[PlannedFile, ...], list[str]]:
    """goship.yaml, Dockerfile, .dockerignore and .gitattributes, and any warnings."""
    yaml_file = planned(root / CONFIG_NAME, render_goship_yaml(answers), force)
    project, warnings = _dockerfile_project(root, gomod, answers, yaml_file)
    dockerfile = render_dockerfile(dockerfile_spec(project))
    if workspace is not None:
        # The context is the workspace root, and docker reads .dockerignore there.
        ignore_path = workspace.root / ".dockerignore"
        binaries: tuple[str, ...] = ()
    else:
        ignore_path = root / ".dockerignore"
        binaries = _local_binaries(root, answers.service, mains)
    dockerfile_file = planned(root / "Dockerfile", dockerfile, force)
    kept = dockerfile_file.existing if dockerfile_file.action == KEEP and dockerfile_file.existing else dockerfile
    # Never exclude what the build reads: Go code (a package in bin/), a
    # //go:embed'ed path (dist/ of a frontend build), or what the Dockerfile
    # (a kept one too) COPYs, such as prebuilt binaries in dist/.
    needed = {**needed_paths(ignore_path.parent), **dockerfile_needs(kept)}
    leave_out = blocked_exclusions(dockerignore_entries(binaries), needed)
    ignore = render_dockerignore(binaries, leave_out)
    files = (
        yaml_file,
        dockerfile_file,
        planned(ignore_path, ignore, force),
        planned(root / ".gitattributes", render_gitattributes(), force, merge=merge_gitattributes),
    )
    return files, warnings


@dataclass(frozen=True)
class _Settled:
    answers: InitAnswers
    found: dict[str, Found]
    notes: list[str]
    warnings: list[str]


@dataclass(frozen=True)
class _Port:
    port: int
    found: Found
    evidence: str = ""
    comment: str = ""
    others: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the main listener binds loopback only: a warning unless goship.yaml fixes it.
    loopback: tuple[str, ...] = ()


def _port(options: InitOptions, sources: dict[str, str], main: str) -> _Port:
    """The port: --port, else found in the code, else the default with a warning."""
    if options.port is not None:
        return _Port(options.port, Found(options.port, "--port"), comment="set by --port")
    guess = detect.guess_port(sources)
    if guess is None:
        port = detect.DEFAULT_PORT
        warning = (
            f"no listen port found in {main} (no ListenAndServe/Listen/Run/Start address, http.Server "
            f"Addr or PORT default): using {port}; check app.port in goship.yaml (or pass --port)"
        )
        return _Port(
            port, Found(port, "default (not found in the code)"),
            comment="NOT found in the code: check it is the port the service listens on", warnings=(warning,),
        )
    port = int(guess.value)
    notes = [f"port {port}: found at {guess.evidence}"]
    if guess.others:
        notes.append(f"also listens on {', '.join(guess.others)}: app.port is {port}; change it if that is wrong")
    variable = re.search(r"default of the (\w+) variable", guess.evidence)
    if variable and variable.group(1) != "PORT":
        name = variable.group(1)
        notes.append(
            f"goship sets PORT (not {name}) to app.port: the service reads {name}, so keep its default "
            f"equal to app.port ({port}) or read PORT too"
        )
    warnings = [
        f"{item.where} listens on {item.host} only: unreachable from outside the container; "
        f"listen on :{item.port} or 0.0.0.0:{item.port}"
        for item in find_listeners(sources)
        if item.port == guess.value and is_loopback(item.host)
    ]
    return _Port(
        port, Found(port, guess.evidence, guess.others), evidence=guess.evidence, others=guess.others,
        notes=tuple(notes), loopback=tuple(warnings[:1]),
    )


def _line_of_key(text: str | None, key: str) -> str:
    """' line N' of the first line of goship.yaml starting with ``key`` (indented), or ''."""
    for number, line in enumerate((text or "").splitlines(), start=1):
        if line.lstrip().startswith(key):
            return f" line {number}"
    return ""


def _settings_warnings(answers: InitAnswers, yaml_file: PlannedFile) -> list[str]:
    """One warning per setting the service exits without, naming the goship.yaml line to fill in."""
    written = yaml_file.content if yaml_file.changed else None
    flags = required_flags(answers.settings, answers.fills)
    plain, secret = required_env(answers.settings, answers.fills)
    warnings = [
        f"{s.required} exits without {s.label}: give it a value in goship.yaml{_line_of_key(written, 'args:')} "
        "(app.args)"
        for s in flags
    ]
    warnings += [
        f"{s.required} exits without ${s.name}: set its value in goship.yaml"
        f"{_line_of_key(written, s.name + ':')} (app.env)"
        for s in plain
    ]
    warnings += [
        f"{s.required} exits without ${s.name}: a secret, listed in app.secrets; set it in your "
        "environment or app.env_file before goship ship"
        for s in secret
    ]
    return warnings


def _module_file(root: Path, main: str) -> Callable[[str], str | None]:
    """Where in the module the file a setting's default names is: relative to the
    module root (where 'go run' starts), else to the main package; an absolute
    default by its path under the root, else by its name."""
    top = root.resolve()

    def find(default: str) -> str | None:
        if default.startswith("/"):
            tail = default.lstrip("/")
            name = tail.rsplit("/", 1)[-1]
            candidates = [tail, name, f"{main}/{name}"]
        else:
            candidates = [default, f"{main}/{default}"]
        for candidate in candidates:
            path = (top / candidate).resolve()
            if path.is_file() and path.is_relative_to(top):
                return path.relative_to(top).as_posix()
        return None

    return find


def _settle(
    root: Path, gomod: GoMod, mains: Sequence[str], options: InitOptions, ask: AskMain | None,
    workspace: Workspace | None, here: str | None,
) -> _Settled:
    notes: list[str] = []
    warnings: list[str] = []
    service = options.service or default_service_name(gomod.module)
    if not _NAME.match(service):
        raise ProjectError(
            f"service name {service!r} is not valid", hint="use lower-case letters, digits, '-', '_' or '.'"
        )
    if options.main is None and here is not None and here in mains:
        main, main_source = here, "the directory init ran in"
    else:
        main, note = choose_main(mains, service, options.main, yes=options.yes, ask=ask)
        if note:
            notes.append(note)
        main_source = "--main" if options.main else ("only main package" if len(mains) == 1 else "chosen of " + ", ".join(mains))
    sources = detect.package_sources(root, main, gomod.module)

    port = _port(options, sources, main)
    notes += port.notes

    health_evidence, health_comment, health_type = "", "", "http"
    if options.health_path is not None:
        health_path, health_comment = options.health_path, "set by --health-path"
        health_source = "--health-path"
    else:
        health_guess = detect.guess_health_path(sources)
        if health_guess is not None:
            health_path, health_evidence = health_guess.value, health_guess.evidence
            health_source = health_evidence
            notes.append(f"health check {health_path}: handler found at {health_evidence}")
        elif not detect.speaks_http(sources):
            health_path, health_type = "/", "tcp"
            health_source = "no HTTP package imported: a TCP connect"
            notes.append(
                f"health check: {main} imports no HTTP package, so a deploy waits for port {port.port} "
                "to accept a connection (health.type: tcp)"
            )
        else:
            health_path, health_type = "/", "answers"
            health_source = "no health route found: / answering below 500"
            warnings.append(
                f"no health route found in {main}: a deploy waits for / to answer (any status below 500, "
                "health.type: answers); add a route that answers 2xx when healthy and set health.path to it"
            )
    settings = find_settings(sources)
    port_source = "--port" if options.port is not None else (
        f"found at {port.evidence}" if port.evidence else "not found in the code"
    )
    fills, fill_warnings = listen_fills(settings, port.port, port_source)
    # A loopback default written over in goship.yaml needs no second warning about it.
    warnings += [*port.warnings, *(fill_warnings or port.loopback)]
    shipped, file_notes = config_files(settings, _module_file(root, main))
    notes += file_notes
    context = os.path.relpath(workspace.root, root).replace(os.sep, "/") if workspace else "."
    answers = InitAnswers(
        service=service, main=main, port=port.port, health_path=health_path,
        port_evidence=port.evidence, port_comment=port.comment, other_ports=port.others,
        health_evidence=health_evidence, health_found=health_type == "http", health_comment=health_comment,
        context=context, health_type=health_type, settings=tuple(settings), fills=tuple(fills),
        files=tuple(shipped),
    )
    found = {
        "main": Found(main, main_source),
        "port": port.found,
        "health": Found(health_path, health_source),
    }
    return _Settled(answers, found, notes, warnings)


def plan_init(directory: Path, options: InitOptions = InitOptions(), ask: AskMain | None = None) -> InitPlan:
    """Inspect the module ``directory`` is in and plan goship.yaml, Dockerfile,
    .dockerignore and .gitattributes; writes nothing."""
    validate_options(options)
    start = directory.resolve()
    root = module_root(directory)
    gomod = read_go_mod(root)
    mains = find_main_packages(root)
    if not mains:
        raise ProjectError(
            f"no main package in {root}",
            hint="add a 'package main' with func main(), or scaffold one with 'goship init --new NAME'",
        )
    here = start.relative_to(root).as_posix() if start != root else None
    workspace = find_workspace(root)
    settled = _settle(root, gomod, mains, options, ask, workspace, here)
    notes = list(settled.notes)
    if here is not None:
        shipping = f"; shipping {here}, the main package there" if settled.answers.main == here else ""
        notes.insert(0, f"the module root is {root} (go.mod): writing the files there{shipping}")
    if workspace is not None:
        notes.append(
            f"part of the workspace {workspace.root / 'go.work'}: the Dockerfile builds with the "
            "workspace root as its context"
        )
    files, file_warnings = _plan_files(root, gomod, settled.answers, workspace, mains, options.force)
    notes += kept_notes(files, root)
    file_warnings += _settings_warnings(settled.answers, files[0])
    file_warnings += _git_ignored(root, files)
    return InitPlan(
        root=root, answers=settled.answers, files=files, notes=tuple(notes),
        warnings=tuple(settled.warnings + file_warnings), found=settled.found,
    )


def _git_ignored(root: Path, files: Sequence[PlannedFile]) -> list[str]:
    """A warning for each file init writes that the repository's .gitignore ignores:
    it would work here and be missing from every other checkout and from CI."""
    written = [item.path for item in files if item.changed]
    if not written:
        return []
    try:
        done = process.run(
            ["git", "-C", str(root), "check-ignore", "--no-index", "-v", "--", *map(str, written)],
            timeout=30, check=False,
        )
    except ProcessError:  # no git, or it hung
        return []
    if done.returncode != 0:  # 1: none ignored; 128: not a git work tree
        return []
    warnings = []
    for line in done.text.splitlines():
        source, _, path = line.partition("\t")
        rule = source.rsplit(":", 2)
        where = f"{rule[0]}:{rule[1]}" if len(rule) == 3 else source
        pattern = rule[2] if len(rule) == 3 else ""
        name = Path(path).name
        warnings.append(
            f"{name} is ignored by git ({where}: '{pattern}'): it will be missing from other checkouts and CI; "
            f"add '!{name}' to your .gitignore, or 'git add -f {name}'"
        )
    return warnings


def installed_go_version() -> str | None:
    """major.minor of the Go on PATH, for a new module's go line; None without Go."""
    try:
        done = process.run(["go", "env", "GOVERSION"], timeout=60, check=False, env={**os.environ, "GOTOOLCHAIN": "local"})
    except ProcessError:
        return None
    return go_minor(done.text.strip())


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _new_go_version(installed: str | None) -> tuple[str, list[str]]:
    """The go line of a new service: the installed Go's, at least MIN_GO (its routes
    use Go 1.22 method patterns); an older installed Go cannot build it at all."""
    if installed is None:
        version = max(DEFAULT_GO_VERSION, MIN_GO, key=_version)
        return version, [f"Go not found on PATH: the new go.mod says go {version}"]
    if _version(installed) < _version(MIN_GO):
        raise ToolError(
            f"Go {installed} is installed, but a new service needs Go {MIN_GO} or later "
            '(its routes use method patterns such as "GET /healthz")',
            hint=f"install Go {MIN_GO} or later (https://go.dev/dl/) and run goship init --new again",
        )
    return installed, []


def _check_new_target(name: str, target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise ProjectError(f"--new {name}: {target} exists and is not a directory", hint="pick another NAME")
    if any(target.iterdir()):
        raise ProjectError(
            f"--new {name}: {target} already exists and is not empty",
            hint=f"pick another NAME, or adopt the code there with 'goship init -C {target}'",
        )


def _valid_module(module: str) -> bool:
    """A plausible Go module path: no leading '/', '.' or '-', no empty, '.' or '..' element."""
    if not re.fullmatch(r"[\w.~/-]+", module) or module[0] in "/.-" or module.endswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in module.split("/"))


def plan_new(
    directory: Path, name: str, module: str | None = None, go_version: str | None = None,
    options: InitOptions = InitOptions(),
) -> InitPlan:
    """Plan a new service in ``directory/name``: Go sources plus everything init
    writes. ``directory/name`` must not exist or be empty."""
    validate_options(options)
    target = (directory / name).resolve()
    if not _NAME.match(Path(name).name.lower()):
        raise ProjectError(
            f"--new {name}: not a valid service name", hint="use lower-case letters, digits, '-', '_' or '.'"
        )
    given = module is not None
    # The default module path is NAME's last component: ./deep/nested/svc -> svc.
    module = module if module is not None else Path(name).name
    if not _valid_module(module):
        if given:
            raise ProjectError(f"--module {module}: not a valid Go module path", hint="e.g. github.com/acme/svc")
        raise ProjectError(
            f"--new {name}: {module!r} (the last part of NAME, the default module path) is not a valid Go module path",
            hint="pick another NAME, or pass --module, e.g. --module github.com/acme/svc",
        )
    service = options.service or default_service_name(module)
    if not _NAME.match(Path(name).name.lower()) or not _NAME.match(service):
        raise ProjectError(
            f"--new {name}: not a valid service name", hint="use lower-case letters, digits, '-', '_' or '.'"
        )
    health_path = options.health_path or "/healthz"
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", health_path) or "//" in health_path:
        raise ProjectError(
            f"--health-path {health_path}: a new service's route must be a plain path",
            hint="use letters, digits and '/-_.~', e.g. /healthz",
        )
    _check_new_target(name, target)
    go_version, warnings = _new_go_version(go_version)
    port = options.port or detect.DEFAULT_PORT
    sources = render_new_service(service, module, go_version, port=port, health_path=health_path)
    gomod = parse_go_mod(sources["go.mod"])
    answers = InitAnswers(
        service=service, main=".", port=port, health_path=health_path,
        port_comment="set by --port (main.go's default too)" if options.port else "main.go's default; goship sets $PORT to this",
        health_comment="set by --health-path (served by main.go)" if options.health_path else "served by main.go",
    )
    files: list[PlannedFile] = [planned(target / n, text, options.force) for n, text in sources.items()]
    more, more_warnings = _plan_files(target, gomod, answers, None, ["."], options.force)
    found = {
        "main": Found(".", "--new"),
        "port": Found(port, "--port" if options.port else "main.go (default of the PORT variable)"),
        "health": Found(health_path, "--health-path" if options.health_path else "main.go"),
    }
    return InitPlan(
        root=target, answers=answers, files=(*files, *more), warnings=tuple(warnings + more_warnings),
        create_dir=target, found=found,
    )
