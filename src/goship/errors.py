"""The goship exception tree.

Every failure a user can cause or fix is a ``GoshipError``; the CLI prints
it as one line (plus an optional hint) and exits non-zero. Anything else is
a bug in goship and is reported with a traceback written to a log file.

    GoshipError
    ├── UsageError           the command line is wrong: an unknown command, option or value
    ├── ConfigError          goship.yaml malformed, unknown key, wrong type
    │   ├── ConfigErrors         several of them, each at its line
    │   └── LintUsageError       goship lint cannot run as asked (an -o file it cannot write)
    ├── ProjectError         no go.mod, no main package
    ├── DockerfileError      a Dockerfile that does not parse (goship lint)
    ├── ToolError            a required program (go, docker, ssh) is missing
    ├── ProcessError         a program goship ran failed, timed out or is missing
    ├── BuildError           go build failed, bad platform
    ├── TestsFailed          goship test: vet, a test, the linter or the coverage gate failed
    ├── RegistryError        push refused, auth failed, TLS not trusted
    │   └── RegistryNotFound     no such manifest, blob or repository
    ├── HostError            a command on a host failed
    │   ├── EngineUnreachable    no Docker engine answers
    │   ├── EngineConflict       the engine refused: a name is taken (HTTP 409)
    │   ├── EngineNotFound       the engine has no such object (HTTP 404)
    │   ├── HostUnreachable      SSH cannot connect
    │   └── HostKeyError         SSH host key unknown or changed
    └── DeployError          a deploy stopped; the old version still serves
        ├── HealthCheckFailed    the new version never became healthy
        └── Interrupted          Ctrl-C: stopped at a safe point

Each class carries the CLI's exit status (``exit_code``, one of ``ExitCode``):
this is the one place the statuses are decided, and ``goship help exit-codes``
and docs/reference.md print the table below from it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """goship's exit statuses; each is documented by its entry in ``EXIT_CODE_MEANINGS``."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    LINT_ERRORS = 3
    TOOL_MISSING = 4
    DEPLOY_FAILED = 5
    HEALTH_FAILED = 6
    TESTS_FAILED = 7
    INTERNAL = 70
    INTERRUPTED = 130
    BROKEN_PIPE = 141


#: What each status means, for the reference table (kept beside the codes so they cannot drift).
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success (goship lint: no finding reaches --fail-on; goship doctor: no check FAILs)",
    ExitCode.FAILURE: "a failure not listed below (build, registry, host, a doctor check that FAILs); "
    "goship lint: the worst finding is a warning (or info)",
    ExitCode.USAGE: "usage or configuration error: an unknown command or flag, a bad goship.yaml, "
    "not a Go module, a Dockerfile that does not parse; nothing was changed",
    ExitCode.LINT_ERRORS: "goship lint: the worst finding is an error",
    ExitCode.TOOL_MISSING: "a program goship needs (go, ssh, docker buildx, a credential helper) is missing "
    "or cannot run",
    ExitCode.DEPLOY_FAILED: "a deploy, rollback or remove stopped; the previous version keeps serving "
    "(the message says what runs where)",
    ExitCode.HEALTH_FAILED: "the new version never became healthy; it was removed and the previous version "
    "keeps serving",
    ExitCode.TESTS_FAILED: "goship test: go vet, a test, the linter or the coverage gate failed (each is named)",
    ExitCode.INTERNAL: "internal error: a bug in goship; the traceback is in goship-crash.log in the "
    "temporary directory",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); a deploy stopped at a safe point and says what runs where",
    ExitCode.BROKEN_PIPE: "the reader of goship's output went away (goship ... | head); 1 on Windows",
}


