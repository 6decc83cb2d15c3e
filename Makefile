# The two commands a user needs: `make run` and `make test`. Everything else
# they depend on (the virtualenv, the node image) is built on demand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pip shows setuptools' notice on every editable install ("Editable installation. Please be
# careful with folders ...", 20 lines of BuildBackendWarning banner) as a warning: a
# newcomer reads it as an error, and it is not ours. Only that notice is ignored (a
# warnings filter on its first words); our own errors and pip's still show.
QUIET_PIP := PYTHONWARNINGS="ignore:Editable installation"

.PHONY: setup run test image bench lint clean

setup: $(STAMP)

# Rebuilt only when pyproject.toml changes, so `make setup` is quick when done.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(QUIET_PIP) $(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The default chaos schedule on Docker (falls back to the simulation, saying so, without an
# engine); the node image is built on first use.
run: setup
	$(VENV)/bin/raftquake run schedules/default.yaml

test: setup
	$(PY) -m pytest --durations=15

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The node image: built on the offline Debian base when no registry base is present
# (debootstrap is installed when missing); a no-op when raftnode/ has not changed.
image: setup
	@command -v debootstrap >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null)
	$(PY) -m harness.cli image build

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
