"""A real team's first day (issue 9): private registries, several services per host,
a proxy someone removed, Ctrl-C, long temporary paths - each tried as a team would.

Load goes only to the test hosts this session made and to loopback; hey's own
report is the evidence of zero failed requests.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from testbed import registry
from testbed.tokenserver import TokenServer, User
from tests.conftest import EXAMPLE, assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import Load, production_config
from tests.e2e.remote import clean_host as _clean
from tests.e2e.remote import on_host as _remote

pytestmark = pytest.mark.e2e

USER, PASSWORD = "deployer", "Pa55-first-day-0xC0FFEE"
WRITER = ("writer", "writer-first-day-7e57")


@pytest.fixture
def clean_host(remote_host):
    _clean(remote_host)
    yield remote_host
    _clean(remote_host)


def _project(tmp_path: Path, name: str, config: str, greeting: str | None = None) -> Path:
    project = tmp_path / name
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    set_greeting(project, greeting or f"I am {name}")
    (project / "goship.yaml").write_text(config)
    return project


def _service_config(registry_addr: str, host, key: Path, name: str, proxy: str = "proxy:\n  port: 80\n",
                    registry_block: str = "registry:\n  insecure: true\n") -> str:
    config = production_config(registry_addr, host, key).replace("service: hello", f"service: {name}")
    config = config.replace(f"{registry_addr}/hello", f"{registry_addr}/{name}")
    config = config.replace("registry:\n  insecure: true\n", registry_block)
    return config.replace("proxy:\n  port: 80\n", proxy)


def _ship_two(tmp_path: Path, reg, host, key: Path, catch_all: str, prefixed: str) -> tuple[Path, Path]:
    """Two services shipped to one host's proxy: one on the catch-all, one under /<prefixed>."""
    first = _project(tmp_path, catch_all, _service_config(reg.addr, host, key, catch_all))
    second = _project(tmp_path, prefixed, _service_config(
        reg.addr, host, key, prefixed, f"proxy:\n  port: 80\n  path_prefix: /{prefixed}\n"))
    for project in (first, second):
        assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    return first, second


