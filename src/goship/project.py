"""The Go module being shipped: go.mod, its main packages, derived names.

Reading the module is pure file inspection (no ``go`` needed), so ``goship``
can explain what it found even on a machine without Go.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from goship.config import CONFIG_NAME, Config, load_config
from goship.config.loader import key_line
from goship.errors import ConfigError, ProjectError

_SKIP_DIRS = {"vendor", "testdata", "node_modules"}
_PACKAGE_LINE = re.compile(r"^\s*package\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class GoMod:
    module: str
    go: str | None = None
    toolchain: str | None = None


#: go.mod's directives (https://go.dev/ref/mod#go-mod-file-grammar); anything else does not parse.
GO_MOD_DIRECTIVES = (
    "module", "go", "toolchain", "godebug", "require", "exclude", "replace", "retract", "tool", "ignore",
)


def parse_go_mod(text: str, source: str = "go.mod") -> GoMod:
    """Extract the module path and the go/toolchain lines from go.mod text.

    Raises ProjectError naming ``source:line`` for what the go command would
    refuse: an unknown directive (``modul x``), a module without a path, an
    invalid go version, a '(' block never closed, no module line.
    """
    if text.startswith("\ufeff"):
        raise ProjectError(
            f"{source}:1: unexpected input character '\\ufeff' (a UTF-8 byte order mark, which go refuses)",
            hint="save go.mod as UTF-8 without BOM",
        )
    module = go = toolchain = None
    block: tuple[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            continue  # an entry of a require (...) / replace (...) block
        # The directive is the leading word; '(' is a token of its own ('require(' opens a block too).
        split = re.match(r"([^\s(]*)\s*(.*)$", line)
        word, rest = (split.group(1), split.group(2).strip()) if split else (line, "")
        if word not in GO_MOD_DIRECTIVES:
            close = difflib.get_close_matches(word, GO_MOD_DIRECTIVES, n=1)
            raise ProjectError(
                f"{source}:{number}: unknown directive '{word}'"
                + (f" (did you mean '{close[0]}'?)" if close else ""),
                hint=f"go.mod directives are {', '.join(GO_MOD_DIRECTIVES)}",
            )
        if rest == "(":
            block = (word, number)
            continue
        rest = rest.strip('"')
        if word == "module":
            if not rest:
                raise ProjectError(f"{source}:{number}: 'module' has no path")
            module = rest
        elif word == "go":
            if not re.fullmatch(r"\d+\.\d+(\.\d+)?((rc|beta)\d+)?", rest):
                raise ProjectError(f"{source}:{number}: invalid go version {rest!r}")
            go = rest
        elif word == "toolchain":
            if not re.fullmatch(r"default|go\d+(\.\d+)*((rc|beta)\d+)?(-[\w.+-]+)?", rest):
                fix = f"go{rest}" if re.fullmatch(r"\d+(\.\d+)*((rc|beta)\d+)?", rest) else "go1.22.5"
                raise ProjectError(
                    f"{source}:{number}: invalid toolchain version {rest!r}",
                    hint=f"write it with the go prefix, e.g. 'toolchain {fix}'",
                )
            toolchain = rest
    if block is not None:
        raise ProjectError(f"{source}:{block[1]}: '{block[0]} (' is never closed", hint="end the block with a line holding only )")
    if module is None:
        raise ProjectError(f"{source}: no 'module' line", hint="run 'go mod init <module path>'")
    return GoMod(module=module, go=go, toolchain=toolchain)


def _is_main_source(path: Path) -> bool:
    if path.name.endswith("_test.go"):
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # Strip comments before the package clause (build tags, licence headers).
    code = re.sub(r"/\*.*?\*/", "", head, flags=re.DOTALL)
    code = re.sub(r"//[^\n]*", "", code)
    match = _PACKAGE_LINE.search(code)
    if not (match and match.group(1) == "main"):
        return False
    return not _ignored_by_build_tag(head)


_GO_BUILD = re.compile(r"^//go:build\s+(.+?)\s*$", re.MULTILINE)
_PLUS_BUILD = re.compile(r"^//\s*\+build\s+(.+?)\s*$", re.MULTILINE)


def _ignored_by_build_tag(source: str) -> bool:
    """True for a file that never builds: ``//go:build ignore`` (or ``// +build
    ignore``), the convention for generators run with 'go run gen.go'."""
    header = _PACKAGE_LINE.split(source, maxsplit=1)[0]
    for expression in _GO_BUILD.findall(header):
        if "||" not in expression and re.search(r"(?<![!\w])ignore\b", expression):
            return True
    for line in _PLUS_BUILD.findall(header):
        # Space-separated options are ORed, comma-separated terms ANDed.
        options = line.split()
        if options and all("ignore" in option.split(",") for option in options):
            return True
    return False


def find_main_packages(root: Path) -> list[str]:
    """Directories (relative, '/'-separated, '.' for the root) holding package main."""
    found: list[str] = []
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        if any(e.suffix == ".go" and e.is_file() and _is_main_source(e) for e in entries):
            rel = directory.relative_to(root).as_posix()
            found.append(rel if rel != "." else ".")
        for entry in entries:
            name = entry.name
            if not entry.is_dir() or name.startswith((".", "_")) or name in _SKIP_DIRS:
                continue
            if entry != root and (entry / "go.mod").exists():
                continue  # a nested module is its own project
            stack.append(entry)
    return sorted(found, key=lambda p: (p != ".", p))


def default_service_name(module: str) -> str:
    """``github.com/acme/hello/v2`` -> ``hello``: a name Docker and Caddy accept."""
    parts = [p for p in module.split("/") if p]
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()
    name = re.sub(r"[^a-z0-9_.-]+", "-", parts[-1].lower()).strip("-._")[:63].strip("-._")
    return name or "app"


@dataclass(frozen=True)
class Project:
    """A Go module plus its goship.yaml, with every default filled in."""

    root: Path
    gomod: GoMod
    config: Config
    config_path: Path | None
    service: str
    main: str

    @property
    def binary_name(self) -> str:
        return self.service

    def programs(self) -> dict[str, str]:
        """Each main package the image holds (the service's first, then those roles name) -> its
        binary's name in the image: the service's for its own main, else the package directory's
        last element (cmd/worker -> worker). Raises ConfigError when two would have one name."""
        programs = {self.main: self.binary_name}
        for name, role in self.config.roles.items():
            if role.main is None:
                continue
            main = normalise_main(role.main)
            if main in programs:
                continue
            binary = self.binary_name if main == "." else main.rsplit("/", 1)[-1]
            clash = next((m for m, b in programs.items() if b == binary), None)
            if clash is not None:
                raise ConfigError(
                    f"{main} and {clash} would both be /usr/local/bin/{binary} in the image",
                    hint="goship names a role's program after its directory: rename one of the directories",
                    file=str(self.config_path or CONFIG_NAME), key=f"roles.{name}.main",
                    line=key_line(self.config_path, f"roles.{name}.main"),
                )
            programs[main] = binary
        return programs

    @property
    def repository(self) -> str:
        """Image repository: ``image`` from goship.yaml, else the service name."""
        return self.config.image or self.service

    def for_target(self, name: str) -> Project:
        """The project as target ``name`` sees it: its goship.yaml overrides in place.

        Idempotent, and the project itself for a target without overrides (or one
        goship.yaml does not define: opening it then reports the unknown name).
        """
        config = self.config.for_target(name)
        if config is self.config:
            return self
        main = self.main
        if config.build.main != self.config.build.main:
            main = _main_package(self.root, config, self.config_path, self.root, f"targets.{name}.")
        if config.roles != self.config.roles:
            _check_roles(self.root, config, self.config_path, f"targets.{name}.")
        project = replace(self, config=config, main=main)
        project.programs()
        return project


def find_module_root(start: Path) -> Path:
    """The directory holding go.mod: ``start`` or the nearest parent."""
    start = start.resolve()
    if not start.exists():
        raise ProjectError(f"{start}: no such directory")
    for directory in (start, *start.parents):
        if (directory / "go.mod").is_file():
            return directory
    raise ProjectError(
        f"no go.mod in {start} or any parent directory",
        hint="run goship inside a Go module (create one with 'go mod init')",
    )


def read_go_mod(path: Path, source: str = "go.mod") -> GoMod:
    """Read and parse go.mod from its raw bytes (a UTF-8 BOM is an error, as go says)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError(f"{source}: not UTF-8 text", hint="save go.mod as UTF-8") from None
    return parse_go_mod(text, source=source)


def normalise_main(main: str) -> str:
    """``./cmd/worker/`` -> ``cmd/worker``; the module's root is ``.``."""
    return main.strip().removeprefix("./").strip("/") or "."


def load_project(directory: Path, config_file: Path | None = None) -> Project:
    """Find the module, read goship.yaml if present, and fill in defaults."""
    root = find_module_root(directory)
    gomod_path = root / "go.mod"
    gomod = read_go_mod(gomod_path, str(gomod_path))
    if config_file is None and (root / CONFIG_NAME).is_file():
        config_file = root / CONFIG_NAME
    if config_file is not None and not config_file.is_file():
        raise ConfigError("no such file", file=str(config_file))
    config = load_config(config_file) if config_file else Config()

    service = config.service or default_service_name(gomod.module)  # checked by the loader when set
    main = _main_package(root, config, config_file, directory)
    _check_roles(root, config, config_file)
    project = Project(
        root=root, gomod=gomod, config=config, config_path=config_file, service=service, main=main
    )
    project.programs()  # two programs with one name are refused now, not at build time
    for name, target in config.targets.items():
        # A target's own build or roles are checked now too, not first when it is shipped
        # (one waiting for a ${VAR} of its own is checked when it is used).
        if target.unresolved is None and (target.build is not None or target.roles is not None):
            project.for_target(name)
    return project


def _check_roles(root: Path, config: Config, config_file: Path | None, where: str = "") -> None:
    """Each role's main names a main package of the module (``where``: the target's keys, if any)."""
    for name, role in config.roles.items():
        role_main = normalise_main(role.main) if role.main is not None else None
        if role_main is not None and not any(_is_main_source(p) for p in (root / role_main).glob("*.go")):
            raise ConfigError(
                f"{role.main!r} is not a directory with package main",
                hint=f"main packages found: {', '.join(find_main_packages(root)) or 'none'}",
                file=str(config_file),
                key=f"{where}roles.{name}.main",
                line=key_line(config_file, f"{where}roles.{name}.main"),
            )


def _main_package(root: Path, config: Config, config_file: Path | None, directory: Path, where: str = "") -> str:
    """build.main, checked; else the one main package (or the one ``directory`` is in)."""
    main = config.build.main
    if main is not None:
        main = normalise_main(main)
    if main is None:
        mains = find_main_packages(root)
        here = directory.resolve().relative_to(root).as_posix()
        if len(mains) > 1 and here in mains:
            mains = [here]  # run inside cmd/worker: ship cmd/worker
        if not mains:
            raise ProjectError(
                f"no main package in {root}",
                hint="add a 'package main' with func main(), or set build.main in goship.yaml",
            )
        if len(mains) > 1 and "." not in mains:
            raise ProjectError(
                f"several main packages in {root}: {', '.join(mains)}",
                hint="choose one with build.main in goship.yaml, or run goship in its directory (-C cmd/NAME)",
            )
        main = mains[0]
    else:
        main_dir = root / main
        if not main_dir.is_dir() or not any(_is_main_source(p) for p in main_dir.glob("*.go")):
            raise ConfigError(
                f"{main!r} is not a directory with package main",
                hint=f"main packages found: {', '.join(find_main_packages(root)) or 'none'}",
                file=str(config_file),
                key=f"{where}build.main",
                line=key_line(config_file, f"{where}build.main"),
            )
    return main


def project_problems(project: Project, *, dockerfile: bool = True) -> list[ConfigError]:
    """What build refuses in a project whose goship.yaml loads: a build.context that is
    not a directory and (``dockerfile``) the docker builder without its Dockerfile.
    Everything goship.yaml can say wrong, the loader already refused; these are
    about the files around it. lint and doctor report them before build does."""
    where = str(project.config_path or CONFIG_NAME)
    problems: list[ConfigError] = []
    build = project.config.build
    if not (project.root / build.context).is_dir():
        problems.append(ConfigError(f"{build.context} is not a directory", file=where, key="build.context"))
    if dockerfile and build.builder == "docker" and not (project.root / build.dockerfile).is_file():
        problems.append(
            ConfigError(
                f"docker needs {build.dockerfile}, which does not exist",
                hint="write one with 'goship dockerfile -o Dockerfile', or use build.builder: native",
                file=where,
                key="build.builder",
            )
        )
    return problems
