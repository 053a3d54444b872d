"""The text of goship.yaml, .dockerignore and .gitattributes that ``goship init`` writes.

Pure: answers in, file contents out. goship.yaml is written as text (not
dumped from a dict) so it can carry comments saying what each key means and
where a guessed value came from; a test loads it with the real loader.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass

from goship.commands.init.fills import Fill, ShippedFile
from goship.config.model import BuildConfig
from goship.config.schema import MODELINE
from goship.golang.settings import Setting
from goship.secrets import is_secret_name

#: Comment column for goship.yaml, like the README's example.
_COLUMN = 31


@dataclass(frozen=True)
class InitAnswers:
    """What ``goship init`` settled on, by flag, prompt or guess."""

    service: str
    main: str
    port: int
    health_path: str
    #: how each value was found, e.g. "main.go:14 (listen address)"; "" when defaulted.
    port_evidence: str = ""
    health_evidence: str = ""
    health_found: bool = True
    #: the build context relative to the module ('..' in a workspace), "." otherwise.
    context: str = "."
    #: the goship.yaml comments of app.port and health.path when not "found at
    #: <evidence>", e.g. "set by --port".
    port_comment: str = ""
    health_comment: str = ""
    #: other ports the code listens on (metrics, pprof), each "9090 (main.go:12)".
    other_ports: tuple[str, ...] = ()
    #: health.type: "http" (a health route), "answers" (none found) or "tcp" (no HTTP).
    health_type: str = "http"
    #: the flags and variables the code reads, required ones first.
    settings: tuple[Setting, ...] = ()
    #: values init writes for some of them (the listen address, a required port).
    fills: tuple[Fill, ...] = ()
    #: module files the service reads at start, shipped with build.files.
    files: tuple[ShippedFile, ...] = ()

#: How many optional settings goship.yaml lists before "... and N more".
_LISTED = 12


def _yaml_scalar(value: str) -> str:
    """A YAML-safe plain or quoted scalar (JSON strings are valid YAML)."""
    plain = value and all(c.isalnum() or c in "./_-" for c in value) and value[0] not in "-."
    return value if plain else json.dumps(value)


def _main_value(main: str) -> str:
    main = main.removeprefix("./").strip("/")
    return "." if main in ("", ".") else f"./{main}"


def _line(text: str, comment: str = "") -> str:
    # At least one space before the "#": YAML reads "x# y" as part of the value.
    return f"{text:<{_COLUMN - 1}} # {comment}" if comment else text


def _has_build_key(name: str) -> bool:
    # Other keys of build: arrive with other features; write only keys the
    # loader of this goship accepts.
    return name in {f.name for f in dataclasses.fields(BuildConfig)}


def render_goship_yaml(answers: InitAnswers) -> str:
    """goship.yaml for the answers; only keys the config loader knows."""
    main_value = _main_value(answers.main)
    main_text = f"main: {main_value}"
    if answers.port_comment:
        port_note = answers.port_comment
    else:
        port_note = f"found at {answers.port_evidence}" if answers.port_evidence else "goship sets $PORT to this"
    lines = [
        MODELINE,
        "# goship.yaml, written by 'goship init'. Every key is optional; see the README",
        "# for all of them. 'goship build' and 'goship ship' read this file.",
        "",
        _line(f"service: {_yaml_scalar(answers.service)}", "names the container, proxy route and releases"),
        "# image: registry.example.com/team/" + answers.service + "   # where 'goship push' sends the image",
        "build:",
        _line(f"  {main_text}", "the main package, relative to go.mod"),
    ]
    if _has_build_key("builder"):
        lines.append(_line("  # builder: docker", "build with the Dockerfile (BuildKit) instead of natively"))
    if answers.context not in ("", ".") and _has_build_key("context"):
        lines.append(_line(f"  context: {_yaml_scalar(answers.context)}", "the go.work workspace root: the Dockerfile's build context"))
    if answers.files and _has_build_key("files"):
        lines.append(_line("  files:", "put in the image (image path: module path)"))
        lines += [
            _line(f"    {_yaml_scalar(item.image_path)}: {_yaml_scalar(item.source)}", item.why) for item in answers.files
        ]
    lines += [
        "app:",
        _line(f"  port: {answers.port}", port_note),
    ]
    if answers.other_ports:
        lines.append(f"  # also listens on {', '.join(answers.other_ports)}: not published; check app.port")
    lines += _settings_lines(answers.settings, answers.fills)
    lines += ["health:", *_health_lines(answers)]
    lines += [
        "# targets:",
        "#   production:",
        "#     hosts: [deploy@web1.example.com]",
    ]
    return "\n".join(lines) + "\n"


def _health_lines(answers: InitAnswers) -> list[str]:
    if answers.health_type == "tcp":
        return [_line("  type: tcp", "speaks no HTTP: ready once the port accepts a connection")]
    if answers.health_type == "answers":
        return [
            _line("  type: answers", "NO health route found: ready once the path answers below 500"),
            _line(f"  path: {_yaml_scalar(answers.health_path)}", "add a route answering 2xx, put it here, drop 'type'"),
        ]
    if answers.health_comment:
        note = answers.health_comment
    elif answers.health_found:
        note = f"handler found at {answers.health_evidence}" if answers.health_evidence else "answers 2xx when healthy"
    else:
        note = "NO handler found: add one answering 2xx here"
    return [_line(f"  path: {_yaml_scalar(answers.health_path)}", note)]


def _filled(settings: tuple[Setting, ...], fills: tuple[Fill, ...]) -> list[Setting]:
    keys = {(f.setting.kind, f.setting.name) for f in fills}
    return [s for s in settings if (s.kind, s.name) not in keys]


def required_flags(settings: tuple[Setting, ...], fills: tuple[Fill, ...] = ()) -> list[Setting]:
    """Required flags init has no value for (the user fills them in)."""
    return [s for s in _filled(settings, fills) if s.required and s.kind == "flag"]


def required_env(
    settings: tuple[Setting, ...], fills: tuple[Fill, ...] = ()
) -> tuple[list[Setting], list[Setting]]:
    """Required variables init has no value for: (plain ones for app.env, secret-looking
    ones for app.secrets)."""
    env = [s for s in _filled(settings, fills) if s.required and s.kind == "env"]
    return [s for s in env if not is_secret_name(s.name)], [s for s in env if is_secret_name(s.name)]


def _settings_lines(settings: tuple[Setting, ...], fills: tuple[Fill, ...] = ()) -> list[str]:
    """app.args / app.env / app.secrets for what the service cannot start without
    (values left empty for the user to fill in, unless init knows them), and
    comments for the rest."""
    lines: list[str] = []
    flags = required_flags(settings, fills)
    args = [(f.arg, f.why) for f in fills if not f.env] + [
        (f"{s.label}=", f"REQUIRED: give {s.label} a value ({s.required} exits without it)") for s in flags
    ]
    if args:
        value = "[" + ", ".join(json.dumps(arg) for arg, _ in args) + "]"
        lines.append(_line(f"  args: {value}", "; ".join(why for _, why in args)))
    plain, secret = required_env(settings, fills)
    env = [f for f in fills if f.env]
    if plain or env:
        lines.append("  env:")
        lines += [_line(f"    {f.env}: {json.dumps(f.value)}", f.why) for f in env]
        lines += [_line(f"    {s.name}: \"\"", f"REQUIRED: set the value ({s.required} exits without it)") for s in plain]
    if secret:
        names = ", ".join(s.name for s in secret)
        lines.append(_line(
            f"  secrets: [{names}]",
            "REQUIRED: set in your environment or app.env_file (" + ", ".join(s.required for s in secret) + " exit without)",
        ))
    optional = [s for s in _filled(settings, fills) if not s.required]
    if optional:
        lines.append("  # The code also reads these; set them in app.args / app.env if the defaults don't fit:")
        for setting in optional[:_LISTED]:
            kind = f" {setting.type}" if setting.type else ""
            shown = json.dumps(setting.default) if setting.type in ("", "string") else setting.default
            default = f" (default {shown})" if setting.default not in (None, "") else ""
            lines.append(f"  #   {setting.described}{kind}{default}  {setting.where}")
        if len(optional) > _LISTED:
            lines.append(f"  #   ... and {len(optional) - _LISTED} more")
    return lines


def dockerignore_entries(local_binaries: tuple[str, ...] = ()) -> list[str]:
    """The exclusions (not comments) ``render_dockerignore`` writes by default."""
    return [line for line in render_dockerignore(local_binaries).splitlines() if line and not line.startswith("#")]


def render_dockerignore(local_binaries: tuple[str, ...] = (), leave_out: Mapping[str, str] | None = None) -> str:
    """.dockerignore: the build context is sent whole to the engine and 'COPY . .'
    puts it in the build stage, so leave out what is large, local or secret.

    ``leave_out`` maps default exclusions the build needs (a Go package in bin/,
    a //go:embed'ed dist/) to why: they are not written, and a comment says so."""
    lines = [
        "# Written by 'goship init'. Docker sends the whole build context to the engine",
        "# and 'COPY . .' copies it into the build: keep out what is large, local or secret.",
        "# Version control and goship's own build output",
        ".git",
        "**/.git",
        ".goship",
        "# Secrets and local settings",
        "**/.env*",
        "# Editors and IDEs",
        ".idea",
        ".vscode",
        "**/*.swp",
        "**/.DS_Store",
        "# Build output and local binaries",
        "bin",
        "dist",
        "**/*.exe",
        "**/*.test",
        "**/*.out",
    ]
    lines += [f"/{name}" for name in local_binaries]
    lines += ["**/node_modules"]
    if leave_out:
        lines = [line for line in lines if line not in leave_out]
        lines.append("# Left out of the defaults because the build needs them:")
        lines += [f"#   {entry}: {why}" for entry, why in leave_out.items()]
    return "\n".join(lines) + "\n"


def render_gitattributes() -> str:
    """.gitattributes keeping scripts and Dockerfiles LF on every OS."""
    lines = [
        "# Written by 'goship init'. Scripts and Dockerfiles run inside Linux containers,",
        "# where a CRLF line ending breaks a shebang or a RUN line: keep them LF even",
        "# when checked out on Windows.",
        "*.sh text eol=lf",
        "Dockerfile text eol=lf",
        "Dockerfile.* text eol=lf",
        "*.dockerfile text eol=lf",
        ".dockerignore text eol=lf",
    ]
    return "\n".join(lines) + "\n"


def merge_gitattributes(existing: str) -> str:
    """An existing .gitattributes plus the LF rules of ``render_gitattributes`` it
    lacks (appended, the user's own lines untouched); unchanged when none lacks."""
    have = {" ".join(line.split()) for line in existing.splitlines() if not line.lstrip().startswith("#")}
    rules = [line for line in render_gitattributes().splitlines() if line and not line.startswith("#")]
    missing = [rule for rule in rules if rule not in have]
    if not missing:
        return existing
    newline = "\r\n" if "\r\n" in existing else "\n"
    text = existing
    if text and not text.endswith(("\n", "\r")):
        text += newline
    added = ["# Added by 'goship init': keep scripts and Dockerfiles LF (they run in Linux containers).", *missing]
    return text + newline.join(added) + newline
