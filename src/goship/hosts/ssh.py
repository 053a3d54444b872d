"""Reaching a Docker host over OpenSSH: one engine stream, probes, shell commands.

The system ``ssh`` is used (not a Python SSH library) so that the user's
ssh_config, agent, ProxyJump and hardware keys work as in a terminal, with
host keys always verified (``StrictHostKeyChecking=yes``, no prompts).

* The Engine API runs over ``ssh HOST docker system dial-stdio``, which
  turns the SSH channel into the host engine's socket (the docker CLI and
  docker-py reach ``ssh://`` hosts the same way); one stream serves a whole
  command. Windows Server hosts answer it the same way.
* Health probes are ``ssh -W 127.0.0.1:PORT``: a TCP connection opened from
  the host itself, so nothing needs installing there.
* On POSIX all of these share one multiplexed connection (ControlMaster),
  kept for the next command; its socket is named after everything that
  decides how the host is verified, the contents of every known_hosts file
  included, so a changed key is never vouched for by an older connection.
  Windows' OpenSSH has none, so each stream connects (and verifies) on its own.

Failures are sorted by what ssh prints, so a user learns which of "the host
key changed", "the login was refused", "the host is down" and "docker is
not there" happened - and a refused probe port is never mistaken for any
of them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from goship import process
from goship.engine.streams import PipeStream, Stream
from goship.errors import (
    EngineUnreachable,
    GoshipError,
    HostKeyError,
    HostUnreachable,
    ProcessError,
    ToolError,
)
from goship.hosts.probe import ProbeResult, http_request_bytes, parse_body, parse_status_line

if sys.platform != "win32":
    import pwd

# OpenSSH binds the master socket at ControlPath plus ".XXXXXXXXXXXXXXXX" before
# renaming it; macOS allows 104 bytes for a unix socket path (Linux 108).
_SOCKET_LIMIT = 104
_BIND_SUFFIX = 17


@dataclass(frozen=True)
class SSHTarget:
    """How to reach one host: ``[user@]host[:port]`` plus the ssh options."""

    host: str
    user: str | None = None
    port: int | None = None
    identity_file: Path | None = None
    known_hosts_file: Path | None = None
    config_file: Path | None = None
    connect_timeout: float = 10.0

    @property
    def label(self) -> str:
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        host = f"[{self.host}]" if ":" in self.host and port else self.host
        return f"{who}{host}{port}"


def _option_value(value: str) -> str:
    """An ``-o Key=value`` value as ssh reads it: a path with spaces in double quotes
    (config values may not hold quotes or line breaks; the loader refuses those)."""
    return f'"{value}"' if any(c.isspace() for c in value) else value


def ssh_base_argv(target: SSHTarget, control_path: str | None) -> list[str]:
    """The ssh options goship always uses: strict host keys, no prompts."""
    argv = ["ssh"]
    if target.config_file:
        argv += ["-F", str(target.config_file)]
    argv += [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={max(1, int(target.connect_timeout))}",
        "-o", "ServerAliveInterval=5",
    ]  # fmt: skip
    if target.known_hosts_file:
        argv += ["-o", f"UserKnownHostsFile={_option_value(str(target.known_hosts_file))}"]
    if target.identity_file:
        argv += ["-i", str(target.identity_file), "-o", "IdentitiesOnly=yes"]
    if target.port:
        argv += ["-p", str(target.port)]
    if target.user:
        argv += ["-l", target.user]
    if control_path:
        argv += [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={_option_value(control_path)}",
            "-o", f"ControlPersist={CONTROL_PERSIST}",
        ]  # fmt: skip
    return argv


#: How long an idle SSH connection stays up for the next goship command
#: (Ansible's default too): a rollback right after a ship skips the handshake.
CONTROL_PERSIST = 60
_CONTROL_NAME = 16  # hex characters naming one target's socket


def control_base(tmpdir: str | None = None) -> str | None:
    """A directory short enough for SSH control sockets, or None (no multiplexing).

    ``$TMPDIR`` on macOS (``/var/folders/.../T/``) or a CI runner's temp
    folder can be too long for a socket path; then /tmp is used.
    """
    if os.name == "nt":
        return None
    # base + "/goship-<uid>" + "/" + name + OpenSSH's bind suffix must fit.
    budget = _SOCKET_LIMIT - _BIND_SUFFIX - len(f"/goship-{os.getuid()}/") - _CONTROL_NAME - 1
    for base in (tmpdir or tempfile.gettempdir(), "/tmp"):
        if len(base) <= budget and os.path.isdir(base) and os.access(base, os.W_OK):
            return base
    return None


def control_dir(base: str) -> str | None:
    """This user's private directory for control sockets (0700, owned by the user), or None."""
    directory = os.path.join(base, f"goship-{os.getuid()}")
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    info = os.lstat(directory)
    # Anyone who can write there could plant a socket that sees our traffic.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return directory


