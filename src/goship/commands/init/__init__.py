"""Files goship writes into a Go project: the Dockerfile, goship.yaml, ignore
files, and a new service's sources (``goship dockerfile``, ``goship init``)."""
