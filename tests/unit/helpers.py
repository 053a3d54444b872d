"""Helpers the unit test modules share (test modules import them from here, never
from one another): machines described for goship doctor, a fake deploy host."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, replace
from pathlib import Path

from goship.commands.doctor import CommandResult
from goship.config import Config
from goship.deploy import history
from goship.deploy.proxy import ProxySpec
from goship.deploy.release import Release
from goship.deploy.rollout import deploy_to_host, ensure_image
from goship.deploy.targets import Host
from goship.engine.client import Engine
from goship.events import CollectingReporter, Stage
from goship.hosts import HostConnection
from goship.project import GoMod, Project
from goship.testing.engine import Behaviour, FakeClock, FakeEngine
from goship.testing.machine import FakeMachine
from goship.testing.prober import FakeProber

# --- goship doctor: machines described for FakeMachine ---------------------------------------------

GIB = 1024**3
WSL_KERNEL = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0) #1 SMP"
LINUX_KERNEL = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian"

DOCKER_VERSION = ("docker", "version", "--format", "{{json .}}")
BUILDX = ("/usr/bin/docker", "buildx", "version")
DOCKER_ROOT = ("docker", "info", "--format", "{{.DockerRootDir}}")
GO_VERSION = ("go", "version")


def docker_answers(server: str | None = "27.3.1", client: str = "27.3.1", platform: str = "Docker Engine - Community",
                   error: str = "") -> CommandResult:
    """What ``docker version --format '{{json .}}'`` prints: the client half even without an engine."""
    server_part = None if server is None else {"Platform": {"Name": platform}, "Version": server}
    stdout = json.dumps({"Client": {"Version": client}, "Server": server_part}) + "\n"
    return CommandResult(0 if server else 1, stdout, error)


def project(root: str, **config: object) -> Project:
    return Project(
        root=Path(root), gomod=GoMod("example.com/hello", "1.22"), config=Config(**config),  # type: ignore[arg-type]
        config_path=None, service="hello", main=".",
    )


def healthy_commands() -> dict[tuple[str, ...], CommandResult]:
    return {
        DOCKER_VERSION: docker_answers(),
        BUILDX: CommandResult(0, "github.com/docker/buildx v0.17.1 257815a\n"),
        DOCKER_ROOT: CommandResult(0, "/var/lib/docker\n"),
        GO_VERSION: CommandResult(0, "go version go1.22.5 linux/amd64\n"),
    }


def linux(**overrides: object) -> FakeMachine:
    machine = FakeMachine(
        platform="linux",
        env={"HOME": "/home/me"},
        files={"/proc/version": LINUX_KERNEL},
        programs={"docker": "/usr/bin/docker", "go": "/usr/local/go/bin/go", "hadolint": "/usr/local/bin/hadolint"},
        commands=healthy_commands(),
        disk={"/": 50 * GIB},
    )
    for key, value in overrides.items():
        setattr(machine, key, value)
    return machine


def wsl2(wslconfig: str | None = "[wsl2]\nmemory=2GB\n") -> FakeMachine:
    """Ubuntu in WSL 2 with Docker Desktop's WSL integration, as most Windows developers have it."""
    files = {
        "/proc/version": WSL_KERNEL,
        "/mnt/c/Users/me/AppData/Roaming/Docker/settings-store.json": json.dumps(
            {"WslEngineEnabled": True, "IntegratedWslDistros": ["Ubuntu"], "MemoryMiB": 2048, "Cpus": 4}
        ),
        "/mnt/c/Users/me/NTUSER.DAT": "",
        "/mnt/c/Users/Public/desktop.ini": "",
    }
    if wslconfig is not None:
        files["/mnt/c/Users/me/.wslconfig"] = wslconfig
    commands = healthy_commands()
    commands[DOCKER_VERSION] = docker_answers(platform="Docker Desktop 4.34.3 (170107)")
    return FakeMachine(
        platform="linux",
        env={"WSL_DISTRO_NAME": "Ubuntu", "WSL_INTEROP": "/run/WSL/12_interop", "HOME": "/home/me"},
        files=files,
        programs={"docker": "/usr/bin/docker", "go": "/usr/local/go/bin/go", "hadolint": "/usr/local/bin/hadolint"},
        commands=commands,
        disk={"/mnt/c": 120 * GIB, "/": 200 * GIB},
    )


def by_name(report) -> dict[str, object]:
    return {check.name: check for check in report.checks}


# --- deploy: one host as a FakeEngine with its FakeProber, on a FakeClock -------------------------------

