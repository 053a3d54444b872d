"""goship lint rules: exact rule IDs and lines on the article's Dockerfiles and a bad project."""

import shutil
from pathlib import Path

import pytest

from goship.commands.init import dockerfile as scaffold
from goship.commands.lint import RULES, Severity, lint_dockerfile_text, lint_project
from goship.commands.lint.config_rules import check_config, is_loopback, registry_host
from goship.secrets import is_secret_name

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"


def order(items):
    """(rule, file, line) tuples in reading order: by file, then line, then rule."""
    return sorted(items, key=lambda item: (item[1], item[2] or 0, item[0]))


def ids(report_or_findings):
    findings = getattr(report_or_findings, "findings", report_or_findings)
    return order((f.rule, f.file, f.line) for f in findings)


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def test_every_rule_has_a_why_and_a_fix():
    for rule in RULES.values():
        assert rule.id.startswith("GS") and rule.title and rule.why and rule.fix
        assert rule.fix.endswith((".", ")", "'")), rule.id


def test_chapter_1_single_stage(tmp_path):
    report = lint_project(copy_fixture("chapter1", tmp_path), hadolint=False)
    assert ids(report) == [
        ("GS113", ".dockerignore", None),  # no .dockerignore
        ("GS101", "Dockerfile", 1),  # no multi-stage: the toolchain ships
        ("GS103", "Dockerfile", 1),  # no USER: root
        ("GS112", "Dockerfile", 1),  # no HEALTHCHECK, no goship.yaml health:
        ("GS105", "Dockerfile", 3),  # COPY . . before the modules are downloaded
    ]
    assert report.exit_code(Severity.WARNING) == 1
    assert report.exit_code(Severity.ERROR) == 0


def test_chapter_2_3_multi_stage(tmp_path):
    report = lint_project(copy_fixture("chapter2_3", tmp_path), hadolint=False)
    assert ids(report) == [
        ("GS113", ".dockerignore", None),
        ("GS103", "Dockerfile", 8),  # final stage alpine:latest has no USER
        ("GS104", "Dockerfile", 8),  # alpine:latest
        ("GS112", "Dockerfile", 8),
    ]
    # CGO_ENABLED=0 is set inline and apk uses --no-cache: neither GS102 nor GS106.


def test_a_crlf_dockerfile_gives_the_same_findings(tmp_path):
    project = copy_fixture("chapter2_3", tmp_path)
    dockerfile = project / "Dockerfile"
    dockerfile.write_bytes(dockerfile.read_bytes().replace(b"\n", b"\r\n"))
    assert ids(lint_project(project, hadolint=False)) == ids(lint_project(FIXTURES / "chapter2_3", hadolint=False))


@pytest.fixture
def bad(tmp_path):
    """The bad fixture plus what git cannot be trusted to keep: a CRLF script."""
    project = copy_fixture("bad", tmp_path)
    (project / "scripts" / "start.sh").write_bytes(b"#!/bin/sh\r\nexec /app \"$@\"\r\n")
    return project


BAD_EXPECTED = [
    ("GS114", ".dockerignore", None),
    ("GS115", ".dockerignore", None),
    ("GS105", "Dockerfile", 5),
    ("GS102", "Dockerfile", 6),
    ("GS101", "Dockerfile", 9),
    ("GS104", "Dockerfile", 9),  # FROM ${BASE} -> alpine, untagged
    ("GS112", "Dockerfile", 9),
    ("GS106", "Dockerfile", 10),
    ("GS120", "Dockerfile", 11),  # apt-get in FROM ${BASE} -> alpine: the build fails (GS107 would be noise)
    ("GS109", "Dockerfile", 12),
    ("GS109", "Dockerfile", 13),
    ("GS111", "Dockerfile", 14),
    ("GS110", "Dockerfile", 15),  # scripts/ into the final stage; COPY . . into the build stage is not reported
    ("GS103", "Dockerfile", 17),
    ("GS108", "Dockerfile", 18),
    ("GS202", "goship.yaml", 4),
    ("GS203", "goship.yaml", 6),
]


