"""goship: take a Go service from source to a healthy container in production.

The library API mirrors the command line::

    from goship import load_project, ship
    result = ship(load_project(Path("services/hello")), "production")
"""

# Before the imports: modules below read it while this package initialises.
__version__ = "0.1.0"

from goship.errors import (
    BuildError,
    ConfigError,
    DeployError,
    GoshipError,
    HealthCheckFailed,
    HostError,
    HostKeyError,
    HostUnreachable,
    ProjectError,
    RegistryError,
    ToolError,
)
from goship.pipeline import build, deploy, push, ship
from goship.project import Project, load_project

__all__ = [
    "BuildError",
    "ConfigError",
    "DeployError",
    "GoshipError",
    "HealthCheckFailed",
    "HostError",
    "HostKeyError",
    "HostUnreachable",
    "Project",
    "ProjectError",
    "RegistryError",
    "ToolError",
    "__version__",
    "build",
    "deploy",
    "load_project",
    "push",
    "ship",
]
