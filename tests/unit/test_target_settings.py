"""Per-target settings (targets.NAME.app/proxy/...), ${VAR} from the environment,
every config problem reported at once, and `goship config [TARGET]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from goship.cli import main
from goship.config import parse_config
from goship.config.interpolate import interpolate
from goship.config.loader import merge_nodes
from goship.config.schema import schema
from goship.errors import ConfigError, ConfigErrors
from goship.project import load_project

TEAM = """\
service: shop
image: registry.example.com/team/shop
app:
  port: 8080
  env:
    LOG_LEVEL: info
    REGION: eu
  args: [-x]
  security:
    cap_add: [NET_BIND_SERVICE]
    reason: binds 80
proxy:
  port: 8081
deploy:
  batch: 1
targets:
  staging:
    hosts: [root@10.0.0.2]
    app:
      env:
        LOG_LEVEL: debug
      args: [-y, -z]
    proxy:
      domains: [staging.example.com]
  production:
    hosts: [root@10.0.0.3, root@10.0.0.4]
    image: registry.example.com/team/shop-prod
    deploy:
      batch: 2
"""


def test_a_target_merges_maps_key_by_key_and_replaces_lists():
    config = parse_config(TEAM, environ={})
    staging = config.for_target("staging")
    assert staging.app.env == {"LOG_LEVEL": "debug", "REGION": "eu"}
    assert staging.app.args == ["-y", "-z"]
    assert staging.app.security.reason == "binds 80"  # a section merged, not replaced
    assert staging.proxy.domains == ["staging.example.com"] and staging.proxy.port == 8081
    assert staging.image == config.image and staging.deploy.batch == 1
    production = config.for_target("production")
    assert production.image == "registry.example.com/team/shop-prod" and production.deploy.batch == 2
    assert production.app == config.app
    assert config.for_target("nowhere") is config
    assert production.for_target("production") == production  # idempotent


def test_an_override_is_checked_with_the_section_it_changes_at_its_own_line():
    text = TEAM.replace("      args: [-y, -z]\n", "      args: [-y, -z]\n      security:\n        read_only: false\n")
    config = parse_config(text, environ={})  # the top level's reason covers the staging change
    assert config.for_target("staging").app.security.read_only is False
    no_reason = text.replace("    reason: binds 80\n", "").replace("    cap_add: [NET_BIND_SERVICE]\n", "")
    no_reason = no_reason.replace("  security:\n", "", 1)
    with pytest.raises(ConfigError) as refused:
        parse_config(no_reason, environ={})
    assert refused.value.key == "targets.staging.app.security"
    assert refused.value.line == no_reason.splitlines().index("      security:") + 1
    with pytest.raises(ConfigError) as port:
        parse_config(TEAM.replace("    proxy:\n      domains", "    proxy:\n      port: 70000\n      domains"), environ={})
    assert port.value.key == "targets.staging.proxy.port" and "70000" in port.value.problem


def test_a_target_key_that_is_no_section_gets_did_you_mean():
    with pytest.raises(ConfigError) as refused:
        parse_config("targets:\n  s:\n    hosts: [a]\n    apps: {}\n", environ={})
    assert refused.value.key == "targets.s.apps" and "did you mean 'app'" in refused.value.problem
    with pytest.raises(ConfigError) as internal:
        parse_config("targets:\n  s:\n    hosts: [a]\n    unresolved: x\n", environ={})
    assert internal.value.key == "targets.s.unresolved" and "unknown key" in internal.value.problem


def test_merge_keeps_each_value_at_its_own_line():
    base = yaml.compose("a: 1\nm: {x: 1, y: 2}\nl: [1, 2]\n")
    over = yaml.compose("m: {y: 3, z: 4}\nl: [9]\n")
    merged = merge_nodes(base, over)
    assert yaml.safe_load(yaml.serialize(merged)) == {"a": 1, "m": {"x": 1, "y": 3, "z": 4}, "l": [9]}
    assert merge_nodes(base, yaml.compose("~")) is base


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("x-${A}-${B}", {"A": "1", "B": "2"}, "x-1-2"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:-dflt}", {"A": ""}, "dflt"),
        ("${A-dflt}", {"A": ""}, ""),
        ("${A-dflt}", {}, "dflt"),
        ("$$HOME and $${A}", {"A": "1"}, "$HOME and ${A}"),
        ("$HOME stays", {"HOME": "/root"}, "$HOME stays"),
        ("${A:-}", {}, ""),
    ],
)
def test_interpolation_forms(text, environ, expected):
    assert interpolate(text, environ) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("${A}", "${A} is not set"), ("${A:?give the region}", "give the region"), ("${A", "not closed"), ("${1A}", "not a variable name")],
)
def test_interpolation_refusals(text, message):
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")):
        interpolate(text, {})


def test_variables_are_typed_by_what_they_become_and_refused_at_their_line():
    config = parse_config("app:\n  port: ${PORT:-9000}\n  env: {A: '${PORT:-9000}'}\n", environ={})
    assert config.app.port == 9000 and config.app.env["A"] == "9000"
    with pytest.raises(ConfigError) as unset:
        parse_config("service: web\napp:\n  env:\n    DSN: ${DATABASE_DSN}\n", environ={})
    assert unset.value.line == 4 and unset.value.key == "app.env.DSN"
    assert "${DATABASE_DSN} is not set" in unset.value.problem and "${NAME:-default}" in (unset.value.hint or "")


def test_a_variable_only_one_target_needs_is_asked_for_when_that_target_is_used():
    text = TEAM + "    app:\n      env:\n        SENTRY_DSN: ${PROD_SENTRY}\n"
    config = parse_config(text, environ={})
    assert config.for_target("staging").app.env["LOG_LEVEL"] == "debug"
    with pytest.raises(ConfigError) as unset:
        config.for_target("production")
    assert unset.value.key == "targets.production.app.env.SENTRY_DSN" and unset.value.line == text.count("\n")
    assert parse_config(text, environ={"PROD_SENTRY": "s"}).for_target("production").app.env["SENTRY_DSN"] == "s"


def test_every_problem_is_reported_each_at_its_line():
    text = "app:\n  port: x\n  envv: 1\nhealth:\n  timeout: zz\nimage: 123\n"
    with pytest.raises(ConfigErrors) as refused:
        parse_config(text, environ={})
    found = [(e.line, e.key) for e in refused.value.errors]
    assert found == [(2, "app.port"), (3, "app.envv"), (5, "health.timeout"), (6, "image")]
    assert refused.value.line == 2 and len(refused.value.details) == 3
    # A problem at the top level merged into every target is reported once.
    with pytest.raises(ConfigError) as once:
        parse_config("app:\n  port: x\ntargets:\n  a:\n    hosts: [h]\n    app: {}\n  b:\n    hosts: [h]\n    app: {env: {A: b}}\n", environ={})
    assert not isinstance(once.value, ConfigErrors) and once.value.line == 2


def test_a_file_that_is_not_goship_yaml_is_not_printed_back():
    passwd = "root:x:0:0:root:/root:/bin/bash\n" + "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" * 40
    with pytest.raises(ConfigError) as refused:
        parse_config(passwd, environ={})
    assert len(str(refused.value)) < 140 and "nologin" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("image: 123\n", "image", "expected a string"),
        ("targets:\n  my prod:\n    hosts: [a]\n", "targets.my prod", "not a target name"),
        ("targets:\n  local:\n    hosts: [a]\n", "targets.local.hosts", "this machine's engine"),
        ("targets:\n  local:\n    kind: hosts\n    hosts: [a]\n", "targets.local.kind", "this machine's engine"),
    ],
)
def test_first_contact_slips_are_refused(text, key, message):
    with pytest.raises(ConfigError) as refused:
        parse_config(text, environ={})
    assert refused.value.key == key and message in refused.value.problem


def test_the_local_target_may_carry_settings_for_this_machine():
    config = parse_config("app:\n  args: [-a]\ntargets:\n  local:\n    app: {args: [-dev]}\n", environ={})
    assert config.targets["local"].kind == "local" and config.for_target("local").app.args == ["-dev"]


def test_the_schema_shows_what_a_target_may_override():
    target = schema()["properties"]["targets"]["additionalProperties"]["properties"]
    assert {"app", "proxy", "health", "deploy", "image", "registry", "build", "ssh"} <= set(target)
    assert "unresolved" not in target
    assert target["app"]["anyOf"][0]["properties"]["env"]


def _module(tmp_path: Path, config: str) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "goship.yaml").write_text(config)
    return tmp_path


def test_the_project_as_a_target_sees_it(tmp_path):
    project = load_project(_module(tmp_path, TEAM))
    staging = project.for_target("staging")
    assert staging.config.app.env["LOG_LEVEL"] == "debug" and staging.service == "shop"
    assert project.for_target("production").repository == "registry.example.com/team/shop-prod"
    assert project.for_target("local") is project


def test_goship_config_shows_the_merge_with_secrets_masked(tmp_path, capsys, monkeypatch):
    text = TEAM.replace("    REGION: eu\n", "    REGION: eu\n    DATABASE_URL: postgres://shop:${DB_PASSWORD}@db/shop\n    API_TOKEN: t0k3n\n")
    root = _module(tmp_path, text)
    monkeypatch.setenv("DB_PASSWORD", "hunter2")
    main(["config", "staging", "--json", "-C", str(root)])
    document = json.loads(capsys.readouterr().out)
    assert document["target"] == {"name": "staging", "kind": "hosts", "hosts": ["root@10.0.0.2"], "shell": "sh"}
    assert document["app"]["env"]["LOG_LEVEL"] == "debug" and document["app"]["env"]["REGION"] == "eu"
    assert document["proxy"]["domains"] == ["staging.example.com"]
    assert document["app"]["env"]["API_TOKEN"] == "********"
    assert document["app"]["env"]["DATABASE_URL"] == "postgres://shop:********@db/shop"
    main(["config", "-C", str(root)])
    shown = capsys.readouterr().out
    assert "hunter2" not in shown and "t0k3n" not in shown
    top = yaml.safe_load(shown)
    assert top["app"]["env"]["LOG_LEVEL"] == "info" and top["targets"] == ["production", "staging"]


def test_goship_config_of_an_unknown_target_names_the_known_ones(tmp_path, capsys):
    root = _module(tmp_path, TEAM)
    with pytest.raises(SystemExit) as exit_:
        main(["config", "prod", "-C", str(root)])
    assert exit_.value.code == 2
    assert "unknown target 'prod'" in capsys.readouterr().err


def test_a_target_changes_its_roles_and_replicas(tmp_path):
    (tmp_path / "cmd" / "worker").mkdir(parents=True)
    (tmp_path / "cmd" / "worker" / "main.go").write_text("package main\n\nfunc main() {}\n")
    text = TEAM + "roles:\n  worker:\n    main: ./cmd/worker\n    replicas: 1\n    env: {QUEUE: low}\n"
    text = text.replace("    deploy:\n      batch: 2\n", "    deploy:\n      batch: 2\n    app: {replicas: 3}\n    roles:\n      worker: {replicas: 4}\n")
    project = load_project(_module(tmp_path, text))
    production = project.for_target("production")
    assert production.config.app.replicas == 3 and production.config.roles["worker"].replicas == 4
    assert production.config.roles["worker"].env == {"QUEUE": "low"} and production.config.roles["worker"].main == "./cmd/worker"
    assert project.for_target("staging").config.roles["worker"].replicas == 1
    with pytest.raises(ConfigError) as refused:
        load_project(_module(tmp_path, text.replace("      worker: {replicas: 4}", "      worker: {main: ./cmd/nothere}")))
    assert refused.value.key == "targets.production.roles.worker.main"


# --- what the review found ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("targets:\n  s:\n    hosts: [h]\n    roles: {Bad_Name: {command: [/bin/w]}}\n", "targets.s.roles.Bad_Name", "not a role name"),
        ("roles:\n  admin: {port: 9000, proxy: {path_prefix: /admin}}\ntargets:\n  s:\n    hosts: [h]\n    proxy: {path_prefix: /admin}\n",
         "targets", "targets.s: roles.admin.proxy.path_prefix /admin is the main process's"),
        ("roles:\n  worker: {main: .}\ntargets:\n  s:\n    hosts: [h]\n    build: {builder: docker}\n",
         "targets", "targets.s: roles.worker.main: the docker builder"),
    ],
)
def test_a_targets_roles_meet_the_same_rules_as_the_top_levels(text, key, message):
    with pytest.raises(ConfigError) as refused:
        parse_config(text, environ={})
    assert refused.value.key == key and message in refused.value.problem


def test_a_targets_unset_variable_hides_no_other_problem_of_its_section():
    text = "targets:\n  s:\n    hosts: [h]\n    app:\n      env: {A: '${NOPE}'}\n      port: 99999\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, environ={})
    assert refused.value.key == "targets.s.app.port"


def test_a_variables_value_is_text_unless_it_is_a_number_or_true_false():
    config = parse_config("app:\n  env:\n    A: ${X}\n    B: ${Y:-}\n    C: ${Z:-null}\n  port: ${P:-81}\n", environ={"X": "yes"})
    assert config.app.env == {"A": "yes", "B": "", "C": "null"} and config.app.port == 81
    with pytest.raises(ConfigError, match="inside a default is not supported"):
        parse_config("app:\n  env:\n    A: ${X:-${Y}}\n", environ={"Y": "y"})


def test_the_schema_lets_editors_accept_a_variable_where_a_number_goes():
    port = schema()["properties"]["app"]["properties"]["port"]
    assert {"type": "integer", "minimum": 1, "maximum": 65535} in port["anyOf"]
    assert any(option.get("pattern", "").startswith(r"\$\{") for option in port["anyOf"])
    assert schema()["properties"]["image"]["anyOf"][0] == {"type": "string"}


def test_lint_checks_what_each_target_deploys():
    from goship.commands.lint.config_rules import check_config

    text = (
        "image: registry.example.com:5000/db\n"
        "targets:\n  production:\n    hosts: [h]\n"
        "    app:\n      volumes: [data:/data]\n      security: {read_only: false, reason: needs it}\n"
        "    registry:\n      insecure: true\n"
    )
    findings, _ = check_config(text, "goship.yaml", "module x\n\ngo 1.22\n\nrequire modernc.org/sqlite v1.0.0\n")
    found = {(f.rule, f.line) for f in findings}
    assert {("GS210", 6), ("GS203", 7), ("GS202", 9)} <= found
    assert all(f.message.startswith("targets.production: ") for f in findings if f.rule in ("GS202", "GS203", "GS210"))


def test_yaml_merge_keys_and_x_holders_work_in_targets_too():
    text = (
        "x-common: &common\n  env: {LOG: info, A: '1'}\n  args: [-x]\n"
        "app:\n  <<: *common\n  port: 9000\n"
        "targets:\n  s:\n    hosts: [h]\n    app:\n      <<: *common\n      env: {LOG: debug}\n"
    )
    config = parse_config(text, environ={})
    assert config.app.env == {"LOG": "info", "A": "1"} and config.app.args == ["-x"] and config.app.port == 9000
    assert config.for_target("s").app.env == {"LOG": "debug", "A": "1"}
    with pytest.raises(ConfigError) as refused:
        parse_config("app:\n  <<: 3\n", environ={})
    assert refused.value.line == 2 and "merge key" in refused.value.problem


def test_a_targets_main_package_that_is_not_one_is_refused_at_its_line(tmp_path):
    root = _module(tmp_path, "service: shop\ntargets:\n  s:\n    hosts: [h]\n    build: {main: ./nope}\n")
    with pytest.raises(ConfigError) as refused:
        load_project(root)
    assert refused.value.key == "targets.s.build.main" and refused.value.line == 5