def test_bad_project_fires_every_rule_at_its_line(bad):
    report = lint_project(bad, context_limit=200, hadolint=False)
    assert ids(report) == order(BAD_EXPECTED)
    by_rule = {(f.rule, f.line): f for f in report.findings}
    assert by_rule[("GS109", 12)].severity is Severity.ERROR  # ENV with a value
    assert by_rule[("GS109", 13)].severity is Severity.WARNING  # ARG without a default
    assert "hunter2" not in by_rule[("GS109", 12)].message  # never repeat the secret
    assert "scripts/start.sh" in by_rule[("GS110", 15)].message
    assert "ok.sh" not in by_rule[("GS110", 15)].message
    assert "largest: Dockerfile" in next(f for f in report.findings if f.rule == "GS115").message
    assert report.exit_code(Severity.ERROR) == 3  # the worst finding is an error
    assert report.exit_code(Severity.WARNING) == 3


def test_remaining_rules_gs113_and_gs201(tmp_path):
    project = copy_fixture("chapter1", tmp_path)
    (project / "goship.yaml").write_text("service: hello\nhealth:\n  timout: 3s\n")
    report = lint_project(project, hadolint=False)
    gs201 = [f for f in report.findings if f.rule == "GS201"]
    assert [(f.file, f.line) for f in gs201] == [("goship.yaml", 3)]
    assert gs201[0].message.startswith("health.timout: unknown key (did you mean 'timeout'?)")
    assert "GS113" in {f.rule for f in report.findings}


def test_ignore_option_and_comments_suppress(bad):
    report = lint_project(bad, context_limit=200, ignore=["gs106", "GS115"], hadolint=False)
    assert {"GS106", "GS115"}.isdisjoint({f.rule for f in report.findings})

    dockerfile = bad / "Dockerfile"
    lines = dockerfile.read_text().splitlines()
    lines.insert(16, "# goship-ignore GS103")  # above USER root (line 17)
    lines.insert(9, "# goship-ignore GS106 GS101")  # above the apk RUN (line 10)
    lines.insert(0, "# goship-ignore-file GS114, GS112")
    dockerfile.write_text("\n".join(lines) + "\n")
    rules = {(f.rule, f.line) for f in lint_project(bad, context_limit=200, hadolint=False).findings}
    assert not {r for r, _ in rules} & {"GS103", "GS106", "GS114", "GS112"}
    assert ("GS101", 10) in rules  # that comment sits above RUN, not above FROM
    assert ("GS108", 21) in rules  # the rest still fire, at their new lines


GENERATED = """\
FROM golang:1.22-alpine AS build
WORKDIR /src
COPY go.mod go.sum* ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/app ./cmd/x
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app"]
"""


def test_the_dockerfile_goship_init_writes_has_no_findings():
    assert lint_dockerfile_text(GENERATED, health_configured=True) == []
    # Without a health: section in goship.yaml only the info-level GS112 remains.
    assert [f.rule for f in lint_dockerfile_text(GENERATED)] == ["GS112"]


def test_scaffold_output_lints_clean():
    """Whatever 'goship dockerfile' renders, in every variant, passes the rules."""
    variants = [
        scaffold.DockerfileSpec(binary="hello", go_version="1.22", main="cmd/hello", tags=("netgo",)),
        scaffold.DockerfileSpec(binary="hello", go_version="1.22", vendored=True),
        scaffold.DockerfileSpec(binary="hello", go_version="1.22", workspace_modules=("api", "lib"), module_dir="api", arm_variant=True),
    ]
    for spec in variants:
        assert lint_dockerfile_text(scaffold.render_dockerfile(spec), health_configured=True) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # cgo on glibc builder, copied into scratch / distroless static / alpine
        ("FROM golang:1.22 AS b\nRUN go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", [("GS102", 2)]),
        ("FROM golang:1.22 AS b\nRUN go build -o /a .\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=b /a /a\nENTRYPOINT [\"/a\"]\n", [("GS102", 2)]),
        # alpine builder into alpine: both musl, fine; into scratch: not fine
        ("FROM golang:1.22-alpine AS b\nRUN go build -o /a .\nFROM alpine:3.20\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM golang:1.22-alpine AS b\nRUN go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", [("GS102", 2)]),
        # CGO_ENABLED=0 from ENV, ARG, or a parent stage
        ("FROM golang:1.22 AS base\nENV CGO_ENABLED=0\nFROM base AS b\nRUN go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM golang:1.22 AS b\nARG CGO_ENABLED=0\nRUN go build -o /a .\nFROM scratch\nCOPY --from=1 /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", []),
        # shell form on scratch cannot start at all: error
        ("FROM golang:1.22 AS b\nRUN CGO_ENABLED=0 go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nUSER 1\nCMD /a\n", [("GS108", 6)]),
        # a shell-form CMD after an exec ENTRYPOINT is appended as "/bin/sh -c --serve": broken
        ("FROM alpine@sha256:abc\nUSER 1\nENTRYPOINT [\"/a\"]\nCMD --serve\n", [("GS108", 4)]),
        ("FROM alpine@sha256:abc\nUSER 1\nENTRYPOINT [\"/a\"]\nCMD [\"--serve\"]\n", []),
        # digests and nonroot images are fine
        ("FROM gcr.io/distroless/static:nonroot\nCOPY a /a\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM alpine:3.20\nUSER 0:0\nENTRYPOINT [\"/a\"]\n", [("GS103", 2)]),
        ("FROM alpine:3.20\nUSER 1\nADD --checksum=sha256:aa https://x/y /y\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM debian:12\nUSER 1\nRUN apt-get update && apt-get install -y ca-certificates && rm -rf /var/lib/apt/lists/*\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM alpine:3.20\nUSER 1\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM alpine:3.20\nUSER 1\nENV PUBLIC_KEY=x SSH_KEY_FILE=/k KEY_ID=3\nENTRYPOINT [\"/a\"]\n", []),
        ("FROM alpine:3.20\nUSER 1\nHEALTHCHECK CMD [\"/a\", \"-health\"]\nENTRYPOINT [\"/a\"]\n", "no GS112"),
    ],
)
def test_rule_cases(text, expected):
    findings = lint_dockerfile_text(text, health_configured=expected != "no GS112")
    if expected == "no GS112":
        assert findings == []
        return
    assert [(f.rule, f.line) for f in findings] == expected
    if expected == [("GS108", 6)]:
        assert findings[0].severity is Severity.ERROR and "no /bin/sh" in findings[0].message


