"""goship.yaml validation: every error names the file, the line and the key."""

import pytest

from goship.config import Config, parse_config, parse_duration
from goship.errors import ConfigError

FULL = """\
service: hello
image: 10.231.0.1:5000/hello
build:
  main: .
registry:
  insecure: true
app:
  port: 8080
health:
  path: /healthz
  timeout: 30s
proxy:
  port: 80
  image: caddy:2
targets:
  production:
    hosts: [root@10.231.0.2]
"""


def test_full_example_from_the_issue_loads():
    config = parse_config(FULL)
    assert config.service == "hello"
    assert config.image == "10.231.0.1:5000/hello"
    assert config.build.main == "."
    assert config.registry.insecure is True
    assert config.health.timeout == 30.0
    assert config.proxy.port == 80
    assert config.targets["production"].hosts == ["root@10.231.0.2"]


def test_empty_file_gives_defaults():
    assert parse_config("") == Config()
    assert parse_config("# only a comment\n").app.port == 8080


def test_crlf_and_bom_are_accepted():
    assert parse_config("\ufeffservice: hello\r\napp:\r\n  port: 9000\r\n".lstrip("\ufeff")).app.port == 9000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("service: hello\nbuild:\n  mian: .\n", "goship.yaml:3: build.mian: unknown key (did you mean 'main'?)"),
        ("app:\n  port: eighty\n", "goship.yaml:2: app.port: expected a whole number, got 'eighty'"),
        ("app:\n  port: true\n", "goship.yaml:2: app.port: expected a whole number, got true"),
        ("health:\n  timeout: soon\n", "goship.yaml:2: health.timeout: expected a duration like 30s"),
        ("registry:\n  insecure: 'yes please'\n", "goship.yaml:2: registry.insecure: expected true or false"),
        ("targets:\n  prod:\n    hosts: root@h\n", "goship.yaml:3: targets.prod.hosts: expected a list, got 'root@h'"),
        ("targets:\n  prod:\n    hosts: [[a]]\n", "goship.yaml:3: targets.prod.hosts[0]: expected a string, got a list"),
        ("app: 5\n", "goship.yaml:1: app: expected a mapping of keys, got '5'"),
        ("- a\n- b\n", "goship.yaml:1: expected a mapping of keys, got a list"),
        ("service: a\nservice: b\n", "goship.yaml:2: service: key appears twice"),
        ("servce: hello\n", "goship.yaml:1: servce: unknown key (did you mean 'service'?)"),
        ("app:\n  port: 70000\n", "goship.yaml:2: app.port: 70000 is not a TCP port (1-65535)"),
        ("proxy:\n  port: 0\n", "goship.yaml:2: proxy.port: 0 is not a TCP port (1-65535)"),
        ("health:\n  path: healthz\n", "goship.yaml:2: health.path: 'healthz' must start with '/'"),
        ("deploy:\n  keep: 1\n", "goship.yaml:2: deploy.keep: must be at least 2, got 1"),
        ("deploy:\n  batch: 0\n", "goship.yaml:2: deploy.batch: must be at least 1, got 0"),
        ("build:\n  platforms: [linux/amd64, linux/amd64]\n", "goship.yaml:2: build.platforms: linux/amd64 listed twice"),
        ("build:\n  platform: windows/amd64\n", "goship.yaml:2: build.platform: unsupported platform 'windows/amd64'"),
        ("build:\n  env: {CGO_ENABLED: '1'}\n", "goship.yaml:2: build.env: CGO_ENABLED cannot be set here"),
        ("build:\n  env:\n    GOOS: windows\n", "goship.yaml:3: build.env: GOOS cannot be set here"),
        ("build:\n  env:\n    GOFLAGS: \"-a\\n-b\"\n", "goship.yaml:3: build.env: GOFLAGS: '-a\\n-b' holds a line break"),
        ("build:\n  env:\n    GO FLAGS: -a\n", "goship.yaml:3: build.env: 'GO FLAGS' is not a variable name"),
        ("build:\n  ldflags: \"-s\\r\\n-w\"\n", "goship.yaml:2: build.ldflags: '-s\\r\\n-w' holds a line break"),
        ("image: r.example.com:5000/team/Bad_Upper\n", "goship.yaml:1: image: 'r.example.com:5000/team/Bad_Upper': 'Bad_Upper' is not a valid"),
        ("image: r.example.com/team/app:v1\n", "goship.yaml:1: image: 'r.example.com/team/app:v1': give the repository without a tag"),
        ("build:\n  version_var: version\n", "goship.yaml:2: build.version_var: 'version' is not importpath.name"),
        ("build:\n  builder: kaniko\n", "goship.yaml:2: build.builder: unknown builder 'kaniko'"),
    ],
)
def test_errors_point_at_line_and_key(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert str(info.value).startswith(expected)


def test_malformed_yaml_names_line_and_column():
    with pytest.raises(ConfigError) as info:
        parse_config("service: hello\napp:\n  port: 8080\n   env: x\n")
    assert str(info.value).startswith("goship.yaml:4:")
    assert "not valid YAML" in str(info.value)
    assert info.value.hint


def test_unclosed_bracket_is_a_config_error():
    with pytest.raises(ConfigError, match=r"goship.yaml:\d+:\d+: not valid YAML"):
        parse_config("targets:\n  prod:\n    hosts: [a, b\n")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m", 60), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("1.5s", 1.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "s", "30 s", "-1s", "1d"])
def test_bad_durations(text):
    assert parse_duration(text) is None


def test_numeric_duration_means_seconds():
    assert parse_config("health:\n  timeout: 45\n").health.timeout == 45.0


def test_more_platform_variants_are_accepted():
    config = parse_config("build:\n  platforms: [linux/arm/v6, linux/amd64/v3, linux/arm64/v8]\n")
    assert config.build.target_platforms() == ["linux/arm/v6", "linux/amd64/v3", "linux/arm64/v8"]


def test_numbers_where_text_is_expected_keep_their_spelling():
    config = parse_config("build:\n  args: {GO_VERSION: 1.20, N: 3}\n")
    assert config.build.args == {"GO_VERSION": "1.20", "N": "3"}
    with pytest.raises(ConfigError) as info:
        parse_config("build:\n  args: {DEBUG: true}\n")
    assert str(info.value) == "goship.yaml:2: build.args.DEBUG: expected a string, got true"
    assert info.value.hint == "quote it: 'true'"
