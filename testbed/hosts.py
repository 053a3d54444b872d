"""Remote "production" hosts: a network namespace each, with its own dockerd and sshd.

Why: goship deploys over SSH to Docker hosts. A network namespace plus a
private mount namespace (tmpfs on /run hides the machine's docker.sock) is a
separate Docker host reachable at 10.231.N.2 with a real sshd, a real engine
and real host-key checking, started in seconds and stopped by pid.

Layout for host N (1..254): namespace ``gshN``, veth ``gsvN`` (host side,
10.231.N.1/24) to ``eth0`` inside (10.231.N.2/24), route 10.231.0.0/16 via
10.231.N.1 (enough to reach the test registry on 10.231.0.1 and nothing else),
docker0 at 10.232.N.1/24, user networks from 10.233.N.0/24, containers under
the cgroup /gshN. The test registry listens on 10.231.0.1, an address this
module puts on the host (``ensure_registry_address``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import netns, state
from ._proc import TestbedError, alive, ok, read_pid, run, system_env, tail, terminate, wait_until
from .engine import docker_binary

REGISTRY_ADDRESS = "10.231.0.1"
REGISTRY_LINK = "gsreg0"
NS_PREFIX, VETH_PREFIX = "gsh", "gsv"
SSHD = "/usr/sbin/sshd"
MAX_EXEC_ROOT = 70  # unix socket paths (exec-root/containerd/containerd-debug.sock) must stay < 108 bytes


@dataclass
class RemoteHost:
    """A running test host; ``ssh_argv``/``docker_argv`` reach it as a user would (key + known_hosts)."""

    index: int
    name: str
    address: str
    user: str
    workdir: Path
    identity: Path
    known_hosts: Path
    host_key_pub: str
    ssh_config: Path
    dockerd_pid: int
    sshd_pid: int

    @property
    def target(self) -> str:
        """``root@10.231.N.2``, as goship.yaml lists hosts."""
        return f"{self.user}@{self.address}"

    @property
    def ssh_bin_dir(self) -> Path:
        """A directory with an ``ssh`` wrapper using this host's ssh_config: prepend to PATH for
        tools that run plain ``ssh`` (e.g. ``docker -H ssh://root@10.231.N.2``)."""
        return self.workdir / "bin"

    @property
    def home(self) -> Path:
        """The host's /root as seen from this machine (remote ~/.docker/config.json lands here)."""
        return self.workdir / "home"

    @property
    def docker_socket(self) -> str:
        """The engine's socket seen from the host through the daemon's mount namespace (no ssh)."""
        return f"unix:///proc/{self.dockerd_pid}/root/run/docker.sock"

    def ssh_argv(self, *cmd: str) -> list[str]:
        """``ssh ... root@10.231.N.2 CMD``: batch mode, strict host-key checking, only our key.

        cmd is an argv: each argument is shell-quoted for the remote login shell, so
        ``ssh_argv("docker", "ps", "--format", "{{json .}}")`` works. For shell syntax
        (pipes, $VARS) pass ``"sh", "-c", "script"``. Arguments appended to the returned
        list are NOT quoted (ssh joins them with spaces).
        """
        return [
            "ssh", "-F", str(self.ssh_config),
            "-i", str(self.identity), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            self.target, *(shlex.quote(arg) for arg in cmd),
        ]

    def docker_argv(self) -> list[str]:
        """A docker CLI for that host's engine, over SSH; safe to append any arguments to.

        It is this machine's docker client with ``-H ssh://root@10.231.N.2`` (docker runs
        ``ssh ... docker system dial-stdio``; our ssh wrapper supplies key and known_hosts),
        so file paths (``docker cp``, ``docker build``) are local ones, and DOCKER_CONFIG is
        the host's own ~/.docker, so ``docker login`` through it stores credentials where
        a login on the host would, never in this machine's /root/.docker.
        """
        path = f"{self.ssh_bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
        return ["env", f"PATH={path}", f"DOCKER_CONFIG={self.home / '.docker'}",
                docker_binary(), "-H", f"ssh://{self.target}"]

    def local_docker_argv(self) -> list[str]:
        """The same engine through its socket, without ssh: fast and free of remote-shell quoting."""
        return [docker_binary(), "-H", self.docker_socket]

    def alive(self) -> bool:
        return alive(self.dockerd_pid) and alive(self.sshd_pid)

    def stop(self) -> None:
        """Stop dockerd (its containers first) and sshd by pid, then remove namespace, veth and cgroups."""
        stop_host(self.index)


def make_client_key(workdir: Path) -> Path:
    """An ed25519 key pair without passphrase (workdir/id_ed25519 and .pub); returns the private key."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "id_ed25519"
    for path in (key, key.with_suffix(".pub")):
        path.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "goship-test-client", "-f", str(key)])
    key.chmod(0o600)
    return key


def ensure_registry_address() -> str:
    """Make 10.231.0.1 a local address (interface gsreg0), idempotently; return it.

    A dummy interface would do, but this kernel has no dummy driver, so gsreg0
    is one end of a veth pair (both ends up, the peer unused).
    """
    if _registry_address_ready():
        return REGISTRY_ADDRESS
    remove_registry_address()
    if not ok(["ip", "link", "add", REGISTRY_LINK, "type", "dummy"]):
        run(["ip", "link", "add", REGISTRY_LINK, "type", "veth", "peer", "name", f"{REGISTRY_LINK}p"])
        run(["ip", "link", "set", f"{REGISTRY_LINK}p", "up"])
    run(["ip", "addr", "add", f"{REGISTRY_ADDRESS}/32", "dev", REGISTRY_LINK])
    run(["ip", "link", "set", REGISTRY_LINK, "up"])
    return REGISTRY_ADDRESS


def _registry_address_ready() -> bool:
    """True if gsreg0 exists, is up and carries 10.231.0.1."""
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", REGISTRY_LINK], timeout=10, check=False)
    link = run(["ip", "-o", "link", "show", "dev", REGISTRY_LINK], timeout=10, check=False)
    flags = link.stdout.split("<", 1)[-1].split(">", 1)[0].split(",") if link.returncode == 0 else []
    return addrs.returncode == 0 and f" {REGISTRY_ADDRESS}/" in addrs.stdout and "UP" in flags


def remove_registry_address() -> None:
    """Delete gsreg0 (and with it 10.231.0.1) if present."""
    if netns.link_exists(REGISTRY_LINK):
        run(["ip", "link", "delete", REGISTRY_LINK], timeout=10, check=False)


def _public_key(authorized_key: Path) -> tuple[str, Path]:
    """(public key line, private key path) from either half of a key pair."""
    if authorized_key.suffix == ".pub":
        return authorized_key.read_text().strip(), authorized_key.with_suffix("")
    public = authorized_key.with_name(authorized_key.name + ".pub")
    if public.exists():
        return public.read_text().strip(), authorized_key
    return run(["ssh-keygen", "-y", "-f", str(authorized_key)]).stdout.strip(), authorized_key


def _exec_root(workdir: Path, index: int) -> str:
    """workdir/exec, or (if that path is too long for unix sockets) a directory on the host's private /run."""
    candidate = str(workdir / "exec")
    return candidate if len(candidate) <= MAX_EXEC_ROOT else f"/run/gsh{index}-exec"


def _start_script(index: int, workdir: Path, address: str, insecure_registries: Sequence[str]) -> str:
    """The shell script run by ``ip netns exec gshN unshare --mount --propagation private``."""
    q = shlex.quote
    w = workdir
    exec_root = _exec_root(workdir, index)
    dockerd = [
        shutil.which("dockerd", path=system_env()["PATH"]) or "/usr/sbin/dockerd",
        "--data-root", str(w / "docker"), "--exec-root", exec_root, "--pidfile", str(w / "dockerd.pid"),
        "-H", "unix:///var/run/docker.sock", "--iptables=false",
        "--bip", f"10.232.{index}.1/24", "--default-address-pool", f"base=10.233.{index}.0/24,size=28",
        "--cgroup-parent", f"/{NS_PREFIX}{index}", "--shutdown-timeout", "2",
    ]
    for registry in insecure_registries:
        dockerd += ["--insecure-registry", registry]
    sshd = [
        SSHD, "-D", "-e", "-f", "/dev/null",
        "-o", f"ListenAddress={address}", "-o", f"HostKey={w / 'ssh_host_ed25519_key'}",
        "-o", f"PidFile={w / 'sshd.pid'}", "-o", f"AuthorizedKeysFile={w / 'authorized_keys'}",
        "-o", "PermitRootLogin=prohibit-password", "-o", "PubkeyAuthentication=yes",
        "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
        "-o", "StrictModes=no",  # the key file lives under /tmp (mode 1777), which StrictModes rejects
        "-o", "UseDNS=no", "-o", "MaxStartups=100", "-o", "MaxSessions=100",
        "-o", "Subsystem=sftp internal-sftp",
    ]
    lines = [
        "set -eu",
        f"hostname {NS_PREFIX}{index}",  # own UTS namespace: `docker info` names the host
        "mount -t tmpfs -o mode=0755,size=256m gsh-run /run",  # hides the machine's /run/docker.sock
        "mkdir -p /run/sshd /run/lock",
        *netns.cgroup_mount_script(),
        # our own /etc/docker: certs.d for TLS registries, no daemon.json or key.json of the machine's
        f"mount --bind {q(str(w / 'etc-docker'))} /etc/docker" if Path("/etc/docker").is_dir() else ":",
        # root's home of its own: a remote `docker login` must not write this machine's /root/.docker
        f"mount --bind {q(str(w / 'home'))} /root",
        f"{shlex.join(dockerd)} >{q(str(w / 'dockerd.log'))} 2>&1 </dev/null &",
        f"echo $! >{q(str(w / 'dockerd.launch.pid'))}",
        f"{shlex.join(sshd)} >{q(str(w / 'sshd.log'))} 2>&1 </dev/null &",
        f"echo $! >{q(str(w / 'sshd.launch.pid'))}",
    ]
    return "\n".join(lines) + "\n"


def _prepare_workdir(workdir: Path, index: int, address: str, public_key: str, identity: Path,
                     registry_cas: Mapping[str, Path], fresh: bool) -> tuple[str, Path, Path]:
    """Fresh host key, authorized_keys, known_hosts, ssh_config, ssh wrapper, /etc/docker; returns
    (host key line, known_hosts, ssh_config)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if fresh:  # no containers, images or networks of an earlier run in this workdir
        shutil.rmtree(workdir / "docker", ignore_errors=True)
    for stale in ("dockerd.pid", "sshd.pid", "dockerd.launch.pid", "sshd.launch.pid"):
        (workdir / stale).unlink(missing_ok=True)
    exec_root = workdir / "exec"
    if exec_root.exists():  # containerd state of a dead run: its pid file could name an unrelated process
        shutil.rmtree(exec_root, ignore_errors=True)
    host_key = workdir / "ssh_host_ed25519_key"
    for path in (host_key, host_key.with_suffix(".pub")):
        path.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"gsh{index}", "-f", str(host_key)])
    key_type, key_b64 = host_key.with_suffix(".pub").read_text().split()[:2]
    host_key_pub = f"{key_type} {key_b64}"
    (workdir / "authorized_keys").write_text(public_key + "\n")
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"{address} {host_key_pub}\n")
    ssh_config = workdir / "ssh_config"
    ssh_config.write_text(
        f"Host {address} {NS_PREFIX}{index}\n"
        f"  HostName {address}\n  User root\n  IdentityFile {identity}\n  IdentitiesOnly yes\n"
        f"  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n  ConnectTimeout 10\n  LogLevel ERROR\n"
    )
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/ssh -F {shlex.quote(str(ssh_config))} \"$@\"\n")
    wrapper.chmod(0o755)
    home = workdir / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    etc_docker = workdir / "etc-docker"
    shutil.rmtree(etc_docker, ignore_errors=True)
    (etc_docker / "certs.d").mkdir(parents=True)
    for registry, ca in registry_cas.items():
        (etc_docker / "certs.d" / registry).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca, etc_docker / "certs.d" / registry / "ca.crt")
    return host_key_pub, known_hosts, ssh_config


def start_host(index: int, workdir: Path, authorized_key: Path, insecure_registries: list[str],
               registry_cas: Mapping[str, Path] | None = None, fresh: bool = True,
               deadline_s: float = 60) -> RemoteHost:
    """Start test host N (removing whatever an earlier run left of it); return once ssh and docker answer.

    authorized_key: either half of the client key pair (make_client_key's result works).
    registry_cas: {"10.231.0.1:PORT": ca.crt} for TLS registries this host must trust.
    fresh: wipe the engine's data root left in workdir by an earlier start (False keeps its images).
    """
    if not 1 <= index <= 254:
        raise ValueError("host index must be 1..254 (10.231.0.1 is the registry address)")
    stop_host(index)
    workdir = workdir.resolve()
    name, veth = f"{NS_PREFIX}{index}", f"{VETH_PREFIX}{index}"
    address = f"10.231.{index}.2"
    public_key, identity = _public_key(authorized_key)
    host_key_pub, known_hosts, ssh_config = _prepare_workdir(workdir, index, address, public_key, identity,
                                                             registry_cas or {}, fresh)
    netns.create_netns(name, veth, f"10.231.{index}.1/24", f"{address}/24", [("10.231.0.0/16", f"10.231.{index}.1")])
    script = workdir / "start.sh"
    script.write_text(_start_script(index, workdir, address, insecure_registries))
    entry = {"index": index, "workdir": str(workdir)}
    state.record("hosts", name, entry)
    launch = subprocess.run(["ip", "netns", "exec", name, "unshare", "--mount", "--uts", "--propagation", "private",
                             "/bin/sh", str(script)], capture_output=True, text=True, timeout=30,
                            start_new_session=True, stdin=subprocess.DEVNULL, env=system_env())
    dockerd_pid = read_pid(workdir / "dockerd.launch.pid")
    sshd_pid = read_pid(workdir / "sshd.launch.pid")
    entry.update(dockerd_pid=dockerd_pid, sshd_pid=sshd_pid)
    state.record("hosts", name, entry)
    if launch.returncode != 0 or dockerd_pid is None or sshd_pid is None:
        stop_host(index)
        raise TestbedError(f"starting {name} failed ({launch.returncode}): {launch.stderr.strip()}")
    host = RemoteHost(index, name, address, "root", workdir, identity, known_hosts, host_key_pub, ssh_config,
                      dockerd_pid, sshd_pid)

    def logs() -> str:
        return (f"\n{workdir / 'dockerd.log'}:\n{tail(workdir / 'dockerd.log')}"
                f"\n{workdir / 'sshd.log'}:\n{tail(workdir / 'sshd.log')}")

    def check_alive() -> None:
        if not alive(dockerd_pid) or not alive(sshd_pid):
            raise TestbedError(f"{name}: dockerd or sshd exited during start-up{logs()}")

    def engine_up() -> bool:
        check_alive()
        return ok([*host.local_docker_argv(), "version", "--format", "{{.Server.Version}}"], timeout=5)

    def ssh_up() -> bool:
        check_alive()
        return ok(host.ssh_argv("docker", "info", "--format", "{{.ServerVersion}}"), timeout=15)

    try:
        spent = wait_until(engine_up, deadline_s, f"dockerd in {name}", logs)
        wait_until(ssh_up, max(deadline_s - spent, 5), f"ssh {host.target} docker info", logs)
    except BaseException:
        stop_host(index)
        raise
    return host


def stop_host(index: int, grace_s: float = 20) -> None:
    """Stop host N by the pids recorded for it, then sweep its namespace, veth and cgroups. Idempotent."""
    name, veth = f"{NS_PREFIX}{index}", f"{VETH_PREFIX}{index}"
    entry = state.load().get("hosts", {}).get(name)
    if entry:
        workdir = Path(entry["workdir"])
        terminate(entry.get("dockerd_pid"), str(workdir / "dockerd.pid"), grace_s)
        terminate(entry.get("sshd_pid"), str(workdir / "sshd.pid"), 5)
    netns.remove_cgroups(name)  # containers the dockerd did not stop
    netns.delete_netns(name, veth)  # containerd, shims, docker-proxy, ssh sessions
    netns.remove_cgroups(name)
    state.record("hosts", name, None)


def stop_all_hosts() -> list[str]:
    """Stop every gsh* host: recorded ones and namespaces or veths left without a record."""
    names = set(state.load().get("hosts", {})) | {n for n in netns.netns_list() if n.startswith(NS_PREFIX)}
    names |= {NS_PREFIX + v[len(VETH_PREFIX):] for v in netns.links_with_prefix(VETH_PREFIX)}
    indexes = sorted(int(n[len(NS_PREFIX):]) for n in names if n[len(NS_PREFIX):].isdigit())
    with ThreadPoolExecutor(max_workers=max(len(indexes), 1)) as pool:  # dockerd shutdowns overlap
        list(pool.map(stop_host, indexes))
    return [f"{NS_PREFIX}{i}" for i in indexes]


def wait_for_port(address: str, port: int, deadline_s: float = 30) -> float:
    """Seconds until a TCP connect to address:port succeeds (for published container ports)."""
    def connects() -> bool:
        try:
            with socket.create_connection((address, port), timeout=1):
                return True
        except OSError:
            return False

    return wait_until(connects, deadline_s, f"{address}:{port}")


__all__ = [
    "REGISTRY_ADDRESS",
    "RemoteHost",
    "ensure_registry_address",
    "make_client_key",
    "remove_registry_address",
    "start_host",
    "stop_all_hosts",
    "stop_host",
    "wait_for_port",
]
