# `make lab`  : install into .venv and execute the whole notebook headless (offline by default).
# `make test` : install into .venv and run the test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
OUT ?= build
LAB_ARGS ?=

.PHONY: install lab test clean render-check

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, and only where none is importable: keeps an existing torch, avoids a CUDA download
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -r requirements.txt
	touch $@

lab: install
	mkdir -p $(OUT)
	HF_HUB_DISABLE_PROGRESS_BARS=1 $(VENV)/bin/papermill lab4.ipynb $(OUT)/lab4.executed.ipynb --cwd . $(LAB_ARGS)
	$(PY) -m lab4.tools where $(OUT)/lab4.executed.ipynb

test: install
	$(PY) -m pytest -q --doctest-modules lab4_helpers.py lab4 tests
	$(PY) -m lab4.tools release --check --source lab4.ipynb

# `make render-check`: run the lab, render it to HTML and measure its tables in headless Chromium at 1,280 px
# (0 tables wider than their area, 0 raw-float cells); screenshot in $(OUT)/. Needs `apt-get install chromium`.
render-check: lab
	$(PY) -m lab4.tools render-check $(OUT)/lab4.executed.ipynb --out $(OUT)

clean:
	rm -rf $(OUT) wandb .lab4_cache .pytest_cache
	@# W&B's own files elsewhere (table staging copies, service logs): say where, how big, how to remove
	@$(PY) -c "import lab4.tracking as t; print(t.wandb_files_note())" 2>/dev/null || echo "W&B also keeps \
	files outside this folder: table copies in ~/.local/share/wandb/artifacts/staging (wandb sync needs them \
	until an offline run is synced) and logs in ~/.cache/wandb/logs; rm -rf both once your runs are synced."
