"""Process helpers shared by the test-bed modules.

Why: every process the test-bed starts must be stoppable by its pid, and the
machine's pid 1 does not reap orphans, so a killed daemon can linger as a
zombie. ``alive`` therefore treats zombies as dead, and ``terminate`` checks a
process's command line before signalling it so that a recycled pid is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

POLL = 0.05
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def system_env() -> dict[str, str]:
    """os.environ with the sbin directories on PATH: ip, sshd, dockerd and the helpers dockerd
    looks up on PATH (docker-proxy, runc) live there, and a venv or CI PATH may lack them."""
    path = os.environ.get("PATH", "").split(os.pathsep)
    return {**os.environ, "PATH": os.pathsep.join([p for p in path if p] + [d for d in SYSTEM_PATH if d not in path])}


class TestbedError(RuntimeError):
    """A test-bed component could not be started; the message says which and why."""


def run(argv: Sequence[str], *, timeout: float = 60, check: bool = True,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a short command with a timeout and captured text output; raise with its stderr on failure."""
    result = subprocess.run(list(argv), capture_output=True, timeout=timeout, input=input, text=True,
                            stdin=None if input is not None else subprocess.DEVNULL, env=system_env())
    if check and result.returncode != 0:
        raise TestbedError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def ok(argv: Sequence[str], timeout: float = 10) -> bool:
    """True when the command exits 0 within the timeout (used for readiness probes)."""
    try:
        return subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout, env=system_env()).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def _reap(pid: int) -> None:
    """Collect the exit status if pid is our own child, so it does not stay a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int | None) -> bool:
    """True if pid runs and is not a zombie (orphans are never reaped on this machine)."""
    if not pid or pid <= 0:
        return False
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    """The process's command line joined by spaces ('' if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(path: Path) -> int | None:
    """The pid stored in a pid file, or None if the file is missing or garbage."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_until(predicate: Callable[[], bool], deadline_s: float, what: str,
               on_timeout: Callable[[], str] | None = None) -> float:
    """Poll predicate every 50 ms until true; return seconds waited or raise TestbedError."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > deadline_s:
            detail = on_timeout() if on_timeout else ""
            raise TestbedError(f"timed out after {deadline_s:.0f}s waiting for {what}{detail}")
        time.sleep(POLL)


def terminate(pid: int | None, marker: str | None = None, grace_s: float = 20) -> bool:
    """SIGTERM pid (only if its command line contains marker), SIGKILL after grace_s.

    Returns True if a process was signalled. Waits until it has exited.
    """
    if not alive(pid):
        return False
    assert pid is not None
    if marker is not None and marker not in cmdline(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    end = time.monotonic() + grace_s
    while alive(pid) and time.monotonic() < end:
        time.sleep(POLL)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 10
        while alive(pid) and time.monotonic() < end:
            time.sleep(POLL)
    return True


def own_lineage() -> set[int]:
    """This process and its ancestors: a sweep must never kill the process running it."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def kill_now(pids: Sequence[int]) -> None:
    """SIGKILL a set of pids at once (never ourselves or an ancestor) and wait briefly for them to go."""
    pids = [p for p in pids if p not in own_lineage()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(POLL)


def tail(path: Path, lines: int = 15) -> str:
    """Last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
