"""Rules about what a stage's base image has: its Go release (GS119) and its package manager (GS120)."""

from __future__ import annotations

import pytest

from goship.commands.init.dockerfile import DockerfileSpec, render_dockerfile
from goship.commands.lint import RULES, Severity, lint_dockerfile_text, lint_project
from goship.golang.versions import image_go_version, parse_go_version
from tests.unit.helpers import service_module

TAIL = 'FROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n'


def found(text: str, rule: str, go: str | None = None) -> list[tuple[int, Severity, str]]:
    return [
        (f.line or 0, f.severity, f.message)
        for f in lint_dockerfile_text(text, health_configured=True, go_required=go)
        if f.rule == rule
    ]


def lines(text: str, rule: str, go: str | None = None) -> list[int]:
    return [line for line, _, _ in found(text, rule, go)]


# -- Go versions, ordered as the go command orders them -------------------------------------------


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.21", "1.22"),
        ("1.21", "1.21rc1"),  # a language version comes before its release candidates
        ("1.21rc1", "1.21rc2"),
        ("1.21rc2", "1.21.0"),  # ... and those before the first release
        ("1.21.0", "1.21.1"),
        ("1.21beta1", "1.21rc1"),
        ("1.9", "1.10"),  # numbers, not text
        ("go1.22.9", "1.23"),
    ],
)
def test_go_versions_order_as_go_does(older, newer):
    a, b = parse_go_version(older), parse_go_version(newer)
    assert a is not None and b is not None
    assert a.older_than(b) and not b.older_than(a)


@pytest.mark.parametrize("text", [None, "", "1", "go", "1.x", "1.22.", "1.22-alpine"])
def test_what_is_not_a_go_version(text):
    assert parse_go_version(text) is None


@pytest.mark.parametrize(
    ("tag", "text", "satisfies", "fails"),
    [
        ("1.22", "1.22", "1.22.9", "1.23"),  # floats to the newest 1.22.x
        ("1.22-alpine", "1.22", "1.22.5", "1.23"),
        ("1.22-alpine3.20", "1.22", "1.22rc1", "1.23.0"),
        ("1.22.3", "1.22.3", "1.22.3", "1.22.4"),
        ("1.22.3-bookworm", "1.22.3", "1.22", "1.22.4"),
        ("1.23rc1", "1.23rc1", "1.23", "1.23.0"),  # go 1.23 is met by rc1, go 1.23.0 is not
        ("1.23rc1-alpine", "1.23rc1", "1.23rc1", "1.23rc2"),
    ],
)
def test_image_tags_name_the_go_they_hold(tag, text, satisfies, fails):
    have = image_go_version(tag)
    assert have is not None and have.text == text
    assert not have.older_than(parse_go_version(satisfies))  # type: ignore[arg-type]
    assert have.older_than(parse_go_version(fails))  # type: ignore[arg-type]


@pytest.mark.parametrize("tag", [None, "", "latest", "alpine", "bookworm", "1", "1-alpine", "tip", "alpine3.20"])
def test_image_tags_without_a_release_float(tag):
    assert image_go_version(tag) is None


# -- GS119: the builder's Go against go.mod's go line ----------------------------------------------


def test_builder_older_than_go_mod_is_an_error_at_its_from_line():
    text = "FROM golang:1.21-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\n" + TAIL
    [(line, severity, message)] = found(text, "GS119", go="1.23")
    assert (line, severity) == (1, Severity.ERROR)
    assert message == (
        "FROM golang:1.21-alpine has Go 1.21 but go.mod says 'go 1.23': the go command at line 4 stops with "
        "'go.mod requires go >= 1.23 (running go 1.21; GOTOOLCHAIN=local)'"
    )
    [finding] = [f for f in lint_dockerfile_text(text, go_required="1.23") if f.rule == "GS119"]
    assert finding.fix.startswith("Build FROM golang:1.23-alpine or newer")


@pytest.mark.parametrize(
    ("image", "go", "reported"),
    [
        ("golang:1.22", "1.23", True),
        ("golang:1.22.3", "1.22.4", True),
        ("golang:1.22-bookworm", "1.22.4", False),  # floats to the newest 1.22.x
        ("golang:1.22.3-bookworm", "1.22.3", False),
        ("golang:1.22rc1", "1.22", False),
        ("golang:1.22rc1", "1.22.0", True),
        ("golang:1.23-alpine", "1.23", False),
        ("golang:1.24-alpine", "1.23.4", False),
        ("golang:latest", "1.23", False),  # unversioned: whatever is newest
        ("golang", "1.23", False),
        ("golang:alpine", "1.23", False),
        ("golang:1", "1.23", False),
        ("docker.io/library/golang:1.20", "1.21", True),
        ("golang:1.21@sha256:" + "a" * 64, "1.23", True),
        ("example.com/tools/go:1.20", "1.23", False),  # not the official image: its Go is unknown
    ],
)
def test_which_builder_tags_are_too_old(image, go, reported):
    text = f"FROM {image} AS build\nRUN go build -o /app .\n" + TAIL
    assert lines(text, "GS119", go=go) == ([1] if reported else [])


