"""goship.yaml: the typed model and its loader."""

from goship.config.loader import CONFIG_NAME, load_config, parse_config, parse_duration
from goship.config.model import (
    LOCAL_TARGET,
    AppConfig,
    BuildConfig,
    Config,
    DeployConfig,
    HealthConfig,
    ProxyConfig,
    RegistryConfig,
    SSHConfig,
    TargetConfig,
)

__all__ = [
    "CONFIG_NAME",
    "LOCAL_TARGET",
    "AppConfig",
    "BuildConfig",
    "Config",
    "DeployConfig",
    "HealthConfig",
    "ProxyConfig",
    "RegistryConfig",
    "SSHConfig",
    "TargetConfig",
    "load_config",
    "parse_config",
    "parse_duration",
]
