"""build.builder: docker — users' own Dockerfiles through BuildKit, offline.

The two Dockerfiles users start from (a single-stage golang:1.21-alpine
build, and golang:1.21 -> alpine:latest) must build unchanged when their base
images are present locally; so must goship's generated one. The base images
are the test-bed's offline stand-ins (see testbed/images.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, wait_for_answer

pytestmark = pytest.mark.e2e

# The two Dockerfiles users start from (the seed article's chapters 1 and 2.3),
# also the fixtures goship lint is tested on.
LINT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"
SINGLE_STAGE = (LINT_FIXTURES / "chapter1" / "Dockerfile").read_text()
MULTI_STAGE = (LINT_FIXTURES / "chapter2_3" / "Dockerfile").read_text()


def _answering(image: str, port: int) -> str:
    """Run image with the service port published; return what / answers."""
    name = f"goship-dockerfile-test-{port}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    run = subprocess.run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", image],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    try:
        return wait_for_answer(f"http://127.0.0.1:{port}/")
    except OSError:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        raise AssertionError(f"{image} never answered: {logs.stdout}{logs.stderr}") from None
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def _project(hello: Path, dockerfile: str, registry_addr: str | None = None) -> Path:
    (hello / "Dockerfile").write_text(dockerfile)
    (hello / "go.sum").write_text("")  # stdlib only; the multi-stage Dockerfile copies it
    image = f"image: {registry_addr}/team/dockerfile\nregistry:\n  insecure: true\n" if registry_addr else ""
    (hello / "goship.yaml").write_text(f"{image}build:\n  builder: docker\n")
    return hello


@pytest.mark.parametrize("dockerfile", [SINGLE_STAGE, MULTI_STAGE], ids=["single-stage", "multi-stage"])
def test_seed_dockerfiles_build_offline_push_and_run(hello, dockerfile, seeded_go_images, test_registry, unused_port):
    _project(hello, dockerfile, test_registry.addr)
    built = run_goship("build", "-C", str(hello), "-o", "registry")
    assert built.returncode == 0, built.stderr
    assert "RUN" in built.stderr and "go build" in built.stderr  # BuildKit's steps were streamed
    tag, digest = built.stdout.split()
    assert _answering(tag, unused_port) == "Hello from goship!"
    pushed = json.loads((hello / ".goship" / "push.json").read_text())
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{pushed['reference']}"],
                               capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == digest
    # The SBOM comes from the Go binary the Dockerfile built.
    shown = run_goship("sbom", "-C", str(hello))
    assert shown.returncode == 0 and "example.com/hello" in shown.stdout, shown.stdout + shown.stderr


def test_generated_dockerfile_builds_offline_and_runs_as_nonroot(hello, seeded_go_images, local_engine, unused_port, local_port):
    generated = run_goship("dockerfile", "-C", str(hello))
    assert generated.returncode == 0, generated.stderr
    (hello / "Dockerfile").write_text(generated.stdout)
    (hello / "goship.yaml").write_text(f"build:\n  builder: docker\nproxy:\n  port: {local_port}\n")
    built = run_goship("build", "-C", str(hello))
    assert built.returncode == 0, built.stderr
    tag = built.stdout.split()[0]
    user = subprocess.run(["docker", "image", "inspect", "--format", "{{.Config.User}}", tag],
                          capture_output=True, text=True).stdout.strip()
    assert user and user.split(":")[0] not in ("", "0", "root"), user
    assert _answering(tag, unused_port) == "Hello from goship!"
    # The goship local deploy path takes the Dockerfile-built image too.
    shipped = run_goship("ship", "-C", str(hello))
    assert shipped.returncode == 0, shipped.stderr


def _from_container(container: str, path: str) -> tarfile.TarFile:
    """``docker cp CONTAINER:PATH -``: the path as the tar stream docker gives."""
    copied = subprocess.run(["docker", "cp", f"{container}:{path}", "-"], capture_output=True, timeout=60)
    assert copied.returncode == 0, copied.stderr
    return tarfile.open(fileobj=io.BytesIO(copied.stdout))


def _file(tar: tarfile.TarFile, name: str) -> tuple[bytes, tarfile.TarInfo]:
    member = tar.getmember(name)
    extracted = tar.extractfile(member)
    assert extracted is not None, name
    return extracted.read(), member


def test_generated_dockerfile_carries_tzdata_files_and_version_var(hello, seeded_go_images, local_engine):
    """The same runtime file system and settings as the native builder's image."""
    (hello / "motd.txt").write_text("Welcome to hello.\n")
    (hello / "motd.txt").chmod(0o600)  # the image gets 0644, readable by nonroot, as natively
    assert 'var version = "dev"' in (hello / "main.go").read_text()  # what version_var sets
    (hello / "goship.yaml").write_text(
        "build:\n  builder: docker\n  tzdata: true\n  version_var: main.version\n"
        "  files: {/etc/hello/motd.txt: motd.txt}\n"
    )
    generated = run_goship("dockerfile", "-C", str(hello), "-o", "Dockerfile", cwd=hello)
    assert generated.returncode == 0, generated.stderr
    assert "syntax=" not in (hello / "Dockerfile").read_text()
    built = run_goship("build", "-C", str(hello))
    assert built.returncode == 0, built.stderr
    tag = built.stdout.split()[0]
    version = tag.rsplit(":", 1)[1]
    assert version.startswith("src-")  # outside git: the source hash, as natively

    inspected = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config}}", tag],
                               capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)
    assert config["User"] == "65532:65532"
    assert "ZONEINFO=/usr/share/zoneinfo.zip" in config["Env"]

    created = subprocess.run(["docker", "create", tag], capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    try:
        zoneinfo, member = _file(_from_container(container, "/usr/share/zoneinfo.zip"), "zoneinfo.zip")
        assert zoneinfo.startswith(b"PK") and b"Europe/Berlin" in zoneinfo
        assert member.mode & 0o7777 == 0o644

        motd, member = _file(_from_container(container, "/etc/hello/motd.txt"), "motd.txt")
        assert motd == b"Welcome to hello.\n"
        assert (member.mode & 0o7777, member.uid) == (0o644, 0)

        tmp = _from_container(container, "/tmp").getmember("tmp")
        assert tmp.isdir() and tmp.mode & 0o7777 == 0o1777

        home = _from_container(container, "/home/nonroot").getmember("nonroot")
        assert home.isdir() and (home.mode & 0o7777, home.uid, home.gid) == (0o700, 65532, 65532)

        passwd, _ = _file(_from_container(container, "/etc/passwd"), "passwd")
        assert b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" in passwd
        group, _ = _file(_from_container(container, "/etc/group"), "group")
        assert b"nonroot:x:65532:\n" in group

        # build.version_var: goship build passed the version it tags the image with.
        binary, _ = _file(_from_container(container, "/usr/local/bin/hello"), "hello")
        assert version.encode() in binary
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def test_dockerfile_syntax_error_points_at_the_line(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nWORKDIR /src\nCOPPY . .\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "Dockerfile:3: unknown instruction: COPPY")


def _closed_registry() -> str:
    """host:port of a loopback port nothing listens on: a registry that is not there
    (never a real one on the internet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_missing_base_image_is_named(hello, seeded_go_images):
    registry = _closed_registry()
    _project(hello, f"FROM golang:1.21 AS build\nRUN true\nFROM {registry}/team/base:1\nCOPY --from=build /etc/passwd /x\n")
    result = run_goship("build", "-C", str(hello))
    assert_clean_failure(
        result, f"Dockerfile:3: base image {registry}/team/base:1 is not present locally and cannot be pulled: ",
        "refused the connection", "or change the FROM line",
    )


def test_unavailable_syntax_frontend_is_named_with_its_line(hello, seeded_go_images):
    registry = _closed_registry()
    _project(hello, f"# syntax={registry}/docker/dockerfile:1.3\nFROM golang:1.21\nRUN true\n")
    result = run_goship("build", "-C", str(hello))
    assert_clean_failure(
        result,
        f"Dockerfile:1: the '# syntax={registry}/docker/dockerfile:1.3' directive needs the Dockerfile frontend image",
        "remove line 1 to build with the engine's built-in Dockerfile frontend",
    )
    assert "base image" not in result.stderr


def test_failing_run_step_shows_its_output(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app ./nothere\n")
    assert_clean_failure(
        run_goship("build", "-C", str(hello)), "Dockerfile:4: [4/4] RUN go build -o /out/app ./nothere failed", "nothere"
    )


def test_missing_dockerfile_is_a_config_error(hello):
    (hello / "goship.yaml").write_text("build:\n  builder: docker\n  dockerfile: build/Dockerfile\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "build.dockerfile", "goship dockerfile -o Dockerfile")


SECRETS_AND_TARGET = """FROM golang:1.21 AS build
WORKDIR /src
COPY . .
ARG CHECK
# The secret is checked by its hash, so the Dockerfile itself does not hold it.
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | grep -q "^{token_sha} " && test "$CHECK" = "yes"
RUN CGO_ENABLED=0 go build -trimpath -o /out/app .

FROM scratch AS runtime
COPY --from=build /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]

