#!/usr/bin/env bash
# Set up everything `make test` needs on Debian 12 (QGIS 3.22), Debian 13 (QGIS 3.40) or sid (QGIS 3.44):
# the apt packages of scripts/apt-packages.txt (QGIS, GDAL, PROJ, Xvfb and every compiled Python package), a venv
# on Debian's python3 with --system-site-packages (PyQGIS lives there) and pinned pure-Python packages from PyPI.
#
# Compiled packages always come from apt at whatever version the release ships: bootstrap writes their installed
# versions into $VENV/constraints-system.txt so pip can never replace them, and asserts that they load from
# /usr/lib/python3/dist-packages (their location, not their version). Pure-Python pins: constraints.txt (every
# release) plus constraints-<release>.txt (pins that must differ per release).
#
# Idempotent: a stamp holding the hash of the inputs makes a second run a no-op.
# S2PARITY_RELEASE=bookworm|trixie|sid overrides the release read from /etc/os-release.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
SYSTEM_SITE=/usr/lib/python3/dist-packages
# Compiled Python packages that must be Debian's (same GEOS/PROJ/GDAL/numpy ABI as QGIS): distribution name, module.
COMPILED=(numpy:numpy scipy:scipy shapely:shapely pillow:PIL scikit-image:skimage tifffile:tifffile
          numba:numba llvmlite:llvmlite pyproj:pyproj)

release() {
  if [ -n "${S2PARITY_RELEASE:-}" ]; then echo "$S2PARITY_RELEASE"; return; fi
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  case "$codename" in
    bookworm | trixie) echo "$codename" ;;
    *) echo sid ;;  # sid, and testing after trixie, follow the newest pins
  esac
}

mapfile -t APT_PACKAGES < <(grep -v -e '^#' -e '^$' scripts/apt-packages.txt)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bootstrap: installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

RELEASE=$(release)
RELEASE_CONSTRAINTS="constraints-$RELEASE.txt"
[ -f "$RELEASE_CONSTRAINTS" ] || { echo "bootstrap: no $RELEASE_CONSTRAINTS for release '$RELEASE'" >&2; exit 1; }

# The compiled packages' installed versions, read from Debian's interpreter (not from a wheel anywhere else).
system_constraints=$(/usr/bin/python3 - "${COMPILED[@]}" <<'EOF'
import sys
from importlib import metadata

print("# Written by scripts/bootstrap.sh: Debian's compiled packages, so pip never replaces them.")
for entry in sys.argv[1:]:
    dist = entry.split(":")[0]
    try:
        print(f"{dist}=={metadata.version(dist)}")
    except metadata.PackageNotFoundError:
        pass
EOF
)

stamp="$VENV/.s2parity-stamp"
want=$( (cat requirements.txt requirements-extras.txt requirements-dev.txt requirements-qt6.txt constraints.txt "$RELEASE_CONSTRAINTS" scripts/bootstrap.sh \
          scripts/apt-packages.txt; echo "$system_constraints") | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

# Debian's interpreter, not whatever python3 comes first on PATH (PyQGIS is built for /usr/bin/python3).
# --clear: a stale venv may hold wheels that must not shadow Debian's packages.
/usr/bin/python3 -m venv --clear --system-site-packages "$VENV"
echo "$system_constraints" > "$VENV/constraints-system.txt"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  -c constraints.txt -c "$RELEASE_CONSTRAINTS" -c "$VENV/constraints-system.txt" -r requirements-dev.txt
# Smoke test: QGIS, GDAL and the compiled packages load, from Debian's site-packages (never a wheel in the venv).
QT_QPA_PLATFORM=offscreen "$VENV/bin/python" - "$SYSTEM_SITE" "$RELEASE" "${COMPILED[@]}" <<'EOF'
import importlib
import sys

import qgis.core
import sentinelhub
from osgeo import gdal, gdal_array  # noqa: F401 (gdal_array needs numpy's ABI)

site, release, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
versions = []
for entry in entries:
    module = importlib.import_module(entry.split(":")[1])
    assert module.__file__.startswith(site + "/"), f"{module.__name__} loads from {module.__file__}, not {site}"
    versions.append(f"{module.__name__} {getattr(module, '__version__', '?')}")
for module in (qgis.core, gdal):
    assert module.__file__.startswith(site + "/"), f"{module.__name__} loads from {module.__file__}, not {site}"
print(f"bootstrap: {release} | QGIS {qgis.core.Qgis.QGIS_VERSION} | Python {sys.version.split()[0]} | "
      f"GDAL {gdal.__version__} | " + " | ".join(versions) + f" | sentinelhub {sentinelhub.__version__}")
EOF
# PyQt6 (pip) in $VENV-qt6 beside it, for the Qt6 test of the GUI code (tests/unit/test_pyqt6_gui.py); never mixed with PyQGIS.
QT6_VENV="$VENV-qt6"
/usr/bin/python3 -m venv --clear --system-site-packages "$QT6_VENV"
# sentinelhub too (pure Python; its compiled dependencies come from Debian as above), so the probe builds the real
# dock rather than its missing-dependency panel.
"$QT6_VENV/bin/python" -m pip install -q --disable-pip-version-check \
  -c constraints.txt -c "$RELEASE_CONSTRAINTS" -c "$VENV/constraints-system.txt" -r requirements.txt -r requirements-qt6.txt
echo "$want" > "$stamp"
