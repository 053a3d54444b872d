"""Review fixes of goship doctor: bad DOCKER_HOST values, UTF-16 settings files,
a missing -C directory, go.mod's toolchain line (FakeMachine, plus the CLI)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from goship.config import Config
from goship.doctor import CommandResult, Context, FakeMachine, Status, run_checks
from goship.doctor.facts import endpoint_problem, meaningful_line
from goship.doctor.machine import RealMachine, decode_text
from goship.errors import ProjectError
from goship.project import GoMod, Project
from tests.conftest import assert_clean_failure, run_goship
from tests.unit.helpers import BUILDX, DOCKER_VERSION, by_name, linux, project, wsl2

# What docker 28 prints with DOCKER_HOST=npipe:////./pipe/docker_engine on Linux (trimmed).
PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x58 pc=0x8c9f80]

goroutine 1 [running]:
github.com/docker/cli/vendor/github.com/docker/docker/client.(*Client).ClientVersion(0xc0002e0c80?)
\t/go/src/github.com/docker/cli/vendor/github.com/docker/docker/client/client.go:318
github.com/docker/cli/cli/command.(*DockerCli).CurrentVersion(0xc0002e0c80)
\t/go/src/github.com/docker/cli/cli/command/cli.go:103 +0x30
main.runDocker({0x1393500, 0xc00017fb30}, 0xc0002e0c80)
\t/go/src/github.com/docker/cli/cmd/docker/docker.go:490 +0x9bb
main.main()
\t/go/src/github.com/docker/cli/cmd/docker/docker.go:39 +0x25
"""
WSL_STUB = """
The command 'docker' could not be found in this WSL 2 distro.
We recommend to activate the WSL integration in Docker Desktop settings.

For details about using Docker Desktop with WSL 2, visit:

https://docs.docker.com/go/wsl2/
"""
CLIENT_ONLY = json.dumps({"Client": {"Version": "27.3.1"}, "Server": None}) + "\n"


def engine_down(machine: FakeMachine, stderr: str, returncode: int = 1, stdout: str = CLIENT_ONLY) -> FakeMachine:
    """docker version fails; buildx fails the same way (a bad DOCKER_HOST breaks every command)."""
    machine.commands[DOCKER_VERSION] = CommandResult(returncode, stdout, stderr)
    machine.commands[BUILDX] = CommandResult(1, "", "protocol not available\n")
    machine.commands[("/usr/bin/docker", "--version")] = CommandResult(0, "Docker version 27.3.1, build ce12230\n")
    return machine


# --- 9: bad DOCKER_HOST values --------------------------------------------------------------


def test_meaningful_line_never_picks_a_stack_frame():
    assert meaningful_line(PANIC) == "docker crashed: runtime error: invalid memory address or nil pointer dereference"
    assert meaningful_line(WSL_STUB) == "The command 'docker' could not be found in this WSL 2 distro."
    assert meaningful_line("protocol not available\n") == "protocol not available"
    assert meaningful_line(
        "Failed to initialize: unable to resolve docker endpoint: invalid bind address format: garbage://x\n"
    ).startswith("Failed to initialize: unable to resolve docker endpoint")
    assert meaningful_line("Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?\n"
                           ).startswith("Cannot connect")
    assert meaningful_line("warning: something\nerror during connect: Get \"http://x\": EOF\nmore\n").startswith(
        "error during connect"
    )
    assert meaningful_line("") == ""


@pytest.mark.parametrize(
    ("host", "platform", "problem"),
    [
        ("npipe:////./pipe/docker_engine", "linux", "windows-pipe"),
        ("npipe:////./pipe/docker_engine", "darwin", "windows-pipe"),
        ("npipe:////./pipe/docker_engine", "windows", None),
        ("unix:///var/run/docker.sock", "linux", None),
        ("garbage", "linux", "invalid"),
        ("garbage://x", "linux", "invalid"),
        ("http://127.0.0.1:2375", "linux", "invalid"),
        ("tcp://", "linux", "invalid"),
        ("tcp://127.0.0.1:1", "linux", "remote"),
        ("ssh://me@build.example.com", "linux", "remote"),
    ],
)
def test_endpoint_problem(host, platform, problem):
    assert endpoint_problem(host, platform) == problem


