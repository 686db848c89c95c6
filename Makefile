# Two entry points for a fresh machine with Python 3.11 and make:
#   make demo   set up .venv, run the demo on the bundled data, print the report to open
#   make test   set up .venv, run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Extras the test suite and the demo need (ids: ml, nn; credit: credit; apt: graph); later
# capabilities add theirs here.
EXTRAS ?= dev,ml,nn,graph,credit,explain
STAMP  := $(VENV)/.installed-$(EXTRAS)
PYTEST_ARGS ?=

.PHONY: demo test setup lint clean lock

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements.lock -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/riskscope demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks

# Regenerate the lock of every transitive version (all extras but llm) from a scratch venv.
lock:
	rm -rf /tmp/riskscope-lock && $(PYTHON) -m venv /tmp/riskscope-lock
	/tmp/riskscope-lock/bin/pip install --quiet -e '.[dev,ml,nn,graph,credit,explain]'
	/tmp/riskscope-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
