# Linkage: `make run` serves the demo on http://$(HOST):$(PORT); `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DB     := var/linkage.sqlite
DEMO   := data/demo/listings.json
ENGINE := deploy/search-engine

export LINKAGE_SQLITE_PATH ?= $(CURDIR)/$(DB)

.PHONY: catalogues print-fonts run test test-fast mutation bench bench-sides bench-load bench-wire audit install install-dev demo-data gazetteer engine-start engine-stop engine-demo translations clean

install: $(VENV)/.installed print-fonts
install-dev: $(VENV)/.installed-dev

# Debian's libraries for PDF handouts (Pango, HarfBuzz, fonts) and pdftotext for their tests.
# Noto shapes every client language: fonts-noto-core (Arabic, Devanagari, Gurmukhi, Greek,
# Latin with Vietnamese marks), fonts-noto-cjk (Simplified and Traditional Chinese).
# fontconfig's fc-list and fc-match find them (here and in `linkage print-fonts`).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core \
	fonts-noto-core fonts-noto-cjk poppler-utils
# A language without a Noto font for its script prints as boxes or unshaped: fc-list must find one.
FONT_LANGS := ar hi pa el vi zh-cn zh-tw

$(VENV)/.installed: pyproject.toml
	@missing=; command -v pdftotext >/dev/null || missing=pdftotext; \
	  ldconfig -p | grep -q libpangoft2-1.0.so.0 || missing="$$missing pango"; \
	  for lang in $(FONT_LANGS); do fc-list ":lang=$$lang" family | grep -qi noto || missing="$$missing noto:$$lang"; done; \
	  if [ -n "$$missing" ]; then echo "system packages missing:$$missing"; \
	    apt-get update -q && apt-get install -y -q $(SYSTEM_PACKAGES); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/pybabel compile -d service/translations -D "messages widget"
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
$(VENV)/.installed-dev: $(VENV)/.installed
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	@# tests/unit/test_fontsets.py compiles a small library that reports fontconfig's calls.
	@(command -v cc >/dev/null && test -f /usr/include/fontconfig/fontconfig.h) || \
	  (apt-get update -q && apt-get install -y -q gcc libfontconfig-dev)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm install --no-audit --no-fund --silent --prefix tests/browser/.node axe-core@4.14.1
	touch $@

# Re-index when the index is missing or older than the data (or the code that writes it).
$(DB): $(DEMO) service/backends/sqlite/backend.py service/domain/schemas.py $(VENV)/.installed
	$(BIN)/linkage index --source-name demo --sqlite-path $(DB) $(DEMO)

BACKEND := $(or $(LINKAGE_BACKEND),sqlite)

# With LINKAGE_BACKEND=opensearch|elasticsearch the demo data goes into the engine the
# first time (an alias that already holds listings is left alone).
run: catalogues print-fonts $(if $(filter sqlite,$(BACKEND)),$(DB),engine-demo)
	$(BIN)/linkage serve --host $(HOST) --port $(PORT)

engine-demo: $(VENV)/.installed
	$(BIN)/linkage index --source-name demo --if-missing $(DEMO)

# The engine layer runs on a real OpenSearch node: LINKAGE_SEARCH_URL when set, otherwise
# one started here from Maven Central and stopped afterwards (even when tests fail).
test: $(VENV)/.installed-dev audit catalogues print-fonts
	@if [ -n "$${LINKAGE_SEARCH_URL:-}" ]; then \
		LINKAGE_TEST_ENGINE=required $(BIN)/python -m pytest; \
	else \
		trap '$(ENGINE)/stop' EXIT; \
		url=$$($(ENGINE)/start) || exit 1; \
		LINKAGE_SEARCH_URL=$$url LINKAGE_TEST_ENGINE=required $(BIN)/python -m pytest; \
	fi

# Known-vulnerable dependencies fail the build: pip-audit asks PyPI's per-release JSON API
# about every installed package (--strict: one it cannot look up fails too). Where that API
# does not answer (a network with only a package mirror), it says so loudly and does not run.
AUDIT_PROBE := https://pypi.org/pypi/pip/24.0/json
audit: $(VENV)/.installed-dev
	@if curl -fsS -o /dev/null --max-time 15 $(AUDIT_PROBE); then \
		$(BIN)/pip-audit --strict --skip-editable --progress-spinner off; \
	else \
		echo "pip-audit NOT RUN: PyPI's vulnerability API ($(AUDIT_PROBE)) is not reachable from here (HTTP error or no connection)" >&2; \
	fi

# The inner loop: everything but the engine and browser layers.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not engine and not browser" -x -q

# Mutation score of the core modules (schedule, ranking, params, the SQLite columns and
# search, the engine query bodies) into bench/MUTATION.md. Not part of `make test`: a full run
# takes hours on 2 cores (the first half of the mutants about 11 minutes, then one to three
# minutes a mutant). MUTATION_ARGS="--jobs 1" spares a busy machine; "--keep" judges again
# only the mutants not yet killed.
mutation: $(VENV)/.installed-dev
	nice -n 10 $(BIN)/python -m bench.mutation $(or $(MUTATION_ARGS),--jobs 2)

# wrk drives the load from a second process; Debian ships it.
bench: $(VENV)/.installed-dev print-fonts
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/python -m bench.search $(BENCH_ARGS)
	$(BIN)/python -m bench.sides

# Issue 19's measures beside the commit the work started from, in one run (bench/sides.py).
bench-sides: $(VENV)/.installed-dev print-fonts
	$(BIN)/python -m bench.sides $(SIDES_ARGS)

# Two minutes of mixed load per backend on gunicorn with deploy/gunicorn.conf.py, loopback only.
bench-load: $(VENV)/.installed-dev
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/python -m bench.load $(BENCH_ARGS)

# Bytes a page embedding the widget downloads for its first results, with and without compression.
bench-wire: $(VENV)/.installed-dev
	$(BIN)/python -m bench.wire $(BENCH_ARGS)

# A node for trying LINKAGE_BACKEND=opensearch by hand (http://127.0.0.1:9201).
engine-start:
	$(ENGINE)/start
engine-stop:
	$(ENGINE)/stop

# Compile the message catalogues (quick; catalogues change without pyproject.toml changing).
catalogues: $(VENV)/.installed
	@$(BIN)/pybabel -q compile -d service/translations -D "messages widget"

# Compact copies of Noto's Han fonts for handout PDFs, built into .venv (a no-op when up to
# date; rebuilt when the source font, the catalogues' characters or their format change).
print-fonts: $(VENV)/.installed
	@$(BIN)/linkage print-fonts

# Refresh the message catalogues after changing user-facing text.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -o service/translations/messages.pot --project=Linkage --version=0.1.0 --copyright-holder="Linkage contributors" --sort-by-file --no-wrap .
	$(BIN)/pybabel extract -F babel-widget.cfg -k t -o service/translations/widget.pot --project=Linkage --version=0.1.0 --copyright-holder="Linkage contributors" --sort-by-file --no-wrap .
	$(BIN)/pybabel update -i service/translations/messages.pot -d service/translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -D widget -i service/translations/widget.pot -d service/translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d service/translations -D "messages widget"

demo-data:
	$(PYTHON) data/demo/generate.py

gazetteer:
	$(BIN)/python -m pip install --quiet -e '.[gazetteer]'
	$(BIN)/python data/gazetteer/build.py

clean:
	rm -rf $(VENV) var *.egg-info
