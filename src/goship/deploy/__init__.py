"""Deploying: targets, the per-host rollout and the proxy."""
