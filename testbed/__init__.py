"""goship's test-bed: real components (dockerd, a registry, SSH hosts) on this machine.

Every piece is started by the project itself, stoppable by process id, and
recorded in a JSON state file so that ``python -m testbed down`` can clean up
after a crashed run. Standard library only, so it runs before any ``pip install``.
"""