def test_arg_default_is_resolved_and_named():
    text = "ARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}-alpine AS build\nRUN go build -o /app .\n" + TAIL
    [(line, _, message)] = found(text, "GS119", go="1.23.2")
    assert line == 2
    assert message.startswith("FROM golang:${GO_VERSION}-alpine (ARG default: golang:1.22-alpine) has Go 1.22 ")


def test_arg_without_default_is_not_guessed():
    text = "ARG GO_VERSION\nFROM golang:${GO_VERSION}-alpine AS build\nRUN go build -o /app .\n" + TAIL
    assert lines(text, "GS119", go="1.23") == []


def test_the_go_command_may_run_in_a_stage_built_from_the_old_one():
    text = "FROM golang:1.21 AS base\nWORKDIR /src\nFROM base AS build\nRUN go build -o /app .\n" + TAIL
    assert lines(text, "GS119", go="1.22") == [1]
    # An old golang image nobody runs go in (a stage copying a tool out of it) builds fine.
    unused = "FROM golang:1.21 AS tools\nRUN echo hi\nFROM golang:1.23 AS build\nRUN go build -o /app .\n" + TAIL
    assert lines(unused, "GS119", go="1.23") == []


@pytest.mark.parametrize(
    "setting",
    ["ENV GOTOOLCHAIN=auto\n", "ENV GOTOOLCHAIN=go1.23.4\n", "ARG GOTOOLCHAIN=auto\n"],
)
def test_a_toolchain_go_may_download_is_no_error(setting):
    text = "FROM golang:1.21-alpine AS build\n" + setting + "RUN go build -o /app .\n" + TAIL
    assert lines(text, "GS119", go="1.23") == []
    inline = "FROM golang:1.21-alpine AS build\nRUN GOTOOLCHAIN=auto go build -o /app .\n" + TAIL
    assert lines(inline, "GS119", go="1.23") == []
    local = "FROM golang:1.21-alpine AS build\nENV GOTOOLCHAIN=local\nRUN go build -o /app .\n" + TAIL
    assert lines(local, "GS119", go="1.23") == [1]


def test_no_go_line_no_finding():
    text = "FROM golang:1.10 AS build\nRUN go build -o /app .\n" + TAIL
    assert lines(text, "GS119", go=None) == []


def test_lint_project_reads_the_go_line_of_go_mod(tmp_path):
    root = service_module(tmp_path)
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.23\n")
    (root / "Dockerfile").write_text(
        "FROM golang:1.21-alpine AS build\nWORKDIR /src\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /app .\n" + TAIL
    )
    report = lint_project(root, hadolint=False)
    assert [(f.rule, f.file, f.line) for f in report.findings if f.rule == "GS119"] == [("GS119", "Dockerfile", 1)]
    assert report.exit_code(Severity.ERROR) == 3


def test_a_newer_toolchain_line_is_no_requirement(tmp_path):
    # With GOTOOLCHAIN=local the toolchain line is only a suggestion: go 1.22.x builds a module
    # saying 'go 1.22.0' and 'toolchain go1.23.4'. Only the go line is a minimum.
    root = service_module(tmp_path)
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.22.0\n\ntoolchain go1.23.4\n")
    (root / "Dockerfile").write_text("FROM golang:1.22-alpine AS build\nRUN CGO_ENABLED=0 go build -o /app .\n" + TAIL)
    assert [f for f in lint_project(root, hadolint=False).findings if f.rule == "GS119"] == []


@pytest.mark.parametrize("go", ["1.21", "1.22.5", "1.23.0", "1.24rc1"])
def test_the_generated_dockerfile_builds_with_the_go_of_go_mod(go):
    from goship.commands.init.dockerfile import go_minor

    text = render_dockerfile(DockerfileSpec(binary="app", go_version=go_minor(go) or go))
    assert lines(text, "GS119", go=go) == []


