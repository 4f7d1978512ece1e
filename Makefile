# `make lab`  : install into .venv and execute the whole notebook headless (offline by default).
# `make test` : install into .venv and run the test suite (what CI runs).
# `make test-colab` : the fast tests in a separate venv holding Colab's package versions (constraints/colab.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
OUT ?= build
LAB_ARGS ?=
COLAB_VENV ?= .venv-colab
COLAB_PYTHON ?= $(PYTHON)   # Colab runs Python 3.12; every pin in constraints/colab.txt also installs on 3.11
COLAB_PY := $(COLAB_VENV)/bin/python
FAST_TESTS ?= tests --ignore=tests/test_notebook.py   # all but the whole-notebook run

.PHONY: install lab test test-colab clean render-check snapshots

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
	cp lab4_report.html $(OUT)/lab4_report.html   # the slice report, next to the executed notebook
	$(PY) -m lab4.tools where $(OUT)/lab4.executed.ipynb

test: install
	$(PY) -m pytest -q --doctest-modules lab4_helpers.py lab4 tests
	$(PY) -m lab4.tools release --check --source lab4.ipynb

# `make snapshots`: rewrite tests/snapshots/*.txt (what readers see in four fixed runs) after a deliberate change;
# read `git diff tests/snapshots` as the student, TA or instructor it is for before committing.
snapshots: install
	LAB4_UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/test_snapshots.py

# `make render-check`: run the lab, render it to HTML and measure its tables in headless Chromium at 1,280 px
# (0 tables wider than their area, 0 raw-float cells); screenshot in $(OUT)/. Needs `apt-get install chromium`.
render-check: lab
	$(PY) -m lab4.tools render-check $(OUT)/lab4.executed.ipynb --out $(OUT)

# Colab's versions of everything Colab preinstalls (pandas 2.2, numpy 2.0, transformers 5.0, datasets 4.0, ...),
# the rest as requirements.txt asks; torch as for `make install` (kept if importable, else the CPU build).
$(COLAB_VENV)/.installed: requirements.txt constraints/colab.txt
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_PY) -m pip install -q --upgrade pip
	$(COLAB_PY) -c "import torch" 2>/dev/null || $(COLAB_PY) -m pip install -q "$(TORCH_SPEC)"
	$(COLAB_PY) -m pip install -q -r requirements.txt -c constraints/colab.txt
	touch $@

test-colab: $(COLAB_VENV)/.installed
	$(COLAB_PY) -m pip list --format=freeze | grep -iE '^(pandas|numpy|transformers|datasets|huggingface.hub|torch)=='
	$(COLAB_PY) -m pytest -q $(FAST_TESTS)

clean:
	rm -rf $(OUT) wandb .lab4_cache .pytest_cache
	@# W&B's own files elsewhere (table staging copies, service logs): say where, how big, how to remove
	@$(PY) -c "import lab4.tracking as t; print(t.wandb_files_note())" 2>/dev/null || echo "W&B also keeps \
	files outside this folder: table copies in ~/.local/share/wandb/artifacts/staging (wandb sync needs them \
	until an offline run is synced) and logs in ~/.cache/wandb/logs; rm -rf both once your runs are synced."
