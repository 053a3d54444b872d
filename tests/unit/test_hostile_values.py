"""Hostile values in goship.yaml: refused at their line, or carried to their destination byte for byte.

Every value that reaches a host (the Engine API, ssh's argv, PowerShell),
the proxy's Caddyfile or an HTTP request line is either checked when the
file loads or passed in a way that nothing interprets.
"""

from __future__ import annotations

import base64

import pytest

from goship.config import parse_config
from goship.deploy.routes import Wanted, render, route_for
from goship.deploy.specs import AppContainer, app_container
from goship.engine.api import container_body
from goship.errors import ConfigError
from goship.hosts.probe import http_request_bytes
from goship.hosts.ssh import SSHTarget, remote_command, ssh_base_argv

HOSTILE = [
    "it's",
    'say "hi"',
    "\u2018curly\u2019 \u201asingle\u201b",
    "\u201ccurly double\u201d",
    "$(id)",
    "`id`",
    "a; rm -rf /",
    "line\nbreak",
    "{braces}",
    "# not a comment",
    "$HOME ${PATH} %PATH%",
]


def _yaml(value: str) -> str:
    """A YAML double-quoted scalar holding exactly ``value`` (``$$`` is a literal ``$`` to goship)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "$$")
    return '"' + escaped + '"'


# Where a value may only be a name, a path or a host: refused, with its line.
REFUSED = [
    ("service: {v}\n", "service"),
    ("app:\n  env:\n    {v}: x\n", "app.env"),
    ("app:\n  secrets: [{v}]\n", "app.secrets"),
    ("health:\n  path: {v}\n", "health.path"),
    ("proxy:\n  domains: [{v}]\n", "proxy.domains"),
    ("proxy:\n  path_prefix: {v}\n", "proxy.path_prefix"),
    ("proxy:\n  image: {v}\n", "proxy.image"),
    ("targets:\n  production:\n    hosts: [{v}]\n", "targets.production.hosts"),
    ("ssh:\n  user: {v}\n", "ssh.user"),
    ("app:\n  security:\n    user: {v}\n    reason: test\n", "app.security.user"),
    ("app:\n  security:\n    cap_add: [{v}]\n    reason: test\n", "app.security.cap_add"),
    ("build:\n  args:\n    {v}: x\n", "build.args"),
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(("template", "key"), REFUSED, ids=[key for _, key in REFUSED])
def test_hostile_values_are_refused_at_their_line(template, key, value):
    text = template.format(v=_yaml(value))
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    assert refused.value.line is not None and refused.value.key and refused.value.key.startswith(key.split(".")[0])


@pytest.mark.parametrize("value", HOSTILE)
def test_env_values_reach_the_container_byte_for_byte(value):
    config = parse_config(f"app:\n  env:\n    GREETING: {_yaml(value)}\n")
    assert config.app.env["GREETING"] == value
    body = container_body(app_container(AppContainer("a", "i", "s", "v", 8080, env=config.app.env, secrets={"TOKEN": value})))
    assert f"GREETING={value}" in body["Env"] and f"TOKEN={value}" in body["Env"]


@pytest.mark.parametrize("value", HOSTILE)
def test_paths_and_commands_reach_ssh_and_powershell_as_one_literal_argument(value):
    if "\n" in value or '"' in value:
        with pytest.raises(ConfigError, match="ssh.known_hosts_file: .*a path may not hold quotes or line breaks"):
            parse_config(f"ssh:\n  known_hosts_file: {_yaml(value)}\n")
    else:
        argv = ssh_base_argv(SSHTarget("h", identity_file=value), None)  # type: ignore[arg-type]
        assert argv[argv.index("-i") + 1] == value  # its own argv element: no shell, no splitting
    command = remote_command(("docker", "exec", "-it", "c", value), shell="powershell")
    script = base64.b64decode(command.split()[-1]).decode("utf-16-le")
    quoted = "'" + "".join(c * 2 if c in "'\u2018\u2019\u201a\u201b" else c for c in value) + "'"
    assert f"'c' {quoted}; exit" in script


def test_nothing_a_user_writes_reaches_the_caddyfile_unchecked():
    # Domains and prefixes are refused above unless they are plain names; what is left renders as written.
    route = route_for("shop", "shop-1", 8080, Wanted(domains=("shop.example.com",), path_prefix="/api/v2"), [])
    text = render([route])
    assert "shop.example.com {" in text and "path /api/v2 /api/v2/*" in text


def test_a_probe_request_line_cannot_be_split():
    sent = []
    for value in HOSTILE:
        path = "/" + value
        try:
            config = parse_config(f"health:\n  path: {_yaml(path)}\n")
        except ConfigError as refused:  # spaces, quotes, '#', line breaks: refused
            assert refused.key == "health.path" and "is not a URL path" in refused.problem, refused
            continue
        request_line = http_request_bytes("127.0.0.1", 8080, config.health.path).split(b"\r\n", 1)[0]
        assert request_line == f"GET {path} HTTP/1.1".encode()  # e.g. /it's: a legal path, one token
        sent.append(path)
    assert "/it's" in sent  # not everything is refused: legal paths reach the request line