# -- GS120: apk on Debian, apt-get on Alpine --------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("golang:1.23", "apk add --no-cache git"),
        ("golang:1.23-bookworm", "apk add --no-cache git"),
        ("golang:1.23.4-bullseye", "apk update"),
        ("debian:bookworm-slim", "apk add git"),
        ("ubuntu:24.04", "apk add git"),
        ("gcr.io/distroless/static-debian12", "apk add git"),
        ("gcr.io/distroless/base-debian12:nonroot", "apt-get install -y git"),
        ("alpine:3.20", "apt-get update && apt-get install -y git"),
        ("golang:1.23-alpine", "apt-get install -y git"),
        ("golang:1.23-alpine3.20", "apt install git"),
    ],
)
def test_the_other_distribution_s_package_manager_is_an_error(image, command):
    text = f"FROM {image} AS build\nRUN {command}\n" + TAIL
    [(line, severity, message)] = found(text, "GS120")
    program = command.split()[0]
    assert (line, severity) == (2, Severity.ERROR)
    assert f"has no {program}, so the build fails with '{program}: not found'" in message
    # GS106/GS107 (missing --no-cache, apt lists) would only be noise on a RUN that cannot run.
    assert lines(text, "GS106") == [] and lines(text, "GS107") == []


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("golang:1.23", "apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*"),
        ("golang:1.23-alpine", "apk add --no-cache git"),
        ("alpine:3.20", "apk add --no-cache git"),
        ("ubuntu:24.04", "apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*"),
        ("busybox:1.36", "apk add git"),  # unknown distribution: nothing said
        ("example.com/base:1", "apt-get install -y git"),
        ("cgr.dev/chainguard/wolfi-base", "apk add git"),  # Wolfi has apk
        ("golang:1.23-windowsservercore", "apk add git"),
        ("golang:1.23", "echo apk add is for alpine"),  # apk not in command position
        ("golang:1.23", "rm -rf /var/cache/apk/*"),
        # Written for either base: both managers, chosen at run time.
        ("golang:1.23", "if command -v apk; then apk add git; else apt-get install -y git; fi"),
    ],
)
def test_the_base_s_own_package_manager_is_fine(image, command):
    text = f"FROM {image} AS build\nRUN {command}\n" + TAIL
    assert lines(text, "GS120") == []


def test_the_right_manager_keeps_its_own_hints():
    text = "FROM golang:1.23 AS build\nRUN apt-get update && apt-get install -y git\nRUN apk add git\n" + TAIL
    rules = sorted((f.rule, f.line, f.severity) for f in lint_dockerfile_text(text, health_configured=True)
                   if f.rule in ("GS106", "GS107", "GS120"))
    assert rules == [("GS107", 2, Severity.INFO), ("GS120", 3, Severity.ERROR)]


def test_base_detection_follows_the_from_chain():
    text = (
        "FROM golang:1.23 AS base\n"  # 1
        "RUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n"
        "FROM base AS build\n"  # 3: Debian through 'base'
        "RUN apk add --no-cache git\n"  # 4
        "FROM alpine:3.20 AS runtime-base\n"  # 5
        "FROM runtime-base AS runtime\n"  # 6: Alpine through runtime-base
        "RUN apt-get install -y ca-certificates\n"  # 7
        "FROM build\n"  # 8: Debian through build and base
        "RUN apk add curl\n"  # 9
    )
    messages = found(text, "GS120")
    assert [line for line, _, _ in messages] == [4, 7, 9]
    assert "in stage build (built FROM stage base): golang:1.23 is Debian" in messages[0][2]
    assert "in stage runtime (built FROM stage runtime-base): alpine:3.20 is Alpine" in messages[1][2]


def test_shell_forms_heredocs_and_prefixes_are_read():
    text = (
        "FROM golang:1.23 AS build\n"
        'RUN ["/bin/sh", "-c", "apk add git"]\n'  # 2
        "RUN set -eux; \\\n    apk add git\n"  # 3
        "RUN <<EOF\nset -e\napk add git\nEOF\n"  # 5
        "RUN DEBIAN_FRONTEND=noninteractive sudo apk add git\n"  # 9
        "RUN [ -f x ] || apk add git\n"  # 10
    ) + TAIL
    assert lines(text, "GS120") == [2, 3, 5, 9, 10]


def test_an_unresolved_base_is_not_guessed():
    text = "ARG BASE\nFROM ${BASE} AS build\nRUN apk add git\n" + TAIL
    assert lines(text, "GS120") == []
    resolved = "ARG BASE=debian:12\nFROM ${BASE} AS build\nRUN apk add git\n" + TAIL
    [(_, _, message)] = found(resolved, "GS120")
    assert "${BASE} (debian:12) is Debian" in message


def test_new_rules_are_errors():
    assert RULES["GS119"].severity is Severity.ERROR and RULES["GS120"].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("image", "command", "suggested"),
    [
        ("golang:1.22.3", "apk add git", "golang:1.22.3-alpine"),
        ("golang:1.23-alpine", "apt-get install -y git", "golang:1.23-bookworm"),
        ("debian:12", "apk add git", "golang:<version>-alpine"),
    ],
)
def test_the_fix_names_the_same_go_on_the_other_distribution(image, command, suggested):
    text = f"FROM {image} AS build\nRUN {command}\n" + TAIL
    [finding] = [f for f in lint_dockerfile_text(text, health_configured=True) if f.rule == "GS120"]
    assert f"(e.g. {suggested})" in finding.fix
