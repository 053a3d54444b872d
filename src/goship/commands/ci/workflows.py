"""The workflow files (pure: a plan in, YAML text out).

Pull requests: lint (SARIF to code scanning on GitHub) and test (JUnit
published). The default branch: the same, then the first target gets
``goship ship`` (build, push, deploy) and every later one is promoted with
``goship deploy TARGET --version`` of the same commit, so one digest goes
from staging to production. Deploys never overlap (a concurrency group /
resource group), each target is a CI environment (protect production
there), and the SSH key, known_hosts and registry login come from the CI
system's secrets and variables; host keys stay verified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from goship._version import __version__
from goship.project import Project

MARK = "# Written by 'goship ci"


@dataclass(frozen=True)
class CIPlan:
    service: str
    #: The module's directory in the repository ("." at its root), '/'-separated.
    module_dir: str
    #: Targets with hosts, in goship.yaml's order: the first is shipped, the rest promoted.
    targets: tuple[str, ...]
    #: Where goship.yaml's ssh settings expect the key and known_hosts on the runner.
    identity_file: str
    known_hosts_file: str
    goship_version: str = __version__
    default_branch: str = "main"
    #: go.sum exists: setup-go caches modules keyed on it (without one there is nothing to cache).
    go_sum: bool = True


def repository_root(start: Path) -> Path:
    """The directory holding .git above the module (the module itself when there is none)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def _runner_path(project: Project, value: str | None, default: str) -> str:
    """A path from goship.yaml's ssh: section as a shell on the runner writes it."""
    if value is None:
        return default
    if value.startswith("~/") or value.startswith("/"):
        return value
    return f"$PWD/{PurePosixPath(value)}"  # relative to goship.yaml, where the job runs


def plan_for(project: Project, default_branch: str = "main") -> CIPlan:
    root = repository_root(project.root)
    module_dir = Path(os.path.relpath(project.root, root)).as_posix()
    targets = tuple(name for name, target in project.config.targets.items() if target.kind == "hosts")
    ssh = project.config.ssh
    return CIPlan(
        service=project.service,
        module_dir=module_dir,
        targets=targets,
        identity_file=_runner_path(project, ssh.identity_file, "~/.ssh/id_ed25519"),
        known_hosts_file=_runner_path(project, ssh.known_hosts_file, "~/.ssh/known_hosts"),
        default_branch=default_branch,
        go_sum=(project.root / "go.sum").is_file(),
    )


def _module_file(plan: CIPlan, name: str) -> str:
    return name if plan.module_dir == "." else f"{plan.module_dir}/{name}"


def _ssh_setup(plan: CIPlan, indent: str) -> list[str]:
    """Shell lines that put the key and known_hosts where goship.yaml's ssh settings look."""
    key, known = plan.identity_file, plan.known_hosts_file
    return [
        f'{indent}key="{key}"; known="{known}"',
        f'{indent}key="${{key/#\\~/$HOME}}"; known="${{known/#\\~/$HOME}}"',
        f'{indent}mkdir -p "$(dirname "$key")" "$(dirname "$known")" ~/.ssh && chmod 700 ~/.ssh',
        f'{indent}printf \'%s\\n\' "$GOSHIP_SSH_KEY" > "$key" && chmod 600 "$key"',
        f'{indent}printf \'%s\\n\' "$GOSHIP_KNOWN_HOSTS" > "$known"',
    ]


