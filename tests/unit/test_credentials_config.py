"""Docker config.json entries in every form docker itself reads; a broken one is a clear error."""

from __future__ import annotations

import base64
import json

import pytest

from goship.errors import RegistryError
from goship.registry import credentials


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
