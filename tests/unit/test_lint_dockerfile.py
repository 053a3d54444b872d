"""The lint Dockerfile parser and .dockerignore matcher: pure, line-exact."""

import pytest

from goship.dockerfiles.ignore import IgnoreMatcher
from goship.dockerfiles.parse import decode_dockerfile, parse_dockerfile, parse_env, parse_image, substitute
from goship.errors import DockerfileError


def test_continuations_comments_and_flags_keep_the_first_line():
    df = parse_dockerfile(
        "FROM golang:1.22-alpine AS build\n"
        "# a comment\n"
        "RUN --mount=type=cache,target=/go/pkg/mod \\\n"
        "    # comments inside a continuation are dropped\n"
        "    --mount=type=cache,target=/root/.cache/go-build \\\n"
        "\n"
        "    CGO_ENABLED=0 go build -o /out/app .\n"
        "COPY --from=build --chown=1:1 /out/app /app\n"
    )
    run, copy = df.instructions[1], df.instructions[2]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 3, 7)
    assert [v for k, v in run.flags if k == "mount"] == ["type=cache,target=/go/pkg/mod", "type=cache,target=/root/.cache/go-build"]
    assert run.args.split() == ["CGO_ENABLED=0", "go", "build", "-o", "/out/app", "."]
    assert (copy.line, copy.flag("from"), copy.flag("chown"), copy.words()) == (8, "build", "1:1", ["/out/app", "/app"])


def test_crlf_bom_and_non_utf8_bytes_parse():
    data = b"\xef\xbb\xbfFROM alpine:3.20\r\nLABEL who=\xff\r\nRUN echo a \\\r\n  b\r\nCMD [\"/app\"]\r\n"
    df = parse_dockerfile(decode_dockerfile(data))
    assert [(i.keyword, i.line) for i in df.instructions] == [("FROM", 1), ("LABEL", 2), ("RUN", 3), ("CMD", 5)]
    assert df.instructions[2].args == "echo a   b"
    assert df.instructions[3].exec_form == ("/app",)


def test_escape_directive_and_syntax_directive():
    df = parse_dockerfile("# escape=`\n# syntax=docker/dockerfile:1\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nRUN dir `\n  c:\\\n")
    assert df.directives == {"escape": "`", "syntax": "docker/dockerfile:1"}
    assert df.instructions[1].args == "dir   c:\\"
    # A directive after a comment is just a comment.
    assert parse_dockerfile("# hello\n# escape=`\nFROM a:1\n").directives == {}


def test_heredocs_are_bodies_not_instructions():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        "RUN <<EOF\n"
        "apk add --no-cache curl\n"
        "echo done \\\n"
        "EOF\n"
        "COPY <<-CONF /etc/app.conf\n"
        "\tkey = value\n"
        "\tCONF\n"
        "USER 1000\n"
    )
    run, copy, user = df.instructions[1:]
    assert (run.line, run.end_line, run.heredocs) == (2, 5, ("apk add --no-cache curl\necho done \\",))
    assert "apk add --no-cache curl" in run.command_text()
    assert (copy.line, copy.heredocs) == (6, ("\tkey = value",))
    assert (user.keyword, user.line) == ("USER", 9)


def test_exec_form_and_shell_form():
    df = parse_dockerfile('FROM a:1\nENTRYPOINT ["/app", "-v"]\nCMD /app --serve\nRUN [ -f /etc/os-release ] && echo ok\n')
    entrypoint, cmd, run = df.instructions[1:]
    assert entrypoint.exec_form == ("/app", "-v") and not entrypoint.is_shell_form
    assert cmd.is_shell_form
    assert run.is_shell_form  # '[' is the test command here, as Docker reads it


def test_stages_names_parents_and_arg_substitution():
    df = parse_dockerfile(
        "ARG GO=1.22\nARG DISTRO\n"
        "FROM --platform=$BUILDPLATFORM golang:${GO}-alpine AS Build\n"
        "FROM build AS test\n"
        "FROM ${DISTRO:-alpine}:3.20\n"
        "FROM $UNSET\n"
    )
    build, test, final, unset = df.stages
    assert (build.image, build.name, build.line, build.from_instruction.flag("platform")) == (
        "golang:1.22-alpine", "Build", 3, "$BUILDPLATFORM")
    assert test.parent == 0 and df.stage("BUILD") is build and df.stage("1") is test
    assert final.image == "alpine:3.20" and not final.unresolved
    assert unset.unresolved
    assert df.global_args == {"GO": "1.22", "DISTRO": None}
    assert substitute("${A:+set}${B}", {"A": "x", "B": None}) == "set${B}"


