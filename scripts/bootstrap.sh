#!/usr/bin/env bash
# Set up everything `make test` needs on a Debian 12 machine: apt packages (QGIS 3.22, GDAL, Xvfb),
# a venv on Debian's python3 with --system-site-packages (PyQGIS lives there) and pinned pip packages.
# Idempotent: a stamp holding the hash of the requirement files makes a second run a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
APT_PACKAGES=(qgis python3-qgis qgis-providers python3-gdal gdal-bin proj-data xvfb xauth
              python3-venv python3-pip python3-yaml python3-jsonschema python3-matplotlib
              python3-scipy python3-shapely python3-pil python3-tifffile python3-skimage python3-numba)

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

stamp="$VENV/.s2parity-stamp"
want=$(cat requirements.txt requirements-extras.txt requirements-dev.txt constraints.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

# Debian's interpreter, not whatever python3 comes first on PATH (PyQGIS is built for /usr/bin/python3).
# --clear: a stale venv may hold wheels that must not shadow Debian's packages (see constraints.txt).
/usr/bin/python3 -m venv --clear --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
# Smoke test: numpy must stay on the ABI Debian's GDAL/QGIS were built with.
QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -c "
import numpy, qgis.core, sentinelhub, shapely, scipy, numba
from osgeo import gdal_array
assert numpy.__version__.startswith('1.24'), numpy.__version__
# Compiled packages must be Debian's (same GEOS/PROJ/numpy ABI as QGIS), never wheels in the venv.
for mod in (numpy, shapely, scipy, numba):
    assert mod.__file__.startswith('/usr/lib/python3/'), mod.__file__
print('bootstrap: numpy', numpy.__version__, '| numba', numba.__version__, '| QGIS', qgis.core.Qgis.QGIS_VERSION, '| sentinelhub', sentinelhub.__version__)
"
echo "$want" > "$stamp"
