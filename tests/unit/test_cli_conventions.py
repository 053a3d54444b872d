"""The command line's conventions: global options before the command, bare goship,
goship help, did-you-mean, --json (documents, streams, errors), exit codes, the
generated reference and the shell completion scripts.

Most run ``goship.cli.main`` in this process with the seams of the commands
replaced (monkeypatch), so they are fast and need no Docker, Go or network.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goship import cli, errors
from goship.commands.lint import findings
from goship.commands.reference import completion, environment, markdown, spec
from goship.deploy.history import ReleaseRecord
from goship.deploy.lock import LockInfo
from goship.deploy.target import HostStatus
from goship.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "goship"
HELLO = REPO / "examples" / "hello"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``goship ARGV`` in this process: exit status, stdout, stderr."""
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- global options, bare goship, help -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "directory", "config", "as_json"),
    [
        (["status"], ".", None, False),
        (["-C", "svc", "status"], "svc", None, False),  # as go -C, git -C
        (["status", "-C", "svc"], "svc", None, False),
        (["-C", "a", "status", "-C", "b"], "b", None, False),  # after the command wins
        (["--json", "-c", "x.yaml", "status", "production"], ".", "x.yaml", True),
        (["--dir=svc", "status", "--json"], "svc", None, True),
        (["-C", "svc", "-c", "alt.yaml", "config"], "svc", "svc/alt.yaml", False),  # -c from where -C points
        (["-C", "svc", "config", "-c", "/etc/goship.yaml"], "svc", "/etc/goship.yaml", False),
    ],
)
def test_global_options_go_before_or_after_the_command(argv, directory, config, as_json):
    args = cli.parse_args(argv)
    assert (args.dir, args.config, args.json) == (Path(directory), config and Path(config), as_json)


def test_bare_goship_prints_the_commands_and_exits_0(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert "COMMAND" in out and "goship help exit-codes" in out.replace("\n", " ")
    for name in spec.command_parsers(cli.build_parser()):
        assert f"    {name} " in out or f"    {name}\n" in out, name


def test_global_options_alone_print_the_help_too(capsys):
    code, out, _ = run(capsys, "-C", str(HELLO))
    assert code == 0 and "COMMAND" in out


def test_help_command_shows_that_commands_help(capsys):
    code, out, _ = run(capsys, "help", "logs")
    assert code == 0 and out.startswith("usage: goship logs") and "--follow" in out


@pytest.mark.parametrize("topic", ["exit-codes", "environment", "json", "reference"])
def test_help_topics(capsys, topic):
    code, out, _ = run(capsys, "help", topic)
    assert code == 0 and out.strip()
    if topic == "exit-codes":
        for code_ in ExitCode:
            assert re.search(rf"^  {int(code_)} ", out, re.MULTILINE), code_
    if topic == "environment":
        assert "GOSHIP_DEBUG" in out


# --- mistakes on the command line ------------------------------------------------------------------


def test_a_mistyped_command_gets_did_you_mean_and_the_usage_exit_code(capsys):
    code, out, err = run(capsys, "stauts")
    assert code == ExitCode.USAGE == 2 and out == ""
    assert err.splitlines()[0] == "error: unknown command 'stauts' (did you mean 'status'?)"
    assert err.splitlines()[1].startswith("hint: goship help")
    assert "Traceback" not in err and len(err.splitlines()) == 2


def test_a_mistyped_flag_gets_did_you_mean(capsys):
    code, _, err = run(capsys, "logs", "production", "--folow")
    assert code == 2
    assert err.splitlines()[0] == "error: goship logs: unknown option --folow (did you mean '--follow'?)"
    assert err.splitlines()[1].startswith("hint: usage: goship logs ")


def test_a_mistyped_choice_gets_did_you_mean(capsys):
    code, _, err = run(capsys, "lint", "--format", "sarf")
    assert code == 2 and "(did you mean 'sarif'?)" in err.splitlines()[0]


def test_other_usage_errors_are_one_line_with_the_usage_as_hint(capsys):
    code, out, err = run(capsys, "deploy", "a", "b")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: goship deploy: unexpected argument 'b'",
        "hint: usage: goship deploy [-h] [-C DIR] [-c CONFIG] [--json] [--version V | --image REF@sha256:...] [target]; goship help deploy explains each option",
    ]


def test_an_unknown_help_topic_is_a_usage_error(capsys):
    code, _, err = run(capsys, "help", "exit")
    assert code == 2 and "did you mean 'exit-codes'?" in err


def test_a_usage_error_with_json_is_a_json_object_on_stdout(capsys):
    code, out, err = run(capsys, "--json", "stauts")
    assert code == 2 and err.startswith("error: unknown command")
    assert json.loads(out) == {
        "error": "unknown command 'stauts' (did you mean 'status'?)", "hint": "goship help lists the commands",
        "exit_code": 2, "details": [],
    }


