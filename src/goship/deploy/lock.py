"""A deploy lock per service on each host, made of nothing but Docker.

The lock is a container that is created and never started: Docker refuses
a second container with the same name, which makes taking the lock atomic
on any host (Linux or Windows) without a shell or a lock file. Its labels
say who holds it, since when and why.

A lock whose holder ran on this machine and whose process is gone (a
deploy killed with kill -9) is stale and taken over; a lock from another
machine is only ever released explicitly (``goship lock release``).
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from dataclasses import dataclass

from goship.deploy.clock import REAL_CLOCK, Clock
from goship.deploy.specs import managed, marker_container
from goship.engine.api import ContainerSpec
from goship.engine.client import Engine
from goship.errors import DeployError, EngineConflict

LABEL_HOLDER = "goship.lock.holder"
LABEL_MACHINE = "goship.lock.machine"
LABEL_PID = "goship.lock.pid"
LABEL_SINCE = "goship.lock.since"
LABEL_MESSAGE = "goship.lock.message"


@dataclass(frozen=True)
class LockInfo:
    holder: str
    machine: str
    pid: int
    since: float
    message: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"{self.holder} on {self.machine} (pid {self.pid}) since {when}: {self.message}"


def lock_name(service: str) -> str:
    return f"goship-lock-{service}"


def me(message: str) -> LockInfo:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to fail a deploy
        user = "unknown"
    return LockInfo(user, socket.gethostname(), os.getpid(), time.time(), message)


def lock_container(service: str, image: str, info: LockInfo) -> ContainerSpec:
    labels = managed(
        "lock",
        service,
        **{
            LABEL_HOLDER: info.holder,
            LABEL_MACHINE: info.machine,
            LABEL_PID: str(info.pid),
            LABEL_SINCE: f"{info.since:.0f}",
            LABEL_MESSAGE: info.message,
        },
    )
    return marker_container(image, labels)


def parse_lock(labels: dict[str, str]) -> LockInfo:
    def number(key: str) -> float:
        try:
            return float(labels.get(key, "0") or 0)
        except ValueError:
            return 0.0

    return LockInfo(
        holder=labels.get(LABEL_HOLDER, "?"),
        machine=labels.get(LABEL_MACHINE, "?"),
        pid=int(number(LABEL_PID)),
        since=number(LABEL_SINCE),
        message=labels.get(LABEL_MESSAGE, ""),
    )


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (never signals it)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        import ctypes  # noqa: PLC0415 - Windows only

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(info: LockInfo) -> bool:
    return info.machine == socket.gethostname() and info.pid != os.getpid() and not pid_alive(info.pid)


def status(engine: Engine, service: str, *, named: bool = False) -> LockInfo | None:
    found = engine.inspect(service if named else lock_name(service))
    return parse_lock(found.labels) if found is not None else None


_QUICK_RETRIES = 5


def acquire(
    engine: Engine,
    service: str,
    image: str,
    message: str,
    *,
    wait: float = 0.0,
    named: bool = False,
    clock: Clock = REAL_CLOCK,
) -> LockInfo:
    """Take the lock of ``service`` (or, ``named``, the lock container of that name), or raise
    DeployError naming its holder. With ``wait``, a held lock is waited for that many seconds."""
    name = service if named else lock_name(service)
    what = service if not named else f"the proxy ({name})"
    info = me(message)
    deadline = clock.monotonic() + wait
    delay = 0.05
    attempt = 0
    while True:
        attempt += 1
        try:
            engine.create(name, lock_container(service, image, info))
            return info
        except EngineConflict:
            pass
        held = status(engine, name, named=True)
        retry = held is None  # released in between
        if held is not None and is_stale(held):
            engine.remove(name)
            retry = True
        # Try again at once - a few times, then as for a held lock, so an engine
        # that keeps answering "exists" cannot hold us here forever.
        if retry and attempt <= _QUICK_RETRIES:
            continue
        if clock.monotonic() >= deadline:
            holder = held.describe() if held is not None else "a lock container that comes and goes"
            raise DeployError(
                f"{engine.name}: {what} is locked by {holder}",
                hint="wait for that deploy to finish; if it crashed, run 'goship lock release' for this target",
            )
        clock.sleep(delay)
        delay = min(delay * 2, 0.5)


def release(engine: Engine, service: str, *, named: bool = False) -> None:
    engine.remove(service if named else lock_name(service))
