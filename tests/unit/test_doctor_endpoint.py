"""goship doctor's engine check: where the Docker engine is (DOCKER_HOST, docker
contexts) and what doctor says when nothing answers there or the address is not
one (FakeMachine)."""

from __future__ import annotations

import hashlib
import json

import pytest

from goship.commands.doctor import CommandResult, Context, Status, run_checks
from goship.commands.doctor.checks import check_engine
from goship.commands.doctor.facts import Facts, endpoint_problem, meaningful_line, resolve_endpoint
from goship.errors import EngineUnreachable
from goship.testing.machine import FakeMachine
from tests.unit.helpers import BUILDX, DOCKER_VERSION, by_name, docker_answers, linux, project, wsl2

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


# --- Docker endpoint -----------------------------------------------------------------------------


def _context_meta(name: str, host: str, config_dir: str = "/home/me/.docker") -> dict[str, str]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}
    return {f"{config_dir}/contexts/meta/{digest}/meta.json": json.dumps(meta)}


def test_docker_host_wins():
    machine = linux(env={"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_CONTEXT": "colima"})
    endpoint = resolve_endpoint(machine)
    assert (endpoint.host, endpoint.source) == ("tcp://10.0.0.5:2376", "DOCKER_HOST")


def test_current_context_from_docker_config():
    machine = linux()
    machine.files["/home/me/.docker/config.json"] = json.dumps({"currentContext": "colima", "auths": {}})
    machine.files.update(_context_meta("colima", "unix:///home/me/.colima/default/docker.sock"))
    endpoint = resolve_endpoint(machine)
    assert endpoint.host == "unix:///home/me/.colima/default/docker.sock"
    assert endpoint.source == "docker context 'colima'"


def test_docker_context_env_and_docker_config_dir():
    machine = linux(env={"DOCKER_CONTEXT": "remote", "DOCKER_CONFIG": "/etc/dockercfg"})
    machine.files.update(_context_meta("remote", "ssh://deploy@build1", config_dir="/etc/dockercfg"))
    assert resolve_endpoint(machine).host == "ssh://deploy@build1"


def test_missing_context_fails_the_engine_check():
    machine = linux()
    machine.files["/home/me/.docker/config.json"] = json.dumps({"currentContext": "gone"})
    machine.commands[DOCKER_VERSION] = docker_answers(server=None, error='context "gone": context not found\n')
    engine = check_engine(Facts(machine), Context("/home/me/src/hello"))
    assert engine.status is Status.FAIL
    assert engine.summary == "docker context 'gone' (from ~/.docker/config.json) not found"
    assert "docker context use default" in engine.fix


def test_engine_down_behind_a_context_names_it_in_the_fix():
    machine = linux()
    machine.files["/home/me/.docker/config.json"] = json.dumps({"currentContext": "colima"})
    machine.files.update(_context_meta("colima", "unix:///home/me/.colima/default/docker.sock"))
    machine.commands[DOCKER_VERSION] = docker_answers(
        server=None, error="Cannot connect to the Docker daemon at unix:///home/me/.colima/default/docker.sock.\n"
    )
    engine = check_engine(Facts(machine), Context("/home/me/src/hello"))
    assert "unix:///home/me/.colima/default/docker.sock (docker context 'colima')" in engine.summary
    assert engine.fix.endswith("(it comes from docker context 'colima')")


def test_no_docker_and_no_engine():
    machine = linux(programs={"go": "/usr/bin/go"})
    machine.engine = EngineUnreachable("no Docker engine answers at unix:///var/run/docker.sock: No such file or directory")
    report = run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello")))
    engine = by_name(report)["engine"]
    assert engine.status is Status.FAIL and "No such file or directory" in engine.summary
    assert "sudo apt-get install docker.io" in engine.fix


def test_an_engine_without_the_docker_command_is_enough():
    # goship talks to the engine itself: Docker Engine installed without its CLI (or a remote DOCKER_HOST).
    machine = linux(programs={"go": "/usr/bin/go"})
    machine.engine = "27.3.1"
    engine = by_name(run_checks(machine, Context("/home/me/src/hello", project("/home/me/src/hello"))))["engine"]
    assert engine.status is Status.PASS and "Docker engine 27.3.1" in engine.summary and "no docker CLI" in engine.summary


def test_socket_permission_denied():
    machine = linux()
    machine.commands[DOCKER_VERSION] = docker_answers(
        server=None,
        error="permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n",
    )
    engine = check_engine(Facts(machine), Context("/home/me"))
    assert "sudo usermod -aG docker $USER" in engine.fix


# --- bad DOCKER_HOST values -----------------------------------------------------------------------


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
