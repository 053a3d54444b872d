"""goship.yaml rules (GS2xx): a config that does not load, and risky settings.

Pure: the text in, findings out. The YAML node tree is read for line
numbers, the validated ``Config`` for meaning, so the two never disagree
about what the file says.
"""

from __future__ import annotations

import ipaddress

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


def config_finding(error: ConfigError, file: str, text: str = "") -> Finding:
    """GS201 for a ConfigError, at its line (or the line of the key it names)."""
    line = error.line
    if line is None and error.key:
        line = key_line_in(text, *error.key.split("."))
    message = f"{error.key}: {error.problem}" if error.key else error.problem
    if error.hint:
        message = f"{message} ({error.hint})"
    return finding("GS201", message, file, line)


def check_config(text: str, file: str) -> tuple[list[Finding], Config | None]:
    """Findings for one goship.yaml, and the config when it loads."""
    try:
        config = parse_config(text, source=file)
    except ConfigError as error:
        # Every problem the loader found, each at its line.
        return [config_finding(each, file, text) for each in getattr(error, "errors", (error,))], None

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    findings: list[Finding] = []
    host = registry_host(config.image)
    if config.registry.insecure and host is not None and not is_loopback(host):
        findings.append(
            finding(
                "GS202",
                f"registry.insecure: true pushes to {host} (and sends its credentials) over plain HTTP",
                file, _key_line(root, "registry", "insecure"),
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
                file, _key_line(root, "app", "security"),
            )
        )
    return findings, config