@pytest.mark.parametrize(
    ("name", "secret"),
    [("DB_PASSWORD", True), ("GITHUB_TOKEN", True), ("API_KEY", True), ("JWT_SECRET", True), ("AWS_SECRET_ACCESS_KEY", True),
     ("PUBLIC_KEY", False), ("SSH_KEY_FILE", False), ("KEY_ID", False), ("LOG_LEVEL", False), ("MONKEY", False)],
)
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_config_rules_are_quiet_for_loopback_and_defaults():
    findings, config = check_config("image: localhost:5000/hello\nregistry:\n  insecure: true\n", "goship.yaml")
    assert findings == [] and config is not None
    assert registry_host("docker.io/library/x") == "docker.io" and registry_host("team/x") is None
    assert is_loopback("127.0.0.1:5000") and is_loopback("[::1]:5000") and not is_loopback("10.0.0.5:5000")


def test_config_not_utf8_is_a_finding(tmp_path):
    project = copy_fixture("chapter2_3", tmp_path)
    (project / "goship.yaml").write_bytes(b"service: h\xff\n")
    assert ("GS201", "goship.yaml", None) in ids(lint_project(project, hadolint=False))


def test_context_walk_honours_dockerignore_and_lists_the_biggest(tmp_path):
    project = copy_fixture("chapter2_3", tmp_path)
    (project / ".dockerignore").write_text(".git\nbig/skip.bin\n")
    (project / "big").mkdir()
    (project / "big" / "data.bin").write_bytes(b"x" * 300_000)
    (project / "big" / "skip.bin").write_bytes(b"x" * 900_000)
    (project / ".git").mkdir()
    (project / ".git" / "pack").write_bytes(b"x" * 900_000)
    report = lint_project(project, context_limit=200_000, hadolint=False)
    gs115 = [f for f in report.findings if f.rule == "GS115"]
    assert len(gs115) == 1 and "largest: big/ 293 KB" in gs115[0].message, gs115
    assert "GS113" not in {f.rule for f in report.findings} and "GS114" not in {f.rule for f in report.findings}


