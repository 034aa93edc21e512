# Two entry points do all set-up on a fresh machine (see README):
#   make demo   -- install, then `info` and `compile` on specs/resnet152.arch
#   make test   -- install, then the test suite
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test bench fuzz
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	command -v dot >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz)
	python3 -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0   # the CPU build; an unpinned torch pulls a 5 GB CUDA build
	$(BIN)/pip install -q -e ".[all,dev]"
	touch $@

demo: setup
	mkdir -p out
	$(BIN)/archdsl info specs/resnet152.arch --level stage
	$(BIN)/archdsl compile specs/resnet152.arch --target torch -o out/resnet152.py

test: setup   # both cores (pytest-xdist); `pytest -m "not slow"` is the quick tier
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

bench: setup   # each benchmark prints its table; results are recorded in bench/RESULTS.md
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

fuzz: setup   # the full fuzz run: 20,000 cases; failures are minimised into tests/fuzz/regressions/
	$(BIN)/python bench/fuzz.py
