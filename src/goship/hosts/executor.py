"""Run argv lists on a Docker host: this machine, or one reached over SSH.

This is the only place goship starts processes on hosts. Commands arrive
as data (tuples of strings, built by pure planners) and are quoted only
here, at the SSH boundary. Failures are sorted into goship errors by what
ssh and docker print, so the CLI can say which of "the host is down", "its
key changed" and "docker is not running there" happened.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from goship.errors import (
    EngineUnreachable,
    HostError,
    HostKeyError,
    HostUnreachable,
    ToolError,
)

_ENGINE_DOWN_MARKERS = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "docker daemon is not running",
    "Is the docker daemon running",
    "dial unix",
    "open //./pipe/docker_engine",
)


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ProbeResult:
    """One HTTP probe: a status code, or the error that prevented one."""

    status: int | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    def describe(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")
        return f"{what} after {self.seconds * 1000:.0f} ms"


class Executor(Protocol):
    """Runs commands on one Docker host."""

    name: str

    def run(
        self,
        argv: tuple[str, ...],
        *,
        input: bytes | None = None,
        timeout: float | None = 300,
        check: bool = True,
    ) -> Result: ...

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        """GET http://host:port/path as seen from the Docker host itself."""
        ...

    def popen(self, argv: tuple[str, ...], *, tty: bool = False, capture: bool = True) -> subprocess.Popen[bytes]:
        """Start a long-running command (logs -f, exec); the caller waits for it."""
        ...

    def close(self) -> None: ...


def parse_status_line(response: bytes) -> int | None:
    """``HTTP/1.1 200 OK`` -> 200; None when the bytes are not an HTTP response."""
    first = response.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    parts = first.split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def http_request_bytes(host: str, port: int, path: str, host_header: str | None = None) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host_header or f'{host}:{port}'}\r\nUser-Agent: goship-probe\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")


def _classify(host: str, result: Result, via_ssh: bool) -> HostError:
    """Turn a failed command into the goship error that explains it."""
    stderr = result.stderr.strip()
    last = stderr.splitlines()[-1] if stderr else f"exit code {result.returncode}"
    kwargs = dict(host=host, argv=result.argv, returncode=result.returncode, stderr=stderr)
    if via_ssh and result.returncode == 255:
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or "Host key for" in stderr:
            return HostKeyError(
                f"{host}: SSH host key differs from known_hosts; refusing to connect",
                hint="if the host was rebuilt, verify its new key, then update known_hosts "
                f"(ssh-keygen -R {host.split('@')[-1]})",
                **kwargs,
            )
        if "Host key verification failed" in stderr or "host key is known" in stderr:
            return HostKeyError(
                f"{host}: SSH host key is not in known_hosts; refusing to connect",
                hint=f"verify the key, then add it: ssh-keyscan {host.split('@')[-1]} >> ~/.ssh/known_hosts",
                **kwargs,
            )
        if "Permission denied" in stderr:
            return HostUnreachable(
                f"{host}: SSH login refused ({last})",
                hint="check the user, ssh.identity_file and the host's authorized_keys",
                **kwargs,
            )
        return HostUnreachable(
            f"{host}: cannot connect over SSH: {last}",
            hint="check the address, the port and that sshd runs there",
            **kwargs,
        )
    if any(marker in stderr for marker in _ENGINE_DOWN_MARKERS):
        return EngineUnreachable(
            f"{host}: no Docker engine answers: {last}",
            hint="start Docker (Docker Desktop, or 'sudo systemctl start docker'), "
            "or point DOCKER_HOST at a running engine",
            **kwargs,
        )
    if result.returncode == 127 and "docker" in stderr:
        return ToolError(f"{host}: the docker command is not installed there", hint="install Docker on the host")
    command = " ".join(result.argv[:3])
    return HostError(f"{host}: '{command} ...' failed: {last}", **kwargs)


