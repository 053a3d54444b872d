"""``goship ci github|gitlab``: the CI workflow that runs goship's pipeline for this project."""

from goship.commands.ci.workflows import CIPlan, plan_for, render_github, render_gitlab
from goship.commands.ci.write import WORKFLOW_PATHS, write_workflow

__all__ = ["WORKFLOW_PATHS", "CIPlan", "plan_for", "render_github", "render_gitlab", "write_workflow"]
