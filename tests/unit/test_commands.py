"""Planned commands, compared with the exact argv (Kamal-style tables)."""

import io
import tarfile
from pathlib import Path

import pytest

from goship.build.gobuild import GoBuildRequest, parse_platform, plan_go_build
from goship.deploy import proxy
from goship.errors import BuildError
from goship.hosts import docker


def test_run_app_is_hardened_and_publishes_only_on_loopback():
    argv = docker.run_app(
        docker.AppContainer(
            name="hello-abc-1f2e3d", image="reg:5000/hello@sha256:aa", service="hello",
            version="abc", port=8080, env={"GREETING": "hi"},
        )
    )
    assert argv == (
        "docker", "run", "--detach", "--name", "hello-abc-1f2e3d", "--network", "goship",
        "--network-alias", "hello-abc-1f2e3d", "--publish", "127.0.0.1::8080",
        "--label", "goship.image=reg:5000/hello@sha256:aa", "--label", "goship.managed=true",
        "--label", "goship.role=app", "--label", "goship.service=hello", "--label", "goship.version=abc",
        "--env", "GREETING=hi", "--env", "PORT=8080",
        "--restart", "unless-stopped", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--log-opt", "max-size=10m", "--log-opt", "max-file=3",
        "reg:5000/hello@sha256:aa",
    )


def test_list_containers_filters_by_label():
    assert docker.list_containers({"goship.service": "hello", "goship.role": "app"}) == (
        "docker", "ps", "--no-trunc", "--format", "{{json .}}", "--all",
        "--filter", "label=goship.role=app", "--filter", "label=goship.service=hello",
    )


def test_parse_ps_recorded_output():
    out = (
        '{"Command":"\\"/usr/local/bin/hello\\"","ID":"5d1f","Image":"hello:abc","Labels":'
        '"goship.role=app,goship.service=hello,goship.version=abc","Names":"hello-abc-1","State":"running","Status":"Up 3 seconds"}\n'
        '{"ID":"77aa","Labels":"goship.service=hello","Names":"hello-old","State":"exited"}\n'
    )
    rows = docker.parse_ps(out)
    assert [(r.name, r.running) for r in rows] == [("hello-abc-1", True), ("hello-old", False)]
    assert rows[0].labels["goship.version"] == "abc"


def test_parse_inspect_and_port():
    state = docker.parse_inspect(
        '[{"Name":"/hello-1","Image":"sha256:cc","State":{"Status":"exited","Running":false,"ExitCode":2,"Error":""}}]'
    )[0]
    assert (state.name, state.running, state.exit_code) == ("hello-1", False, 2)
    assert docker.parse_port("127.0.0.1:49153\n") == ("127.0.0.1", 49153)
    assert docker.parse_port("[::1]:49153\n") == ("::1", 49153)
    with pytest.raises(ValueError):
        docker.parse_port("")


def test_proxy_container_and_reload():
    spec = proxy.ProxySpec("caddy:2", 80)
    argv = proxy.create(spec)
    assert argv[:4] == ("docker", "create", "--name", "goship-proxy-80")
    assert "0.0.0.0:80:8080" in argv and "ALL" in argv
    assert argv[-6:] == ("caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
    assert proxy.reload(spec) == (
        "docker", "exec", "goship-proxy-80", "caddy", "reload", "--config", "/etc/caddy/Caddyfile",
        "--adapter", "caddyfile",
    )
    assert proxy.ProxySpec("caddy:2", 8000, "127.0.0.1").name == "goship-proxy-8000"


def test_site_config_routes_to_the_container():
    text = proxy.site_config("hello", "hello-abc-1", 8080)
    assert ":8080 {" in text and "reverse_proxy hello-abc-1:8080" in text
    assert "import sites/*.caddy" in proxy.main_caddyfile()


def test_config_tar_for_docker_cp():
    data = proxy.config_tar({"sites/hello.caddy": "x", "Caddyfile": "y"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["sites", "Caddyfile", "sites/hello.caddy"]


def test_go_build_plan_is_static_and_trimmed(tmp_path):
    plan = plan_go_build(
        GoBuildRequest(module_root=tmp_path, main="cmd/api", output=Path("/o/api"), platform=parse_platform("linux/arm64"), tags=("netgo",))
    )
    assert plan.argv == ("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "netgo", "-o", "/o/api", "./cmd/api")
    assert plan.env == {"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"}


def test_go_build_plan_vendor_and_arm_variant(tmp_path):
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor/modules.txt").write_text("")
    plan = plan_go_build(
        GoBuildRequest(module_root=tmp_path, main=".", output=Path("b"), platform=parse_platform("linux/arm/v7"))
    )
    assert plan.argv[-1] == "."
    assert plan.env["GOFLAGS"] == "-mod=vendor" and plan.env["GOARM"] == "7"


def test_unsupported_platform():
    with pytest.raises(BuildError, match="unsupported platform 'windows/amd64'"):
        parse_platform("windows/amd64")


def test_run_app_with_secrets_limits_and_weakened_security():
    argv = docker.run_app(
        docker.AppContainer(
            name="a", image="i", service="s", version="v", port=8080, env={}, env_file="/dev/stdin",
            hardening=docker.Hardening(
                memory="256m", cpus="0.5", read_only=False, cap_add=("NET_BIND_SERVICE",), user="1000:1000"
            ),
        )
    )
    assert argv[argv.index("--env-file") + 1] == "/dev/stdin"
    assert "--read-only" not in argv and "/tmp" not in argv
    assert argv[argv.index("--cap-add") + 1] == "NET_BIND_SERVICE"
    assert argv[argv.index("--memory") + 1] == "256m" and argv[argv.index("--cpus") + 1] == "0.5"
    assert argv[argv.index("--user") + 1] == "1000:1000"
    assert "no-new-privileges" in argv