def _content(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.expanduser().read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"


#: The known_hosts files ssh reads when ssh_config names none (ssh_config(5)).
DEFAULT_USER_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
DEFAULT_GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")


def ssh_home() -> Path:
    """The directory ssh reads ``~`` as: the user's passwd entry (ssh ignores $HOME), else $HOME."""
    if sys.platform != "win32":  # Windows' OpenSSH gets no control socket, so this is never asked there
        try:
            return Path(pwd.getpwuid(os.getuid()).pw_dir)
        except KeyError:
            pass
    return Path.home()


def _expanded(path: str, home: Path) -> Path:
    if path == "~" or path.startswith("~/"):
        return home / path[2:]
    return Path(path.replace("%d", str(home)))


def known_hosts_files(target: SSHTarget, resolved: str | None, home: Path) -> list[Path]:
    """Every file ssh checks ``target``'s host key against.

    ``resolved``: what ``ssh -G`` printed for the target (the options as
    ssh_config resolves them for that host: ``userknownhostsfile`` and
    ``globalknownhostsfile``, already expanded), or None when it could not
    run: then ssh's defaults, under ``home``. ssh -G prints a path holding
    a space unquoted, so each line also counts as one whole path.
    """
    found = {"userknownhostsfile": list(DEFAULT_USER_KNOWN_HOSTS), "globalknownhostsfile": list(DEFAULT_GLOBAL_KNOWN_HOSTS)}
    for line in (resolved or "").splitlines():
        key, _, value = line.strip().partition(" ")
        if key.lower() in found and value.strip():
            parts = value.split()
            found[key.lower()] = parts + ([value.strip()] if len(parts) > 1 else [])
    user = [str(target.known_hosts_file)] if target.known_hosts_file else found["userknownhostsfile"]
    return [_expanded(path, home) for path in (*user, *found["globalknownhostsfile"]) if path != "none"]


def control_name(target: SSHTarget, known_hosts: list[Path] | None = None) -> str:
    """One socket per way of reaching a host. Another key, known_hosts or ssh_config file -
    or a change to their contents - is another connection, verified afresh.

    ``known_hosts``: every file ssh checks the host key against (``known_hosts_files``;
    default: ssh's defaults). A persisted master is never asked about host keys
    again, so a changed key in any of them (the user's ``~/.ssh/known_hosts``
    most of all) must lead to a new socket, hence a new, verified connection.
    """
    files = known_hosts if known_hosts is not None else known_hosts_files(target, None, ssh_home())
    key = repr((target.user, target.host, target.port, str(target.identity_file), str(target.known_hosts_file),
                _content(target.known_hosts_file), str(target.config_file), _content(target.config_file),
                [(str(path), _content(path)) for path in files]))
    return hashlib.sha256(key.encode()).hexdigest()[:_CONTROL_NAME]


_ENGINE_DOWN_MARKERS = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "docker daemon is not running",
    "Is the docker daemon running",
    "open //./pipe/docker_engine",
)
_NO_DOCKER_MARKERS = ("docker: command not found", "docker: not found", "is not recognized as", "No such file or directory")


