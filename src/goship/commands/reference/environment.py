"""Every environment variable goship reads, and what it does.

A unit test finds the names the source reads (``os.environ.get("X")``,
``env.get("X")``...) and fails when one is missing here, so this table is
the whole list.
"""

from __future__ import annotations

#: (name, what it does), grouped as a user looks for them.
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("GOSHIP_DEBUG", "any non-empty value: log what goship does (stages, requests, timings in ms) to stderr"),
    ("GOSHIP_REGISTRY_USERNAME", "registry user name (before registry.username and the docker config); "
     "the default user of goship login"),
    ("GOSHIP_REGISTRY_PASSWORD", "registry password or token, used with the user name above; read by goship "
     "login when --password-stdin is not given. Never printed or recorded"),
    ("DOCKER_HOST", "the Docker engine to use locally, as the docker CLI reads it (unix://, tcp://, ssh://, "
     "npipe://)"),
    ("DOCKER_TLS_VERIFY", "with a tcp:// DOCKER_HOST: any value but 0 or empty turns TLS on"),
    ("DOCKER_CERT_PATH", "the ca.pem, cert.pem and key.pem for DOCKER_TLS_VERIFY (default: DOCKER_CONFIG)"),
    ("DOCKER_CONTEXT", "the docker context to use when DOCKER_HOST is not set (default: currentContext of "
     "config.json)"),
    ("DOCKER_CONFIG", "the docker config directory: registry logins, credential helpers, contexts "
     "(default: ~/.docker)"),
    ("SOURCE_DATE_EPOCH", "the timestamp (seconds since 1970) of the files and config of a native build "
     "(default: the commit time)"),
    ("GITHUB_ACTIONS", "true (set by GitHub Actions): goship test prints ::error annotations at each failing test's "
     "line and appends its summary to GITHUB_STEP_SUMMARY"),
    ("GITHUB_STEP_SUMMARY", "GitHub Actions' job summary file: goship test appends a table of its results"),
    ("GITHUB_WORKSPACE", "GitHub Actions' checkout: annotation paths are relative to it (default: the current directory)"),
    ("CGO_ENABLED", "goship test keeps it for go test (1 with -race); native builds always use 0"),
    ("GOWORK", "the go.work file to use, as go reads it (off: none)"),
    ("GOTOOLCHAIN", "passed to go as it is; goship doctor reads it to tell which Go builds go.mod's version"),
    ("GOPROXY", "goship doctor: where go downloads modules from (read through go env)"),
    ("PATH", "where go, ssh, docker, hadolint and docker-credential-* are looked for (then beside goship's "
     "Python)"),
    ("XDG_CACHE_HOME", "goship's per-user cache (registry mount hints) goes in XDG_CACHE_HOME/goship "
     "(default: ~/.cache)"),
    ("LOCALAPPDATA", "Windows: goship's per-user cache goes in LOCALAPPDATA\\goship"),
    ("NO_COLOR", "any non-empty value: no colour, even on a terminal"),
    ("FORCE_COLOR", "any non-empty value: colour even without a terminal (NO_COLOR wins)"),
    ("HOME", "goship doctor: where ~/.docker and ~/.ssh are"),
    ("USERPROFILE", "goship doctor on Windows and WSL: where .wslconfig is"),
    ("APPDATA", "goship doctor on Windows: where Docker Desktop's settings are"),
    ("WSL_DISTRO_NAME", "goship doctor: the WSL 2 distribution it runs in (also how WSL is recognised)"),
    ("WSL_INTEROP", "goship doctor: set inside WSL; how WSL is recognised"),
)

#: Variables named in goship.yaml rather than fixed by goship.
FROM_CONFIG = (
    "The variables named in `app.secrets` (their values, from the environment or `app.env_file`) and in "
    "`build.secrets` (`id: env:NAME`) are read too; their values are never printed or recorded."
)
