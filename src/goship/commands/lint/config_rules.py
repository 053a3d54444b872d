"""goship.yaml rules (GS2xx): a config that does not load, and risky settings.

Pure: the text in, findings out. The YAML node tree is read for line
numbers, the validated ``Config`` for meaning, so the two never disagree
about what the file says.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import replace

import yaml

from goship.commands.lint.findings import Finding
from goship.commands.lint.rules import finding
from goship.config import Config, parse_config
from goship.errors import ConfigError


def _key_line(root: yaml.Node | None, *keys: str) -> int | None:
    """1-based line of the key at ``keys`` (e.g. 'registry', 'insecure'), if written."""
    node = root
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            return None
    return line


def key_line_in(text: str, *keys: str) -> int | None:
    """1-based line of the key at ``keys`` in the YAML ``text``; None when it is not
    written, or the text is empty or not YAML."""
    if not text:
        return None
    try:
        return _key_line(yaml.compose(text, Loader=yaml.SafeLoader), *keys)
    except yaml.YAMLError:
        return None


def has_health_section(text: str) -> bool:
    """goship.yaml names a health check itself (rather than relying on defaults)."""
    return key_line_in(text, "health") is not None


def explicit_app_port(text: str) -> bool:
    """goship.yaml writes app.port itself (rather than taking the default)."""
    return key_line_in(text, "app", "port") is not None


def registry_host(image: str | None) -> str | None:
    """The registry part of an image repository, or None for Docker Hub names."""
    if not image or "/" not in image:
        return None
    first = image.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost":
        return first
    return None


def is_loopback(host: str) -> bool:
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


#: The comment 'goship init' writes after each value it leaves for the user to fill
#: in (commands/init/files.py; a test renders init's goship.yaml and lints it).
#: init's comment on a value it left for the user; with several reasons ('-addr set to :8080 ...;
#: REQUIRED: give -db a value ...') the REQUIRED one need not come first.
PLACEHOLDER_MARK = re.compile(r"#(?=.*\bREQUIRED:)\s*(?P<why>.*)$")
#: A flag with nothing after its '=' ('-token=', '--db-url='): init's placeholder in app.args.
_EMPTY_FLAG = re.compile(r"^(?P<flag>--?[A-Za-z0-9][\w.-]*)=$")


def _required_comment(mark: yaml.Mark) -> str | None:
    """What a '# REQUIRED: ...' comment right after ``mark`` (the end of a value) says, if one follows."""
    buffer = mark.buffer
    if not isinstance(buffer, str):
        return None
    end = buffer.find("\n", mark.pointer)
    rest = buffer[mark.pointer : end if end != -1 else len(buffer)].strip()
    match = PLACEHOLDER_MARK.match(rest)
    return match.group("why").strip() if match else None


def _placeholders(node: yaml.Node, path: str) -> Iterator[tuple[str, str, int, str]]:
    """(key, flag or "", line, the comment's text) for each value still as init left it:
    an empty value, or a flag ending in '=', followed by a '# REQUIRED:' comment."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{path}.{key_node.value}" if path else str(key_node.value)
            if isinstance(value_node, yaml.ScalarNode):
                why = _required_comment(value_node.end_mark)
                if why is not None and value_node.value == "":
                    yield key, "", value_node.start_mark.line + 1, why
            else:
                yield from _placeholders(value_node, key)
    elif isinstance(node, yaml.SequenceNode):
        # init writes app.args in flow style with one comment after the ']'.
        whole = _required_comment(node.end_mark)
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                yield from _placeholders(item, path)
                continue
            why = _required_comment(item.end_mark) or whole
            flag = _EMPTY_FLAG.match(item.value)
            if why is not None and (flag or item.value == ""):
                yield path, flag.group("flag") if flag else "", item.start_mark.line + 1, why


def _about(why: str, flag: str) -> str:
    """The part of a comment naming several flags ('give -a a value (...); give -b ...') about ``flag``."""
    required = [part.removeprefix("REQUIRED:").strip() for part in why.split("; ") if part.startswith("REQUIRED:")]
    parts = [part for part in required if re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", part)]
    return parts[0] if flag and len(parts) == 1 else "; ".join(required) or why.removeprefix("REQUIRED:").strip()


def check_placeholders(root: yaml.Node | None, file: str) -> list[Finding]:
    """GS204: a value goship init left empty for a flag or variable the service exits without."""
    findings = []
    for key, flag, line, why in _placeholders(root, "") if root is not None else ():
        said = f" (REQUIRED: {_about(why, flag)})" if why else ""
        if flag:
            findings.append(finding(
                "GS204", f"{key}: {flag}= has no value yet{said}", file, line,
                fix=f"Write the value after the '=' ('{flag}=VALUE'), then delete the '# REQUIRED' comment.",
            ))
        else:
            name = key.rsplit(".", 1)[-1]
            findings.append(finding(
                "GS204", f"{key} is still empty{said}", file, line,
                fix=f"Set {name} to the value the service needs (a secret goes in app.secrets and your "
                "environment instead); then delete the '# REQUIRED' comment.",
            ))
    return findings


def config_finding(error: ConfigError, file: str, text: str = "") -> Finding:
    """GS201 for a ConfigError, at its line (or the line of the key it names)."""
    line = error.line
    if line is None and error.key:
        line = key_line_in(text, *error.key.split("."))
    message = f"{error.key}: {error.problem}" if error.key else error.problem
    if error.hint:
        message = f"{message} ({error.hint})"
    return finding("GS201", message, file, line)


#: Go modules that are SQLite drivers (or wrap one): a database in a file on the volume.
SQLITE_MODULES = (
    "github.com/mattn/go-sqlite3",
    "modernc.org/sqlite",
    "github.com/glebarez/sqlite",
    "github.com/glebarez/go-sqlite",
    "github.com/ncruces/go-sqlite3",
    "zombiezen.com/go/sqlite",
    "crawshaw.io/sqlite",
    "gorm.io/driver/sqlite",
    "github.com/tursodatabase/go-libsql",
)


def sqlite_modules(go_mod: str) -> list[str]:
    """The SQLite drivers go.mod requires (directly or as // indirect), in go.mod's order."""
    found: list[str] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line.startswith(")"):
                in_block = False
                continue
            words = line.split()
        elif line.startswith("require"):
            rest = line.removeprefix("require").strip()
            if rest.startswith("("):
                in_block = True
                continue
            words = rest.split()
        else:
            continue
        if words and words[0].strip('"') in SQLITE_MODULES and words[0].strip('"') not in found:
            found.append(words[0].strip('"'))
    return found


def sqlite_on_volume(config: Config, go_mod: str, file: str, line: int | None) -> list[Finding]:
    """GS210: the app uses SQLite and mounts writable data, which two containers share during a switch."""
    writable = [v for v in config.app.volumes if not v.read_only]
    drivers = sqlite_modules(go_mod) if writable else []
    if not drivers:
        return []
    where = ", ".join(v.target for v in writable)
    return [
        finding(
            "GS210",
            f"app.volumes mounts {where} and the module uses SQLite ({', '.join(drivers)}): during each "
            "zero-downtime switch the old and the new container both open the database for a few seconds",
            file, line,
        )
    ]


def _view_findings(
    config: Config, root: yaml.Node | None, file: str, go_mod: str, under: tuple[str, ...]
) -> list[Finding]:
    """GS202, GS203 and GS210 for one view of goship.yaml (the top level, or what a target
    deploys); ``under``: where that target's keys are, for the line (else the top level's)."""

    def line(*keys: str) -> int | None:
        return (_key_line(root, *under, *keys) if under else None) or _key_line(root, *keys)

    findings: list[Finding] = []
    host = registry_host(config.image)
    if config.registry.insecure and host is not None and not is_loopback(host):
        findings.append(
            finding(
                "GS202",
                f"registry.insecure: true pushes to {host} (and sends its credentials) over plain HTTP",
                file, line("registry", "insecure"),
            )
        )
    weakened = config.app.security.weakened()
    if weakened:
        reason = config.app.security.reason
        findings.append(
            finding(
                "GS203",
                f"app.security weakens the container: {'; '.join(weakened)}"
                + (f" (reason: {reason})" if reason else ""),
                file, line("app", "security"),
            )
        )
    findings += sqlite_on_volume(config, go_mod, file, line("app", "volumes"))
    return findings


def check_config(text: str, file: str, go_mod: str = "") -> tuple[list[Finding], Config | None]:
    """Findings for one goship.yaml, and the config when it loads; ``go_mod``: the
    module's go.mod text, for the rules that depend on what the service uses."""
    try:
        config = parse_config(text, source=file)
    except ConfigError as error:
        # Every problem the loader found, each at its line.
        return [config_finding(each, file, text) for each in getattr(error, "errors", (error,))], None

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    findings: list[Finding] = check_placeholders(root, file)
    top = _view_findings(config, root, file, go_mod, ())
    findings += top
    said = {(f.rule, f.message) for f in top}
    for name, target in config.targets.items():
        if target.unresolved is not None or not target.overrides():
            continue
        # What a target deploys is checked too: its own volumes, registry and security.
        for found in _view_findings(config.for_target(name), root, file, go_mod, ("targets", name)):
            if (found.rule, found.message) not in said:
                findings.append(replace(found, message=f"targets.{name}: {found.message}"))
    return findings, config