# --- --json: errors, documents, streams ----------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(HELLO, tmp_path / "hello")
    return tmp_path / "hello"


def test_a_config_error_with_json_carries_file_and_line(capsys, project):
    (project / "goship.yaml").write_text("service: hello\nhealth:\n  pth: /healthz\n")
    code, out, err = run(capsys, "-C", str(project), "status", "--json")
    assert code == 2
    document = json.loads(out)
    assert document["exit_code"] == 2 and document["line"] == 3 and document["key"] == "health.pth"
    assert document["file"].endswith("goship.yaml") and "unknown key" in document["problem"]
    assert err.startswith("error: ") and document["error"] in err


def test_several_config_errors_with_json_are_each_at_its_line(capsys, project):
    (project / "goship.yaml").write_text("service: hello\nhealth:\n  pth: /healthz\napp:\n  prot: 8080\n")
    code, out, _ = run(capsys, "--json", "status", "-C", str(project))
    document = json.loads(out)
    assert code == 2 and document["line"] == 3
    assert [(e["line"], e["key"]) for e in document["errors"]] == [(3, "health.pth"), (5, "app.prot")]


def test_without_json_an_error_prints_nothing_on_stdout(capsys, project):
    (project / "goship.yaml").write_text("service: hello\nhealth:\n  pth: /healthz\n")
    code, out, err = run(capsys, "status", "-C", str(project))
    assert code == 2 and out == "" and "health.pth" in err


def _status(*_: object, **__: object) -> list[HostStatus]:
    return [
        HostStatus("root@web1", "hello-2", "v2", "img@sha256:1", "running", "now", "HTTP 200", "http://web1/"),
        HostStatus("root@web2", "hello-2", "v2", "img@sha256:1", "running", "now", "HTTP 200", "http://web2/"),
    ]


def test_status_json_is_one_document(capsys, project, monkeypatch):
    from goship.commands import operations

    monkeypatch.setattr(operations, "status", _status)
    code, out, _ = run(capsys, "status", "production", "--json", "-C", str(project))
    assert code == 0
    document = json.loads(out)  # one document: json.loads fails on JSON lines
    assert document["target"] == "production" and [h["host"] for h in document["hosts"]] == ["root@web1", "root@web2"]


def test_releases_json_is_one_document(capsys, project, monkeypatch):
    from goship.commands import operations

    one = ReleaseRecord("hello", "v1", "img@sha256:1", "sha256:1", "live", "root@web1", deployed_by="me")
    two = ReleaseRecord("hello", "v2", "img@sha256:2", "sha256:2", "live", "root@web1", deployed_by="me")
    monkeypatch.setattr(operations, "releases", lambda *a, **k: [("root@web1", [(one, "replaced"), (two, "live")])])
    code, out, _ = run(capsys, "-C", str(project), "--json", "releases", "production")
    assert code == 0
    document = json.loads(out)
    assert [(r["version"], r["state"], r["host"]) for r in document["releases"]] == [
        ("v1", "replaced", "root@web1"), ("v2", "live", "root@web1"),
    ]


def test_lock_json_is_one_document(capsys, project, monkeypatch):
    from goship.commands import operations

    held = LockInfo("bob", "laptop", 42, 0.0, "deploying")
    monkeypatch.setattr(operations, "lock_status", lambda *a, **k: [("root@web1", held), ("root@web2", None)])
    code, out, _ = run(capsys, "lock", "status", "production", "--json", "-C", str(project))
    assert code == 0
    assert [(h["host"], h["locked"]) for h in json.loads(out)["hosts"]] == [("root@web1", True), ("root@web2", False)]


def test_logs_json_is_json_lines(capsys, project, monkeypatch):
    from goship.commands import operations

    monkeypatch.setattr(operations, "logs", lambda *a, **k: iter([("root@web1", "started"), ("root@web2", "a | b")]))
    code, out, _ = run(capsys, "logs", "production", "--json", "-C", str(project))
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"host": "root@web1", "line": "started"}, {"host": "root@web2", "line": "a | b"},
    ]


def test_a_failure_of_a_stream_ends_it_with_the_error_object(capsys, project, monkeypatch):
    from goship.commands import operations

    def failing(*_: object, **__: object):
        yield "root@web1", "a line"
        raise errors.HostUnreachable("root@web1: cannot connect over SSH", hint="check the host")

    monkeypatch.setattr(operations, "logs", failing)
    code, out, _ = run(capsys, "logs", "production", "--json", "-C", str(project))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and lines[0] == {"host": "root@web1", "line": "a line"}
    assert lines[-1]["error"] == "root@web1: cannot connect over SSH" and lines[-1]["exit_code"] == 1