def test_windows_pipe_in_docker_host_on_linux():
    machine = engine_down(linux(), PANIC, returncode=2, stdout="")
    machine.env["DOCKER_HOST"] = "npipe:////./pipe/docker_engine"
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    engine = by_name(report)["engine"]
    assert engine.status is Status.FAIL
    assert "npipe:// works only on Windows, not on Linux" in engine.summary
    assert ".go:" not in engine.summary and "0x" not in engine.summary
    assert engine.fix.startswith("unset DOCKER_HOST")
    assert "export DOCKER_HOST=unix:///var/run/docker.sock" in engine.fix
    assert "systemctl" not in engine.fix
    buildkit = by_name(report)["buildkit"]
    assert buildkit.status is Status.SKIP and "engine not reachable" in buildkit.summary


def test_windows_pipe_in_docker_host_under_wsl2_names_wsl_integration():
    machine = engine_down(wsl2("[wsl2]\nmemory=8GB\n"), "protocol not available\n")
    machine.env["DOCKER_HOST"] = "npipe:////./pipe/docker_engine"
    engine = by_name(run_checks(machine, Context("/home/me/src/hello")))["engine"]
    assert engine.status is Status.FAIL
    assert "not on WSL" in engine.summary
    assert "unset DOCKER_HOST" in engine.fix and "WSL integration" in engine.fix
    assert "Docker Desktop on Windows" not in engine.fix  # not the start-the-engine fix


def test_windows_pipe_from_a_context_on_linux():
    machine = engine_down(linux(), "protocol not available\n")
    digest = hashlib.sha256(b"win").hexdigest()
    machine.files["/home/me/.docker/config.json"] = json.dumps({"currentContext": "win"})
    machine.files[f"/home/me/.docker/contexts/meta/{digest}/meta.json"] = json.dumps(
        {"Name": "win", "Endpoints": {"docker": {"Host": "npipe:////./pipe/docker_engine"}}}
    )
    engine = by_name(run_checks(machine, Context("/home/me")))["engine"]
    assert engine.status is Status.FAIL and "Windows named pipe" in engine.summary
    assert engine.fix.startswith("docker context use default")


@pytest.mark.parametrize(
    ("host", "stderr"),
    [
        ("garbage", 'error during connect: Get "http://garbage:2375/v1.50/version": dial tcp: lookup garbage: '
                    "no such host\n"),
        ("garbage://x", "Failed to initialize: unable to resolve docker endpoint: invalid bind address format: "
                        "garbage://x\n"),
    ],
)
def test_invalid_docker_host(host, stderr):
    machine = engine_down(linux(), stderr)
    machine.env["DOCKER_HOST"] = host
    report = run_checks(machine, Context("/home/me"))
    engine = by_name(report)["engine"]
    assert engine.status is Status.FAIL
    assert f"{host!r} (DOCKER_HOST) is not a valid Docker engine address" in engine.summary
    for form in ("unix://", "npipe://", "tcp://host:2376", "ssh://user@host"):
        assert form in engine.fix
    assert "unset DOCKER_HOST" in engine.fix and "systemctl" not in engine.fix
    assert by_name(report)["buildkit"].status is Status.SKIP


def test_nothing_listening_at_a_tcp_docker_host():
    machine = engine_down(linux(), "Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon "
                                   "running?\n")
    machine.env["DOCKER_HOST"] = "tcp://127.0.0.1:1"
    engine = by_name(run_checks(machine, Context("/home/me")))["engine"]
    assert engine.status is Status.FAIL
    assert engine.summary.startswith("nothing answers at tcp://127.0.0.1:1 (DOCKER_HOST)")
    assert "check the host and port" in engine.fix and "unset DOCKER_HOST" in engine.fix
    assert "systemctl" not in engine.fix


