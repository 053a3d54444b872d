"""Docker config.json entries in every form docker itself reads; a broken one is a clear error."""

from __future__ import annotations

import base64
import json

import pytest

from goship.errors import RegistryError
from goship.images.reference import DOCKER_HUB, parse_repository
from goship.registry import credentials
from goship.registry.credentials import config_key


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("GOSHIP_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("GOSHIP_REGISTRY_PASSWORD", raising=False)

    def write(auths: dict) -> None:
        (tmp_path / "config.json").write_text(json.dumps({"auths": auths}))

    return write


def test_v1_url_keys_and_plain_fields_are_read(docker_config):
    auth = base64.b64encode(b"alice:s3cret").decode()
    docker_config({"https://reg.example.com/v1/": {"auth": auth}})
    assert credentials.lookup("reg.example.com") == credentials.Credentials("alice", "s3cret")
    docker_config({"reg.example.com": {"username": "bob", "password": "pw"}})
    assert credentials.lookup("reg.example.com") == credentials.Credentials("bob", "pw")


def test_broken_auth_entry_names_the_file_and_entry(docker_config, tmp_path):
    docker_config({"reg.example.com": {"auth": "!!!notbase64"}})
    with pytest.raises(RegistryError) as info:
        credentials.lookup("reg.example.com")
    assert info.value.message == f"{tmp_path / 'config.json'}: auths.reg.example.com.auth is not base64 of user:password"
    assert "goship login reg.example.com" in (info.value.hint or "")



@pytest.mark.parametrize(
    ("text", "path", "docker_name"),
    [
        ("nginx", "library/nginx", "docker.io/library/nginx"),
        ("docker.io/nginx", "library/nginx", "docker.io/library/nginx"),
        ("docker.io/library/nginx", "library/nginx", "docker.io/library/nginx"),
        ("index.docker.io/acme/app", "acme/app", "docker.io/acme/app"),
        ("acme/app", "acme/app", "docker.io/acme/app"),
        ("docker.io/acme/app", "acme/app", "docker.io/acme/app"),
    ],
)
def test_docker_hub_references_as_docker_reads_them(text, path, docker_name):
    repository = parse_repository(text)
    # Its API at registry-1.docker.io; its logins under Docker's own key; pulled by the name Docker uses.
    assert (repository.registry, repository.path, repository.docker_name) == (DOCKER_HUB, path, docker_name)
    assert config_key(repository.registry) == "https://index.docker.io/v1/"


def test_other_registries_keep_their_names():
    repository = parse_repository("reg.example.com:5000/team/app")
    assert (repository.registry, repository.docker_name) == ("reg.example.com:5000", "reg.example.com:5000/team/app")
    assert config_key(repository.registry) == "reg.example.com:5000"
