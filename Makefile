# S2 Parity — developer commands. `make test` sets everything up on a fresh Debian 12 machine by itself.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
ZIP := dist/s2parity_plugin-$(VERSION).zip
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
export QT_QPA_PLATFORM ?= offscreen
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: setup test test-unit test-qgis lint format package install uninstall qgis bench demo demo-gui clean

setup:
	@bash scripts/bootstrap.sh

## The whole suite: QGIS-free unit tests (plain pytest, pytest-qgis disabled), then QGIS tests.
test: setup
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-qgis

test-unit: setup
	$(PY) -m pytest -p no:pytest_qgis tests/unit

test-qgis: setup package
	$(PY) -m pytest --qgis_disable_gui tests/qgis tests/e2e

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

package: setup
	$(PY) scripts/package.py --out $(ZIP)

install: package
	$(PY) scripts/install_plugin.py install --zip $(ZIP) --profile-dir "$(QGIS_PROFILE_DIR)"

uninstall: setup
	$(PY) scripts/install_plugin.py uninstall --profile-dir "$(QGIS_PROFILE_DIR)"

## QGIS desktop with the plugin installed into a throwaway profile.
qgis: package
	$(PY) scripts/install_plugin.py run-desktop --zip $(ZIP)

## The offline demo: the seed case against the bundled sample endpoints, headless, into demo-output/.
demo: setup
	$(PY) scripts/demo.py --out demo-output

## QGIS desktop with the plugin, the sample endpoints and the seed AOI layer ready.
demo-gui: package
	$(PY) scripts/install_plugin.py run-desktop --zip $(ZIP) --code scripts/demo_gui_startup.py

bench: setup
	$(PY) -m bench

clean:
	rm -rf build dist tests/artifacts demo-output bench/results.json