FROM runtime AS with-sources
COPY --from=build /src /src
"""


def test_build_args_target_and_secrets_reach_buildkit_not_the_image(hello, seeded_go_images, local_engine):
    token_sha = hashlib.sha256(b"s3cret-value-42").hexdigest()
    (hello / "Dockerfile").write_text(SECRETS_AND_TARGET.replace("{token_sha}", token_sha))
    (hello / "goship.yaml").write_text(
        "build:\n  builder: docker\n  target: runtime\n  args: {CHECK: 'yes'}\n  secrets: {token: 'env:BUILD_TOKEN'}\n"
    )
    built = run_goship("build", "-C", str(hello), env={"BUILD_TOKEN": "s3cret-value-42"})
    assert built.returncode == 0, built.stderr
    assert "s3cret-value-42" not in built.stdout + built.stderr
    tag = built.stdout.split()[0]
    saved = subprocess.run(["docker", "save", tag], capture_output=True, timeout=120).stdout
    assert saved and b"s3cret-value-42" not in saved
    layers = subprocess.run(["docker", "image", "inspect", "--format", "{{len .RootFS.Layers}}", tag],
                            capture_output=True, text=True).stdout.strip()
    assert layers == "1", layers  # the 'runtime' target: the binary only, no /src
    # Without the secret, the build fails before anything runs, naming it.
    assert_clean_failure(run_goship("build", "-C", str(hello)), "build.secrets.token", "BUILD_TOKEN")


CACHED_BUILD = """FROM golang:1.21 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/app .