def test_build_context_from_goship_yaml_and_workspace_without_download(tmp_path):
    """A module in a go.work workspace: the context is the workspace root (build.context)."""
    workspace = tmp_path / "ws"
    shutil.copytree(FIXTURES / "chapter1", workspace / "api")
    (workspace / "go.work").write_text("go 1.22\n\nuse ./api\n")
    (workspace / ".dockerignore").write_text(".git\n")
    (workspace / "api" / "goship.yaml").write_text('build:\n  context: ".."\nhealth:\n  path: /healthz\n')
    (workspace / "api" / "Dockerfile").write_text(
        "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY . .\nWORKDIR /src/api\n"
        "RUN CGO_ENABLED=0 go build -o /out/api .\nFROM scratch\nCOPY --from=build /out/api /api\n"
        'USER 65532:65532\nENTRYPOINT ["/api"]\n'
    )
    assert ids(lint_project(workspace / "api", hadolint=False)) == []
    # The same Dockerfile outside a workspace is the classic cache-busting mistake.
    (workspace / "api" / "goship.yaml").write_text("health:\n  path: /healthz\n")
    (workspace / "api" / ".dockerignore").write_text(".git\n")
    assert ids(lint_project(workspace / "api", hadolint=False)) == [("GS105", "Dockerfile", 3)]


# -- GS110 only for scripts that run or ship ----------------------------------------------------------------


def _crlf_project(tmp_path: Path, dockerfile: str, scripts: dict[str, bytes]) -> Path:
    project = copy_fixture("chapter1", tmp_path)
    (project / ".dockerignore").write_text(".git\n")
    (project / "goship.yaml").write_text("health:\n  path: /healthz\n")
    for rel, data in scripts.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (project / "Dockerfile").write_text(dockerfile)
    return project


CRLF_SH = b"#!/bin/sh\r\necho hi\r\n"


def gs110(project: Path):
    return [f for f in lint_project(project, hadolint=False).findings if f.rule == "GS110"]


def test_crlf_script_only_in_the_build_stage_of_goships_dockerfile_is_fine(tmp_path):
    """COPY . . into the build stage brings scripts/dev.sh, but nothing runs it and the final image never gets it."""
    project = _crlf_project(tmp_path, GENERATED.replace("./cmd/x", "."), {"scripts/dev.sh": CRLF_SH})
    assert gs110(project) == []
    (project / "Dockerfile").write_text(scaffold.render_dockerfile(scaffold.DockerfileSpec(binary="hello", go_version="1.22")))
    assert gs110(project) == []


@pytest.mark.parametrize(
    ("run", "line"),
    [("RUN ./scripts/build.sh", 4), ("RUN sh scripts/build.sh", 4), ("RUN chmod +x scripts/build.sh && bash -e scripts/build.sh", 4),
     ("RUN sh -c './scripts/build.sh'", 4), ("RUN chmod +x scripts/build.sh", None)],
)
def test_crlf_script_run_in_a_build_stage(tmp_path, run, line):
    dockerfile = (
        "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY . .\n" + run + "\n"
        "FROM scratch\nCOPY --from=build /out/app /app\nUSER 1\nENTRYPOINT [\"/app\"]\n"
    )
    found = gs110(_crlf_project(tmp_path, dockerfile, {"scripts/build.sh": CRLF_SH}))
    assert [f.line for f in found] == ([line] if line else [])
    if line:
        assert "scripts/build.sh" in found[0].message and "'*.sh text eol=lf'" in found[0].fix


def test_crlf_script_reported_once_with_a_fix_for_its_name(tmp_path):
    """Copied into the final image twice (directly and through a stage): one finding per file;
    a shebang file without .sh gets a .gitattributes line for its own path."""
    dockerfile = (
        "FROM alpine:3.20 AS tools\nCOPY bin/ /opt/bin/\n"
        "FROM alpine:3.20\nCOPY bin/entry /usr/local/bin/entry\nCOPY --from=tools /opt/bin/ /usr/local/bin/\n"
        "COPY start.sh /start.sh\nCOPY start.sh /again.sh\nUSER 1\nENTRYPOINT [\"/usr/local/bin/entry\"]\n"
    )
    project = _crlf_project(tmp_path, dockerfile, {"bin/entry": CRLF_SH, "start.sh": CRLF_SH, "bin/data.txt": b"a\r\nb\r\n"})
    found = gs110(project)
    assert [(f.line, f.message.split()[0]) for f in found] == [(4, "bin/entry"), (6, "start.sh")]
    assert "'bin/entry text eol=lf'" in found[0].fix and "dos2unix bin/entry" in found[0].fix
    assert "'*.sh text eol=lf'" in found[1].fix
    assert "final image" in found[0].message


