# Two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch is installed first so that the open range in pyproject.toml is already
# met; a CUDA user sets e.g. TORCH="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu126
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=
ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.softmax-lab-installed

.PHONY: run test lint bench clean

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# The layout rules: import contracts (pyproject.toml), ruff lint and format, mypy.
# Import contracts and types are checked on the installed layout (softmax_lab/{core,gui,...}),
# which build/lint mirrors: the tools read folders, not the checkout's package path.
LINT_TREE := build/lint
lint: $(STAMP)
	rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)
	cp -r softmax_lab $(LINT_TREE)/softmax_lab
	cp -r core gui resources $(LINT_TREE)/softmax_lab/
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --config $(CURDIR)/pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/run.py $(ARGS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
