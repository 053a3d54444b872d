"""goship init's pure parts: port and health guesses, choosing the main package,
the files it plans, and the diff it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from goship.commands.init.files import (
    InitAnswers,
    render_dockerignore,
    render_gitattributes,
    render_goship_yaml,
)
from goship.commands.init.init import (
    InitOptions,
    choose_main,
    default_main,
    plan_init,
    render_diff,
    write_plan,
)
from goship.commands.init.needed import blocked_exclusions, embed_patterns
from goship.config import parse_config
from goship.errors import ProjectError
from goship.golang import detect
from tests.projects import FIXTURES, copy_fixture
from tests.unit.helpers import MAIN_LISTENING, go_module, planned


@pytest.mark.parametrize(
    ("source", "port", "how"),
    [
        ('port := os.Getenv("PORT")\nif port == "" {\n\tport = "8080"\n}\n', "8080", "PORT variable"),
        ('addr := ":" + cmp.Or(os.Getenv("PORT"), "3000")', "3000", "PORT variable"),
        ('p, ok := os.LookupEnv("PORT")\nif !ok { p = "5000" }', "5000", "PORT variable"),
        ('port := getenv("HTTP_PORT", "7000")', "7000", "PORT variable"),
        ('log.Fatal(http.ListenAndServe(":9090", nil))', "9090", "listen address"),
        ('http.ListenAndServe("0.0.0.0:8081", mux)', "8081", "listen address"),
        ('ln, _ := net.Listen("tcp", ":7070")', "7070", "listen address"),
        ('srv := &http.Server{\n\tAddr: ":8443",\n}', "8443", "listen address"),
        ('addr := flag.String("addr", ":9000", "listen address")', "9000", "the -addr flag"),
        ('flag.StringVar(&cfg.addr, "listen", "127.0.0.1:6060", "")', "6060", "the -listen flag"),
        ('port := flag.Int("port", 4000, "port")', "4000", "the -port flag"),
    ],
)
def test_guess_port(source, port, how):
    guess = detect.guess_port({"main.go": "package main\n\nfunc main() {\n" + source + "\n}\n"})
    assert guess is not None and guess.value == port and how in guess.evidence
    assert guess.evidence.startswith("main.go:")


def test_guess_port_prefers_the_port_variable_and_ignores_comments():
    sources = {
        "main.go": '// http.ListenAndServe(":1111", nil)\nport := os.Getenv("PORT")\nif port == "" { port = "8080" }\n',
        "admin.go": 'go http.ListenAndServe(":6060", nil)\n',
    }
    guess = detect.guess_port(sources)
    assert guess is not None and guess.value == "8080" and guess.evidence.startswith("main.go:2")
    assert detect.guess_port({"main.go": '/* ListenAndServe(":1111") */ package main'}) is None
    assert detect.guess_port({"main.go": "package main\nfunc main() {}\n"}) is None


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ('mux.HandleFunc("/healthz", ok)', "/healthz"),
        ('mux.HandleFunc("GET /healthz", ok)', "/healthz"),
        ('http.Handle("/health/", h)', "/health"),
        ('r.Get("/readyz", ready)', "/readyz"),
        ('e.GET("/ping", pong)', "/ping"),
        ('mux.HandleFunc("/ping", a)\nmux.HandleFunc("/readyz", b)', "/readyz"),  # preference order
        ('mux.HandleFunc("/", a)\nmux.HandleFunc("/api/health-report", b)', None),
        ('// mux.HandleFunc("/healthz", a)\nmux.HandleFunc("/", b)', None),
        ('log.Println("/healthz", x)', None),  # not a registration
        ('log.Printf("/health %s", x)\nmux.HandleFunc("/ping", p)', "/ping"),
    ],
)
def test_guess_health_path(source, path):
    guess = detect.guess_health_path({"main.go": source})
    assert (guess.value if guess else None) == path


def test_package_sources_follow_module_local_imports(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    sources = detect.package_sources(root, "cmd/api", "example.com/shop")
    assert sorted(sources) == ["cmd/api/main.go", "internal/httpapi/routes.go"]
    assert detect.local_imports('import (\n\t"fmt"\n\tx "example.com/shop/internal/a"\n)\n', "example.com/shop") == [
        "internal/a"
    ]


def test_choose_main():
    mains = ["cmd/api", "cmd/worker"]
    assert choose_main(["."], "x", None, yes=False, ask=None) == (".", None)
    chosen, note = choose_main(mains, "shop", None, yes=False, ask=None)
    assert chosen == "cmd/api" and "chose cmd/api" in (note or "")
    assert choose_main(mains, "shop", "./cmd/worker/", yes=False, ask=None) == ("cmd/worker", None)
    assert choose_main(mains, "shop", None, yes=False, ask=lambda c, d: c[1]) == ("cmd/worker", None)
    # --yes never asks, even with a terminal.
    assert choose_main(mains, "shop", None, yes=True, ask=lambda c, d: 1 / 0)[0] == "cmd/api"
    with pytest.raises(ProjectError, match="not a main package"):
        choose_main(mains, "shop", "cmd/nope", yes=False, ask=None)
    odd = ["tools/a", "tools/b"]
    with pytest.raises(ProjectError, match="none is the obvious one"):
        choose_main(odd, "x", None, yes=False, ask=None)
    with pytest.raises(ProjectError, match=r"several main packages \(tools/a, tools/b\)") as error:
        choose_main(odd, "x", None, yes=True, ask=None)  # --yes never picks the first alphabetically
    assert "--main" in (error.value.hint or "")


def test_default_main_order():
    assert default_main(["cmd/api", "cmd/shop", "."], "shop") == "cmd/shop"
    assert default_main(["cmd/api", "."], "shop") == "."
    assert default_main(["cmd/server", "cmd/api"], "shop") == "cmd/api"
    assert default_main(["x", "y"], "shop") is None


def test_goship_yaml_loads_and_says_where_values_came_from():
    answers = InitAnswers(
        service="shop", main="cmd/api", port=9000, health_path="/health",
        port_evidence="cmd/api/main.go:13 (flag default)", health_evidence="internal/httpapi/routes.go:12",
    )
    text = render_goship_yaml(answers)
    config = parse_config(text)
    assert (config.service, config.build.main, config.app.port, config.health.path) == (
        "shop", "./cmd/api", 9000, "/health",
    )
    assert "found at cmd/api/main.go:13 (flag default)" in text
    assert "handler found at internal/httpapi/routes.go:12" in text
    missing = render_goship_yaml(InitAnswers("x", ".", 8080, "/healthz", health_found=False))
    assert "NO handler found" in missing and parse_config(missing).build.main == "."


def test_dockerignore_and_gitattributes():
    ignore = render_dockerignore(("shop", "worker"))
    for pattern in (".git", ".goship", "**/.env*", ".idea", ".vscode", "**/node_modules", "/shop", "/worker", "bin"):
        assert pattern in ignore.splitlines()
    assert "vendor" not in ignore and "static" not in ignore  # the build needs them
    attributes = render_gitattributes().splitlines()
    assert "*.sh text eol=lf" in attributes and "Dockerfile text eol=lf" in attributes


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_plan_init_on_each_fixture(name, tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    fixture = FIXTURES[name]
    root = copy_fixture(name, tmp_path)
    plan = plan_init(root, InitOptions(yes=True))
    answers = plan.answers
    assert (answers.service, answers.main, answers.port) == (fixture.service, fixture.main, fixture.port)
    assert answers.health_path == (fixture.health or "/")
    assert answers.health_type == ("http" if fixture.health else "answers")
    assert answers.health_found == (fixture.health is not None)
    assert bool(plan.warnings) == (fixture.health is None)
    names = sorted(p.path.name for p in plan.files)
    assert names == [".dockerignore", ".gitattributes", "Dockerfile", "goship.yaml"]
    ignore = next(p for p in plan.files if p.path.name == ".dockerignore")
    # The build context is the workspace root in a workspace, and docker reads .dockerignore there.
    expected_dir = root.parent if name == "workspace" else root
    assert ignore.path.parent == expected_dir.resolve()
    assert all(p.existing is None for p in plan.files)


def test_write_plan_keeps_existing_files_and_appends_to_gitattributes(tmp_path):
    root = copy_fixture("root-single", tmp_path)
    (root / ".gitattributes").write_text("* text=auto\n")
    (root / "Dockerfile").write_text("FROM scratch\n")
    plan = plan_init(root, InitOptions(yes=True))
    actions = {p.path.name: p.action for p in plan.files}
    assert actions == {"goship.yaml": "create", "Dockerfile": "keep", ".dockerignore": "create", ".gitattributes": "append"}
    assert "kept Dockerfile (exists; --force replaces it); check it with goship lint" in plan.notes
    diff = render_diff(plan)
    assert "--- a/.gitattributes\n+++ b/.gitattributes\n" in diff and "-* text=auto\n" not in diff
    assert "+Dockerfile text eol=lf\n" in diff
    assert "--- /dev/null\n+++ b/goship.yaml\n" in diff and "Dockerfile\n+++ b/Dockerfile" not in diff
    written = write_plan(plan)
    assert sorted(p.path.name for p in written) == [".dockerignore", ".gitattributes", "goship.yaml"]
    assert (root / "Dockerfile").read_text() == "FROM scratch\n"
    assert (root / ".gitattributes").read_text().startswith("* text=auto\n")
    again = plan_init(root, InitOptions(yes=True))
    assert render_diff(again) == "" and not any(p.changed for p in again.files)

    forced = plan_init(root, InitOptions(yes=True, force=True))
    assert {p.path.name: p.action for p in forced.files}["Dockerfile"] == "replace"
    assert len(write_plan(forced)) == 1 and b"\r\n" not in (root / "Dockerfile").read_bytes()
    assert (root / ".gitattributes").read_text().startswith("* text=auto\n")  # never replaced
    assert render_diff(plan_init(root, InitOptions(yes=True))) == ""


def test_unparsable_go_mod_and_no_module(tmp_path):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "go.mod").write_text("module example.com/x\n\ngo one.two\n")
    with pytest.raises(ProjectError, match=r"go.mod:3: invalid go version"):
        plan_init(tmp_path / "mod")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProjectError, match="is not a Go module"):
        plan_init(empty)


def test_module_without_main_package(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/lib\n\ngo 1.22\n")
    (tmp_path / "lib.go").write_text("package lib\n")
    with pytest.raises(ProjectError, match="no main package"):
        plan_init(tmp_path)


def _entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_dockerignore_keeps_embedded_dist_and_go_package_bin(tmp_path):
    go_module(tmp_path, {
        "cmd/api/main.go": 'package main\n\nimport (\n\t"net/http"\n\t"example.com/app/bin"\n)\n\n'
        'func main() { bin.X(); http.ListenAndServe(":8080", nil) }\n',
        "bin/bin.go": "package bin\n\nfunc X() {}\n",
        "web/embed.go": 'package web\n\nimport "embed"\n\n//go:embed all:dist\nvar FS embed.FS\n',
        "web/dist/index.html": "<html></html>",
        "embed.go": 'package app\n\nimport "embed"\n\n//go:embed dist\nvar Dist embed.FS\n',
    })
    text = planned(plan_init(tmp_path, InitOptions(yes=True)), ".dockerignore")
    entries = _entries(text)
    assert "bin" not in entries and "dist" not in entries
    assert "**/node_modules" in entries and ".git" in entries
    assert "#   bin: holds Go code (bin/bin.go)" in text
    assert "#   dist: read by //go:embed dist in embed.go:5" in text


def test_dockerignore_default_is_unchanged_without_such_paths(tmp_path):
    go_module(tmp_path, {"main.go": MAIN_LISTENING % '":8080"'})
    text = planned(plan_init(tmp_path, InitOptions(yes=True)), ".dockerignore")
    assert {"bin", "dist"} <= set(_entries(text)) and "Left out" not in text


def test_embed_patterns_and_blocking():
    assert embed_patterns('//go:embed a.txt "b c" `d`\n//go:embed all:static/*\n') == [
        (1, "a.txt"), (1, "b c"), (1, "d"), (2, "static/*")
    ]
    needed = {"srv/bin/x.go": "go", "testdata/out/x.out": "embed"}
    assert blocked_exclusions(["bin", "**/bin", "**/*.out", "dist"], needed) == {"**/bin": "go", "**/*.out": "embed"}
