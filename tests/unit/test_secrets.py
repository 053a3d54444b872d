"""Secrets: env-file parsing and lookup; values never leak into reprs."""

import pytest

from goship.deploy.release import Release
from goship.errors import ConfigError
from goship.secrets import parse_env_file, resolve


def test_parse_env_file():
    text = "# comment\nexport A=1\nB = 'two words'\nC=\"x=y\"\n\n"
    assert parse_env_file(text, ".env") == {"A": "1", "B": "two words", "C": "x=y"}


def test_parse_env_file_error_names_line():
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=value"):
        parse_env_file("A=1\nnot a line\n", ".env")


def test_environment_wins_over_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("TOKEN=from-file\nDB=db-file\n")
    assert resolve(["TOKEN", "DB"], env, {"TOKEN": "from-env"}) == {"TOKEN": "from-env", "DB": "db-file"}


def test_missing_secret_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="app.secrets: TOKEN not set"):
        resolve(["TOKEN"], None, {})


def test_secret_values_stay_out_of_reprs():
    release = Release("s", "v", "i", 8080, secrets={"TOKEN": "hunter2"})
    assert "hunter2" not in repr(release)