SERVICE = "hello"


@dataclass
class FakeHost:
    host: Host
    engine: FakeEngine
    prober: FakeProber
    clock: FakeClock

    def serves(self) -> str | None:
        """The version a client of the proxy gets its answer from (None: no running container gets it)."""
        target = self.prober.serving(80)
        return target.labels["goship.version"] if target is not None else None

    def table(self) -> dict:
        """The proxy's route table as goship wrote it."""
        files = self.engine.proxy_files(self.engine.containers["goship-proxy-80"])
        return json.loads(files["goship/routes.json"])["routes"]

    def apps(self) -> list[str]:
        return sorted(c.labels["goship.version"] for c in self.engine.app_containers(SERVICE))

    def results(self) -> list[tuple[str, str]]:
        return [(r.version, r.result) for r in history.read(self.host.engine, SERVICE)]


def fake_host(name: str = "root@web1", clock: FakeClock | None = None) -> FakeHost:
    clock = clock or FakeClock()
    engine = FakeEngine(name, clock)
    engine.add_image("caddy:2")
    prober = FakeProber(engine)
    host = Host(HostConnection(name, Engine(engine, name), prober), ProxySpec("caddy:2", 80), name.rsplit("@", maxsplit=1)[-1], local=False)
    return FakeHost(host, engine, prober, clock)


def image(version: str) -> str:
    return f"reg:5000/hello@sha256:{version * 64}"[:86]


def release(version: str, **settings: object) -> Release:
    base = Release(
        service=SERVICE, version=version, image=image(version), app_port=8080, health_timeout=5.0,
        health_interval=0.5, drain_seconds=2.0, stop_timeout=10, digest=f"sha256:{version}",
    )
    return replace(base, **settings)  # type: ignore[arg-type]


# --- goship init: modules to init, the files it plans ---------------------------------------------

#: A main.go serving /healthz; ``%`` puts in its listen address: ``MAIN_LISTENING % '":8080"'``.
MAIN_LISTENING = 'package main\n\nimport "net/http"\n\nfunc main() {\n\thttp.HandleFunc("/healthz", nil)\n\thttp.ListenAndServe(%s, nil)\n}\n'


def go_module(root: Path, files: dict[str, str]) -> Path:
    (root / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def planned(plan, name: str) -> str:
    return next(f.content for f in plan.files if f.path.name == name)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# --- goship lint: a module to lint ----------------------------------------------------------------


def service_module(tmp_path: Path, config: str | None = None) -> Path:
    """A module in tmp_path/svc: go.mod, a main package, a .dockerignore; goship.yaml holding ``config``."""
    root = tmp_path / "svc"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (root / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / ".dockerignore").write_text(".git\n")
    if config is not None:
        (root / "goship.yaml").write_text(config)
    return root


# --- a library caller's machine, kept out -----------------------------------------------------------


def nothing_real(monkeypatch, tmp_path: Path) -> None:
    """The deployer's login from the environment; no docker config, cache or socket of this machine."""
    monkeypatch.setenv("GOSHIP_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("GOSHIP_REGISTRY_PASSWORD", "s3cret")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

    def no_sockets(*args: object, **kwargs: object) -> None:
        raise AssertionError("a real socket was opened")

    monkeypatch.setattr(socket, "create_connection", no_sockets)


HEALTHY = Behaviour()


def ship(fake: FakeHost, version: str, behaviour: Behaviour = HEALTHY, reporter: CollectingReporter | None = None, **settings: object):
    if image(version) not in fake.engine.images:
        fake.engine.add_image(image(version), behaviour)
    rel = release(version, **settings)
    stage = Stage(reporter or CollectingReporter(), "deploy")
    return deploy_to_host(fake.host, rel, lambda engine: ensure_image(engine, rel.image), stage, fake.clock)


def pushed_build(tmp_path: Path, version: str):
    """A tiny native build of ``version`` recorded as pushed to reg:5000/hello (by digest)."""
    from goship.builders.image import BuiltImage
    from goship.images import oci

    layer = oci.make_layer(oci.app_entries("hello", version.encode()), 1700000000, "app")
    built = oci.assemble(oci.ImageSpec("linux", "amd64", None, ("/usr/local/bin/hello",), 8080, 1700000000, {}), (layer,))
    state = tmp_path / ".goship"
    state.mkdir(exist_ok=True)
    (state / "push.json").write_text(json.dumps({"digest": built.digest, "reference": f"reg:5000/hello@{built.digest}"}))
    return BuiltImage(built, "reg:5000/hello", version, state / "oci")