class GoshipError(Exception):
    """Base class: a failure the user can understand and act on."""

    exit_code: int = ExitCode.FAILURE

    def __init__(
        self, message: str, *, hint: str | None = None, details: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Evidence shown under the message (probe results, log lines).
        self.details = details

    def __str__(self) -> str:
        return self.message


class UsageError(GoshipError):
    """The command line cannot be used: an unknown command or option, a missing or bad argument."""

    exit_code = ExitCode.USAGE


class ConfigError(GoshipError):
    """goship.yaml cannot be used as written.

    Carries its place as data (``file``, ``line``, ``key``) and the bare
    ``problem``, so the CLI prints ``goship.yaml:12: health.timout: unknown
    key`` and lint reports the same finding at the same line without
    reading the message back.
    """

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: tuple[str, ...] = (),
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        column: int | None = None,
    ) -> None:
        place = (file, str(line) if line is not None else None, str(column) if line and column else None)
        where = ":".join(part for part in place if part)
        rendered = ": ".join(part for part in (where, key, message) if part)
        super().__init__(rendered, hint=hint, details=details)
        self.problem = message
        self.file = file
        self.line = line
        self.column = column
        self.key = key


class ConfigErrors(ConfigError):
    """Several problems in one goship.yaml: the first is this error's own place and
    message (so code reading ``line``/``key`` still works), every one is in
    ``errors``, and the others are shown under the first as its details."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        others = tuple(
            str(error) + (f" ({error.hint})" if error.hint else "") for error in errors[1:]
        )
        super().__init__(
            first.problem, hint=first.hint, details=others, file=first.file, line=first.line,
            key=first.key, column=first.column,
        )
        self.errors = tuple(errors)

    @staticmethod
    def of(errors: list[ConfigError]) -> ConfigError:
        """One error as itself, several as ConfigErrors."""
        return errors[0] if len(errors) == 1 else ConfigErrors(errors)


class LintUsageError(ConfigError):
    """goship lint cannot run as asked (an output file it cannot write); exit status 2."""


class ProjectError(GoshipError):
    """The directory is not a Go service goship can ship."""

    exit_code = ExitCode.USAGE


class DockerfileError(GoshipError):
    """A Dockerfile cannot be parsed; the message names the file and line."""

    exit_code = ExitCode.USAGE


class TestsFailed(GoshipError):
    """goship test: go vet, a test, the linter or the coverage gate failed."""

    __test__ = False  # not a test class, for pytest
    exit_code = ExitCode.TESTS_FAILED


class ToolError(GoshipError):
    """A program goship runs is missing or unusable."""

    exit_code = ExitCode.TOOL_MISSING


class ProcessError(GoshipError):
    """A program run by goship.process failed: its argv, exit code and stderr.

    Raised only by the process runner; callers translate it into the error
    of their domain when they can say more (``raise ... from``). One that
    reaches the CLI untranslated exits as a missing tool when the program
    could not be started, else as a plain failure.
    """

    exit_code = ExitCode.FAILURE

    def __init__(
        self,
        message: str,
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stderr: str = "",
        stdout: str = "",
        timed_out: bool = False,
        not_found: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        self.timed_out = timed_out
        self.not_found = not_found
        if not_found:
            self.exit_code = ExitCode.TOOL_MISSING


class BuildError(GoshipError):
    """Building the binary or the image failed."""


class RegistryError(GoshipError):
    """The registry refused a request or could not be reached."""


class RegistryNotFound(RegistryError):
    """The registry has no such manifest, blob or repository."""


class HostError(GoshipError):
    """A command on a Docker host (local or over SSH) failed."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: tuple[str, ...] = (),
        host: str = "local",
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.host = host
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class EngineUnreachable(HostError):
    """No Docker engine answers on that host."""


class EngineConflict(HostError):
    """The engine refused because a name is taken (HTTP 409)."""


class EngineNotFound(HostError):
    """The engine has no such object (HTTP 404)."""


class HostUnreachable(HostError):
    """SSH could not reach or log in to the host."""


class HostKeyError(HostError):
    """The host's SSH key is unknown or differs from known_hosts."""


class DeployError(GoshipError):
    """A deploy stopped before completing; the previous version keeps serving."""

    exit_code = ExitCode.DEPLOY_FAILED


class HealthCheckFailed(DeployError):
    """The new version did not become healthy within the timeout."""

    exit_code = ExitCode.HEALTH_FAILED


class Interrupted(DeployError):
    """The user interrupted (Ctrl-C) and the deploy stopped at a safe point."""

    exit_code = ExitCode.INTERRUPTED
