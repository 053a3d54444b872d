"""Network-namespace plumbing for the SSH test hosts: namespaces, veth pairs, cgroups, cleanup.

Why a module of its own: namespaces, veth pairs and cgroup directories outlive
the processes that used them (a session's processes are ended before CI runs,
its namespaces are not), so every start first removes what an earlier run left
behind, and ``python -m testbed down`` reuses the same sweep.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ._proc import alive, kill_now, ok, run

CGROUP_ROOT = Path("/sys/fs/cgroup")


def netns_list() -> list[str]:
    """Names of the network namespaces ``ip netns`` knows about."""
    out = run(["ip", "netns", "list"], timeout=10, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def link_exists(name: str, netns: str | None = None) -> bool:
    return ok(["ip", *(["-n", netns] if netns else []), "link", "show", "dev", name], timeout=10)


def links_with_prefix(prefix: str) -> list[str]:
    """Host-side interface names starting with prefix (without the @peer suffix)."""
    out = run(["ip", "-o", "link", "show"], timeout=10).stdout
    names = [line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]
    return [n for n in names if n.startswith(prefix)]


def netns_pids(name: str) -> list[int]:
    """Processes whose network namespace is name (dockerd, containerd, shims, sshd and its sessions)."""
    if name not in netns_list():
        return []
    out = run(["ip", "netns", "pids", name], timeout=10, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit() and alive(int(p))]


def cgroup_mounts() -> list[tuple[str, Path, str]]:
    """(fstype, mountpoint, options) of the cgroup hierarchies mounted under /sys/fs/cgroup."""
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _dev, point, fstype, options = line.split()[:4]
        if fstype in ("cgroup", "cgroup2") and (point == str(CGROUP_ROOT) or point.startswith(f"{CGROUP_ROOT}/")):
            mounts.append((fstype, Path(point), options))
    return mounts


def cgroup_mount_script() -> list[str]:
    """Shell lines that re-create this machine's cgroup mounts inside ``ip netns exec`` (which remounts /sys).

    Without them the namespaced dockerd stops with "Devices cgroup isn't mounted".
    """
    mounts = cgroup_mounts()
    if any(point == CGROUP_ROOT for _t, point, _o in mounts):  # pure cgroup v2
        return [f"mount -t cgroup2 -o nsdelegate cgroup2 {CGROUP_ROOT} || mount -t cgroup2 cgroup2 {CGROUP_ROOT}"]
    lines = [f"mount -t tmpfs -o mode=0755 gsh-cgroup {CGROUP_ROOT}"]
    for fstype, point, options in mounts:
        lines.append(f"mkdir -p {point}")
        lines.append(f"mount -t {fstype} -o {options} {fstype} {point}")
    if CGROUP_ROOT.is_dir():
        for entry in CGROUP_ROOT.iterdir():
            if entry.is_symlink():  # e.g. cpu -> cpu,cpuacct on some machines
                lines.append(f"ln -sfn {os.readlink(entry)} {entry}")
    return lines


def cgroup_dirs(parent: str) -> list[Path]:
    """Every cgroup directory under /<parent> in every hierarchy, deepest first."""
    found: list[Path] = []
    for _fstype, point, _o in cgroup_mounts():
        top = point / parent
        if top.is_dir():
            found.extend(p for p in top.rglob("*") if p.is_dir())
            found.append(top)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def cgroup_pids(parent: str) -> list[int]:
    """Processes in the containers a namespaced dockerd started (it runs them under --cgroup-parent)."""
    pids: set[int] = set()
    for directory in cgroup_dirs(parent):
        try:
            pids.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            continue
    return sorted(p for p in pids if alive(p))


def remove_cgroups(parent: str) -> None:
    """Kill what is left in /<parent> cgroups and remove the directories (empty ones only)."""
    pids = cgroup_pids(parent)
    if pids:
        kill_now(pids)
    for directory in cgroup_dirs(parent):
        with contextlib.suppress(OSError):
            directory.rmdir()


def delete_netns(name: str, veth: str) -> None:
    """Kill every process left in the namespace, then delete it and the host side of its veth pair."""
    pids = netns_pids(name)
    if pids:
        kill_now(pids)
    if name in netns_list() or Path(f"/run/netns/{name}").exists():
        run(["ip", "netns", "delete", name], timeout=10, check=False)
    if link_exists(veth):
        run(["ip", "link", "delete", veth], timeout=10, check=False)


def create_netns(name: str, veth: str, host_cidr: str, ns_cidr: str, routes: list[tuple[str, str]]) -> None:
    """A fresh namespace joined to the host by a veth pair (eth0 inside), lo up, given routes inside."""
    run(["ip", "netns", "add", name], timeout=10)
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name], timeout=10)
    run(["ip", "addr", "add", host_cidr, "dev", veth], timeout=10)
    run(["ip", "link", "set", veth, "up"], timeout=10)
    run(["ip", "-n", name, "addr", "add", ns_cidr, "dev", "eth0"], timeout=10)
    run(["ip", "-n", name, "link", "set", "eth0", "up"], timeout=10)
    run(["ip", "-n", name, "link", "set", "lo", "up"], timeout=10)
    for destination, gateway in routes:
        run(["ip", "-n", name, "route", "add", destination, "via", gateway], timeout=10)
