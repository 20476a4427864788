"""The run folder: the contract between fetching and comparing.

A run folder holds everything needed to (re)compare two endpoints' answers to one request, with no other
input. It is written by the fetch pipeline (to a temporary name, renamed when complete) and read by the
compare engine, the Processing algorithms, the dock and scripts.

``run.json`` (UTF-8 JSON, never holds a secret)::

    {
      "schema": 1,
      "created": "2020-10-04T12:00:00Z",            # UTC, ISO 8601
      "request": {...},                             # Process API body as sent (evalscript included, no secrets)
      "grid": {"crs": "EPSG:3035", "geotransform": [x0, 10.0, 0.0, y0, 0.0, -10.0], "width": 505, "height": 447},
      "files": {                                    # paths relative to the run folder
        "value_a": "a/value.tif", "value_b": "b/value.tif",
        "scl_a": "a/scl.tif",     "scl_b": "b/scl.tif",
        "userdata_a": "a/userdata.json", "userdata_b": "b/userdata.json"
      },
      "sides": {"a": SideMetadata, "b": SideMetadata},
      "timings": {...}, "tiles": 1
    }

``SideMetadata`` (see the TypedDict below) is what the diagnosis reads: which endpoint answered, the
acquisitions it used (ESA product ids carry the processing baseline, e.g. ``_N0214_``), the catalog ids it
listed and the value units.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

RUN_MANIFEST = "run.json"
FILE_KEYS = ("value_a", "value_b", "scl_a", "scl_b", "userdata_a", "userdata_b")
SIDES = ("a", "b")


class Acquisition(TypedDict, total=False):
    """One acquisition (scene/tile) an endpoint used, as reported by its evalscript userdata or catalog."""

    date: str  # ISO 8601 UTC
    product_id: str  # ESA product name, e.g. S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001
    cloud_cover: float  # percent, 0–100
    data_path: str  # the endpoint's storage path (s3://…)


class SideMetadata(TypedDict, total=False):
    """What one endpoint returned, besides pixels."""

    endpoint_id: str  # profile id: sentinelhub, cdse, sample-sh, sample-cdse, custom
    base_url: str  # e.g. https://sh.dataspace.copernicus.eu
    acquisitions: list[Acquisition]  # from the evalscript's userdata.json
    catalog_ids: list[str]  # Catalog API item ids for the date range (baseline known even for custom evalscripts)
    units: str  # "DN" or "REFLECTANCE": units of the value raster
    harmonize_values: bool  # processing.harmonizeValues as requested
    quantity: str  # what was compared: "B04", "NDVI", "CUSTOM", …


class RunFolderError(ValueError):
    """The folder is not a complete S2 Parity run folder; the message says what is missing."""


def load_manifest(run_dir: str | Path) -> dict[str, Any]:
    """Read and check ``run.json`` of ``run_dir``; raise :class:`RunFolderError` naming what is missing."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_MANIFEST
    if not path.is_file():
        raise RunFolderError(f"{run_dir} is not an S2 Parity run folder: {RUN_MANIFEST} is missing.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path} is not valid JSON ({exc}).") from exc
    files = manifest.get("files", {})
    missing = [k for k in ("value_a", "value_b") if k not in files or not (run_dir / files[k]).is_file()]
    if missing:
        raise RunFolderError(f"{path} lists no existing file for: {', '.join(missing)}.")
    return manifest


def file_path(run_dir: str | Path, manifest: dict[str, Any], key: str) -> Path | None:
    """Absolute path of ``files[key]`` in the manifest, or None when the run has no such file."""
    rel = manifest.get("files", {}).get(key)
    if not rel:
        return None
    path = Path(run_dir) / rel
    return path if path.exists() else None


def side_metadata(manifest: dict[str, Any], side: str) -> SideMetadata:
    """The :class:`SideMetadata` of side ``"a"`` or ``"b"`` (empty when the run recorded none)."""
    if side not in SIDES:
        raise ValueError(f"side must be 'a' or 'b', not {side!r}")
    return manifest.get("sides", {}).get(side, {})


# -- writing (used by the fetch pipeline) ------------------------------------------------------------------------

PARTIAL_PREFIX = ".partial-"
SCHEMA = 1


def partial_dir(out_parent: str | Path, name: str) -> Path:
    """The temporary folder a run is written to (``<out_parent>/.partial-<name>``), renamed when complete."""
    return Path(out_parent) / f"{PARTIAL_PREFIX}{name}"


def write_manifest(run_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``run.json`` (UTF-8, indented; written to a temp file and renamed so it is never half-written)."""
    path = Path(run_dir) / RUN_MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def finalize_run(partial: str | Path, final: str | Path) -> Path:
    """Atomically rename the finished ``partial`` folder to ``final`` (which must not exist yet)."""
    partial, final = Path(partial), Path(final)
    if final.exists():
        raise FileExistsError(f"{final} already exists")
    partial.rename(final)
    return final
