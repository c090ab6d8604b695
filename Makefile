# Every target sets up .venv itself: a fresh machine needs only Python 3.10+ and pip
# (and, for `make test`, Chromium, which it installs on Debian when it runs as root).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: the course (book, notebooks, lint) and, for tests and benchmarks only,
# PyTorch for the cross-checks. Learners never download torch.
COURSE := $(VENV)/.installed-course
WITH_TORCH := $(VENV)/.installed-torch
# The demos are small: one BLAS thread each avoids thrashing when pytest-xdist or the
# notebook kernels already use both cores. (Benchmarks run with each library's defaults.)
SMALL_DEMOS := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

.PHONY: book test fast lint exercises learner lab benchmark chromium bubblewrap clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(COURSE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(WITH_TORCH): $(COURSE)
	$(BIN)/python -m pip install --quiet -e ".[dev,torch]"
	touch $@

book: $(COURSE)  ## build the online book into _build/html (executes every chapter)
	$(SMALL_DEMOS) $(BIN)/jupyter-book build . -W -n --keep-going

# --dist loadfile: each test file runs on one worker, so a module's fixture is built once (the
# graded scratch course of test_course.py above all; xdist_group marks were not honoured by
# pytest 9 with xdist 3.8, and both workers graded the whole course).
test: $(WITH_TORCH) chromium bubblewrap  ## run every test: framework, checker, exercises, book
	$(SMALL_DEMOS) $(BIN)/python -m pytest -n 2 --dist loadfile --durations=15

fast: $(WITH_TORCH)  ## the fast loop: every test but the book, nbgrader and browser ones
	$(SMALL_DEMOS) $(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow"

chromium:  ## the book's browser test needs Chromium: install it (Debian, as root) or say how
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	     && echo "installing Chromium for the book's browser test (apt-get install chromium)" \
	     && DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	     && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	|| { echo "make test needs Chromium for the book's browser test: install the 'chromium' package (as root: apt-get install chromium), or run 'make fast' to skip the slow tests"; exit 1; }

bubblewrap:  ## grading runs learner code in a bubblewrap sandbox: install it (Debian, as root) or say how
	@command -v bwrap >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	     && echo "installing bubblewrap for the grading sandbox (apt-get install bubblewrap)" \
	     && DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	     && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
	|| { echo "make test needs bubblewrap for the grading sandbox: install the 'bubblewrap' package (as root: apt-get install bubblewrap), or run 'make fast', whose sandbox tests are skipped without it"; exit 1; }

lint: $(COURSE)
	$(BIN)/ruff check pancake tests benchmarks nbgrader_config.py
	$(BIN)/ruff format --check pancake tests benchmarks nbgrader_config.py

exercises: $(COURSE)  ## regenerate solutions/ answer cells and exercises/ from pancake/
	$(SMALL_DEMOS) $(BIN)/python -m pancake.course.generate

THROUGH ?= 0
learner: $(COURSE)  ## write the learner edition into dist/learner (make learner THROUGH=N keeps 1..N)
	$(BIN)/pancake-course release dist/learner --through $(THROUGH) --force

lab: $(COURSE)  ## open the exercises in JupyterLab
	$(BIN)/jupyter lab exercises

benchmark: $(WITH_TORCH)  ## time a training step against NumPy and PyTorch; digits; autograd; CNN
	$(BIN)/python -m benchmarks.mlp
	$(BIN)/python -m benchmarks.digits
	$(BIN)/python -m benchmarks.autograd_step
	$(BIN)/python -m benchmarks.cnn
	$(BIN)/python -m benchmarks.grading

clean:
	rm -rf _build $(VENV)
