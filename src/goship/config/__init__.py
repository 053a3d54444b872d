"""goship.yaml: the typed model and its loader.

Loaded on first use (the loader brings YAML), so the command line can import
``goship.config.names`` without paying for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goship.config.loader import CONFIG_NAME, load_config, parse_config, parse_duration
    from goship.config.model import (
        AppConfig,
        BuildConfig,
        Config,
        DeployConfig,
        HealthConfig,
        ProxyConfig,
        RegistryConfig,
        RoleConfig,
        SSHConfig,
        TargetConfig,
    )
    from goship.config.names import LOCAL_TARGET

_FROM = {
    **dict.fromkeys(("CONFIG_NAME", "load_config", "parse_config", "parse_duration"), "goship.config.loader"),
    "LOCAL_TARGET": "goship.config.names",
}

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
    "RoleConfig",
    "SSHConfig",
    "TargetConfig",
    "load_config",
    "parse_config",
    "parse_duration",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'goship.config' has no attribute {name!r}")
    module = importlib.import_module(_FROM.get(name, "goship.config.model"))
    return getattr(module, name)
