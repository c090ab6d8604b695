# Every target sets up .venv itself: a fresh machine needs only Python and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demos are small: one BLAS thread each avoids thrashing when pytest-xdist or the
# notebook kernels already use both cores.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: book test lint exercises lab benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,torch]"
	touch $(STAMP)

book: $(STAMP)  ## build the online book into _build/html (executes every chapter)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)  ## run every test: framework, checker, exercises, book
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check pancake tests benchmarks nbgrader_config.py
	$(BIN)/ruff format --check pancake tests benchmarks nbgrader_config.py

exercises: $(STAMP)  ## regenerate solutions/ answer cells and exercises/ from pancake/
	$(BIN)/python -m pancake.course.generate

lab: $(STAMP)  ## open the exercises in JupyterLab
	$(BIN)/jupyter lab exercises

benchmark: $(STAMP)  ## time a training step against NumPy and PyTorch; digits; autograd; CNN
	$(BIN)/python -m benchmarks.mlp
	$(BIN)/python -m benchmarks.digits
	$(BIN)/python -m benchmarks.autograd_step
	$(BIN)/python -m benchmarks.cnn

clean:
	rm -rf _build $(VENV)
