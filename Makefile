# semrec: `make demo` runs the whole job on real data, `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts
export HF_HUB_OFFLINE ?= 1

.PHONY: install demo test test-fast lint clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/semrec data fetch movielens-100k
	$(BIN)/semrec fit --dataset movielens-100k --out $(ARTIFACTS)/ml-100k
	$(BIN)/semrec recommend --model $(ARTIFACTS)/ml-100k --user 1 -k 10
	$(BIN)/semrec recommend --model $(ARTIFACTS)/ml-100k --history 1,588,95 -k 10
	$(BIN)/semrec recommend --model $(ARTIFACTS)/ml-100k --text "I love animated movies for kids" -k 10
	$(BIN)/semrec recommend --model $(ARTIFACTS)/ml-100k --text "我最近喜欢看恐怖片" -k 10
	$(BIN)/semrec evaluate --dataset movielens-100k --protocol P1 --scorers most-popular,ease,als,hybrid --out $(ARTIFACTS)/eval
	$(BIN)/semrec evaluate-handover --dataset movielens-100k --out $(ARTIFACTS)/reports
	$(BIN)/semrec evaluate-diversity --dataset movielens-100k --out $(ARTIFACTS)/reports
	@echo
	@echo "Try it in a browser: $(BIN)/semrec serve --model $(ARTIFACTS)/ml-100k --reports $(ARTIFACTS)/reports"
	@echo "then open http://127.0.0.1:8000/ (add --api-key KEY to send liked items as feedback)"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) $(ARTIFACTS)
