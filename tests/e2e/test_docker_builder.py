"""build.builder: docker — users' own Dockerfiles through BuildKit, offline.

The two Dockerfiles users start from (a single-stage golang:1.21-alpine
build, and golang:1.21 -> alpine:latest) must build unchanged when their base
images are present locally; so must goship's generated one. The base images
are the test-bed's offline stand-ins (see testbed/images.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
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


def test_generated_dockerfile_builds_offline_and_runs_as_nonroot(hello, seeded_go_images, local_engine, unused_port):
    generated = run_goship("dockerfile", "-C", str(hello))
    assert generated.returncode == 0, generated.stderr
    (hello / "Dockerfile").write_text(generated.stdout)
    (hello / "goship.yaml").write_text("build:\n  builder: docker\n")
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


def test_dockerfile_syntax_error_points_at_the_line(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nWORKDIR /src\nCOPPY . .\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "Dockerfile:3: unknown instruction: COPPY")


def test_missing_base_image_is_named(hello, seeded_go_images):
    _project(hello, "FROM golang:1.21 AS build\nRUN true\nFROM golang:0.99-nothere\nCOPY --from=build /etc/passwd /x\n")
    assert_clean_failure(
        run_goship("build", "-C", str(hello)),
        "Dockerfile:3: base image golang:0.99-nothere is not present locally and cannot be pulled",
    )


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
