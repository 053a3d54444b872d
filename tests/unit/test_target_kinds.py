"""Target kinds: goship.yaml's targets.NAME.kind picks the module that implements the target."""

from __future__ import annotations

import pytest

from goship.config import parse_config
from goship.deploy import kinds
from goship.deploy.fleet import DockerHosts
from goship.deploy.target import TargetContext
from goship.errors import ConfigError
from goship.project import GoMod, Project
from goship.testing.hosts import FakeHosts


def _project(tmp_path, text: str) -> Project:
    config = parse_config(text, "goship.yaml")
    return Project(tmp_path, GoMod("example.com/hello"), config, tmp_path / "goship.yaml", "hello", ".")


def test_hosts_is_the_default_kind_and_local_needs_no_hosts(tmp_path):
    fakes = FakeHosts()
    fakes.add("root@web1")
    fakes.add("local")
    context = TargetContext(connect_local=fakes.connect_local, connect_ssh=fakes.connect_ssh)
    project = _project(tmp_path, "targets:\n  prod:\n    hosts: [root@web1]\n  laptop:\n    kind: local\n")
    prod, laptop, default = (kinds.open_target(project, name, context) for name in ("prod", "laptop", "local"))
    assert isinstance(prod, DockerHosts) and prod.needs_registry and [h.name for h in prod.hosts] == ["root@web1"]
    assert isinstance(laptop, DockerHosts) and not laptop.needs_registry
    assert isinstance(default, DockerHosts) and [h.name for h in default.hosts] == ["local"]
    assert all(engine.requests == [] for engine in fakes.engines.values())  # opening a target asks nothing


def test_a_kind_without_hosts_and_a_local_one_with_hosts_are_refused_at_their_line():
    with pytest.raises(ConfigError, match="targets.prod.hosts") as none:
        parse_config("targets:\n  prod:\n    kind: hosts\n", "goship.yaml")
    assert "no hosts listed" in none.value.message
    with pytest.raises(ConfigError, match="a local target has no hosts"):
        parse_config("targets:\n  laptop:\n    kind: local\n    hosts: [a]\n", "goship.yaml")


def test_a_kind_forgotten_after_goship_yaml_was_read_is_a_config_error(tmp_path):
    kinds.register("swarmish", lambda project, name, context: None)  # type: ignore[arg-type,return-value]
    try:
        project = _project(tmp_path, "targets:\n  cluster:\n    kind: swarmish\n")
    finally:
        kinds.unregister("swarmish")
    with pytest.raises(ConfigError, match="no deploy target of kind 'swarmish' is registered") as refused:
        kinds.open_target(project, "cluster", TargetContext())
    assert "hosts" in (refused.value.hint or "") and "local" in (refused.value.hint or "")


def test_an_unknown_target_name_lists_the_known_ones(tmp_path):
    project = _project(tmp_path, "targets:\n  prod:\n    hosts: [root@web1]\n")
    with pytest.raises(ConfigError, match="unknown target 'stagin'") as refused:
        kinds.open_target(project, "stagin", TargetContext())
    assert refused.value.hint is not None and "local, prod" in refused.value.hint