FROM scratch AS runtime
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
"""


def _events(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_rebuild_without_change_is_cached_and_goship_state_stays_out_of_the_context(hello, seeded_go_images):
    """goship's .goship folder (earlier images, push records) is not build input:
    `COPY . .` stays cached, and the build stage holds none of it; the user's
    .dockerignore still applies and is left as it was."""
    (hello / "Dockerfile").write_text(CACHED_BUILD)
    (hello / ".dockerignore").write_text("notes.txt")
    (hello / "notes.txt").write_text("not for the image\n")
    # The classic builder (docker 20.10 here) cannot export a cache: said, not ignored.
    (hello / "goship.yaml").write_text("build:\n  builder: docker\n  target: build\n  cache_to: localhost:5000/c:1\n")
    first = run_goship("build", "-C", str(hello), "--json")
    assert first.returncode == 0, first.stderr
    assert (hello / ".goship" / "oci").is_dir()
    warnings = [e["message"] for e in _events(first) if e["level"] == "warn"]
    assert any("build.cache_to" in w and "needs buildx" in w and "BUILDKIT_INLINE_CACHE" in w for w in warnings), warnings
    second = run_goship("build", "-C", str(hello), "--json")
    assert second.returncode == 0, second.stderr
    cached = [e["message"] for e in _events(second) if (e.get("data") or {}).get("cached")]
    assert "CACHED [build 3/4] COPY . ." in cached, cached
    assert "CACHED [build 4/4] RUN CGO_ENABLED=0 go build -trimpath -o /out/app ." in cached, cached
    tag = [e for e in _events(second) if e["level"] == "ok"][-1]["message"].split()[1]  # "built TAG (...)"
    listed = subprocess.run(["docker", "run", "--rm", "--entrypoint", "ls", tag, "-a", "/src"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "main.go" in listed.stdout.split()
    assert ".goship" not in listed.stdout.split() and "notes.txt" not in listed.stdout.split(), listed.stdout
    assert (hello / ".dockerignore").read_text() == "notes.txt"
    assert not (hello / "Dockerfile.dockerignore").exists()


def test_failing_copy_says_why(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nWORKDIR /src\nCOPY go.mod ./\nCOPY go.sum ./\nRUN go mod download\n")
    (hello / "go.sum").unlink()
    assert_clean_failure(run_goship("build", "-C", str(hello)),
                         'Dockerfile:4: [4/5] COPY go.sum ./ failed: "/go.sum" not found', ".dockerignore")


def test_failing_run_with_an_arg_in_a_continued_line_keeps_its_line(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nWORKDIR /src\nARG VERSION=1.2.3\nCOPY . .\n"
                    'RUN go build \\\n    -ldflags "-X main.version=${VERSION}" -o /app ./nothere\n'
                    "FROM scratch AS runtime\nCOPY --from=build /app /app\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)),
                         'Dockerfile:5: [build 4/4] RUN go build -ldflags "-X main.version=1.2.3" -o /app ./nothere '
                         "failed (exit code 1)")


def test_unknown_target_is_refused_before_buildkit_runs(hello):
    _project(hello, CACHED_BUILD)
    (hello / "goship.yaml").write_text("build:\n  builder: docker\n  target: nosuch\n")
    result = run_goship("build", "-C", str(hello))
    assert result.returncode == 2
    assert_clean_failure(result, "build.target 'nosuch' is not a stage of Dockerfile (stages: build, runtime)")
    assert "docker build" not in result.stderr


def test_base_image_present_for_another_platform_is_said_so(hello, seeded_go_images):
    _project(hello, CACHED_BUILD)
    (hello / "goship.yaml").write_text("build:\n  builder: docker\n  platform: linux/arm64\n")
    assert_clean_failure(
        run_goship("build", "-C", str(hello)),
        "Dockerfile:1: base image golang:1.21 is present locally only for linux/amd64, not for linux/arm64",
    )


def test_copy_from_an_unknown_stage_is_named(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nRUN true\nFROM scratch AS runtime\nCOPY --from=nostage /x /x\n")
    assert_clean_failure(
        run_goship("build", "-C", str(hello)),
        "Dockerfile:4: COPY --from=nostage names no stage of Dockerfile (stages: build, runtime)",
    )


def test_build_steps_print_as_they_are(hello, seeded_go_images):
    """BuildKit's own output, with a terminal's colours on: no emoji, no markup, no traceback."""
    _project(hello, "FROM golang:1.21\nRUN echo 'root:x:0:0:root:/root [/x] [bold]b[/bold] :x:'\n")
    result = run_goship("build", "-C", str(hello), env={"FORCE_COLOR": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "root:x:0:0:root:/root [/x] [bold]b[/bold] :x:" in output
    assert "❌" not in output and "Traceback" not in output
