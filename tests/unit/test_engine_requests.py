"""Engine API requests as data, compared with the exact bodies the engine gets."""

import json

import pytest

from goship.deploy import history, lock, proxy
from goship.deploy.specs import AppContainer, Hardening, app_container
from goship.engine import api
from goship.engine.client import registry_auth
from goship.engine.http import render_request


def test_app_container_is_hardened_and_publishes_only_on_loopback():
    request = api.container_create(
        "hello-abc-1f2e3d",
        app_container(
            AppContainer(
                name="hello-abc-1f2e3d", image="reg:5000/hello@sha256:aa", service="hello",
                version="abc", port=8080, env={"GREETING": "hi"}, stop_timeout=30,
            )
        ),
    )
    assert (request.method, request.path, request.query) == ("POST", "/containers/create", (("name", "hello-abc-1f2e3d"),))
    assert request.json() == {
        "Image": "reg:5000/hello@sha256:aa",
        "Labels": {
            "goship.image": "reg:5000/hello@sha256:aa", "goship.managed": "true", "goship.role": "app",
            "goship.service": "hello", "goship.version": "abc", "goship.process": "web",
        },
        "Env": ["GREETING=hi", "PORT=8080"],
        "StopTimeout": 30,
        "ExposedPorts": {"8080/tcp": {}},
        "NetworkingConfig": {"EndpointsConfig": {"goship": {"Aliases": ["hello-abc-1f2e3d"]}}},
        "HostConfig": {
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            "NetworkMode": "goship",
            "RestartPolicy": {"Name": "unless-stopped"},
            "ReadonlyRootfs": True,
            "Tmpfs": {"/tmp": ""},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "LogConfig": {"Type": "", "Config": {"max-size": "10m", "max-file": "3"}},
        },
    }


def test_secrets_limits_and_weakened_security_in_the_body():
    body = api.container_body(
        app_container(
            AppContainer(
                name="a", image="i", service="s", version="v", port=8080, secrets={"TOKEN": "line1\nline2 'q'"},
                command=("-text", "hi"),
                hardening=Hardening(memory=256 << 20, nano_cpus=500_000_000, read_only=False,
                                    cap_add=("NET_BIND_SERVICE",), user="1000:1000"),
            )
        )
    )
    # Secrets travel in the body byte for byte: no env-file format, no shell.
    assert "TOKEN=line1\nline2 'q'" in body["Env"]
    assert body["Cmd"] == ["-text", "hi"] and body["User"] == "1000:1000"
    host = body["HostConfig"]
    assert "ReadonlyRootfs" not in host and "Tmpfs" not in host
    assert host["CapAdd"] == ["NET_BIND_SERVICE"] and host["CapDrop"] == ["ALL"]
    assert host["Memory"] == 268435456 and host["NanoCpus"] == 500_000_000
    assert host["SecurityOpt"] == ["no-new-privileges"]


def test_secret_values_never_show_in_a_repr():
    spec = app_container(AppContainer(name="a", image="i", service="s", version="v", port=1, secrets={"T": "hunter2"}))
    request = api.container_create("a", spec)
    assert "hunter2" not in repr(spec) and "hunter2" not in repr(request)


