"""Shared helpers behind init's and lint's reading of sources: COPY/ADD source
paths and URLs, the variable a Go call is bound to, the line of a goship.yaml
key, and where a port flag's guess points."""

from __future__ import annotations

import pytest

from goship.commands.lint.config_rules import explicit_app_port, has_health_section, key_line_in
from goship.dockerfiles.parse import context_sources, is_url, normalise_source, parse_dockerfile
from goship.golang import detect
from goship.golang.goscan import bound_name


@pytest.mark.parametrize(
    ("source", "path"),
    [("x", "x"), ("./x/", "x"), ("/./x", "x"), (".//x", "x"), ("/x", "x"), (" ./ ", ""), (".", "."), ("../x", "../x")],
)
def test_normalise_source(source, path):
    assert normalise_source(source) == path


@pytest.mark.parametrize(
    ("source", "url"),
    [("https://example.com/a", True), ("HTTP://example.com/a", True), ("git@github.com:o/r.git", True),
     ("git+ssh://host/r", True), ("dist", False), ("./git@x", False), ("a:b", False)],
)
def test_is_url(source, url):
    assert is_url(source) is url


def test_context_sources_normalise_the_known_part():
    df = parse_dockerfile(
        "FROM golang:1.23\n"
        "COPY /./x /app/\n"
        "COPY .//y/ /app/\n"
        "COPY /./dist/*.sh /app/\n"
        "COPY . /src\n"
        "ADD https://example.com/a /a\n"
        "ADD git@github.com:o/r.git /r\n"
    )
    assert [(s.written, s.path) for s in context_sources(df)] == [
        ("/./x", "x"), (".//y/", "y"), ("/./dist/*.sh", "dist"), (".", ""),
    ]


def test_bound_name():
    text = "a := flag.String(\n\tv, ok := os.LookupEnv(\n\tcfg.Addr = getenv(\n\tlog.Print(os.Getenv("
    assert [bound_name(text, text.index(call)) for call in ("flag", "os.Lookup", "getenv", "os.Getenv")] == [
        "a", "v", "cfg.Addr", None,
    ]


def test_key_line_in():
    text = "service: x\napp:\n  port: 9000\nhealth:\n  path: /healthz\n"
    assert (key_line_in(text, "app", "port"), key_line_in(text, "health", "path")) == (3, 5)
    assert key_line_in(text, "app", "missing") is None
    assert key_line_in("", "app") is None and key_line_in("a: [", "a") is None
    assert has_health_section(text) and explicit_app_port(text)
    assert not has_health_section("app: {port: 1}") and not explicit_app_port("a: [")


def test_a_port_flag_guess_names_the_flag_line():
    source = 'package main\n\nimport "flag"\n\nfunc main() {\n\taddr := flag.String("addr", ":9090", "listen")\n}\n'
    guess = detect.guess_port({"cmd.go": source})
    assert guess is not None
    assert (guess.value, guess.evidence) == ("9090", "cmd.go:6 (default of the -addr flag)")