def test_ssh_docker_host_fix_says_to_try_ssh():
    machine = engine_down(linux(), 'error during connect: Get "http://docker.example.com/v1.50/version": command '
                                   "[ssh ...] has exited with exit status 255\n")
    machine.env["DOCKER_HOST"] = "ssh://me@build.example.com"
    engine = by_name(run_checks(machine, Context("/home/me")))["engine"]
    assert engine.status is Status.FAIL and "nothing answers at ssh://me@build.example.com" in engine.summary
    assert "ssh me@build.example.com docker version" in engine.fix and "systemctl" not in engine.fix


def test_desktop_stub_recognised_from_its_whole_message():
    machine = engine_down(wsl2("[wsl2]\nmemory=8GB\n"), WSL_STUB)
    engine = by_name(run_checks(machine, Context("/home/me")))["engine"]
    assert engine.status is Status.FAIL and "WSL integration is off" in engine.summary


def test_buildkit_skips_when_the_engine_is_down_and_no_client_says_buildx():
    machine = engine_down(linux(), "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")
    buildkit = by_name(run_checks(machine, Context("/home/me")))["buildkit"]
    assert buildkit.status is Status.SKIP
    assert buildkit.summary == "engine not reachable (see engine): BuildKit not checked"


def test_cli_docker_host_with_nothing_listening(hello: Path, unused_port: int):
    result = run_goship("doctor", "--json", cwd=hello, env={"DOCKER_HOST": f"tcp://127.0.0.1:{unused_port}"},
                        timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    engine = checks["engine"]
    assert engine["status"] == "fail"
    assert engine["summary"].startswith(f"nothing answers at tcp://127.0.0.1:{unused_port} (DOCKER_HOST)")
    assert "systemctl" not in engine["fix"]
    assert "lack the buildx plugin" not in checks["buildkit"]["summary"]
    assert result.returncode == 1


def test_cli_windows_pipe_docker_host_on_linux(hello: Path):
    result = run_goship("doctor", "--json", cwd=hello, env={"DOCKER_HOST": "npipe:////./pipe/docker_engine"},
                        timeout=120)
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    engine = checks["engine"]
    assert engine["status"] == "fail" and "npipe:// works only on Windows" in engine["summary"]
    assert ".go:" not in engine["summary"] and "systemctl" not in engine["fix"]
    assert "lack the buildx plugin" not in checks["buildkit"]["summary"]


# --- 13: UTF-16 .wslconfig and Docker Desktop settings --------------------------------------


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


# --- 18: -C a directory that does not exist ----------------------------------------------------


def test_load_context_refuses_a_missing_directory(tmp_path: Path):
    from goship.doctor import load_context

    with pytest.raises(ProjectError, match="no such directory"):
        load_context(tmp_path / "nonexistent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="is not a directory"):
        load_context(tmp_path / "file")


def test_cli_doctor_with_a_missing_directory(tmp_path: Path):
    result = run_goship("doctor", "-C", str(tmp_path / "nonexistent"), cwd=tmp_path, timeout=60)
    assert_clean_failure(result, "no such directory")
    assert result.returncode == 2
    assert "engine" not in result.stdout  # no checks ran


def test_cli_doctor_in_an_existing_directory_that_is_not_a_module(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    result = run_goship("doctor", "--json", "-C", str(tmp_path / "plain"), cwd=tmp_path, timeout=120)
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["project"]["status"] == "skip" and checks["engine"]["status"] in ("pass", "warn", "fail")
    assert result.returncode in (0, 1)


# --- 19: go.mod's toolchain line ------------------------------------------------------------------

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


@pytest.mark.skipif(os.name == "nt", reason="POSIX exec bits")
def test_a_program_that_is_there_but_cannot_run_is_126_not_127(tmp_path, monkeypatch):
    broken = tmp_path / "brokentool"
    broken.write_bytes(b"\x00\x01 not a program")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    ran = RealMachine().run(("brokentool", "--version"))
    assert ran.returncode == 126 and ran.stderr.startswith("cannot run brokentool")
    assert RealMachine().run(("nosuchtool-anywhere",)).returncode == 127
