# S2 Parity — developer commands. `make test` sets everything up on a fresh Debian 12 machine by itself.
# QGIS versions tested: 3.22 (Debian 12, the host), 3.40 LTR (Debian 13 chroot), 3.44 (Debian sid chroot).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
ZIP := dist/s2parity_plugin-$(VERSION).zip
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
export QT_QPA_PLATFORM ?= offscreen
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

MATRIX_RELEASES ?= trixie sid

.PHONY: setup test test-host test-release test-matrix test-unit test-qgis check-qt6 qt6-enum-table lint format package install uninstall qgis bench demo demo-gui clean

setup:
	@bash scripts/bootstrap.sh

## What CI runs: the whole suite on this machine's QGIS (Debian 12: 3.22), then on the current LTR (QGIS 3.40,
## in a cached Debian 13 chroot; needs root).
## Both parts always run (a failure on one does not hide the other's results); the target fails if either did.
test: setup
	@status=0; \
	$(MAKE) --no-print-directory --keep-going test-host || status=1; \
	$(MAKE) --no-print-directory test-release RELEASE=trixie || status=1; \
	exit $$status

## The whole suite on the host: QGIS-free unit tests (plain pytest, pytest-qgis disabled), then QGIS and e2e tests.
test-host: setup
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-qgis

## The whole suite inside the Debian chroot of RELEASE (trixie or sid), built with mmdebstrap on first use.
test-release:
	@bash scripts/matrix.sh run $(RELEASE) test-unit test-qgis

## QGIS 3.22 (host), 3.40 (Debian 13) and 3.44 (sid): unit, QGIS and e2e suites on each.
test-matrix: setup
	@status=0; \
	$(MAKE) --no-print-directory --keep-going test-host || status=1; \
	for release in $(MATRIX_RELEASES); do $(MAKE) --no-print-directory test-release RELEASE=$$release || status=1; done; \
	exit $$status

test-unit: setup
	$(PY) -m pytest -p no:pytest_qgis tests/unit

test-qgis: setup package
	$(PY) -m pytest --qgis_disable_gui tests/qgis tests/e2e

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) scripts/check_qt6.py

## Qt6 / QGIS 4 readiness: unscoped Qt enums, PyQt5-only idioms, old QGIS enum aliases (`--fix` rewrites the
## mechanical cases).
check-qt6: setup
	$(PY) scripts/check_qt6.py

## Rebuild scripts/qt6_enums.json (the checker's table) from PyQt6, QGIS 3.44 (sid chroot) and the host's QGIS 3.22.
qt6-enum-table: setup
	$(VENV)-qt6/bin/python scripts/qt6_enum_table.py qt
	bash scripts/matrix.sh exec sid env QT_QPA_PLATFORM=offscreen python3 scripts/qt6_enum_table.py qgis
	/usr/bin/python3 scripts/qt6_enum_table.py qgis-oldest

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
	rm -rf build dist tests/artifacts demo-output bench/results.json .qgis-settings