class LocalExecutor:
    """Runs commands on this machine (the local Docker engine)."""

    name = "local"

    def run(
        self,
        argv: tuple[str, ...],
        *,
        input: bytes | None = None,
        timeout: float | None = 300,
        check: bool = True,
    ) -> Result:
        program = shutil.which(argv[0])
        if program is None:
            raise ToolError(
                f"'{argv[0]}' is not installed or not on PATH",
                hint="install Docker (Docker Desktop on Windows and macOS, docker.io on Linux)"
                if argv[0] == "docker"
                else None,
            )
        result = _run_process((program, *argv[1:]), argv, input, timeout, self.name)
        if check and result.returncode != 0:
            raise _classify(self.name, result, via_ssh=False)
        return result

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        start = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                sock.sendall(http_request_bytes(host, port, path, host_header))
                data = _recv_head(sock)
        except OSError as exc:
            return ProbeResult(None, exc.strerror or type(exc).__name__, time.monotonic() - start)
        status = parse_status_line(data)
        error = None if status is not None else "connection closed without an HTTP answer"
        return ProbeResult(status, error, time.monotonic() - start)

    def popen(self, argv: tuple[str, ...], *, tty: bool = False, capture: bool = True) -> subprocess.Popen[bytes]:
        program = shutil.which(argv[0])
        if program is None:
            raise ToolError(f"'{argv[0]}' is not installed or not on PATH")
        pipe = subprocess.PIPE if capture else None
        return subprocess.Popen((program, *argv[1:]), stdout=pipe, stderr=subprocess.STDOUT if capture else None)

    def close(self) -> None:
        pass


def _recv_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data and len(data) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _run_process(
    real_argv: tuple[str, ...],
    shown_argv: tuple[str, ...],
    input: bytes | None,
    timeout: float | None,
    host: str,
) -> Result:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            real_argv,
            input=input if input is not None else b"",
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise HostError(
            f"{host}: '{' '.join(shown_argv[:3])} ...' did not finish within {timeout:.0f}s",
            host=host,
            argv=shown_argv,
        ) from None
    except OSError as exc:
        raise ToolError(f"cannot run {real_argv[0]}: {exc.strerror}") from None
    return Result(
        argv=shown_argv,
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr.decode("utf-8", errors="replace"),
        seconds=time.monotonic() - start,
    )


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
        return f"{who}{self.host}{port}"


def parse_host(spec: str) -> tuple[str | None, str, int | None]:
    """``root@10.0.0.2:2222`` -> ("root", "10.0.0.2", 2222); IPv6 as ``[::1]:22``."""
    user, _, rest = spec.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"invalid port in {spec!r}")
        port = int(port_text)
    else:
        host = rest
    if not host:
        raise ValueError(f"no host name in {spec!r}")
    return (user or None), host, port


def ssh_base_argv(target: SSHTarget, control_path: str | None) -> list[str]:
    """The ssh options goship always uses: strict host keys, no prompts."""
    argv = ["ssh"]
    if target.config_file:
        argv += ["-F", str(target.config_file)]
    argv += [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={max(1, int(target.connect_timeout))}",
        "-o", "ServerAliveInterval=15",
    ]  # fmt: skip
    if target.known_hosts_file:
        argv += ["-o", f"UserKnownHostsFile={target.known_hosts_file}"]
    if target.identity_file:
        argv += ["-i", str(target.identity_file), "-o", "IdentitiesOnly=yes"]
    if target.port:
        argv += ["-p", str(target.port)]
    if target.user:
        argv += ["-l", target.user]
    if control_path:
        argv += [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control_path}",
            "-o", "ControlPersist=30",
        ]  # fmt: skip
    return argv


def remote_command(argv: tuple[str, ...], shell: str = "sh") -> str:
    """Quote argv for the login shell on the host.

    Windows hosts get a PowerShell script passed as -EncodedCommand (base64
    of UTF-16LE): it survives whatever OpenSSH's DefaultShell is (cmd or
    PowerShell) with no second layer of quoting.
    """
    if shell == "powershell":
        script = powershell_script(argv)
        encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
        return f"powershell -NoProfile -NonInteractive -EncodedCommand {encoded}"
    return shlex.join(argv)


def powershell_quote(arg: str) -> str:
    return "'" + arg.replace("'", "''") + "'"


