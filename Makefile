# The two commands of the README: `make demo` and `make test`.
# Both install what they need on a fresh Debian machine (as root), so a
# clean clone and these targets are all CI and a new user ever need.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# go.mod files may ask for newer toolchains; never download one silently.
export GOTOOLCHAIN := local

.PHONY: demo test unit static system venv clean down

# The demo curls the address goship gave the service (goship status --json):
# http://localhost:8000, or http://hello.localhost:8000 when another goship
# service already answers there.
demo: system venv
	$(PYTHON) -m testbed engine
	$(PYTHON) -m testbed caddy-image
	$(VENV)/bin/goship ship -C examples/hello
	@url=$$($(VENV)/bin/goship status -C examples/hello --json | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["hosts"][0]["url"])') \
		&& echo "curl $$url" && curl -fsS "$$url"

test: system venv static
	$(PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Strict types, the import layers (no cycles, subprocess only in goship.process) and ruff: any finding fails.
static: venv
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests testbed bench

unit: venv
	$(PYTHON) -m pytest -p no:cacheprovider tests/unit

system:
	scripts/install-system-packages.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

down:
	-$(PYTHON) -m testbed down

clean: down
	rm -rf $(VENV) examples/hello/.goship
