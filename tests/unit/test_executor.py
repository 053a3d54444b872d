"""The executor's pure parts: host specs, ssh argv, quoting, error sorting."""

import base64

import pytest

from goship.errors import EngineUnreachable, HostError, HostKeyError, HostUnreachable, ToolError
from goship.hosts.executor import (
    Result,
    SSHTarget,
    _classify,
    parse_host,
    parse_status_line,
    remote_command,
    ssh_base_argv,
)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("root@10.231.0.2", ("root", "10.231.0.2", None)),
        ("deploy@web1.example.com:2222", ("deploy", "web1.example.com", 2222)),
        ("web1", (None, "web1", None)),
        ("[::1]:2200", (None, "::1", 2200)),
    ],
)
def test_parse_host(spec, parsed):
    assert parse_host(spec) == parsed


def test_parse_host_rejects_bad_port():
    with pytest.raises(ValueError):
        parse_host("root@host:ssh")


def test_ssh_argv_is_strict_and_batch():
    argv = ssh_base_argv(
        SSHTarget("h", user="root", port=2222, identity_file="/k", known_hosts_file="/kh"), None
    )
    assert argv == [
        "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=15", "-o", "UserKnownHostsFile=/kh", "-i", "/k", "-o", "IdentitiesOnly=yes",
        "-p", "2222", "-l", "root",
    ]


def test_remote_command_quoting():
    assert remote_command(("docker", "run", "--env", "A=it's")) == "docker run --env 'A=it'\"'\"'s'"


def _decode(command):
    prefix = "powershell -NoProfile -NonInteractive -EncodedCommand "
    assert command.startswith(prefix)
    return base64.b64decode(command[len(prefix):]).decode("utf-16-le")


def test_powershell_rendering_for_windows_hosts():
    script = _decode(remote_command(("docker", "run", "--env", "A=it's $HOME", "img"), shell="powershell"))
    assert script == "& 'docker' 'run' '--env' 'A=it''s $HOME' 'img'; exit $LASTEXITCODE"


def test_powershell_secrets_go_through_a_temporary_file():
    script = _decode(remote_command(("docker", "run", "--env-file", "/dev/stdin", "img"), shell="powershell"))
    assert "$goshipEnv = New-TemporaryFile" in script
    assert "[Console]::In.ReadToEnd() | Set-Content -NoNewline -Path $goshipEnv" in script
    assert "& 'docker' 'run' '--env-file' $goshipEnv 'img'" in script
    assert "finally { Remove-Item -Force $goshipEnv }; exit $code" in script
    assert "/dev/stdin" not in script


def _fail(stderr, code=255, ssh=True):
    return _classify("root@h", Result(("docker", "ps"), code, b"", stderr, 0.1), via_ssh=ssh)


def test_classify_ssh_failures():
    assert isinstance(_fail("No ED25519 host key is known for h and you have requested strict checking.\nHost key verification failed."), HostKeyError)
    changed = _fail("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.")
    assert isinstance(changed, HostKeyError) and "differs" in changed.message
    assert isinstance(_fail("ssh: connect to host 127.0.0.1 port 1: Connection refused"), HostUnreachable)
    assert "login refused" in _fail("root@h: Permission denied (publickey).").message


def test_classify_docker_failures():
    assert isinstance(
        _fail("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", 1, ssh=False),
        EngineUnreachable,
    )
    assert isinstance(_fail("sh: 1: docker: not found", 127), ToolError)
    other = _fail("Error: No such container: x", 1)
    assert type(other) is HostError and "No such container" in other.message


def test_parse_status_line():
    assert parse_status_line(b"HTTP/1.1 503 Service Unavailable\r\n\r\n") == 503
    assert parse_status_line(b"garbage") is None
    assert parse_status_line(b"") is None
