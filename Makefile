# Two commands on a fresh machine with Python 3.11:  `make test` and `make demo`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bg2vec-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# An activated virtualenv of another checkout must not leak in: IPython (which runs the notebooks) adds $VIRTUAL_ENV to sys.path.
unexport VIRTUAL_ENV

.PHONY: install test nbtest checks readme tiny demo bench docs docs-test clean

install: $(STAMP)

# (Re)install only when the pins or the package metadata change; `make test` is quick once this exists.
$(STAMP): constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

# The embedded default (tiny model) is built once and cached (its MNTP adapter is shipped), before the notebooks run in parallel.
tiny: $(STAMP)
	$(BIN)/python -m bg2vec.tiny

# One thread per notebook: nbdev-test runs one notebook per core, and two threads each would fight over the cores.
nbtest: tiny
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --do-print --timing

checks: $(STAMP)
	tools/check_clean.sh
	$(BIN)/python tools/readme.py --check

test: nbtest checks docs-test

# The main job on the embedded default: train, save the encoder + figures, reload it and evaluate on the held-out pairs.
DEMO_OUT ?= output/tiny-demo
demo: tiny
	$(BIN)/bg2vec_simcse bg2vec/configs/tiny-demo.json --output_dir $(DEMO_OUT)
	$(BIN)/python -m bg2vec.evaluate $(DEMO_OUT) --json $(DEMO_OUT)/evaluation.json
	$(BIN)/python -m bg2vec.export $(DEMO_OUT)
	@echo "encoder: $(DEMO_OUT)   figures: $(DEMO_OUT)/figures/"

# Side-by-side CPU benchmark against llm2vec's code path (medians and ratios; about two minutes).
bench: tiny
	$(BIN)/python bench/cpu.py

# The tutorial as a static site in _docs/ (every notebook executed); docs-test renders the front page and the loss lesson and
# opens them in headless Chromium (installed with apt-get when missing).
docs: tiny
	$(BIN)/python tools/docs.py

docs-test: tiny
	$(BIN)/python tools/docs.py --only index 12_loss --out _docs
	$(BIN)/python tools/test_docs.py _docs

# llm2vec's legacy environment (transformers 4.44.2, pinned in constraints-llm2vec.txt): the Bg2Vec post's code run verbatim
# against this package, and parity checks against llm2vec. bg2vec itself goes in with --no-deps: its metadata asks for
# transformers 5. The tiny model is built with transformers 4.44 into a cache of its own.
LEGACY       := .venv-llm2vec
LEGACY_BIN   := $(LEGACY)/bin
LEGACY_STAMP := $(LEGACY)/.bg2vec-installed
LEGACY_CACHE := $(CURDIR)/.cache/llm2vec

$(LEGACY_STAMP): constraints-llm2vec.txt pyproject.toml
	test -x $(LEGACY_BIN)/python || $(PYTHON) -m venv $(LEGACY)
	$(LEGACY_BIN)/python -m pip install -q --upgrade pip
	$(LEGACY_BIN)/python -m pip install -q -r constraints-llm2vec.txt
	$(LEGACY_BIN)/python -m pip install -q --no-deps -e .
	touch $@

.PHONY: test-llm2vec
test-llm2vec: $(LEGACY_STAMP)
	BG2VEC_CACHE=$(LEGACY_CACHE) OMP_NUM_THREADS=1 $(LEGACY_BIN)/nbdev-test nbs/95_llm2vec.ipynb --flags llm2vec --do-print --timing

readme: $(STAMP)
	$(BIN)/python tools/readme.py

clean:
	rm -rf $(VENV) _proc _docs build dist *.egg-info
