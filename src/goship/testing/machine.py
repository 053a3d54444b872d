"""``FakeMachine``: a described machine for ``goship doctor``'s checks.

The fake of the ``Machine`` seam (``goship.commands.doctor.machine``): every
answer comes from a dict, so a test can describe a WSL2 laptop, a Windows
desktop or a Linux server without being one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from goship.commands.doctor.machine import CommandResult, HttpDate, decode_text
from goship.errors import GoshipError
from goship.hosts.ssh import SSHTarget


@dataclass
class FakeMachine:
    """A described machine for tests: every answer comes from a dict.

    ``commands`` maps an argv tuple to its CommandResult; a program not in
    ``programs`` answers 127 like a shell would, and an unscripted command of
    a known program is a test mistake (LookupError).
    """

    platform: str = "linux"
    env: dict[str, str] = field(default_factory=dict)
    home: str = "/home/me"
    #: path -> text, or the raw bytes (a UTF-16 file with its BOM) read_text decodes.
    files: dict[str, str | bytes] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)
    #: Programs found only beside goship's Python (a virtual environment's scripts folder), not on PATH.
    beside: dict[str, str] = field(default_factory=dict)
    #: Further copies of a program later on PATH (``programs`` holds the first).
    more_on_path: dict[str, list[str]] = field(default_factory=dict)
    commands: dict[tuple[str, ...], CommandResult] = field(default_factory=dict)
    #: Free bytes by path prefix; the longest matching prefix wins.
    disk: dict[str, int] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC))
    #: url -> the server's date, or an error text.
    dates: dict[str, datetime | str] = field(default_factory=dict)
    #: registry -> user name with stored credentials, or an error to raise.
    credentials: dict[str, str | GoshipError] = field(default_factory=dict)
    #: host label (user@host:port) -> Docker version, or the error SSH would give.
    hosts: dict[str, str | GoshipError] = field(default_factory=dict)
    #: host label -> why its engine cannot pull the image repository (missing: it can).
    pulls: dict[str, str] = field(default_factory=dict)
    #: What the local engine answers goship's own client: its version, or the error.
    engine: str | GoshipError | None = None
    ran: list[tuple[str, ...]] = field(default_factory=list)

    def read_text(self, path: str) -> str | None:
        content = self.files.get(path)
        return decode_text(content) if isinstance(content, bytes) else content

    def list_dir(self, path: str) -> list[str] | None:
        sep = "\\" if self.platform == "windows" else "/"
        prefix = path.rstrip(sep) + sep
        names = {f[len(prefix):].split(sep, 1)[0] for f in self.files if f.startswith(prefix)}
        return sorted(names) if names else None

    def which(self, program: str) -> str | None:
        return self.programs.get(program) or self.beside.get(program)

    def which_all(self, program: str) -> list[str]:
        first = self.programs.get(program)
        return [first, *self.more_on_path.get(program, [])] if first else []

    def run(self, argv: tuple[str, ...], timeout: float = 15) -> CommandResult:
        self.ran.append(argv)
        known = {*self.programs, *self.programs.values(), *self.beside, *self.beside.values(),
                 *(p for ps in self.more_on_path.values() for p in ps)}
        if argv[0] not in known:
            return CommandResult(127, "", f"{argv[0]}: command not found")
        if argv not in self.commands:
            raise LookupError(f"FakeMachine: no answer scripted for {argv}")
        return self.commands[argv]

    def disk_free(self, path: str) -> int | None:
        matches = [prefix for prefix in self.disk if path.startswith(prefix)]
        return self.disk[max(matches, key=len)] if matches else None

    def now(self) -> datetime:
        return self.clock

    def http_date(self, url: str, *, ca_file: str | None = None) -> HttpDate:
        answer = self.dates.get(url, f"cannot connect to {url}")
        return HttpDate(answer) if isinstance(answer, datetime) else HttpDate(None, answer)

    def registry_username(self, registry: str, username: str | None) -> str | None:
        found = self.credentials.get(registry)
        if isinstance(found, GoshipError):
            raise found
        return found

    def engine_version(self) -> str:
        if self.engine is None:
            raise LookupError("FakeMachine: no engine answer scripted")
        if isinstance(self.engine, GoshipError):
            raise self.engine
        return self.engine

    def probe_pull(self, target: SSHTarget, shell: str, ref: str, auth: str | None) -> str | None:
        return self.pulls.get(target.label)

    def probe_host(self, target: SSHTarget, shell: str) -> str:
        answer = self.hosts.get(target.label)
        if answer is None:
            raise LookupError(f"FakeMachine: no answer scripted for host {target.label}")
        if isinstance(answer, GoshipError):
            raise answer
        return answer