def test_the_dockerfile_json_is_one_document(capsys, project):
    code, out, _ = run(capsys, "dockerfile", "--json", "-C", str(project))
    assert code == 0 and json.loads(out)["dockerfile"].startswith("#")


def test_lint_json_failure_is_the_report_alone(capsys, tmp_path):
    # Not a Go module: lint's own document holds the error (GS100); main adds no second one.
    code, out, _ = run(capsys, "lint", "--json", "--no-hadolint", "-C", str(tmp_path))
    assert code == 2
    document = json.loads(out)
    assert document["error"] and [f["rule"] for f in document["findings"]] == ["GS100"]


def test_an_internal_error_with_json_is_a_json_object_and_exit_70(capsys, project, monkeypatch):
    from goship.commands import operations

    def broken(*_: object, **__: object) -> list[HostStatus]:
        raise RuntimeError("boom")

    monkeypatch.setattr(operations, "status", broken)
    monkeypatch.setattr(cli, "_log_crash", lambda: Path("/tmp/goship-crash.log"))
    code, out, err = run(capsys, "status", "--json", "-C", str(project))
    assert code == ExitCode.INTERNAL == 70 and "internal error: RuntimeError: boom" in err
    assert json.loads(out)["exit_code"] == 70


@pytest.mark.parametrize("name", sorted(spec.command_parsers(cli.build_parser())))
def test_every_command_says_what_its_json_is(name):
    command = spec.describe(cli.build_parser()).command(name)
    assert command.json_output in (("",) if name in ("help", "completion") else ("document", "lines"))


# --- exit codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.GoshipError("x"), 1),
        (errors.UsageError("x"), 2),
        (errors.ConfigError("x"), 2),
        (errors.LintUsageError("x"), 2),
        (errors.ProjectError("x"), 2),
        (errors.DockerfileError("x"), 2),
        (errors.ToolError("x"), 4),
        (errors.ProcessError("x", not_found=True), 4),  # the program could not be started
        (errors.ProcessError("x", returncode=1), 1),
        (errors.BuildError("x"), 1),
        (errors.RegistryError("x"), 1),
        (errors.HostUnreachable("x"), 1),
        (errors.DeployError("x"), 5),
        (errors.HealthCheckFailed("x"), 6),
        (errors.Interrupted("x"), 130),
    ],
)
def test_exit_codes_are_on_the_exception_classes(error, code):
    assert error.exit_code == code


def test_every_exit_code_is_distinct_and_documented():
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    assert set(errors.EXIT_CODE_MEANINGS) == set(ExitCode)
    table = markdown.render_reference(spec.describe(cli.build_parser())).split("## Exit codes", 1)[1]
    for code in ExitCode:
        assert f"| {int(code)} |" in table


def test_lint_statuses_agree_with_the_table():
    assert (findings.EXIT_CLEAN, findings.EXIT_FINDINGS, findings.EXIT_BAD_INPUT, findings.EXIT_ERRORS) == (
        ExitCode.OK, ExitCode.FAILURE, ExitCode.USAGE, ExitCode.LINT_ERRORS,
    )


def test_the_exit_code_of_a_failure_is_the_error_class_one(capsys, project, monkeypatch):
    from goship.commands import operations

    def unhealthy(*_: object, **__: object) -> list[HostStatus]:
        raise errors.HealthCheckFailed("no healthy answer", hint="fix it")

    monkeypatch.setattr(operations, "status", unhealthy)
    code, _, err = run(capsys, "status", "-C", str(project))
    assert code == 6 and err.splitlines() == ["error: no healthy answer", "hint: fix it"]


# --- the generated reference and the environment --------------------------------------------------


def test_the_committed_reference_is_fresh():
    assert (REPO / "docs" / "reference.md").read_text(encoding="utf-8") == markdown.render_reference(
        spec.describe(cli.build_parser())
    ), "regenerate it: goship help reference > docs/reference.md"


def test_the_reference_lists_every_command_and_option():
    text = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    for command in spec.describe(cli.build_parser()).commands:
        assert f"### goship {command.name}" in text
        for flag in command.flags:
            assert f"`{flag}`" in text, (command.name, flag)


