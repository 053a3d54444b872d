"""What other code relies on: the public API, the goship.yaml schema, the one process runner."""

import inspect
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

import goship
from goship import errors
from goship.config import parse_config
from goship.config.schema import MODELINE, render, schema

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "goship"

PUBLIC = [
    "BuildError", "ConfigError", "ConfigErrors", "DeployError", "DockerfileError", "EngineConflict", "EngineNotFound",
    "EngineUnreachable", "GoshipError", "HealthCheckFailed", "HostError", "HostKeyError", "HostUnreachable", "Interrupted",
    "LintUsageError", "ProcessError", "Project", "ProjectError", "RegistryError", "RegistryNotFound", "Session", "TestsFailed",
    "ToolError", "UsageError", "__version__", "build", "deploy",
    "load_project", "push", "ship",
]


def test_the_public_api_is_pinned():
    assert sorted(goship.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(goship, name) is not None
    assert callable(goship.ship) and inspect.signature(goship.ship).parameters["target"].default == "local"


def test_every_goship_exception_is_exported_and_drawn_in_the_tree():
    classes = [obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, errors.GoshipError)]
    tree = errors.__doc__ or ""
    for cls in classes:
        assert cls.__name__ in goship.__all__, cls
        assert cls.__name__ in tree, f"{cls.__name__} missing from the tree in errors.py"


def test_subprocess_is_imported_by_goship_process_only():
    importers = sorted(
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
        if re.search(r"^\s*(import subprocess|from subprocess import)", path.read_text(), re.MULTILINE)
    )
    assert importers == ["process.py"]


def test_the_committed_schema_is_fresh():
    assert (REPO / "schema" / "goship.schema.json").read_text() == render(), (
        "regenerate it: goship schema -o schema/goship.schema.json"
    )


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


def _documented_configs() -> list[tuple[str, str]]:
    """The goship.yaml examples users copy: every yaml block of the README, and the full
    example (the one starting with 'service:') of docs/configuration.md."""
    found = [("README.md", b) for b in re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)]
    reference = re.findall(r"```yaml\n(.*?)```", (REPO / "docs" / "configuration.md").read_text(), re.DOTALL)
    found += [("docs/configuration.md", b) for b in reference if b.startswith("service:")]
    return found


def test_the_documented_examples_load_and_validate():
    examples = _documented_configs()
    assert {where for where, _ in examples} == {"README.md", "docs/configuration.md"}
    for _, text in examples:
        config = parse_config(text)
        assert config.service == yaml.safe_load(text).get("service")
        jsonschema.validate(yaml.safe_load(text), schema())


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("health:\n  timout: 3s\n", ["health"]),
        ("app:\n  port: 70000\n", ["app", "port"]),
        ("proxy:\n  tls: letsencrypt\n", ["proxy", "tls"]),
        ("deploy:\n  keep: 1\n", ["deploy", "keep"]),
        ("health:\n  path: healthz\n", ["health", "path"]),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(text, path):
    with pytest.raises(goship.ConfigError) as loader:
        parse_config(text)
    assert (loader.value.key or "").startswith(".".join(path)), loader.value
    with pytest.raises(jsonschema.ValidationError) as refused:
        jsonschema.validate(yaml.safe_load(text), schema())
    assert list(refused.value.absolute_path)[: len(path)] == path or list(refused.value.absolute_path) == path[:-1]


def test_init_points_editors_at_the_schema(tmp_path):
    from goship.commands.init.files import render_goship_yaml
    from goship.commands.init.plan import InitAnswers

    fields = inspect.signature(InitAnswers).parameters
    answers = InitAnswers(**{
        name: {"service": "shop", "main": ".", "port": 8080, "health_path": "/healthz"}.get(name, param.default)
        for name, param in fields.items()
        if param.default is not inspect.Parameter.empty or name in ("service", "main", "port", "health_path")
    })
    text = render_goship_yaml(answers)
    assert text.splitlines()[0] == MODELINE
    jsonschema.validate(yaml.safe_load(text), schema())
    parse_config(text)


def test_the_cli_names_what_config_names():
    from goship import cli
    from goship.config import model

    assert (cli.LOCAL_TARGET, cli.BUILDERS) == (model.LOCAL_TARGET, model.BUILDERS)


# Modules above the Target protocol: they ask a target, never a host.
ABOVE_TARGETS = ["commands/pipeline.py", "commands/operations.py", "cli.py"]
HOST_LEVEL = {"Host", "resolve_target", "deploy_to_host", "connect_ssh", "HostConnection", "DockerHosts", "rollout"}


@pytest.mark.parametrize("module", ABOVE_TARGETS)
def test_the_pipeline_and_operate_layers_have_no_host_loops_and_no_local_branches(module):
    import ast

    tree = ast.parse((SRC / module).read_text())
    problems = []
    for node in ast.walk(tree):
        renders = module == "cli.py"  # the CLI prints results per host; it only must not reach hosts itself
        if not renders and isinstance(node, ast.For | ast.comprehension) and "host" in ast.unparse(node.iter).lower():
            problems.append(f"line {getattr(node, 'lineno', getattr(node.iter, 'lineno', '?'))}: loops over {ast.unparse(node.iter)}")
        if not renders and isinstance(node, ast.Attribute) and node.attr in ("local", "hosts"):
            problems.append(f"line {node.lineno}: reads .{node.attr} ({ast.unparse(node)})")
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names} | {(node.module or "").rsplit(".", 1)[-1]}
            if names & HOST_LEVEL:
                problems.append(f"line {node.lineno}: imports {sorted(names & HOST_LEVEL)} from {node.module}")
    assert problems == [], f"{module} reaches below the Target protocol: {problems}"


def test_every_builder_name_has_its_builder():
    from goship.commands.pipeline import BUILDER_FUNCTIONS
    from goship.config.names import BUILDERS

    assert tuple(BUILDER_FUNCTIONS) == BUILDERS