def render_github(plan: CIPlan) -> str:
    workdir = plan.module_dir
    install = f"pip install goship=={plan.goship_version}"
    lines = [
        f"{MARK} github' (goship {plan.goship_version}); edit it freely: goship ci github --force rewrites it.",
        "# Secrets: GOSHIP_SSH_KEY (the deploy key), GOSHIP_REGISTRY_USERNAME, GOSHIP_REGISTRY_PASSWORD;",
        "# variable (or secret) GOSHIP_KNOWN_HOSTS: the hosts' keys as ssh-keyscan prints them, checked by you.",
        "name: goship",
        "on:",
        "  pull_request:",
        "  push:",
        f"    branches: [{plan.default_branch}]",
        "permissions:",
        "  contents: read",
        "defaults:",
        "  run:",
        f"    working-directory: {workdir}",
        "jobs:",
        "  check:",
        "    runs-on: ubuntu-latest",
        "    permissions:",
        "      contents: read",
        "      security-events: write",
        "    steps:",
        *_github_setup(plan, install),
        "      - name: goship lint",
        "        id: lint",
        "        run: goship lint --format sarif -o .goship/lint.sarif --fail-on error",
        "      - name: upload the lint report to code scanning",
        "        if: ${{ !cancelled() && steps.lint.outcome != 'skipped' }}",
        "        uses: github/codeql-action/upload-sarif@v3",
        "        with:",
        f"          sarif_file: {_module_file(plan, '.goship/lint.sarif')}",
        "      - name: goship test",
        "        id: test",
        "        if: ${{ !cancelled() && steps.install.outcome == 'success' }}",
        "        run: goship test --junit .goship/junit.xml",
        "      - name: keep the test report",
        "        if: ${{ !cancelled() && steps.test.outcome != 'skipped' }}",
        "        uses: actions/upload-artifact@v4",
        "        with:",
        "          name: junit",
        f"          path: {_module_file(plan, '.goship/junit.xml')}",
        "          if-no-files-found: ignore",
    ]
    for previous, job, target, command in _deploys(plan, '"${GITHUB_SHA::12}"'):
        lines += [
            f"  {job}:",
            f"    if: github.event_name == 'push' && github.ref == 'refs/heads/{plan.default_branch}'",
            f"    needs: {previous}",
            "    runs-on: ubuntu-latest",
            f"    environment: {target}",
            "    concurrency:",
            f"      group: goship-{plan.service}-{target}",
            "      cancel-in-progress: false",
            "    env:",
            "      GOSHIP_REGISTRY_USERNAME: ${{ secrets.GOSHIP_REGISTRY_USERNAME }}",
            "      GOSHIP_REGISTRY_PASSWORD: ${{ secrets.GOSHIP_REGISTRY_PASSWORD }}",
            "    steps:",
            *_github_setup(plan, install),
            "      - name: SSH key and known hosts",
            "        env:",
            "          GOSHIP_SSH_KEY: ${{ secrets.GOSHIP_SSH_KEY }}",
            "          GOSHIP_KNOWN_HOSTS: ${{ vars.GOSHIP_KNOWN_HOSTS || secrets.GOSHIP_KNOWN_HOSTS }}",
            "        run: |",
            *_ssh_setup(plan, "          "),
            f"      - name: {command.split(' --', maxsplit=1)[0]}",
            f"        run: {command}",
        ]
    return "\n".join(lines) + "\n"


def _github_setup(plan: CIPlan, install: str) -> list[str]:
    return [
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-go@v5",
        "        with:",
        f"          go-version-file: {_module_file(plan, 'go.mod')}",
        f"          cache-dependency-path: {_module_file(plan, 'go.sum')}" if plan.go_sum else "          cache: false",
        "      - uses: actions/setup-python@v5",
        "        with:",
        "          python-version: '3.12'",
        "      - name: install goship",
        "        id: install",
        f"        run: {install} && mkdir -p .goship",
    ]


def _deploys(plan: CIPlan, commit: str) -> list[tuple[str, str, str, str]]:
    """(job it needs, job, target, command) per target: the first is shipped, each later one gets
    the same version (``commit``: the shell expression of the commit's first 12 characters)."""
    found, previous = [], "check"
    for index, target in enumerate(plan.targets):
        job = f"deploy-{_job_name(target)}"
        command = f"goship ship {target}" if index == 0 else f"goship deploy {target} --version {commit}"
        found.append((previous, job, target, command))
        previous = job
    return found


def _job_name(target: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in target)


def render_gitlab(plan: CIPlan) -> str:
    install = f"pip install goship=={plan.goship_version}"
    enter = [] if plan.module_dir == "." else [f"    - cd {plan.module_dir}"]
    lines = [
        f"{MARK} gitlab' (goship {plan.goship_version}); edit it freely: goship ci gitlab --force rewrites it.",
        "# Runs on a runner with Go and Python 3 (a shell runner, or set image: to one with both).",
        "# CI/CD variables: GOSHIP_SSH_KEY (masked), GOSHIP_KNOWN_HOSTS (the hosts' keys, checked by you),",
        "# GOSHIP_REGISTRY_USERNAME and GOSHIP_REGISTRY_PASSWORD (masked); protect the deploy environments.",
        "stages: [check, deploy]",
        "variables:",
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"',
        "check:",
        "  stage: check",
        "  rules:",
        "    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'",
        "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "  script:",
        *enter,
        f"    - {install}",
        "    - goship test --junit .goship/junit.xml",
        "    - goship lint --format json -o .goship/lint.json --fail-on error",
        "  artifacts:",
        "    when: always",
        "    reports:",
        f"      junit: {_module_file(plan, '.goship/junit.xml')}",
    ]
    for previous, job, target, command in _deploys(plan, '"${CI_COMMIT_SHA:0:12}"'):
        lines += [
            f"{job}:",
            "  stage: deploy",
            f"  needs: [{previous}]",
            "  rules:",
            "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            f"  environment: {target}",
            f"  resource_group: goship-{plan.service}-{target}",
            "  script:",
            *enter,
            f"    - {install}",
            "    - |",
            *_ssh_setup(plan, "      "),
            f"    - {command}",
        ]
    return "\n".join(lines) + "\n"
