# Kitaplatz: `make run` starts the app with a demo municipality; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app kita
PORT ?= 5000
export FLASK_APP := kita

.PHONY: install translations run demo test check lint typecheck pytest pytest-postgres \
	audit lock extract-messages clean migration

$(VENV)/.installed: setup.cfg pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[test,dev]"
	touch $@

install: $(VENV)/.installed

translations: install
	$(VENV)/bin/pybabel -q compile -d kita/translations

## run: set up, migrate, load the demo municipality (first time) and serve on 127.0.0.1:$(PORT)
run: translations
	@mkdir -p instance
	$(FLASK) db upgrade
	@if [ ! -f instance/.demo-loaded ]; then \
		$(FLASK) demo && touch instance/.demo-loaded; \
	else echo "Demo already loaded (logins: office@kita.example, leitung.<facility>@kita.example, eltern001@kita.example; password kitaplatz-demo)."; fi
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## test: set up everything (system packages when root, PostgreSQL and Redis) and run every check
test: install
	@if [ "$$(id -u)" = 0 ]; then bash .ci/system-deps; fi
	bash .ci/with-services $(MAKE) --no-print-directory check

check: translations lint typecheck audit pytest pytest-postgres

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy allocation kita

pytest:
	$(PY) -m pytest -n 2 -p no:cacheprovider

pytest-postgres:
	@if [ -n "$$KITA_TEST_POSTGRES_URL" ]; then \
		KITA_TEST_DATABASE_URL=$$KITA_TEST_POSTGRES_URL $(PY) -m pytest -n 2 -p no:cacheprovider -m "not browser" --ignore=tests/allocation; \
	elif [ -n "$$CI" ]; then echo "CI needs PostgreSQL (KITA_TEST_POSTGRES_URL)"; exit 1; \
	else echo "No PostgreSQL available: skipped the PostgreSQL run."; fi

## audit: pip-audit of the pinned dependencies (warns loudly when PyPI cannot be reached)
audit: install
	VENV=$(VENV) bash .ci/audit

## lock: re-pin every dependency after a change to setup.cfg (then run make audit)
lock: install
	@{ echo "# Pinned versions of every dependency (pip freeze of the test/dev environment)."; \
	  echo "# Regenerate with \`make lock\` after changing setup.cfg; \`make audit\` checks it (pip-audit)."; \
	  $(VENV)/bin/pip freeze --exclude-editable | grep -vi '^kitaplatz'; } > requirements.lock

extract-messages: install
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -o /tmp/kita-messages.pot .
	$(VENV)/bin/pybabel -q update -i /tmp/kita-messages.pot -d kita/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

## migration: autogenerate a migration after a model change (m="what changed"); then read
## and edit it, and run tests/test_migrations.py (SQLite and PostgreSQL)
migration: install
	$(FLASK) db upgrade
	$(FLASK) db migrate -m "$(m)"