def test_crlf_script_reaching_the_final_image_through_copy_from(tmp_path):
    dockerfile = (
        "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY . .\n"
        "FROM alpine:3.20 AS mid\nCOPY --from=build /src/scripts /scripts\n"
        "FROM scratch\nCOPY --from=mid /scripts/ /bin/\nCOPY --from=build /src/go.mod /go.mod\nUSER 1\nENTRYPOINT [\"/bin/run.sh\"]\n"
    )
    found = gs110(_crlf_project(tmp_path, dockerfile, {"scripts/run.sh": CRLF_SH, "scripts/lf.sh": b"#!/bin/sh\necho\n"}))
    assert [(f.line, f.message.split()[0]) for f in found] == [(7, "scripts/run.sh")]


# -- stage chains, entrypoints, GS105 wording, ports --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the final stage is the golang build stage itself, through an alias chain
        ("FROM golang:1.22 AS build\nRUN CGO_ENABLED=0 go build -o /a .\nFROM build AS final\nUSER 1\nENTRYPOINT [\"/a\"]\n",
         [("GS101", 3)]),
        ("FROM golang:1.22 AS build\nFROM build AS test\nRUN CGO_ENABLED=0 go build -o /a .\nFROM test\nUSER 1\nENTRYPOINT [\"/a\"]\n",
         [("GS101", 4)]),
        # a cgo binary passed through an alpine stage into scratch
        ("FROM golang:1.22 AS build\nRUN go build -o /a .\nFROM alpine:3.20 AS mid\nCOPY --from=build /a /a\n"
         "FROM scratch\nCOPY --from=mid /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", [("GS102", 2)]),
        # ... and into a stage built FROM an alpine stage
        ("FROM golang:1.22 AS build\nRUN go build -o /a .\nFROM alpine:3.20 AS base\nFROM base\nCOPY --from=build /a /a\n"
         "USER 1\nENTRYPOINT [\"/a\"]\n", [("GS102", 2)]),
        # a shell wrapped in exec form is still a shell as PID 1; 'exec' hands PID 1 to the program
        ("FROM alpine:3.20\nUSER 1\nENTRYPOINT [\"/bin/sh\", \"-c\", \"/app\"]\n", [("GS108", 3)]),
        ("FROM alpine:3.20\nUSER 1\nCMD [\"sh\", \"-c\", \"/app --serve\"]\n", [("GS108", 3)]),
        ("FROM alpine:3.20\nUSER 1\nENTRYPOINT [\"/bin/sh\", \"-c\", \"exec /app\"]\n", []),
        # a CMD inherited from the stage built FROM is reset by ENTRYPOINT
        ("FROM alpine:3.20 AS base\nCMD /old\nFROM base\nUSER 1\nENTRYPOINT [\"/a\"]\n", []),
    ],
)
def test_rule_cases_through_stage_chains_and_entrypoints(text, expected):
    assert [(f.rule, f.line) for f in lint_dockerfile_text(text, health_configured=True)] == expected


def test_shell_form_cmd_after_exec_entrypoint_is_an_error_with_an_exec_fix():
    findings = lint_dockerfile_text('FROM alpine:3.20\nUSER 1\nENTRYPOINT ["/app"]\nCMD --port 8080\n', health_configured=True)
    assert [(f.rule, f.line, f.severity) for f in findings] == [("GS108", 4, Severity.ERROR)]
    assert "/bin/sh -c --port 8080" in findings[0].message
    assert 'CMD ["--port", "8080"]' in findings[0].fix


def test_gs105_names_the_instruction_and_knows_about_the_module_cache():
    plain = lint_dockerfile_text(
        "FROM golang:1.22 AS b\nWORKDIR /src\nADD . /src\nRUN CGO_ENABLED=0 go build -o /a .\n"
        "FROM scratch\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", health_configured=True,
    )
    assert [(f.rule, f.line) for f in plain] == [("GS105", 3)]
    assert plain[0].message.startswith("ADD . /src comes before") and "downloads every module again" in plain[0].message
    cached = lint_dockerfile_text(
        "FROM golang:1.22 AS b\nWORKDIR /src\nCOPY . .\n"
        "RUN --mount=type=cache,target=/go/pkg/mod CGO_ENABLED=0 go build -o /a .\n"
        "FROM scratch\nCOPY --from=b /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n", health_configured=True,
    )
    assert [(f.rule, f.line) for f in cached] == [("GS105", 3)]
    assert "cache mount keeps the modules" in cached[0].message and "any source change downloads" not in cached[0].message


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("app:\n  port: 9999\n", [("GS117", 9), ("GS117", 10)]),  # ENV PORT=9090 (line 9), EXPOSE 9090 (line 10)
        ("app:\n  port: 9090\n", []),
        ("service: x\n", []),  # app.port not set: the default is no claim about the image
    ],
)
def test_port_in_goship_yaml_against_expose_and_env(tmp_path, config, expected):
    project = copy_fixture("chapter1", tmp_path)
    (project / ".dockerignore").write_text(".git\n")
    (project / "goship.yaml").write_text(config + "health:\n  path: /healthz\n")
    (project / "Dockerfile").write_text(
        "FROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nENV PORT=9090\nEXPOSE 9090/tcp\n"
        "USER 1\nENTRYPOINT [\"/app\"]\n"
    )
    report = lint_project(project, hadolint=False)
    assert ids(report) == [(rule, "Dockerfile", line) for rule, line in expected]
    assert all("app.port: 9999" in f.message for f in report.findings)


