"""The SSH side: host specs, ssh argv, quoting, and sorting ssh's failures by cause."""

import base64
import os

import pytest

from goship.config.values import parse_host
from goship.errors import EngineUnreachable, HostKeyError, HostUnreachable, ToolError
from goship.hosts.ssh import (
    SSHTarget,
    classify,
    control_base,
    control_dir,
    control_name,
    powershell_quote,
    probe_refused,
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


@pytest.mark.parametrize("spec", ["root@host:ssh", "host:0", "host:70000", "@", "a;b", "-oProxyCommand=x", "r$(id)@h", "[::1]x"])
def test_parse_host_refuses(spec):
    with pytest.raises(ValueError, match="invalid port|not a TCP port|no host name|not a host name|not a user name"):
        parse_host(spec)


def test_ssh_argv_is_strict_and_batch():
    argv = ssh_base_argv(SSHTarget("h", user="root", port=2222, identity_file="/k", known_hosts_file="/kh"), None)
    assert argv == [
        "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=5", "-o", "UserKnownHostsFile=/kh", "-i", "/k", "-o", "IdentitiesOnly=yes",
        "-p", "2222", "-l", "root",
    ]


def test_control_socket_fits_macos_limit_whatever_tmpdir(tmp_path):
    long = tmp_path / ("x" * (90 - len(str(tmp_path))))
    long.mkdir()
    base = control_base(str(long))
    assert base == "/tmp"
    target = SSHTarget("web1.example.com", user="deploy")
    path = f"{control_dir(base)}/{control_name(target)}"
    assert len(path) + 17 <= 104  # OpenSSH binds path + ".XXXXXXXXXXXXXXXX" first
    assert control_base("/tmp") == "/tmp"


def test_control_sockets_are_per_target_and_private(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("h ssh-ed25519 AAAA1\n")
    one = control_name(SSHTarget("h", user="root", known_hosts_file=known))
    assert one == control_name(SSHTarget("h", user="root", known_hosts_file=known))
    assert one != control_name(SSHTarget("h", user="root", known_hosts_file=tmp_path / "other"))
    known.write_text("h ssh-ed25519 AAAA2\n")  # a key changed: never reuse a connection verified with the old one
    assert one != control_name(SSHTarget("h", user="root", known_hosts_file=known))
    directory = control_dir(str(tmp_path))
    assert directory is not None and (os.stat(directory).st_mode & 0o777) == 0o700
    os.chmod(directory, 0o777)
    assert control_dir(str(tmp_path)) is None  # someone else could plant a socket there


def test_remote_command_quoting():
    assert remote_command(("docker", "run", "--env", "A=it's")) == "docker run --env 'A=it'\"'\"'s'"


def _decode(command):
    prefix = "powershell -NoProfile -NonInteractive -EncodedCommand "
    assert command.startswith(prefix)
    return base64.b64decode(command[len(prefix):]).decode("utf-16-le")


def test_powershell_rendering_for_windows_hosts():
    script = _decode(remote_command(("docker", "exec", "-it", "c", "A=it's $HOME"), shell="powershell"))
    assert script == "& 'docker' 'exec' '-it' 'c' 'A=it''s $HOME'; exit $LASTEXITCODE"


@pytest.mark.parametrize("quote", ["'", "\u2018", "\u2019", "\u201a", "\u201b"])
def test_powershell_quote_doubles_every_single_quote_character(quote):
    assert powershell_quote(f"a{quote}b") == f"'a{quote}{quote}b'"


def test_classify_ssh_failures():
    assert isinstance(classify("root@h", 255, "No ED25519 host key is known for h and you have requested strict checking.\nHost key verification failed."), HostKeyError)
    changed = classify("root@h", 255, "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.")
    assert isinstance(changed, HostKeyError) and "differs" in changed.message
    assert isinstance(classify("root@h", 255, "ssh: connect to host 127.0.0.1 port 1: Connection refused"), HostUnreachable)
    assert "login refused" in classify("root@h", 255, "root@h: Permission denied (publickey).").message


def test_classify_docker_failures():
    assert isinstance(classify("root@h", 1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"), EngineUnreachable)
    assert isinstance(classify("root@h", 127, "sh: 1: docker: not found"), ToolError)
    assert classify("root@h", 1, "something else") is None


@pytest.mark.parametrize(
    ("stderr", "refused"),
    [
        ("Stdio forwarding request failed: Session open refused by peer\r\n", True),  # through the multiplexer
        ("channel 0: open failed: connect failed: Connection refused\r\nstdio forwarding failed\r\n", True),
        ("ssh: connect to host 10.0.0.2 port 22: Connection refused\r\n", False),  # sshd itself is down
        ("Host key verification failed.\r\n", False),
    ],
)
def test_a_refused_probe_port_is_not_an_ssh_failure(stderr, refused):
    assert probe_refused(stderr) is refused


def test_ssh_is_looked_up_once_per_connection(monkeypatch):
    from goship import process
    from goship.hosts import HostConnection, connect_ssh
    from goship.hosts.ssh import SSHConnection

    found = []
    monkeypatch.setattr(process, "find_program", lambda name: found.append(name) or None)
    connection = SSHConnection(SSHTarget("h"))
    with pytest.raises(ToolError, match="'ssh' is not installed"):
        connection.ssh_argv()
    monkeypatch.setattr(process, "find_program", lambda name: found.append(name) or "/usr/bin/ssh")
    assert connection.ssh_argv("-W", "x:1")[0] == "/usr/bin/ssh"
    assert connection.ssh_argv()[1:] == ssh_base_argv(SSHTarget("h"), connection._control_path())[1:]
    assert found == ["ssh", "ssh"]
    host = connect_ssh(SSHTarget("h"), name="local")
    assert (host.name, host.engine.name) == ("local", "local") and host.ssh is host.prober
    assert HostConnection("x", host.engine, object()).ssh is None  # type: ignore[arg-type]