def test_goship_ignore_comments():
    df = parse_dockerfile("# goship-ignore-file GS113\nFROM a:1\n# goship-ignore GS106, DL3018\nRUN apk add x\n\n# goship-ignore GS103\n\nUSER root\n")
    assert df.file_ignores == {"GS113"}
    assert df.instructions[1].ignores == {"GS106", "DL3018"}
    assert df.instructions[2].ignores == frozenset()  # a blank line breaks the link


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM a:1\nFOO bar\n", "Dockerfile:2: unknown instruction 'FOO'"),
        ("FROM a:1\nRUN apk add \\\n  curl \\\n  git\n", None),  # joined, valid
        ("FROM a:1\nRUN apk add curl\n  apk add git\n", "Dockerfile:3: unknown instruction 'apk'"),
        ("# only a comment\n", "Dockerfile: no FROM instruction"),
        ("", "Dockerfile: no FROM instruction"),
        ("RUN echo hi\nFROM a:1\n", "Dockerfile:1: RUN before the first FROM"),
        ("FROM a:1\nCOPY\n", "Dockerfile:2: COPY has no arguments"),
        ("FROM a:1\nCOPY app\n", "Dockerfile:2: COPY needs a source and a destination"),
        ('FROM a:1\nCMD ["./main"\n', "Dockerfile:2: CMD: not a valid JSON array"),
        ("FROM a:1\nENTRYPOINT ['./main']\n", "Dockerfile:2: ENTRYPOINT: not a valid JSON array"),
        ("FROM a:1\nRUN <<EOF\necho\n", "Dockerfile:2: RUN: heredoc <<EOF is never closed"),
        ("FROM a b\n", "Dockerfile:1: FROM takes an image"),
    ],
)
def test_what_docker_would_refuse_is_an_error_with_the_line(text, message):
    if message is None:
        parse_dockerfile(text)
        return
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile(text)
    assert caught.value.message.startswith(message)


def test_unknown_instruction_after_run_hints_at_a_missing_backslash():
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile("FROM a:1\nRUN apk add curl\n  apk add git\n")
    assert "'\\' missing" in (caught.value.hint or "")


def test_image_references_and_env():
    assert parse_image("registry:5000/team/app:1.2@sha256:ab") == parse_image("registry:5000/team/app:1.2@sha256:ab")
    ref = parse_image("registry:5000/team/app")
    assert (ref.name, ref.tag, ref.repo) == ("registry:5000/team/app", None, "app")
    assert parse_image("golang:1.22-alpine").tag == "1.22-alpine"
    assert parse_env('A=1 B="x y"') == [("A", "1"), ("B", "x y")]
    assert parse_env("LEGACY value with spaces") == [("LEGACY", "value with spaces")]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (".git", ".git/HEAD", True),
        ("/.git", ".git/objects/ab/cd", True),
        ("./bin", "bin/app", True),
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),  # '*' never crosses '/'
        ("**/*.md", "docs/deep/README.md", True),
        ("**/*.md", "README.md", True),  # '**' matches no directory too
        ("docs/**", "docs/a/b", True),
        ("*\n!README.md", "README.md", False),
        ("*\n!README.md", "main.go", True),
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/other.md", True),
        ("!x\nx", "x", True),  # the last matching pattern wins
        ("# comment\n\n  \nvendor", "vendor/modules.txt", True),
        ("file?.txt", "file1.txt", True),
        ("file[0-9].txt", "filea.txt", False),
        ("a/*/c", "a/b/c/d", True),  # a matching parent directory takes its contents
    ],
)
def test_dockerignore_semantics(patterns, path, excluded):
    assert IgnoreMatcher.from_text(patterns).excluded(path) is excluded


def test_dockerignore_walk_pruning_respects_exceptions():
    matcher = IgnoreMatcher.from_text("node_modules\n!node_modules/keep\n")
    assert matcher.may_include_below("node_modules")
    assert not IgnoreMatcher.from_text(".git\n").may_include_below(".git")


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xff\xfe" + "FROM a:1\r\n".encode("utf-16-le"), "utf-16-le"),
        (b"\xfe\xff" + "FROM a:1\n".encode("utf-16-be"), "utf-16-be"),
        ("FROM a:1\n".encode("utf-16-le"), "utf-16-le"),  # no BOM: NUL every other byte
        (b"\xef\xbb\xbfFROM a:1\n", "utf-8"),
        (b"FROM a:1\n", "utf-8"),
    ],
)
def test_utf16_dockerfiles_decode(data, encoding):
    from goship.dockerfiles.parse import sniff_encoding

    assert sniff_encoding(data) == encoding
    df = parse_dockerfile(decode_dockerfile(data))
    assert [(s.image, s.line) for s in df.stages] == [("a:1", 1)]
