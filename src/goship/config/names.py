"""Names the command line needs before any goship.yaml is read (no YAML loaded here)."""

from __future__ import annotations

#: The name of the target that means "the Docker engine on this machine".
LOCAL_TARGET = "local"
#: The two builders (build.builder).
BUILDERS = ("native", "docker")