def powershell_script(argv: tuple[str, ...]) -> str:
    """The PowerShell that runs argv and exits with its exit code.

    Windows has no /dev/stdin, so an ``--env-file /dev/stdin`` (secrets sent
    on stdin) becomes a private temporary file, deleted right after.
    """
    if "/dev/stdin" in argv:
        call = "& " + " ".join("$goshipEnv" if a == "/dev/stdin" else powershell_quote(a) for a in argv)
        return (
            "$goshipEnv = New-TemporaryFile; "
            "try { [Console]::In.ReadToEnd() | Set-Content -NoNewline -Path $goshipEnv; "
            f"{call}; $code = $LASTEXITCODE }} finally {{ Remove-Item -Force $goshipEnv }}; exit $code"
        )
    return "& " + " ".join(powershell_quote(a) for a in argv) + "; exit $LASTEXITCODE"


@dataclass
class SSHExecutor:
    """Runs commands on a host over OpenSSH, with host keys verified.

    The system ``ssh`` is used (not a Python SSH library) so that the user's
    ssh_config, agent, ProxyJump and hardware keys work as they do in a
    terminal. On POSIX one multiplexed connection serves every command of a
    run; Windows' OpenSSH has no ControlMaster, so each command connects.
    """

    target: SSHTarget
    shell: str = "sh"
    _control_dir: str | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.target.label

    def _control_path(self) -> str | None:
        if os.name == "nt":
            return None
        if self._control_dir is None:
            self._control_dir = tempfile.mkdtemp(prefix="goship-ssh-")
        return str(Path(self._control_dir) / "%C")

    def _ssh(self) -> list[str]:
        if shutil.which("ssh") is None:
            raise ToolError(
                "the OpenSSH client 'ssh' is not installed or not on PATH",
                hint="install OpenSSH (Windows: Settings > Optional features > OpenSSH Client)",
            )
        return ssh_base_argv(self.target, self._control_path())

    def run(
        self,
        argv: tuple[str, ...],
        *,
        input: bytes | None = None,
        timeout: float | None = 300,
        check: bool = True,
    ) -> Result:
        real = (*self._ssh(), "--", self.target.host, remote_command(argv, self.shell))
        result = _run_process(tuple(real), argv, input, timeout, self.name)
        if result.returncode == 255 or (check and result.returncode != 0):
            raise _classify(self.name, result, via_ssh=True)
        return result

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        # ssh -W forwards stdin/stdout to host:port as seen from the server,
        # so the probe needs nothing installed on the host but sshd.
        real = (*self._ssh(), "-W", f"{host}:{port}", "--", self.target.host)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                real, input=http_request_bytes(host, port, path, host_header), capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return ProbeResult(None, f"no answer within {timeout:.0f}s", time.monotonic() - start)
        elapsed = time.monotonic() - start
        status = parse_status_line(proc.stdout)
        if status is not None:
            return ProbeResult(status, None, elapsed)
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode == 255 and "channel" not in stderr and "open failed" not in stderr:
            raise _classify(
                self.name, Result(real, 255, b"", stderr, elapsed), via_ssh=True
            )
        reason = "connection refused" if "open failed" in stderr or "refused" in stderr else (
            stderr.strip().splitlines()[-1] if stderr.strip() else "connection closed without an HTTP answer"
        )
        return ProbeResult(None, reason, elapsed)

    def popen(self, argv: tuple[str, ...], *, tty: bool = False, capture: bool = True) -> subprocess.Popen[bytes]:
        real = (*self._ssh(), *(["-t"] if tty else []), "--", self.target.host, remote_command(argv, self.shell))
        pipe = subprocess.PIPE if capture else None
        return subprocess.Popen(real, stdout=pipe, stderr=subprocess.STDOUT if capture else None)

    def close(self) -> None:
        if self._control_dir is None:
            return
        control = self._control_path()
        if control and shutil.which("ssh"):
            subprocess.run(
                [*ssh_base_argv(self.target, control), "-O", "exit", self.target.host],
                capture_output=True,
                timeout=10,
            )
        shutil.rmtree(self._control_dir, ignore_errors=True)
        self._control_dir = None
