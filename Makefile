# ipcbench: `make bench` and `make test` each set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= default
RESULTS ?= results
REPORT ?= reports/index.html
STAMP := $(VENV)/.installed

.PHONY: bench test lint report clean bench-pytest install bench-ref

NATIVE_SOURCES := $(wildcard ipcbench/_native_c/*.c ipcbench/_native_c/*.h)

# The editable install also compiles the native tier (ipcbench/_native, optional: without a C compiler the
# package installs without it); the last line says whether it was built.
$(STAMP): pyproject.toml setup.py $(NATIVE_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,zmq]'
	$(BIN)/python -c "from ipcbench import native; print('native tier:', native.unavailable() or 'built')"
	touch $(STAMP)

install: $(STAMP)

# Run the default profile on this machine, then write the report for that run.
bench: $(STAMP)
	$(BIN)/ipcbench run --profile $(PROFILE) --output $(RESULTS) --quiet | tee $(VENV)/last-run.txt
	$(BIN)/ipcbench report $$(sed -n 's/^results: //p' $(VENV)/last-run.txt) -o $(REPORT)
	@echo "report: $(REPORT)"

test: $(STAMP)
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff check ipcbench tests bench
	$(BIN)/ruff format --check ipcbench tests bench
	$(BIN)/mypy

report: $(STAMP)
	$(BIN)/ipcbench report $(RESULTS) -o $(REPORT)

bench-pytest: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest bench --benchmark-json=.benchmarks/ipcbench-pytest.json

clean: $(STAMP)
	$(BIN)/ipcbench clean

# The independent reference: a minimal C ping-pong and stream program sharing no code with the extension.
bench/native_ref/ipcref: bench/native_ref/ipcref.c
	$(CC) -O2 -std=gnu11 -Wall -o $@ $< -lrt -lpthread

bench-ref: bench/native_ref/ipcref $(STAMP)
	$(BIN)/python bench/native_vs_ref.py
