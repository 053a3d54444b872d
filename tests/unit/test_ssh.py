"""The SSH side: host specs, ssh argv, quoting, and sorting ssh's failures by cause."""

import base64
import os
from pathlib import Path

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
    monkeypatch.setattr(process, "run", lambda argv, **kwargs: process.Completed(tuple(argv), 255, b"", b"", 0.0))
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


# --- the control socket follows every known_hosts file ssh reads ---------------------------------------


def _home_with_key(tmp_path, key: str):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "known_hosts").write_text(f"h ssh-ed25519 {key}\n")
    return home


def test_a_changed_key_in_the_default_known_hosts_means_another_control_socket(tmp_path):
    from goship.hosts.ssh import known_hosts_files

    home = _home_with_key(tmp_path, "AAAA1")
    target = SSHTarget("h", user="root")  # no known_hosts file configured: ssh reads ~/.ssh/known_hosts
    files = known_hosts_files(target, None, home)
    assert files[:2] == [home / ".ssh" / "known_hosts", home / ".ssh" / "known_hosts2"]
    assert files[2:] == [Path("/etc/ssh/ssh_known_hosts"), Path("/etc/ssh/ssh_known_hosts2")]
    one = control_name(target, files)
    assert one == control_name(target, known_hosts_files(target, None, home))
    _home_with_key(tmp_path, "AAAA2")  # the host was rebuilt and the user took its new key
    two = control_name(target, known_hosts_files(target, None, home))
    assert two != one
    (home / ".ssh" / "known_hosts2").write_text("h ssh-ed25519 AAAA3\n")  # a file that was not there counts too
    assert control_name(target, known_hosts_files(target, None, home)) not in (one, two)


def test_the_known_hosts_files_are_those_ssh_config_gives_the_host(tmp_path):
    from goship.hosts.ssh import known_hosts_files

    resolved = (
        "user root\nhashknownhosts yes\n"
        "globalknownhostsfile /etc/team/known_hosts\n"
        f"userknownhostsfile {tmp_path}/a {tmp_path}/b\n"
    )
    target = SSHTarget("h")
    assert known_hosts_files(target, resolved, tmp_path / "home") == [
        tmp_path / "a", tmp_path / "b", Path(f"{tmp_path}/a {tmp_path}/b"), Path("/etc/team/known_hosts"),
    ]
    # goship.yaml's ssh.known_hosts_file is given to ssh on its command line, which wins over ssh_config.
    explicit = SSHTarget("h", known_hosts_file=tmp_path / "kh")
    assert known_hosts_files(explicit, resolved, tmp_path)[0] == tmp_path / "kh"
    # A path with a space is printed unquoted by ssh -G: it counts whole as well as split.
    spaced = known_hosts_files(target, f"userknownhostsfile {tmp_path}/my keys\n", tmp_path)
    assert tmp_path / "my keys" in spaced
    assert known_hosts_files(target, "globalknownhostsfile none\nuserknownhostsfile %d/kh\n", tmp_path) == [tmp_path / "kh"]


def test_a_connection_names_its_socket_after_the_files_ssh_G_resolves(tmp_path, monkeypatch):
    from goship import process
    from goship.hosts import ssh
    from goship.hosts.ssh import SSHConnection

    home = _home_with_key(tmp_path, "AAAA1")
    ran: list[tuple[str, ...]] = []

    def fake_run(argv, **kwargs):
        ran.append(tuple(argv))
        text = f"userknownhostsfile {home}/.ssh/known_hosts\nglobalknownhostsfile {tmp_path}/global\n"
        return process.Completed(tuple(argv), 0, text.encode(), b"", 0.01)

    monkeypatch.setattr(process, "run", fake_run)
    monkeypatch.setattr(process, "find_program", lambda name: "/usr/bin/ssh")
    target = SSHTarget("web1", user="deploy", port=2222, config_file=tmp_path / "ssh_config")

    def socket() -> str | None:
        """The ControlPath a new connection (a new goship command) gives ssh."""
        argv = SSHConnection(target).ssh_argv("--", "web1", "docker system dial-stdio")
        return next((a.split("=", 1)[1] for a in argv if a.startswith("ControlPath=")), None)

    first = socket()
    assert ran == [("/usr/bin/ssh", *ssh_base_argv(target, None)[1:], "-G", "--", "web1")]
    assert first is not None and first == socket()
    _home_with_key(tmp_path, "AAAA2")
    second = socket()
    assert second != first
    (tmp_path / "global").write_text("web1 ssh-ed25519 AAAA9\n")  # the system-wide file ssh_config names
    assert socket() not in (first, second)
    # Without multiplexing (Windows' OpenSSH has none) there is no socket to name, and ssh -G is not run.
    ran.clear()
    monkeypatch.setattr(ssh, "control_base", lambda: None)
    assert socket() is None and ran == []