def _curl(url: str, host_header: str | None = None) -> str:
    argv = ["curl", "-sS", "--max-time", "10", url]
    if host_header:
        argv += ["-H", f"Host: {host_header}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()


def _host_processes(host) -> str:
    """Every command line in the host's namespace, read from this machine (no ssh session of ours in it)."""
    pids = subprocess.run(["ip", "netns", "pids", host.name], capture_output=True, text=True).stdout.split()
    lines = []
    for pid in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return "\n".join(lines)


def _files_holding(root: Path, secret: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and secret in path.read_bytes():
                found.append(str(path))
        except OSError:
            continue
    return found


class Watcher:
    """Samples the host's process list in the background while goship works."""

    def __init__(self, host) -> None:
        self.host, self.seen, self._stop = host, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.append(_host_processes(self.host))
            time.sleep(0.05)

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return "\n".join(self.seen)


def _ship_watched(host, project: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """``goship ship production``, and every command line seen on the host meanwhile."""
    watcher = Watcher(host)
    try:
        shipped = run_goship("ship", "production", "-C", str(project), env=env)
    finally:
        processes = watcher.stop()
    assert shipped.returncode == 0, shipped.stderr
    return shipped, processes


# --- private registries: the hosts pull with the deployer's login, which lands nowhere ------------


@pytest.fixture(scope="module")
def tls_registry(registry_address, tmp_path_factory, local_engine):
    reg = registry.start_registry(tmp_path_factory.mktemp("tlsreg"), host=registry_address, htpasswd=(USER, PASSWORD), tls=True)
    yield reg
    reg.stop()


def test_tls_htpasswd_registry_to_a_host_with_no_docker_login(tmp_path, tls_registry, clean_host, client_key):
    host = clean_host
    assert not (host.home / ".docker" / "config.json").exists()
    # The host's engine trusts the private CA as an operator would set it up (certs.d, no restart).
    certs = host.workdir / "etc-docker" / "certs.d" / tls_registry.addr
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tls_registry.ca_file, certs / "ca.crt")
    block = f"registry:\n  ca_file: {tls_registry.ca_file}\n"
    project = _project(tmp_path, "private", _service_config(tls_registry.addr, host, client_key, "private", registry_block=block))
    env = {"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": PASSWORD, "DOCKER_CONFIG": str(tmp_path / "no-docker")}
    shipped, processes = _ship_watched(host, project, env)
    assert _curl(f"http://{host.address}:80/") == "I am private"
    assert PASSWORD not in shipped.stdout + shipped.stderr
    assert PASSWORD not in processes and PASSWORD not in _host_processes(host)
    # Not on the host's disk: its engine's data root, its /etc/docker, its home - and its private /run.
    secret = PASSWORD.encode()
    assert _files_holding(host.workdir, secret) == []
    assert _files_holding(Path(f"/proc/{host.dockerd_pid}/root/run"), secret) == []


def test_a_host_that_does_not_trust_the_registry_gets_the_one_line_fix(tmp_path, tls_registry, clean_host, client_key):
    host = clean_host
    shutil.rmtree(host.workdir / "etc-docker" / "certs.d" / tls_registry.addr, ignore_errors=True)
    block = f"registry:\n  ca_file: {tls_registry.ca_file}\n"
    project = _project(tmp_path, "untrusted", _service_config(tls_registry.addr, host, client_key, "untrusted", registry_block=block))
    env = {"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": PASSWORD, "DOCKER_CONFIG": str(tmp_path / "no-docker")}
    result = run_goship("ship", "production", "-C", str(project), env=env)
    assert_clean_failure(result, "x509", f"/etc/docker/certs.d/{tls_registry.addr}/ca.crt")
    doctor = run_goship("doctor", "-C", str(project), env=env)
    assert f"cannot pull {tls_registry.addr}/untrusted" in doctor.stdout
    assert f"/etc/docker/certs.d/{tls_registry.addr}/ca.crt" in doctor.stdout


@pytest.fixture(scope="module")
def token_registry(registry_address, tmp_path_factory, local_engine):
    tokens = TokenServer(tmp_path_factory.mktemp("daytokens"), {WRITER[0]: User(WRITER[1], {"*": {"pull", "push"}})},
                         host=registry_address)
    # TLS: the hosts' engines know only the session registry as insecure; this one they trust by its CA.
    reg = registry.start_registry(tmp_path_factory.mktemp("daytokenreg"), host=registry_address, tls=True,
                                  token_auth=tokens.registry_auth())
    yield reg, tokens
    reg.stop()
    tokens.stop()


def test_through_a_token_service_the_host_gets_a_pull_only_token(tmp_path, token_registry, clean_host, client_key):
    reg, tokens = token_registry
    host = clean_host
    certs = host.workdir / "etc-docker" / "certs.d" / reg.addr
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(reg.ca_file, certs / "ca.crt")
    block = f"registry:\n  ca_file: {reg.ca_file}\n"
    project = _project(tmp_path, "tokened", _service_config(reg.addr, host, client_key, "tokened", registry_block=block))
    env = {"GOSHIP_REGISTRY_USERNAME": WRITER[0], "GOSHIP_REGISTRY_PASSWORD": WRITER[1],
           "DOCKER_CONFIG": str(tmp_path / "no-docker")}
    shipped, processes = _ship_watched(host, project, env)
    assert _curl(f"http://{host.address}:80/") == "I am tokened"
    # One token asked for pull alone: what the host's engine was given.
    pull_only = [access for _, _, access in tokens.issued
                 if access == [{"type": "repository", "name": "tokened", "actions": ["pull"]}]]
    assert pull_only, tokens.issued
    assert WRITER[1] not in processes and _files_holding(host.workdir, WRITER[1].encode()) == []


# --- several services on one host, and on one laptop ----------------------------------------------


def test_several_services_share_a_host(tmp_path, test_registry, clean_host, client_key):
    host, reg, key = clean_host, test_registry, client_key
    named = _project(tmp_path, "shop", _service_config(reg.addr, host, key, "shop",
                     "proxy:\n  port: 80\n  domains: [shop.example.test]\n  tls: internal\n"))
    catch_all = _project(tmp_path, "web", _service_config(reg.addr, host, key, "web"))
    api = _project(tmp_path, "api", _service_config(reg.addr, host, key, "api",
                   "proxy:\n  port: 80\n  path_prefix: /api\n  strip_prefix: true\n"))
    other_port = _project(tmp_path, "admin", _service_config(reg.addr, host, key, "admin", "proxy:\n  port: 8081\n"))
    for project in (named, catch_all, api, other_port):
        shipped = run_goship("ship", "production", "-C", str(project))
        assert shipped.returncode == 0, shipped.stderr
    assert _curl(f"http://{host.address}:80/") == "I am web"
    assert _curl(f"http://{host.address}:80/api/") == "I am api"  # the prefix stripped
    assert _curl(f"http://{host.address}:8081/") == "I am admin"
    https = subprocess.run(["curl", "-sSk", "--max-time", "10", "--resolve", f"shop.example.test:443:{host.address}",
                            "https://shop.example.test/"], capture_output=True, text=True).stdout.strip()
    assert https == "I am shop"

    # A second catch-all on port 80: refused before anything changes, naming the owner and the ways out.
    second = _project(tmp_path, "blog", _service_config(reg.addr, host, key, "blog"))
    refused = run_goship("ship", "production", "-C", str(second))
    assert_clean_failure(refused, "every request to service 'web'", "proxy.domains", "proxy.path_prefix", "proxy.port")
    assert _remote(host, "docker", "ps", "-aq", "--filter", "label=goship.service=blog").split() == []

    # Deploying one service under load of another fails none of the other's requests.
    load = Load(f"http://{host.address}:80/", seconds=12)
    set_greeting(api, "I am api v2")
    again = run_goship("ship", "production", "-C", str(api))
    statuses, errors, _ = load.report()
    assert again.returncode == 0, again.stderr
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _curl(f"http://{host.address}:80/api/") == "I am api v2"
    assert _curl(f"http://{host.address}:80/") == "I am web"


def test_three_projects_on_one_laptop(tmp_path, local_engine, caddy_image, local_port):
    projects = {}
    for name in ("alpha", "beta", "gamma"):
        projects[name] = _project(tmp_path, name, f"service: {name}\nproxy:\n  port: {local_port}\n")
        shipped = run_goship("ship", "-C", str(projects[name]))
        assert shipped.returncode == 0, shipped.stderr
        # The first keeps localhost:PORT itself; the others are at <service>.localhost:PORT.
        url = f"http://localhost:{local_port}" if name == "alpha" else f"http://{name}.localhost:{local_port}"
        assert f"live at {url}" in shipped.stdout, shipped.stdout
    base = f"http://127.0.0.1:{local_port}/"
    for name in projects:
        assert _curl(base, f"{name}.localhost:{local_port}") == f"I am {name}"
    assert _curl(base) == "I am alpha"  # the first keeps localhost:PORT itself
    load = Load(base, seconds=10)  # alpha's traffic, while beta is replaced
    set_greeting(projects["beta"], "I am beta v2")
    again = run_goship("ship", "-C", str(projects["beta"]))
    statuses, errors, _ = load.report()
    assert again.returncode == 0, again.stderr
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _curl(base, f"beta.localhost:{local_port}") == "I am beta v2"


# --- a proxy someone removed by hand --------------------------------------------------------------


def test_a_proxy_removed_by_hand_comes_back_with_valid_routes_only(tmp_path, test_registry, clean_host, client_key):
    host, reg, key = clean_host, test_registry, client_key
    keep, gone = _ship_two(tmp_path, reg, host, key, "keep", "gone")
    # A cleanup script: the proxy and one service's containers go, the volumes stay.
    _remote(host, "docker", "rm", "-f", "goship-proxy-80")
    for container in _remote(host, "docker", "ps", "-aq", "--filter", "label=goship.service=gone").split():
        _remote(host, "docker", "rm", "-f", container)
    assert "goship-proxy-80-config" in _remote(host, "docker", "volume", "ls", "-q")

    newcomer = _project(tmp_path, "newcomer", _service_config(reg.addr, host, key, "newcomer",
                        "proxy:\n  port: 80\n  path_prefix: /new\n  strip_prefix: true\n"))
    shipped = run_goship("ship", "production", "-C", str(newcomer))
    assert shipped.returncode == 0, shipped.stderr
    assert "dropped the routes of gone" in shipped.stderr
    time.sleep(2)  # a crash loop would show by now
    state = _remote(host, "docker", "inspect", "--format", "{{.State.Status}} {{.RestartCount}}", "goship-proxy-80").split()
    assert state == ["running", "0"], state
    assert _curl(f"http://{host.address}:80/") == "I am keep"
    # Stripped of its prefix, /new/ is newcomer's own / (keep would answer 404 page not found).
    assert _curl(f"http://{host.address}:80/new/") == "I am newcomer"
    status = run_goship("status", "production", "-C", str(keep))
    assert status.returncode == 0 and "proxy:" not in status.stdout, status.stdout


# --- Ctrl-C, and a macOS-length TMPDIR ------------------------------------------------------------


def test_ctrl_c_mid_deploy_under_load_keeps_the_live_version(tmp_path, test_registry, clean_host, client_key):
    host = clean_host
    project = _project(tmp_path, "hello", production_config(test_registry.addr, host, client_key), "Hello from goship!")
    assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    main = project / "main.go"
    main.write_text(main.read_text().replace('logger.Info("listening"', 'time.Sleep(6 * time.Second)\n\t\tlogger.Info("listening"'))
    set_greeting(project, "never switched in")
    load = Load(f"http://{host.address}:80/", seconds=15)
    env = {**os.environ, "GOTOOLCHAIN": "local", "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    deploying = subprocess.Popen([sys.executable, "-m", "goship", "ship", "production", "-C", str(project)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    assert deploying.stderr is not None
    while "starting hello-" not in seen:
        line = deploying.stderr.readline()
        assert line, seen
        seen += line
    time.sleep(1.0)  # probing the slow new version now
    deploying.send_signal(signal.SIGINT)
    out, err = deploying.communicate(timeout=120)
    statuses, errors, _ = load.report()
    assert deploying.returncode == 130, seen + err
    assert "interrupted" in err and "Traceback" not in err
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _curl(f"http://{host.address}:80/") == "Hello from goship!"
    assert len(_remote(host, "docker", "ps", "-aq", "--filter", "label=goship.service=hello", "--filter",
                       "label=goship.role=app").split()) == 1
    main.write_text(main.read_text().replace("time.Sleep(6 * time.Second)\n\t\t", ""))
    set_greeting(project, "after the interrupt")
    again = run_goship("ship", "production", "-C", str(project))
    assert again.returncode == 0, again.stderr
    assert _curl(f"http://{host.address}:80/") == "after the interrupt"


def test_a_long_tmpdir_does_not_break_ssh(tmp_path, test_registry, clean_host, client_key):
    long = Path("/tmp") / ("goship-long-tmpdir-" + "x" * 60)
    long.mkdir(exist_ok=True)
    assert len(str(long)) >= 80
    project = _project(tmp_path, "hello", production_config(test_registry.addr, clean_host, client_key), "Hello long")
    shipped = run_goship("ship", "production", "-C", str(project), env={"TMPDIR": str(long)})
    assert shipped.returncode == 0, shipped.stderr
    assert _curl(f"http://{clean_host.address}:80/") == "Hello long"
    assert re.search(r"live at http://", shipped.stdout)


# --- goship remove (issue 10) ---------------------------------------------------------------------


def test_remove_one_of_two_services_on_a_host_under_load(tmp_path, test_registry, clean_host, client_key):
    host, reg, key = clean_host, test_registry, client_key
    web, api = _ship_two(tmp_path, reg, host, key, "web", "api")
    refused = run_goship("remove", "production", "-C", str(api))
    assert_clean_failure(refused, "confirm with --yes")
    load = Load(f"http://{host.address}:80/", seconds=8)
    removed = run_goship("remove", "production", "--yes", "-C", str(api))
    statuses, errors, _ = load.report()
    assert removed.returncode == 0, removed.stderr
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert "kept its release history" in removed.stdout and "still routes web" in removed.stdout
    assert _remote(host, "docker", "ps", "-aq", "--filter", "label=goship.service=api").split() == []
    assert _curl(f"http://{host.address}:80/") == "I am web"
    # The last service takes the proxy and every volume of goship's with it (with --purge).
    assert run_goship("remove", "production", "--yes", "--purge", "-C", str(web)).returncode == 0
    run_goship("remove", "production", "--yes", "--purge", "-C", str(api))
    assert _remote(host, "docker", "ps", "-aq", "--filter", "label=goship.managed=true").split() == []
    assert [v for v in _remote(host, "docker", "volume", "ls", "-q").split() if v.startswith("goship-")] == []


def test_remove_locally_leaves_nothing_behind(tmp_path, local_engine, caddy_image, local_port):
    project = _project(tmp_path, "solo", f"service: solo\nproxy:\n  port: {local_port}\n")
    assert run_goship("ship", "-C", str(project)).returncode == 0
    removed = run_goship("remove", "--yes", "--purge", "-C", str(project))
    assert removed.returncode == 0, removed.stderr
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", "label=goship.managed=true"], capture_output=True, text=True).stdout.split()
    volumes = [v for v in subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True).stdout.split()
               if v.startswith(("goship-state-solo", f"goship-proxy-{local_port}"))]
    assert leftovers == [] and volumes == []
