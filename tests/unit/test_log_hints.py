"""Hints from a failed service's own log lines, as Go programs print them: a file
missing from the image names build.files; a write refused on a mount names the mount."""

from __future__ import annotations

import pytest

from goship.deploy.health import HealthCheck, wait_ready
from goship.deploy.loghints import log_hint, missing_file_hint, write_denied_hint
from goship.engine.api import Mount
from goship.errors import HealthCheckFailed
from goship.testing.engine import Behaviour
from tests.unit.helpers import fake_host

DATA = Mount("volume", "hello-data", "/var/lib/hello")
HOST = Mount("bind", "/srv/hello/uploads", "/uploads")
CONFIG = Mount("bind", "/srv/hello/config", "/etc/hello", read_only=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # log.Fatal(err) after os.ReadFile("config.yaml")
        ("2024/05/01 12:00:00 open config.yaml: no such file or directory", "`build.files: {/config.yaml: config.yaml}`"),
        # slog + a wrapped error
        ('time=2024-05-01T12:00:00.000Z level=ERROR msg="load config" err="read config: open ./conf/app.toml: '
         'no such file or directory"', "`build.files: {/conf/app.toml: conf/app.toml}`"),
        # an absolute path: the module's file of the same name
        ("panic: stat /etc/hello/hooks.json: no such file or directory", "`build.files: {/etc/hello/hooks.json: hooks.json}`"),
        # template.ParseGlob
        ("panic: html/template: pattern matches no files: `templates/*.html`", "`build.files: {/templates: templates}`"),
        # zap's JSON
        ('{"level":"fatal","ts":1714564800,"msg":"cannot start","error":"open migrations: no such file or directory"}',
         "`build.files: {/migrations: migrations}`"),
    ],
)
def test_a_missing_file_names_the_build_files_line(line, expected):
    hint = missing_file_hint(["starting hello v1.2.3", line])
    assert hint is not None and expected in hint and "not in the image" in hint


def test_vague_missing_file_messages_still_name_build_files():
    hint = missing_file_hint(['Config File "config" Not Found in "[/ /etc/hello]"'])
    assert hint is not None and "build.files" in hint
    assert missing_file_hint(["listening on :8080", "shutting down"]) is None


def test_a_missing_file_on_a_volume_or_in_tmp_is_data_not_build_files():
    assert missing_file_hint(["open /var/lib/hello/state.json: no such file or directory"], [DATA]) is None
    assert missing_file_hint(["open /tmp/x.sock: no such file or directory"]) is None


def test_permission_denied_on_a_named_volume_explains_the_owner():
    hint = write_denied_hint(['level=fatal msg="open db" err="unable to open database file: open '
                              '/var/lib/hello/app.db: permission denied"'], [DATA, HOST])
    assert hint is not None
    assert "volume hello-data (mounted at /var/lib/hello) is not writable by the service's user (65532:65532)" in hint
    assert "docker run --rm -v hello-data:/v busybox chown 65532:65532 /v" in hint


def test_permission_denied_on_a_host_path_says_the_host_owns_it():
    hint = log_hint(["mkdir /uploads/2024: permission denied"], [DATA, HOST])
    assert hint is not None
    assert "the host path /srv/hello/uploads (mounted at /uploads)" in hint and "goship does not change it" in hint
    assert "sudo chown -R 65532:65532 /srv/hello/uploads" in hint


def test_read_only_mounts_and_the_read_only_root():
    assert "mounted read-only" in (log_hint(["open /etc/hello/new.yaml: read-only file system"], [CONFIG]) or "")
    root = log_hint(["open /app/cache.json: read-only file system"], [DATA]) or ""
    assert "root file system is read-only" in root and "app.volumes" in root
    assert log_hint(["open /root/x: permission denied"], [DATA]) is None  # not a mount: no claim about it


def test_the_health_failure_carries_the_hint_from_the_log():
    fake = fake_host()
    lines = ("hello starting", "2024/05/01 12:00:00 open config.yaml: no such file or directory")
    fake.engine.add_image("hello:1", Behaviour(exit_code=1, logs=lines))
    fake.host.engine.create("hello-1", _spec("hello:1"))
    fake.host.engine.start("hello-1")
    with pytest.raises(HealthCheckFailed) as caught:
        wait_ready(fake.host.engine, fake.prober, "hello-1", HealthCheck(8080), "hello 1", fake.clock)
    assert caught.value.hint is not None and "`build.files: {/config.yaml: config.yaml}`" in caught.value.hint


def test_the_health_failure_names_the_volume_it_could_not_write():
    fake = fake_host()
    lines = ("open /var/lib/hello/app.db: permission denied",)
    fake.engine.add_image("hello:1", Behaviour(exit_code=1, logs=lines))
    fake.host.engine.create("hello-1", _spec("hello:1", binds=("hello-data:/var/lib/hello",)))
    fake.host.engine.start("hello-1")
    with pytest.raises(HealthCheckFailed) as caught:
        wait_ready(fake.host.engine, fake.prober, "hello-1", HealthCheck(8080), "hello 1", fake.clock)
    assert caught.value.hint is not None and "volume hello-data (mounted at /var/lib/hello)" in caught.value.hint


def _spec(image: str, binds: tuple[str, ...] = ()):
    from goship.engine.api import ContainerSpec, PortBinding

    return ContainerSpec(image=image, publish=(PortBinding(8080),), binds=binds)
