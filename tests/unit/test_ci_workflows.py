"""goship ci github|gitlab: the workflows pass GitHub's and GitLab's schemas and actionlint,
ship the first target and promote the same commit to the next, and never overwrite a hand-edited file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from goship.cli import main
from goship.commands.ci import plan_for, render_github, render_gitlab
from goship.project import load_project

BIN = Path(sys.executable).parent
CONFIG = (
    "service: hello\nimage: registry.example.com/team/hello\n"
    "ssh:\n  identity_file: ~/.ssh/deploy_ed25519\n"
    "targets:\n  staging:\n    hosts: [deploy@staging1.example.com]\n"
    "  production:\n    hosts: [deploy@web1.example.com, deploy@web2.example.com]\n"
    "  laptop:\n    kind: local\n"
)


def _repo(tmp_path: Path, config: str = CONFIG, sub: str = "svc") -> Path:
    (tmp_path / ".git").mkdir()
    module = tmp_path / sub
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (module / "main.go").write_text("package main\n\nfunc main() {}\n")
    (module / "goship.yaml").write_text(config)
    return module


def _validate(path: Path, schema: str) -> None:
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_github_workflow_passes_the_schema_and_actionlint(tmp_path):
    module = _repo(tmp_path)
    main(["ci", "github", "-C", str(module)])
    path = tmp_path / ".github" / "workflows" / "goship.yml"
    _validate(path, "vendor.github-workflows")
    lint = subprocess.run([str(BIN / "actionlint"), str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert list(jobs) == ["check", "deploy-staging", "deploy-production"]  # the local target is not deployed from CI
    staging, production = jobs["deploy-staging"], jobs["deploy-production"]
    assert staging["needs"] == "check" and production["needs"] == "deploy-staging"
    assert production["environment"] == "production" and production["concurrency"]["cancel-in-progress"] is False
    runs = [step.get("run", "") for step in production["steps"]]
    assert 'goship deploy production --version "${GITHUB_SHA::12}"' in runs
    assert "goship ship staging" in [step.get("run", "") for step in staging["steps"]]
    assert any("deploy_ed25519" in run for run in runs)
    assert workflow["defaults"]["run"]["working-directory"] == "svc"
    text = path.read_text()
    assert "StrictHostKeyChecking" not in text and "goship==" in text


def test_the_gitlab_file_passes_the_schema_and_promotes_the_same_commit(tmp_path):
    module = _repo(tmp_path)
    main(["ci", "gitlab", "-C", str(module)])
    path = tmp_path / ".gitlab-ci.yml"
    _validate(path, "vendor.gitlab-ci")
    pipeline = yaml.safe_load(path.read_text())
    assert pipeline["deploy-production"]["needs"] == ["deploy-staging"]
    assert pipeline["deploy-production"]["resource_group"] == "goship-hello-production"
    assert 'goship deploy production --version "${CI_COMMIT_SHA:0:12}"' in pipeline["deploy-production"]["script"]
    assert pipeline["check"]["artifacts"]["reports"]["junit"] == "svc/.goship/junit.xml"


def test_a_module_at_the_repository_root_and_no_targets(tmp_path):
    module = _repo(tmp_path, "service: hello\n", sub=".")
    plan = plan_for(load_project(module))
    assert plan.module_dir == "." and plan.targets == () and not plan.go_sum
    workflow = yaml.safe_load(render_github(plan))
    assert list(workflow["jobs"]) == ["check"] and "cache: false" in render_github(plan)
    assert "deploy" not in render_gitlab(plan).split("stages:")[1].split("\n", 1)[1]


def test_a_hand_edited_workflow_is_kept_and_dry_run_writes_nothing(tmp_path, capsys):
    module = _repo(tmp_path)
    path = tmp_path / ".github" / "workflows" / "goship.yml"
    path.parent.mkdir(parents=True)
    path.write_text("name: ours\n")
    with pytest.raises(SystemExit) as refused:
        main(["ci", "github", "-C", str(module)])
    assert refused.value.code == 2 and "not written by goship ci" in capsys.readouterr().err
    main(["ci", "github", "--dry-run", "-C", str(module)])
    assert "+name: goship" in capsys.readouterr().out and path.read_text() == "name: ours\n"
    main(["ci", "github", "--force", "-C", str(module)])
    assert path.read_text().startswith("# Written by 'goship ci github'")
    main(["ci", "github", "-C", str(module)])  # its own file: rewritten without --force
    assert "unchanged" in capsys.readouterr().out
