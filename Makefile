# ipcbench: `make bench` and `make test` each set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= default
RESULTS ?= results
REPORT ?= reports/index.html
STAMP := $(VENV)/.installed

.PHONY: bench test lint report clean bench-pytest install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,zmq]'
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