def test_proxy_container():
    body = api.container_body(proxy.container(proxy.ProxySpec("caddy:2", 80, https_port=443)))
    assert body["Cmd"] == ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
    assert body["Labels"] == {"goship.managed": "true", "goship.role": "proxy", "goship.proxy.port": "80"}
    host = body["HostConfig"]
    assert host["PortBindings"] == {
        "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}],
        "8443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "443"}],
        # the read-only status window: the host's loopback only
        "2020/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    assert host["Binds"] == ["goship-proxy-80-config:/etc/caddy", "goship-proxy-80-data:/data"]
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert proxy.RELOAD == ("caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")


def test_lock_and_state_containers_run_nothing():
    info = lock.LockInfo("ann", "laptop", 42, 1700000000.4, "deploying hello v2")
    body = api.container_body(lock.lock_container("hello", "img", info))
    assert body == {
        "Image": "img",
        "Labels": {
            "goship.managed": "true", "goship.role": "lock", "goship.service": "hello",
            "goship.lock.holder": "ann", "goship.lock.machine": "laptop", "goship.lock.pid": "42",
            "goship.lock.since": "1700000000", "goship.lock.message": "deploying hello v2",
        },
        "HostConfig": {"NetworkMode": "none"},
    }
    assert lock.parse_lock(body["Labels"]) == lock.LockInfo("ann", "laptop", 42, 1700000000.0, "deploying hello v2")
    state = api.container_body(history.state_container("hello", "caddy:2"))
    assert state["HostConfig"] == {"NetworkMode": "none", "Binds": ["goship-state-hello:/state"]}


def test_pull_by_digest_with_credentials_in_the_header():
    auth = registry_auth("ci", "s3cret", "10.0.0.1:5000")
    request = api.image_pull("10.0.0.1:5000/team/hello@sha256:" + "a" * 64, auth)
    assert request.path == "/images/create"
    assert request.query == (("fromImage", "10.0.0.1:5000/team/hello"), ("tag", "sha256:" + "a" * 64))
    assert dict(request.headers)["X-Registry-Auth"] == auth
    assert "s3cret" not in repr(request)
    import base64

    assert json.loads(base64.urlsafe_b64decode(auth)) == {
        "username": "ci", "password": "s3cret", "serveraddress": "10.0.0.1:5000",
    }


@pytest.mark.parametrize(
    ("ref", "split"),
    [
        ("caddy:2", ("caddy", "2")),
        ("reg:5000/app", ("reg:5000/app", "latest")),
        ("reg:5000/app:v1", ("reg:5000/app", "v1")),
        ("reg/app@sha256:ab", ("reg/app", "sha256:ab")),
    ],
)
def test_split_reference(ref, split):
    assert api.split_reference(ref) == split


def test_names_are_escaped_in_paths_and_the_request_is_plain_http():
    request = api.image_inspect("reg:5000/team/app:v1")
    assert request.path == "/images/reg%3A5000%2Fteam%2Fapp%3Av1/json"
    wire = render_request(api.container_list({"goship.service": "hello"}), prefix="/v1.41")
    assert wire.startswith(b"GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A+%5B%22goship.service%3Dhello%22%5D%7D HTTP/1.1\r\n")
    assert b"Host: docker\r\n" in wire and wire.endswith(b"\r\n\r\n")


def test_header_values_cannot_smuggle_lines():
    bad = api.image_pull("a:1", "x\r\nEvil: 1")
    with pytest.raises(ValueError, match="holds a line break"):
        render_request(bad)


def test_version_negotiation():
    assert api.negotiate("1.41") == "/v1.41"
    assert api.negotiate("1.47") == "/v1.45"
    assert api.negotiate(None) == "/v1.41"


def test_demux_log_frames():
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n" + b"\x02\x00\x00\x00\x00\x00\x00\x05oops\n"
    assert api.demux(frames) == [(1, b"hello\n"), (2, b"oops\n")]
    assert api.log_lines(frames) == ["hello", "oops"]
    assert api.log_lines(b"plain tty output\n") == ["plain tty output"]
    demuxer = api.Demuxer()
    assert demuxer.feed(frames[:5]) == [] and demuxer.feed(frames[5:]) == [(1, b"hello\n"), (2, b"oops\n")]


def test_progress_errors_hide_behind_a_200():
    lines = [b'{"status":"Pulling from team/app"}', b'{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized"}']
    assert api.progress_error(lines) == "unauthorized: authentication required"
    assert api.progress_error([b'{"status":"Digest: sha256:aa"}', b"not json"]) is None


def test_parse_container_state():
    state = api.parse_container(
        {
            "Id": "c1", "Name": "/hello-1", "Image": "sha256:cc", "RestartCount": 3,
            "State": {"Status": "restarting", "Running": True, "Restarting": True, "ExitCode": 127, "OOMKilled": False,
                      "StartedAt": "2026-01-01T00:00:00Z", "Health": {"Status": "starting"}},
            "Config": {"Labels": {"goship.version": "v2"}},
            "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}], "9/tcp": None}},
        }
    )
    assert (state.name, state.exit_code, state.restart_count, state.health) == ("hello-1", 127, 3, "starting")
    assert state.stopped and state.published(8080) == ("127.0.0.1", 49153) and state.published(9) is None
    assert state.labels == {"goship.version": "v2"}


def test_demux_falls_back_to_raw_output_and_keeps_a_cut_off_frame():
    frame = b"\x01\x00\x00\x00\x00\x00\x00\x03ok\n"
    assert api.demux(frame + b"\x01\x07\x00\x00garbage") == [(1, b"ok\n"), (1, b"\x01\x07\x00\x00garbage")]
    assert api.demux(frame + b"\x02\x00\x00\x00\x00\x00\x00\x09cut") == [(1, b"ok\n"), (2, b"cut")]
    assert api.demux(frame + b"\x01\x00") == [(1, b"ok\n"), (1, b"\x01\x00")]
    assert api.demux(b"") == []
    demuxer = api.Demuxer()
    assert demuxer.feed(frame + b"\x01\x07\x00") == [(1, b"ok\n")]
    assert demuxer.feed(b"\x00 tty") == [(1, b"\x01\x07\x00\x00 tty")]
    assert demuxer.feed(b"more") == [(1, b"more")] and demuxer.flush() == []


def test_one_reference_split_for_pulls_and_sboms():
    from goship.commands.sbom import _split_reference
    from goship.images.reference import split_reference

    assert api.split_reference is split_reference
    assert split_reference("localhost:5000/team/app") == ("localhost:5000/team/app", "latest")
    assert _split_reference("reg.example.com/team/app:v1") == ("reg.example.com", "team/app", "v1")
    with pytest.raises(ValueError, match="is not a digest"):
        _split_reference("reg.example.com/team/app@sha256:ab")


def test_docker_context_lookup_is_shared_by_goship_and_doctor():
    import hashlib

    from goship.engine.endpoint import current_context, host_problem

    digest = hashlib.sha256(b"colima").hexdigest()
    files = {
        ("config.json",): json.dumps({"currentContext": "colima"}),
        ("contexts", "meta", digest, "meta.json"): json.dumps({"Endpoints": {"docker": {"Host": "unix:///c.sock"}}}),
    }
    context = current_context({}, lambda *parts: files.get(parts))
    assert context is not None and (context.name, context.from_env, context.host) == ("colima", False, "unix:///c.sock")
    missing = current_context({"DOCKER_CONTEXT": "gone"}, lambda *parts: files.get(parts))
    assert missing is not None and missing.from_env and missing.host is None
    assert current_context({"DOCKER_CONTEXT": "default"}, lambda *parts: None) is None
    assert host_problem("fd://", windows=False) == "invalid"
    assert host_problem("fd://3", windows=False, schemes=("fd",)) is None
