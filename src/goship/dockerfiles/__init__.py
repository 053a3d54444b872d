"""Dockerfiles and .dockerignore files as BuildKit reads them: for lint's rules,
init's exclusions and the docker builder's error messages."""