def _last(stderr: str, fallback: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else fallback


def classify(label: str, returncode: int | None, stderr: str) -> GoshipError | None:
    """The goship error that explains why an ssh command ended, if it says so."""
    address = label.rsplit("@", maxsplit=1)[-1]
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or ("Host key for" in stderr and "has changed" in stderr):
        return HostKeyError(
            f"{label}: SSH host key differs from known_hosts; refusing to connect",
            hint="if the host was rebuilt, verify its new key, then update known_hosts "
            f"(ssh-keygen -R {address})",
            host=label, returncode=returncode, stderr=stderr,
        )
    if "Host key verification failed" in stderr or "No ED25519 host key is known" in stderr or "host key is known" in stderr:
        return HostKeyError(
            f"{label}: SSH host key is not in known_hosts; refusing to connect",
            hint=f"verify the key, then add it: ssh-keyscan {address} >> ~/.ssh/known_hosts",
            host=label, returncode=returncode, stderr=stderr,
        )
    if "Permission denied" in stderr and returncode == 255:
        return HostUnreachable(
            f"{label}: SSH login refused ({_last(stderr, 'permission denied')})",
            hint="check the user, ssh.identity_file and the host's authorized_keys",
            host=label, returncode=returncode, stderr=stderr,
        )
    if any(marker in stderr for marker in _ENGINE_DOWN_MARKERS):
        return EngineUnreachable(
            f"{label}: no Docker engine answers there: {_last(stderr, '')}",
            hint="start Docker on the host (sudo systemctl start docker)",
            host=label, returncode=returncode, stderr=stderr,
        )
    if returncode == 127 or (any(marker in stderr for marker in _NO_DOCKER_MARKERS) and "docker" in stderr):
        return ToolError(
            f"{label}: the docker command is not installed there", hint="install Docker on the host (it needs 18.09 or later)"
        )
    if returncode == 255:
        return HostUnreachable(
            f"{label}: cannot connect over SSH: {_last(stderr, 'exit code 255')}",
            hint="check the address, the port and that sshd runs there",
            host=label, returncode=returncode, stderr=stderr,
        )
    return None


def probe_refused(stderr: str) -> bool:
    """A forwarded probe connection that nothing accepted.

    ``channel 0: open failed: connect failed: Connection refused`` without
    a multiplexer; ``Stdio forwarding request failed: Session open refused
    by peer`` through one (the words OpenSSH's mux uses for the same thing).
    Neither is a failure of SSH itself.
    """
    return any(
        marker in stderr
        for marker in ("open failed", "forwarding request failed", "Session open refused", "stdio forwarding failed")
    )


def remote_command(argv: tuple[str, ...], shell: str = "sh") -> str:
    """Quote argv for the login shell on the host.

    Windows hosts get a PowerShell script passed as -EncodedCommand (base64
    of UTF-16LE): it survives whatever OpenSSH's DefaultShell is (cmd or
    PowerShell) with no second layer of quoting.
    """
    if shell == "powershell":
        script = "& " + " ".join(powershell_quote(a) for a in argv) + "; exit $LASTEXITCODE"
        encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
        return f"powershell -NoProfile -NonInteractive -EncodedCommand {encoded}"
    return shlex.join(argv)


# Every character PowerShell treats as a single quote: ' and U+2018-U+201B.
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def powershell_quote(arg: str) -> str:
    """A PowerShell single-quoted literal: each quote character doubled, nothing expanded."""
    return "'" + "".join(c + c if c in _PS_SINGLE_QUOTES else c for c in arg) + "'"


@dataclass
class SSHConnection:
    """Everything goship does on one SSH host during one command.

    ``open_stream`` gives the engine client its ``dial-stdio`` stream (called
    again only if the engine closed it); ``http_get`` probes; ``close``
    ends the multiplexer. Not thread-safe: one per host, used by one thread.
    """

    target: SSHTarget
    shell: str = "sh"
    _control: str | None = field(default=None, init=False, repr=False)
    _streams: list[process.Spawned] = field(default_factory=list, init=False, repr=False)
    _program: str | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.target.label

    def _control_path(self) -> str | None:
        if self._control is None:
            base = control_base()
            directory = control_dir(base) if base else None
            name = control_name(self.target, self._known_hosts()) if directory else ""
            self._control = os.path.join(directory, name) if directory else ""
        return self._control or None

    def _known_hosts(self) -> list[Path]:
        """The known_hosts files ssh_config gives this host, as ``ssh -G`` resolves them
        (a few milliseconds, no connection); ssh's defaults if it cannot say."""
        argv = [self._program or "ssh", *ssh_base_argv(self.target, None)[1:], "-G", "--", self.target.host]
        try:
            done = process.run(argv, timeout=10, check=False)
        except ProcessError:
            return known_hosts_files(self.target, None, ssh_home())
        return known_hosts_files(self.target, done.text if done.ok else None, ssh_home())

    def ssh_argv(self, *extra: str) -> list[str]:
        """ssh's argv, its first element the ``ssh`` found on PATH (looked up once per connection)."""
        if self._program is None:
            self._program = process.find_program("ssh")
            if self._program is None:
                raise ToolError(
                    "the OpenSSH client 'ssh' is not installed or not on PATH",
                    hint="install OpenSSH (Windows: Settings > Optional features > OpenSSH Client)",
                )
        _, *options = ssh_base_argv(self.target, self._control_path())
        return [self._program, *options, *extra]

    def open_stream(self) -> Stream:
        """A new ``docker system dial-stdio`` stream to the host's engine."""
        argv = self.ssh_argv("--", self.target.host, "docker system dial-stdio")
        try:
            spawned = process.spawn(argv)
        except ProcessError as exc:
            raise ToolError(f"cannot run ssh: {exc.message}") from None
        self._streams.append(spawned)
        assert spawned.stdout is not None and spawned.stdin is not None

        def diagnose() -> str | None:
            code = spawned.wait(timeout=5)
            stderr = spawned.stderr_text(wait=1)
            error = classify(self.name, code, stderr)
            if error is not None:
                raise error
            return _last(stderr, "") or (f"ssh exited with code {code}" if code is not None else None)

        return PipeStream(spawned.stdout, spawned.stdin, on_close=spawned.terminate, diagnose=diagnose)

    def interactive(self, argv: tuple[str, ...], tty: bool) -> int:
        """Run argv on the host attached to this terminal (``goship exec -i``); its exit code."""
        real = self.ssh_argv(*(["-t"] if tty else []), "--", self.target.host, remote_command(argv, self.shell))
        spawned = process.spawn(real, stdin=False, capture=False)
        return spawned.wait() or 0

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        start = time.monotonic()
        data, stderr, code = self._forward(host, port, http_request_bytes(host, port, path, host_header), timeout)
        elapsed = time.monotonic() - start
        if code is None:
            return ProbeResult(None, f"no answer within {timeout:g}s", elapsed)
        status = parse_status_line(data)
        if status is not None:
            return ProbeResult(status, None, elapsed)
        if probe_refused(stderr) or (not data and code == 0):
            return ProbeResult(None, "connection refused", elapsed, refused=True)
        error = classify(self.name, code, stderr)
        if error is not None:
            raise error
        return ProbeResult(None, _last(stderr, "connection closed without an HTTP answer"), elapsed, refused=not data)

    def tcp_connect(self, host: str, port: int, timeout: float = 5.0) -> ProbeResult:
        # Nothing sent: ssh -W connects, forwards our end-of-input, and ends.
        start = time.monotonic()
        _, stderr, code = self._forward(host, port, b"", timeout)
        elapsed = time.monotonic() - start
        if code is None:
            return ProbeResult(None, f"no answer within {timeout:g}s", elapsed)
        if probe_refused(stderr):
            return ProbeResult(None, "connection refused", elapsed, refused=True)
        error = classify(self.name, code, stderr) if code else None
        if error is not None:
            raise error
        return ProbeResult(None, None, elapsed, connected=True)

    def get_body(self, host: str, port: int, path: str, timeout: float = 5.0) -> bytes | None:
        data, _, _ = self._forward(host, port, http_request_bytes(host, port, path), timeout)
        return parse_body(data) if parse_status_line(data) == 200 else None

    def _forward(self, host: str, port: int, request: bytes, timeout: float) -> tuple[bytes, str, int | None]:
        # ssh -W forwards stdin/stdout to host:port as seen from the server.
        argv = self.ssh_argv("-W", f"{host}:{port}", "--", self.target.host)
        try:
            done = process.run(argv, input=request, timeout=timeout + 5, check=False)
        except ProcessError as exc:
            if exc.timed_out:
                return b"", "", None
            raise ToolError(f"cannot run ssh: {exc.message}") from None
        return done.stdout, done.err, done.returncode

    def close(self) -> None:
        """End this command's streams; the multiplexed connection itself ends
        after CONTROL_PERSIST idle seconds."""
        for spawned in self._streams:
            spawned.terminate(grace=2)
        self._streams.clear()
