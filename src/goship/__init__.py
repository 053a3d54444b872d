"""goship: take a Go service from source to a healthy container in production.

The library API mirrors the command line::

    from goship import load_project, ship
    result = ship(load_project(Path("services/hello")), "production")

Every stage also takes a ``Session`` instead of the project: one set of
connections, a reporter, a Ctrl-C event and replaceable seams for several
calls (``goship.testing`` has fakes for each seam)::

    with Session(load_project(Path("services/hello"))) as session:
        built = build(session)
        push(session, built)
        deploy(session, "production", built)

The errors are importable at once; the stages are loaded on first use, so
``import goship`` (and ``goship --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from goship._version import __version__
from goship.errors import (
    BuildError,
    ConfigError,
    ConfigErrors,
    DeployError,
    DockerfileError,
    EngineConflict,
    EngineNotFound,
    EngineUnreachable,
    GoshipError,
    HealthCheckFailed,
    HostError,
    HostKeyError,
    HostUnreachable,
    Interrupted,
    LintUsageError,
    ProcessError,
    ProjectError,
    RegistryError,
    RegistryNotFound,
    TestsFailed,
    ToolError,
    UsageError,
)

if TYPE_CHECKING:
    from goship.commands.pipeline import build, deploy, push, ship
    from goship.project import Project, load_project
    from goship.session import Session

_LAZY = {
    "build": "goship.commands.pipeline",
    "deploy": "goship.commands.pipeline",
    "push": "goship.commands.pipeline",
    "ship": "goship.commands.pipeline",
    "Project": "goship.project",
    "load_project": "goship.project",
    "Session": "goship.session",
}

__all__ = [
    "BuildError",
    "ConfigError",
    "ConfigErrors",
    "DeployError",
    "DockerfileError",
    "EngineConflict",
    "EngineNotFound",
    "EngineUnreachable",
    "GoshipError",
    "HealthCheckFailed",
    "HostError",
    "HostKeyError",
    "HostUnreachable",
    "Interrupted",
    "LintUsageError",
    "ProcessError",
    "Project",
    "ProjectError",
    "RegistryError",
    "RegistryNotFound",
    "Session",
    "TestsFailed",
    "ToolError",
    "UsageError",
    "__version__",
    "build",
    "deploy",
    "load_project",
    "push",
    "ship",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'goship' has no attribute {name!r}")
    import importlib  # noqa: PLC0415 - the lazy loader itself

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
