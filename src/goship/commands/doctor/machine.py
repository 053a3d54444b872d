"""Everything ``goship doctor`` reads about the computer, behind one seam.

The checks never touch the OS: they ask a ``Machine``. ``RealMachine`` is
the only implementation with I/O; ``FakeMachine`` (``goship.testing.machine``)
is built from dicts so a test can describe a WSL2 laptop, a Windows desktop or
a Linux server without being one (paths are plain strings because a simulated
Windows machine's ``C:\\Users\\me`` must survive a test run on Linux).
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

import httpx

from goship import process
from goship.errors import GoshipError, ProcessError, RegistryError
from goship.hosts import HostConnection, connect_local, connect_ssh
from goship.hosts.ssh import SSHTarget
from goship.registry import credentials


@dataclass(frozen=True)
class CommandResult:
    """What a program did: exit code (124 = timed out, 126 = cannot run, 127 = not found) and output."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class HttpDate:
    """The ``Date`` a server answered with, or why there is none."""

    date: datetime | None
    error: str | None = None


class Machine(Protocol):
    """The inputs of every check. Paths are strings in the machine's own syntax."""

    #: "linux", "windows" or "darwin" (WSL is "linux"; the checks detect it).
    platform: str
    env: Mapping[str, str]
    home: str

    def read_text(self, path: str) -> str | None:
        """The file's text (BOMs and UTF-16 decoded, see decode_text); None when missing or unreadable."""
        ...

    def list_dir(self, path: str) -> list[str] | None:
        """Names in a directory; None when it cannot be listed."""
        ...

    def which(self, program: str) -> str | None: ...

    def which_all(self, program: str) -> list[str]:
        """Every copy of program on PATH, in PATH order (the first is ``which``'s)."""
        ...

    def run(self, argv: tuple[str, ...], timeout: float = 15) -> CommandResult: ...

    def disk_free(self, path: str) -> int | None:
        """Bytes free for an unprivileged user on the file system holding path."""
        ...

    def now(self) -> datetime:
        """The local clock, timezone-aware UTC."""
        ...

    def http_date(self, url: str, *, ca_file: str | None = None) -> HttpDate:
        """GET url and return the server's ``Date`` header (any status will do).

        The caller picks the scheme (http:// for an insecure registry); TLS is
        verified against ca_file when given, else the system's CAs.
        """
        ...

    def registry_username(self, registry: str, username: str | None) -> str | None:
        """The user whose credentials goship would send to registry; None when none.

        Only the name ever leaves this method: the secret stays inside.
        Raises RegistryError when the lookup itself is broken (a missing helper).
        """
        ...

    def engine_version(self) -> str:
        """The local engine's version, asked through the Engine API the way goship
        reaches it (no docker CLI involved). Raises the engine client's errors."""
        ...

    def probe_pull(self, target: SSHTarget, shell: str, ref: str, auth: str | None) -> str | None:
        """Whether the host's engine can pull from ``ref``'s repository: None, or why not."""
        ...

    def probe_host(self, target: SSHTarget, shell: str) -> str:
        """Log in over SSH and return the host's Docker server version.

        Raises the executor's errors (HostUnreachable, HostKeyError,
        EngineUnreachable, ToolError, HostError), which carry the fix.
        """
        ...


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16LE: its BOM starts the same way
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes) -> str:
    """A text file's bytes as text, whatever Windows tool wrote it.

    Notepad's "Unicode" and PowerShell 5's ``Out-File``/``>`` write UTF-16LE
    with a BOM; read as UTF-8 such a file is NUL-riddled noise that parses as
    empty. A BOM picks the encoding; without one, UTF-16 is recognised by its
    NUL bytes (ASCII text in UTF-16 has one in every other byte); else UTF-8.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    if len(data) >= 2 and b"\x00" in data:
        even, odd = data[0::2].count(0), data[1::2].count(0)
        if odd > len(data) // 4 and even == 0:
            return data.decode("utf-16-le", errors="replace")
        if even > len(data) // 4 and odd == 0:
            return data.decode("utf-16-be", errors="replace")
    return data.decode("utf-8", errors="replace")


def _platform_name() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


class RealMachine:
    """This computer."""

    def __init__(self) -> None:
        self.platform = _platform_name()
        self.env: Mapping[str, str] = dict(os.environ)
        self.home = str(Path.home())

    def read_text(self, path: str) -> str | None:
        try:
            return decode_text(Path(path).read_bytes())
        except OSError:
            return None

    def list_dir(self, path: str) -> list[str] | None:
        try:
            return sorted(entry.name for entry in Path(path).iterdir())
        except OSError:
            return None

    def which(self, program: str) -> str | None:
        # As goship runs it: on PATH, else beside the Python running goship.
        return process.find_program(program)

    def which_all(self, program: str) -> list[str]:
        found: list[str] = []
        seen: set[str] = set()
        for directory in self.env.get("PATH", "").split(os.pathsep):
            path = shutil.which(program, path=directory) if directory else None
            if path and os.path.realpath(path) not in seen:  # /bin and /usr/bin are often one directory
                seen.add(os.path.realpath(path))
                found.append(path)
        return found

    def run(self, argv: tuple[str, ...], timeout: float = 15) -> CommandResult:
        try:
            done = process.run(argv, timeout=timeout, check=False)
        except ProcessError as exc:
            if exc.timed_out:
                return CommandResult(124, "", f"no answer within {timeout:.0f}s")
            if process.find_program(argv[0]) is not None:  # there, but it cannot be run (permissions, format)
                return CommandResult(126, "", exc.message)
            return CommandResult(127, "", f"{argv[0]}: command not found")
        return CommandResult(done.returncode, done.text, done.err)

    def disk_free(self, path: str) -> int | None:
        try:
            return shutil.disk_usage(path).free
        except OSError:
            return None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def http_date(self, url: str, *, ca_file: str | None = None) -> HttpDate:
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                return HttpDate(None, f"cannot load registry.ca_file {ca_file}: {exc}")
        try:
            # No redirects: the registry's own clock is the one that signs tokens.
            response = httpx.get(url, verify=verify, timeout=5.0, follow_redirects=False)
        except httpx.HTTPError as exc:
            return HttpDate(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        header = response.headers.get("date")
        if not header:
            return HttpDate(None, f"{url} answered HTTP {response.status_code} without a Date header")
        try:
            return HttpDate(parsedate_to_datetime(header))
        except (TypeError, ValueError):
            return HttpDate(None, f"{url} sent an unreadable Date header: {header!r}")

    def registry_username(self, registry: str, username: str | None) -> str | None:
        try:
            found = credentials.lookup(registry, username)
        except GoshipError:
            raise
        except (OSError, ValueError) as exc:
            # A broken credential helper or config file: say so, never crash.
            raise RegistryError(f"cannot look up credentials for {registry}: {exc}") from None
        return found.username if found else None

    def engine_version(self) -> str:
        with closing(connect_local(self.env)) as connection:
            return _server_version(connection)

    def probe_pull(self, target: SSHTarget, shell: str, ref: str, auth: str | None) -> str | None:
        with closing(connect_ssh(target, shell)) as connection:
            return connection.engine.can_pull(ref, auth)

    def probe_host(self, target: SSHTarget, shell: str) -> str:
        with closing(connect_ssh(target, shell)) as connection:
            return _server_version(connection)


def _server_version(connection: HostConnection) -> str:
    """The Docker server version the connection's engine reports ("" when it says none)."""
    return str(connection.engine.version().get("Version", ""))
