# Every target bootstraps .venv itself: a fresh clone needs only python3 (and make).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench lab clean screenshots

# The JupyterLab sidebar: `npm ci` from labextension/package-lock.json (only when the lock
# changes), then the production build into jupyter_mlops/labextension/ (only when sources do).
LABEXT_OUT := jupyter_mlops/labextension/package.json
LABEXT_DEPS := labextension/node_modules/.package-lock.json
LABEXT_SRC := $(shell find labextension/src labextension/style -type f) \
	labextension/package.json labextension/tsconfig.json
LABEXT_DEV := $(VENV)/labextensions-dev

# --compile-bytecode: as pip does. uv leaves it out, and where PYTHONDONTWRITEBYTECODE is set
# (these machines) every process would compile mlflow, pandas... from source: seconds each.
# PyTorch for the serializer tests: the CPU build (700 MB installed), which lies in the folder of
# wheels that pip's configuration names on these machines (PyPI's torch is a CUDA build of
# several GB, and uv does not read pip's configuration).
TORCH := torch==2.13.0+cpu

# Each stage says what it does: the first install takes a minute or two, and silence looks hung.
$(STAMP): pyproject.toml requirements/dev.lock
	@echo "set-up 1/4: uv, the installer"
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@echo "set-up 2/4: the virtual environment $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m uv venv --quiet --python $(PYTHON) $(VENV)
	@echo "set-up 3/4: the pinned packages of requirements/dev.lock (a minute or two the first time)"
	$(PYTHON) -m uv pip install --compile-bytecode --python $(BIN)/python -r requirements/dev.lock
	wheels="$$($(PYTHON) -m pip config get global.find-links 2>/dev/null)"; \
	if ls $$wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then \
		$(PYTHON) -m uv pip install --quiet --compile-bytecode --python $(BIN)/python \
			--find-links "$$wheels" -c requirements/dev.lock "$(TORCH)"; \
	else echo "note: no CPU wheel of $(TORCH) on this machine: the PyTorch tests will fail"; fi
	@echo "set-up 4/4: jupyter-mlops itself, editable"
	$(PYTHON) -m uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)
	@echo "set-up done: $(VENV)/ is ready"

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python example_notebooks/demo.py

# The sidebar's TypeScript is checked like the Python: eslint + prettier, then its unit tests
# (vitest: formatting, state per notebook, comparisons, theme colours), before pytest.
test: $(STAMP) $(LABEXT_OUT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd labextension && npm run --silent lint && npm test
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench $(SECTIONS)

# The UI tests take the documentation's pictures (both themes, 250 px) into build/screenshots/,
# so that a test run leaves the tree clean; this copies over docs/screenshots/ the ones README.md
# and docs/ show. CI=1: a missing browser fails here instead of skipping, which would copy
# nothing. Look at them before committing.
screenshots: $(STAMP) $(LABEXT_OUT)
	rm -rf build/screenshots
	CI=1 $(BIN)/pytest tests/ui -q -p no:cacheprovider
	mkdir -p docs/screenshots
	for name in $$(grep -ohE 'screenshots/[A-Za-z0-9_-]+\.png' README.md docs/*.md | sort -u); do \
		if [ -f build/$$name ]; then cp build/$$name docs/$$name; \
		else echo "note: no test takes docs/$$name"; fi; \
	done

clean:
	rm -rf $(VENV) .nb2pipe .pytest_cache .ruff_cache

.PHONY: labextension

labextension: $(LABEXT_OUT)

$(LABEXT_DEPS): labextension/package.json labextension/package-lock.json
	cd labextension && npm ci --no-audit --no-fund

$(LABEXT_OUT): $(LABEXT_DEPS) $(LABEXT_SRC)
	cd labextension && npm run build:prod

# JupyterLab with the freshly built sidebar (linked, so a rebuild needs only a page reload)
# and the /mlops/ server routes (which also serve the executed step notebooks under the hidden
# .nb2pipe/: no allow_hidden needed).
lab: $(STAMP) $(LABEXT_OUT)
	@mkdir -p $(LABEXT_DEV) && ln -sfn $(CURDIR)/jupyter_mlops/labextension $(LABEXT_DEV)/jupyter-mlops
	$(BIN)/jupyter lab --LabApp.extra_labextensions_path=$(LABEXT_DEV) \
		--ServerApp.jpserver_extensions='{"jupyter_mlops": True}'
