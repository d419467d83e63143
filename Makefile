# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= yusuan-data

.PHONY: demo test install install-dev browser lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

# torch is pinned (CPU wheel) inside the `st` extra so pip never pulls CUDA packages.
# CI installs every optional backend so none of their tests is skipped.
install-dev: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev,st,ocr,eval,ray]"

demo: install
	rm -rf $(DATA)
	$(BIN)/yusuan extract corpus/*.txt --data $(DATA)
	$(BIN)/yusuan docs --data $(DATA)
	$(BIN)/yusuan index --data $(DATA)
	$(BIN)/yusuan ask "哪个部门三公经费最高" --data $(DATA)
	$(BIN)/yusuan search "请客吃饭的费用" -k 3 --data $(DATA)

# The web page is tested end to end in headless Chromium (Debian's chromium driven by the pip `playwright` package;
# `playwright install` is never run). Installed from Debian when the machine lacks it.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  SUDO=$$( [ "$$(id -u)" -ne 0 ] && echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei; \
	fi

test: install-dev browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python bench/bench_extract.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_ray.py

clean:
	rm -rf $(DATA) yusuan-export .pytest_cache