#: os.environ.get("X"), os.environ["X"], env.get("X") (a mapping of the environment passed in);
#: not env["X"] = ..., which sets a variable for a program goship runs.
_READS = re.compile(r"""(?:environ(?:\.get\(|\[)|env\.get\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_every_environment_variable_goship_reads_is_documented():
    read = {
        name
        for path in SRC.rglob("*.py") if "testing" not in path.parts
        for name in _READS.findall(path.read_text(encoding="utf-8"))
    }
    assert "GOSHIP_DEBUG" in read and "DOCKER_HOST" in read  # the pattern finds them
    documented = {name for name, _ in environment.ENVIRONMENT}
    assert read - documented == set(), "add them to goship/commands/reference/environment.py"


# --- shell completion -----------------------------------------------------------------------------


def _script(shell: str) -> str:
    return completion.render(shell, spec.describe(cli.build_parser()), cli.HELP_TOPICS)


def test_the_cli_knows_every_shell():
    assert cli._SHELLS == completion.SHELLS


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_each_completion_script_names_every_command(shell, capsys):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0 and out == _script(shell)
    for name in spec.command_parsers(cli.build_parser()):
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", out), (shell, name)
    assert "--follow" in out or "-l follow" in out
    assert "goship completion --targets" in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_syntax(shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"goship.{shell}"
    script.write_text(_script(shell))
    checked = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def _bash_complete(line: str, tmp_path: Path, cwd: Path) -> list[str]:
    """What Tab offers after ``line`` in bash with the generated script loaded."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "goship.bash"
    script.write_text(_script("bash"))
    words = line.split(" ")
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_goship\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    # 'goship completion --targets' runs this checkout's goship.
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "goship").write_text(f"#!/bin/sh\nexec {sys.executable} -m goship \"$@\"\n")
    (shim / "goship").chmod(0o755)
    env = {"PATH": f"{shim}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return [word for word in done.stdout.splitlines() if word]


def test_bash_completes_commands_flags_and_choices(tmp_path):
    assert _bash_complete("goship sta", tmp_path, tmp_path) == ["status"]
    assert _bash_complete("goship -C svc sta", tmp_path, tmp_path) == ["status"]
    assert _bash_complete("goship logs --fo", tmp_path, tmp_path) == ["--follow"]
    assert _bash_complete("goship lint --format s", tmp_path, tmp_path) == ["sarif"]
    assert _bash_complete("goship completion p", tmp_path, tmp_path) == ["powershell"]
    assert "exit-codes" in _bash_complete("goship help ex", tmp_path, tmp_path)


def test_bash_completes_target_names_from_goship_yaml(tmp_path, project):
    (project / "goship.yaml").write_text(
        "service: hello\ntargets:\n  production:\n    hosts: [root@web1]\n  preview:\n    hosts: [root@web2]\n"
    )
    assert _bash_complete("goship status p", tmp_path, project) == ["production", "preview"]
    assert _bash_complete(f"goship -C {project} ship ", tmp_path, tmp_path) == ["local", "production", "preview"]


def test_target_names_for_completion_are_quiet_on_errors(capsys, tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "goship.yaml").write_text("targets: [oops\n")
    code, out, err = run(capsys, "completion", "--targets", "-C", str(tmp_path))
    assert (code, out, err) == (0, "local\n", "")


def test_completion_without_a_shell_is_a_usage_error(capsys):
    code, _, err = run(capsys, "completion")
    assert code == 2 and "which shell?" in err


# --- startup stays light --------------------------------------------------------------------------


def test_help_loads_no_heavy_module():
    program = (
        "import sys\nfrom goship import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'httpx', 'yaml', 'jsonschema')"
        " or m.startswith(('goship.commands', 'goship.deploy', 'goship.engine', 'goship.registry'))), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == "[]"


@pytest.mark.parametrize(
    ("argv", "target", "role", "interactive", "command"),
    [
        (["exec", "production", "--role", "worker", "--", "ls", "-la"], "production", "worker", False, ["ls", "-la"]),
        (["exec", "--role", "worker", "production", "--", "sh", "-c", "echo hi"], "production", "worker", False, ["sh", "-c", "echo hi"]),
        (["exec", "production", "-i", "--", "sh"], "production", None, True, ["sh"]),
        (["exec", "production", "--", "/usr/local/bin/app", "--version"], "production", None, False, ["/usr/local/bin/app", "--version"]),
        (["exec", "--", "ls", "--", "-x"], "local", None, False, ["ls", "--", "-x"]),
    ],
)
def test_exec_options_go_before_or_after_the_target_and_the_command_follows_the_double_dash(argv, target, role, interactive, command):
    from goship.cli import parse_args

    args = parse_args(argv)
    assert (args.target, args.role, args.interactive, args.command) == (target, role, interactive, command)


def test_a_directory_named_exec_is_not_the_exec_command():
    from goship.cli import parse_args

    args = parse_args(["-C", "exec", "status"])
    assert args.dir.name == "exec" and args.target == "local"


def test_a_commands_own_option_named_like_a_global_one_is_completed(capsys):
    code, out, _ = run(capsys, "completion", "bash")
    assert code == 0
    assert 'compgen -W "--version --image' in out  # deploy --version V, not only goship --version


def test_did_you_mean_names_each_flag_once(capsys):
    code, _, err = run(capsys, "config", "--jsn")
    assert code == 2 and "'--json' or '--json'" not in err and "--json" in err
