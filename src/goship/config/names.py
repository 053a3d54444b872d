"""Names the command line needs before any goship.yaml is read (no YAML loaded here)."""

from __future__ import annotations

#: The name of the target that means "the Docker engine on this machine".
LOCAL_TARGET = "local"
#: The two builders (build.builder).
BUILDERS = ("native", "docker")
#: Kinds of deploy target (targets.NAME.kind): Docker hosts over SSH (the default) and this
#: machine's engine. goship.deploy.kinds.register adds a kind (a new Target implementation) here.
TARGET_KINDS: set[str] = {"hosts", "local"}
