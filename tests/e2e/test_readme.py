"""The README's commands, run as written, against the test-bed.

Each ```sh block of README.md marked ``<!-- readme-test: run CONTEXT -->``
runs, in README order, with bash (``-e -o pipefail``), in a fresh shell
environment such as a user's: PATH holds the system's programs and a
``goship`` command, but not the virtual environment's ``bin/`` where Go and
hadolint are, so goship must find them beside itself. The contexts:

- ``demo``: a clone after ``make demo`` (``examples/hello`` and
  ``.venv/bin/goship``), the greeting already edited;
- ``production``: a copy of examples/hello whose goship.yaml has a
  ``production`` target of two SSH test hosts and an image in a TLS registry
  with a login (user ``ci-bot``, password in ``$TOKEN`` and, as in CI, in
  ``GOSHIP_REGISTRY_USERNAME``/``_PASSWORD``), shipped there once before
  (so ``goship rollback`` has an earlier release to go back to);
- ``init``: a copy of examples/hello with no goship files yet.

Two things differ from a user's machine, because the suite must leave the
machine's own engine and its port 8000 alone (tests/e2e/conftest.py): the
engine is the suite's (``DOCKER_HOST``), and the local proxy port is a free
one, written as ``proxy.port`` in goship.yaml and put for ``localhost:8000``
in the blocks. Skipped blocks are listed with their reason, like the ones
run, at the end of the test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import registry
from tests import readme
from tests.conftest import EXAMPLE, run_goship, set_greeting
from tests.e2e.remote import clean_host as _clean
from tests.e2e.remote import on_host as _remote

pytestmark = pytest.mark.e2e

USER, TOKEN = "ci-bot", "readme-7oken-s3cret"
NEW_GREETING = "Hello from the README!"
EARLIER = "Hello from an earlier version"
#: Programs a user's shell has; goship, Go and hadolint come from the checkout's virtual environment.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _copy_example(target: Path) -> Path:
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    return target


@pytest.fixture(scope="module")
def login_registry(registry_address, tmp_path_factory, local_engine):
    reg = registry.start_registry(tmp_path_factory.mktemp("readmereg"), host=registry_address,
                                  htpasswd=(USER, TOKEN), tls=True)
    yield reg
    reg.stop()


@pytest.fixture
def world(tmp_path, local_engine, caddy_image, remote_host, second_host, client_key, login_registry, local_port):
    hosts = [remote_host, second_host]
    for host in hosts:
        _clean(host)
        # The hosts trust the registry's CA as an operator sets it up (certs.d, no restart).
        certs = host.workdir / "etc-docker" / "certs.d" / login_registry.addr
        certs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(login_registry.ca_file, certs / "ca.crt")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(host.known_hosts.read_text() for host in hosts))

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    goship = Path(sys.executable).parent / "goship"
    (bin_dir / "goship").symlink_to(goship)

    clone = tmp_path / "clone"
    hello = _copy_example(clone / "examples" / "hello")
    set_greeting(hello, NEW_GREETING)  # "Change the greeting in examples/hello/main.go"
    (hello / "goship.yaml").write_text(f"proxy:\n  port: {local_port}\n")
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "goship").symlink_to(goship)

    production = _copy_example(tmp_path / "production")
    (production / "goship.yaml").write_text(
        "service: hello\n"
        f"image: {login_registry.addr}/team/hello\n"
        f"registry:\n  ca_file: {login_registry.ca_file}\n"
        "build:\n  version_var: main.version\n"
        "app:\n  port: 8080\n"
        "health:\n  path: /healthz\n  timeout: 20s\n"
        f"proxy:\n  port: {local_port}\n"
        f"ssh:\n  identity_file: {client_key}\n  known_hosts_file: {known_hosts}\n"
        "targets:\n  production:\n"
        f"    hosts: [{', '.join(f'root@{host.address}' for host in hosts)}]\n"
    )
    module = _copy_example(tmp_path / "module")
    # 'goship rollback production' needs an earlier release: the target was shipped before.
    set_greeting(production, EARLIER)
    earlier = run_goship("ship", "production", "-C", str(production),
                         env={"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": TOKEN,
                              "DOCKER_CONFIG": str(tmp_path / "docker-config")})
    assert earlier.returncode == 0, earlier.stderr
    set_greeting(production, "Hello from goship!")

    env = {
        "PATH": os.pathsep.join([str(bin_dir), SYSTEM_PATH]),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "GOSHIP_REGISTRY_USERNAME": USER,
        "GOSHIP_REGISTRY_PASSWORD": TOKEN,
        "TOKEN": TOKEN,
    }
    yield {"dirs": {"demo": clone, "production": production, "init": module}, "env": env, "port": local_port,
           "hosts": hosts}
    for host in hosts:
        _clean(host)


def _run(block: readme.Block, world: dict) -> subprocess.CompletedProcess[str]:
    script = block.text.replace("localhost:8000", f"localhost:{world['port']}")
    env = dict(world["env"])
    if block.context == "demo":
        env.pop("GOSHIP_REGISTRY_USERNAME")
        env.pop("GOSHIP_REGISTRY_PASSWORD")
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-x", "-c", script], cwd=world["dirs"][block.context], env=env,
        capture_output=True, text=True, timeout=900,
    )


def _curl(url: str) -> str:
    return subprocess.run(["curl", "-sS", "--max-time", "10", url], capture_output=True, text=True, timeout=30).stdout


def test_readme_commands_work_as_written(world):
    readme.REPORT.clear()
    for block in readme.command_blocks():
        if block.context is None:
            readme.REPORT.append(f"skipped {block.where}: {block.reason}")
            continue
        result = _run(block, world)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{block.where} ({block.context}) failed:\n{block.text}\n{output}"
        assert "Traceback" not in output, output
        first = block.text.split("\n", 1)[0]
        readme.REPORT.append(f"ran {block.where} ({block.context}): {first.split('#', 1)[0].strip()} ...")
        if block.context == "demo":
            # The edit-and-ship step, from a shell without .venv/bin on PATH: the new text is served.
            assert NEW_GREETING in result.stdout, output
        if "goship ship production" in block.text:
            # Shipped, then rolled back by the block's own 'goship rollback production'.
            expected = EARLIER if "goship rollback production" in block.text else "Hello from goship!"
            for host in world["hosts"]:
                assert _curl(f"http://{host.address}:{world['port']}/").strip() == expected
        if "goship exec production" in block.text:
            assert result.stdout.count("\n") >= 1 and "dev" not in result.stdout.split()  # the -X version, not "dev"
        if "goship lint" in block.text:
            # hadolint is not on PATH: goship finds the one installed beside it.
            assert f"hadolint ran ({Path(sys.executable).parent / 'hadolint'})" in output, output
        if "goship doctor" in block.text:
            assert "beside goship's Python" in output, output  # where Go was found, said so
        if "goship remove production" in block.text:
            for host in world["hosts"]:
                assert _remote(host, "docker", "ps", "-aq", "--filter", "label=goship.service=hello") == ""
    ran = [line for line in readme.REPORT if line.startswith("ran")]
    assert len(ran) >= 6, readme.REPORT
