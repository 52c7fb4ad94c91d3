# Two entry points, both idempotent: `make demo` and `make test` create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-jax lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=77" wheel
	$(PY) -m pip install --quiet -e ".[test,dask,boost,jax]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) pipelines/clothing_pricer.py $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The whole suite on the default backend (TensorFlow), then the deep members' tests again on JAX:
# a failure on either backend fails the target.
test: lint
	$(PY) -m pytest $(ARGS)
	$(MAKE) --no-print-directory test-jax

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest -m backends $(ARGS)

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
