# Two entry points for a fresh machine with python3 (>= 3.11) and make:
#   make run    runs the service on the embedded default (SQLite under storage/, feeds.yaml)
#   make test   runs every test, the linter and the type checker
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit eval bench-poll bench-match-speed bench-delivery bench-crash lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# An editable install leaves bot/ uncompiled; where PYTHONDONTWRITEBYTECODE is set, every
# start would compile it again (about 0.08 s of each `briefbot` command).
run: $(STAMP)
	$(BIN)/python -m compileall -q bot
	$(BIN)/briefbot run

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

# Precision, recall and F1 of the shipped rules on tests/data/matching/dev.jsonl.
eval: $(STAMP)
	$(BIN)/python -m bench.match.eval

bench-poll: $(STAMP)
	$(BIN)/python -m bench.poll.run

bench-delivery: $(STAMP)
	$(BIN)/python -m bench.delivery.run

bench-crash: $(STAMP)
	$(BIN)/python -m bench.crash.run --parallel 2

bench-match-speed: $(STAMP)
	$(BIN)/python -m bench.match.speed

# Regenerates the lock file from pyproject.toml (needs the package index).
lock:
	$(PYTHON) -m venv /tmp/briefbot-lock && /tmp/briefbot-lock/bin/pip install --quiet uv
	/tmp/briefbot-lock/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
		--python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
