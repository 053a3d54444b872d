"""The Bearer token flow against the real registry, as Docker Hub, GHCR and
Harbor run it: 401 with a challenge, a scoped JWT from the realm, the
registry checking its signature and the actions it grants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import registry
from testbed.tokenserver import TokenServer, User
from tests.conftest import assert_clean_failure, run_goship

pytestmark = pytest.mark.e2e

WRITER, READER = ("writer", "writer-pass-123"), ("reader", "reader-pass-456")


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    tokens = TokenServer(tmp_path_factory.mktemp("tokens"), {
        WRITER[0]: User(WRITER[1], {"team/*": {"pull", "push"}}),
        READER[0]: User(READER[1], {"team/*": {"pull"}}),
    })
    reg = registry.start_registry(tmp_path_factory.mktemp("tokenreg"), host="127.0.0.1",
                                  token_auth=tokens.registry_auth())
    yield reg, tokens
    reg.stop()
    tokens.stop()


def _as(user: tuple[str, str]) -> dict[str, str]:
    return {"GOSHIP_REGISTRY_USERNAME": user[0], "GOSHIP_REGISTRY_PASSWORD": user[1],
            "DOCKER_CONFIG": "/nonexistent-goship-docker-config"}


def _configure(project: Path, addr: str, repo: str) -> None:
    (project / "goship.yaml").write_text(f"image: {addr}/{repo}\nregistry:\n  insecure: true\n")


def test_push_with_a_scoped_token_then_real_clients_read_it(hello, token_registry):
    reg, tokens = token_registry
    _configure(hello, reg.addr, "team/hello")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello), env=_as(WRITER))
    assert pushed.returncode == 0, pushed.stderr
    assert WRITER[1] not in pushed.stdout + pushed.stderr
    granted = [access for user, _, access in tokens.issued if user == WRITER[0]]
    assert any({"type": "repository", "name": "team/hello", "actions": ["pull", "push"]} in a for a in granted), granted
    # skopeo does the same dance with the reader's credentials.
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"--creds={READER[0]}:{READER[1]}",
                                f"docker://{pushed.stdout.strip()}"], capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    # goship sbom reads through a pull-only token.
    shown = run_goship("sbom", pushed.stdout.strip(), "-C", str(hello), env=_as(READER))
    assert shown.returncode == 0 and "example.com/hello" in shown.stdout, shown.stderr


def test_pull_only_account_cannot_push(hello, token_registry):
    reg, _ = token_registry
    _configure(hello, reg.addr, "team/readonly")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    result = run_goship("push", "-C", str(hello), env=_as(READER))
    assert_clean_failure(result, f"registry {reg.addr} denied 'reader' access to repository:team/readonly:pull,push")
    assert READER[1] not in result.stdout + result.stderr


def test_wrong_password_is_refused_by_the_token_service(hello, token_registry):
    reg, tokens = token_registry
    _configure(hello, reg.addr, "team/hello")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    before = tokens.refused
    result = run_goship("push", "-C", str(hello), env=_as((WRITER[0], "not-the-password-789")))
    assert_clean_failure(result, f"registry {reg.addr} refused the login as 'writer'")
    assert "not-the-password-789" not in result.stdout + result.stderr
    assert tokens.refused > before


def test_login_then_tags_through_tokens(hello, token_registry, tmp_path):
    reg, _ = token_registry
    _configure(hello, reg.addr, "team/hello")
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    # login reads the password from stdin, never from an argument
    login = subprocess.run(
        [sys.executable, "-m", "goship", "login", reg.addr, "-u", WRITER[0], "--password-stdin", "-C", str(hello)],
        input=WRITER[1], capture_output=True, text=True, env={**os.environ, **env},
    )
    assert login.returncode == 0, login.stderr
    assert json.loads((tmp_path / "docker-config" / "config.json").read_text())["auths"][reg.addr]
    assert run_goship("build", "-C", str(hello)).returncode == 0
    assert run_goship("push", "-C", str(hello), env=env).returncode == 0
    tags = run_goship("tags", "-C", str(hello), env=env)
    assert tags.returncode == 0 and tags.stdout.strip(), tags.stderr