def test_utf16_dockerfile_is_read_and_reported(tmp_path):
    project = copy_fixture("chapter2_3", tmp_path)
    utf8 = (project / "Dockerfile").read_text()
    # What 'goship dockerfile > Dockerfile' writes in Windows PowerShell 5: UTF-16LE with a BOM, CRLF.
    (project / "Dockerfile").write_bytes(b"\xff\xfe" + utf8.replace("\n", "\r\n").encode("utf-16-le"))
    report = lint_project(project, hadolint=True)
    gs116 = [f for f in report.findings if f.rule == "GS116"]
    assert [(f.file, f.line, f.severity) for f in gs116] == [("Dockerfile", 1, Severity.ERROR)]
    assert "Out-File -Encoding utf8" in gs116[0].fix and "Set-Content -Encoding utf8" in gs116[0].fix
    others = [item for item in ids(report) if item[0] != "GS116"]
    assert others == ids(lint_project(FIXTURES / "chapter2_3", hadolint=False))
    assert not any(f.source == "hadolint" for f in report.findings)


def test_exit_code_follows_the_worst_severity(tmp_path):
    from goship.commands.lint.findings import Finding, LintReport

    def report(*severities):
        return LintReport(root=tmp_path, findings=[Finding("GS101", s, "m", "Dockerfile", 1) for s in severities])

    assert report().exit_code(Severity.INFO) == 0
    assert report(Severity.INFO).exit_code(Severity.WARNING) == 0
    assert report(Severity.INFO).exit_code(Severity.INFO) == 1
    assert report(Severity.WARNING, Severity.INFO).exit_code(Severity.WARNING) == 1
    assert report(Severity.ERROR, Severity.WARNING).exit_code(Severity.WARNING) == 3
    assert report(Severity.WARNING).exit_code(Severity.ERROR) == 0
    assert report(Severity.ERROR).exit_code(None) == 0


def test_crlf_script_copied_into_a_directory_on_path_and_run_by_name(tmp_path):
    dockerfile = (
        "FROM golang:1.22-alpine AS build\nCOPY scripts/gen.sh /usr/local/bin\nRUN gen.sh\nRUN CGO_ENABLED=0 go build -o /a .\n"
        "FROM scratch\nCOPY --from=build /a /a\nUSER 1\nENTRYPOINT [\"/a\"]\n"
    )
    assert [f.line for f in gs110(_crlf_project(tmp_path, dockerfile, {"scripts/gen.sh": CRLF_SH}))] == [3]


CGO = "FROM {image} AS build\n{extra}RUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nUSER 1\n"


@pytest.mark.parametrize(
    ("image", "extra", "severity"),
    [
        ("golang:1.22-alpine", "", Severity.WARNING),  # no gcc: go turns cgo off by itself
        ("golang:1.22-alpine", "RUN apk add --no-cache gcc musl-dev\n", Severity.ERROR),
        ("golang:1.22-alpine", "RUN apk add --no-cache build-base\n", Severity.ERROR),
        ("golang:1.22", "", Severity.ERROR),  # Debian: gcc included, cgo on
    ],
)
def test_gs102_error_only_with_a_c_compiler(image, extra, severity):
    found = [f for f in lint_dockerfile_text(CGO.format(image=image, extra=extra)) if f.rule == "GS102"]
    assert [f.severity for f in found] == [severity]


def test_every_rule_is_documented():
    """Each rule ID has a row in the table of docs/checks.md."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "checks.md").read_text(encoding="utf-8")
    missing = [rule for rule in RULES if f"| {rule} |" not in text]
    assert missing == []
