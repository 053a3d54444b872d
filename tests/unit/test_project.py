"""Reading a Go module: go.mod, main packages, default names."""

import pytest

from goship.commands.lint import lint_project
from goship.errors import ConfigError, ProjectError
from goship.project import (
    default_service_name,
    find_main_packages,
    load_project,
    parse_go_mod,
)
from tests.unit.helpers import service_module


def test_parse_go_mod():
    mod = parse_go_mod(
        '// comment\nmodule github.com/acme/api // trailing\n\ngo 1.22.1\n\ntoolchain go1.23.0\n'
        "require (\n\texample.org/x v1.0.0\n)\n"
    )
    assert (mod.module, mod.go, mod.toolchain) == ("github.com/acme/api", "1.22.1", "go1.23.0")


@pytest.mark.parametrize(
    ("text", "message"),
    [("go 1.22\n", "no 'module' line"), ("module\n", "'module' has no path"), ("module a\ngo one\n", "invalid go version")],
)
def test_bad_go_mod(text, message):
    with pytest.raises(ProjectError, match=message):
        parse_go_mod(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modul x\n", r"go.mod:1: unknown directive 'modul' \(did you mean 'module'\?\)"),
        ("module a\n\ngo 1.22\nrequires b v1.0.0\n", "go.mod:4: unknown directive 'requires'"),
        ("module \n", "go.mod:1: 'module' has no path"),
        ("module a\nrequire (\n\tb v1.0.0\n", r"go.mod:2: 'require \(' is never closed"),
    ],
)
def test_go_mod_that_does_not_parse_names_the_line(text, message):
    with pytest.raises(ProjectError, match=message):
        parse_go_mod(text)


def test_go_mod_with_every_directive_and_block_form_parses():
    mod = parse_go_mod(
        "module\texample.com/all\n\ngo 1.24\ntoolchain go1.24.1\ngodebug default=go1.21\n"
        "require(\n\texample.org/x v1.0.0 // indirect\n)\n"
        "replace (\n\texample.org/x => ../x\n)\nexclude example.org/y v1.0.0\nretract [v1.0.0, v1.0.5]\n"
        "tool golang.org/x/tools/cmd/stringer\nignore ./node_modules\n"
    )
    assert (mod.module, mod.go, mod.toolchain) == ("example.com/all", "1.24", "go1.24.1")


@pytest.mark.parametrize(
    ("module", "name"),
    [("github.com/acme/hello", "hello"), ("github.com/acme/Hello-API/v2", "hello-api"), ("example.com/my_svc", "my_svc"), ("x", "x")],
)
def test_default_service_name(module, name):
    assert default_service_name(module) == name


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_find_main_packages(tmp_path):
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/multi\n\ngo 1.22\n",
            "cmd/api/main.go": "// Copyright\n\n//go:build linux\n\npackage main\n\nfunc main() {}\n",
            "cmd/worker/main.go": "/* block\npackage lib */\npackage main\nfunc main() {}\n",
            "internal/lib/lib.go": "package lib\n",
            "tools/gen_test.go": "package main\n",
            "vendor/x/main.go": "package main\n",
            "testdata/main.go": "package main\n",
            "nested/go.mod": "module other\n",
            "nested/main.go": "package main\n",
        },
    )
    assert find_main_packages(tmp_path) == ["cmd/api", "cmd/worker"]


def test_ignored_generator_files_are_not_main_packages(tmp_path):
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/svc\n\ngo 1.22\n",
            "main.go": "package main\n\nfunc main() {}\n",
            "gen/gen.go": "// Code generator: go run gen/gen.go\n\n//go:build ignore\n\npackage main\n\nfunc main() {}\n",
            "old/old.go": "// +build ignore\n\npackage main\n\nfunc main() {}\n",
            "lib/tables_gen.go": "//go:build ignore && linux\n\npackage main\n\nfunc main() {}\n",
            "lib/lib.go": "package lib\n",
            "both/main.go": "//go:build !ignore\n\npackage main\n\nfunc main() {}\n",
            "either/main.go": "//go:build ignore || linux\n\npackage main\n\nfunc main() {}\n",
        },
    )
    assert find_main_packages(tmp_path) == [".", "both", "either"]


def test_load_project_defaults(tmp_path):
    _write(tmp_path, {"go.mod": "module example.com/hello\ngo 1.22\n", "main.go": "package main\nfunc main(){}\n"})
    project = load_project(tmp_path / ".")
    assert (project.service, project.main, project.repository) == ("hello", ".", "hello")
    assert project.config_path is None


def test_load_project_from_subdirectory(tmp_path):
    _write(tmp_path, {"go.mod": "module example.com/hello\n", "main.go": "package main\n", "sub/x.go": "package sub\n"})
    assert load_project(tmp_path / "sub").root == tmp_path.resolve()


def test_no_go_mod(tmp_path):
    with pytest.raises(ProjectError, match="no go.mod"):
        load_project(tmp_path)


def test_no_main_package(tmp_path):
    _write(tmp_path, {"go.mod": "module example.com/lib\n", "lib.go": "package lib\n"})
    with pytest.raises(ProjectError, match="no main package") as info:
        load_project(tmp_path)
    assert "build.main" in info.value.hint


def test_several_main_packages_need_a_choice(tmp_path):
    _write(tmp_path, {"go.mod": "module m\n", "cmd/a/main.go": "package main\n", "cmd/b/main.go": "package main\n"})
    with pytest.raises(ProjectError, match="several main packages.*cmd/a, cmd/b"):
        load_project(tmp_path)
    (tmp_path / "goship.yaml").write_text("build:\n  main: cmd/b\n")
    assert load_project(tmp_path).main == "cmd/b"


def test_build_main_must_exist(tmp_path):
    _write(tmp_path, {"go.mod": "module m\n", "main.go": "package main\n", "goship.yaml": "build:\n  main: cmd/nope\n"})
    with pytest.raises(ConfigError, match="build.main: 'cmd/nope' is not a directory with package main"):
        load_project(tmp_path)


def test_invalid_service_name(tmp_path):
    _write(tmp_path, {"go.mod": "module m\n", "main.go": "package main\n", "goship.yaml": "service: Hello World\n"})
    with pytest.raises(ConfigError, match="not a valid name"):
        load_project(tmp_path)


def test_running_inside_one_of_several_mains_ships_it(tmp_path):
    from goship.project import load_project

    (tmp_path / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    for name in ("api", "worker"):
        (tmp_path / "cmd" / name).mkdir(parents=True)
        (tmp_path / "cmd" / name / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert load_project(tmp_path / "cmd" / "worker").main == "cmd/worker"
    (tmp_path / "goship.yaml").write_text("build:\n  main: ./cmd/api/\n")
    assert load_project(tmp_path).main == "cmd/api"


def test_go_mod_bom_and_toolchain_without_go_prefix_are_refused(tmp_path):
    with pytest.raises(ProjectError, match=r"go.mod:3: invalid toolchain version '1.22.5'") as info:
        parse_go_mod("module x\ngo 1.22\ntoolchain 1.22.5\n")
    assert "toolchain go1.22.5" in info.value.hint
    assert parse_go_mod("module x\ntoolchain go1.22.5\n").toolchain == "go1.22.5"
    root = service_module(tmp_path)
    (root / "go.mod").write_bytes(b"\xef\xbb\xbfmodule example.com/svc\n")
    with pytest.raises(ProjectError, match=r"go.mod:1: unexpected input character") as info:
        load_project(root)
    assert "without BOM" in info.value.hint
    with pytest.raises(ProjectError, match=r"go.mod:1"):
        lint_project(root, hadolint=False)
