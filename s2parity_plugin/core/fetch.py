"""Fetch one :class:`RequestSpec` from two endpoints and land an aligned run folder (QGIS-free, blocking).

``fetch_pair`` runs in the caller's thread (a QgsTask / Processing worker, a script) and never touches QGIS:

1. check the output folder is writable; create ``<out_parent>/.partial-<run_name>/``;
2. per endpoint, concurrently: authenticate (OAuth client credentials) and list the acquisitions in range from
   its Catalog API; no acquisition on a side → :class:`NoAcquisitionsError` naming the side(s);
3. split the snapped grid into ≤ ``max_tile_px`` tiles (tiles outside the AOI are skipped) and download every tile
   from both endpoints concurrently: one thread pool per endpoint (``max_workers`` each, so each endpoint's rate
   limit is respected separately) running sentinelhub-py's download client (``shclient.ParityClient``: retries 5xx
   with backoff, honours 429 ``Retry-After`` in ms, renews an expired token once);
4. the calling thread writes each finished tile into one GeoTIFF per raster and side (windowed GDAL writes) and
   reports ``progress(done_tiles, total_tiles, message)``;
5. writes ``a|b/userdata.json`` and ``run.json`` (no secrets), then renames the folder to ``<run_name>``.

Cancellation: ``is_cancelled()`` is polled every 0.1 s while waiting. On cancel a shared event stops every worker
at its next check (before a request, in every rate-limit wait slice); queued tiles are dropped, HTTP calls already
on the wire finish or time out in their worker thread, and ``fetch_pair`` does not wait for them: it removes the
partial folder and raises :class:`FetchCancelled` right away (measured < 0.2 s, see tests). Any failure likewise
removes the partial folder, so a run folder exists only when complete.

Multi-date: :func:`fetch_pair_per_date` lists the acquisition days both catalogs share and writes one complete run
folder per day as sub-folders ``<out_parent>/<run_name>/<YYYY-MM-DD>/`` (each a normal run folder).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import shutil
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, Callable

import numpy as np
from osgeo import gdal
from sentinelhub import CRS, BBox, SentinelHubRequest
from sentinelhub.api.base_request import InputDataDict

from s2parity_plugin.core import http_errors, run_folder
from s2parity_plugin.core.catalog import acquisition_days, search_acquisitions, wgs84_bbox
from s2parity_plugin.core.endpoints import Endpoint, l2a_collection, sh_config
from s2parity_plugin.core.fetch_errors import (
    FetchCancelled,
    NoAcquisitionsError,
    OutputFolderError,
    ServerError,
)
from s2parity_plugin.core.mosaic import MosaicWriter
from s2parity_plugin.core.retry import RetryPolicy, default_policy
from s2parity_plugin.core.shclient import ParityClient, ParitySession
from s2parity_plugin.core.spec import Grid, RequestSpec, tile_geometry
from s2parity_plugin.core.tiling import PROCESS_API_MAX_PX, Tile, split_grid

gdal.UseExceptions()
LOGGER = logging.getLogger(__name__)

POLL_S = 0.1
ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


@dataclass
class _Side:
    key: str  # "a" / "b"
    endpoint: Endpoint
    cancel: threading.Event
    proxies: dict[str, str] | None
    timeout_s: float
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    config: Any = None
    client: ParityClient | None = None
    collection: Any = None
    catalog: list[dict[str, Any]] = field(default_factory=list)
    userdata: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def connect(self, spec: RequestSpec, bbox: BBox | None = None) -> None:
        """Authenticate and list the catalog over ``bbox`` (the grid's in WGS 84, :func:`wgs84_bbox`; runs in a
        worker thread)."""
        t0 = time.perf_counter()
        self.config = sh_config(self.endpoint, timeout_s=self.timeout_s)
        session = ParitySession(
            self.config,
            proxies=self.proxies,
            endpoint_id=self.endpoint.profile_id,
            cancel=self.cancel,
            retry=self.retry,
        )
        self.client = ParityClient(self.config, session, proxies=self.proxies, cancel=self.cancel, retry=self.retry)
        self.collection = l2a_collection(self.endpoint.base_url)
        self.timings["auth_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        self.catalog = search_acquisitions(spec, self.config, self.client, self.collection, bbox)
        self.timings["catalog_s"] = time.perf_counter() - t1


# -- requests -----------------------------------------------------------------------------------------------------


def process_request(spec: RequestSpec, tile: Grid, side: _Side) -> Any:
    """sentinelhub-py ``DownloadRequest`` for one tile. The URL comes from the endpoint-bound collection (never
    the pinned ``SENTINEL2_L2A``); the body is ``spec.to_process_body(tile)`` verbatim."""
    body = spec.to_process_body(tile)
    data = InputDataDict(body["input"]["data"][0], service_url=side.collection.service_url)
    request = SentinelHubRequest(
        evalscript=spec.evalscript,
        input_data=[data],
        responses=body["output"]["responses"],
        bbox=BBox(tile.bounds, CRS(tile.epsg)),
        size=(tile.width, tile.height),
        config=side.config,
    )
    download = request.download_list[0]
    download.post_values = body
    return download


def _read_tiff(content: bytes) -> np.ndarray:
    name = f"/vsimem/s2parity_{uuid.uuid4().hex}.tif"
    gdal.FileFromMemBuffer(name, content)
    try:
        ds = gdal.Open(name)
        array = ds.GetRasterBand(1).ReadAsArray()
        ds = None
        return array
    finally:
        gdal.Unlink(name)


def parse_response(spec: RequestSpec, content: bytes, content_type: str) -> dict[str, Any]:
    """``{"value": ndarray, "scl": ndarray | None, "userdata": dict | None}`` from a Process API answer (a TAR of
    ``<identifier>.tif``/``userdata.json`` when several responses were asked for, else one TIFF)."""
    outputs = spec.outputs
    n_responses = 1 + (1 if outputs.scl else 0) + (1 if outputs.userdata else 0)
    if n_responses == 1 and "tar" not in content_type:
        if not content.startswith(http_errors.TIFF_MAGIC):
            raise ServerError(
                f"Expected a GeoTIFF but the answer is {http_errors.describe_payload(content, content_type)}."
            )
        return {"value": _read_tiff(content), "scl": None, "userdata": None}
    if len(content) < 512 or content[257:262] != b"ustar":
        raise ServerError(
            f"Expected a TAR archive but the answer is {http_errors.describe_payload(content, content_type)}."
        )
    result: dict[str, Any] = {"value": None, "scl": None, "userdata": None}
    with tarfile.open(fileobj=BytesIO(content)) as tar:
        for member in tar.getmembers():
            stem = Path(member.name).stem
            payload = tar.extractfile(member)
            if payload is None:
                continue
            raw = payload.read()
            if stem == outputs.value:
                result["value"] = _read_tiff(raw)
            elif outputs.scl and stem == outputs.scl:
                result["scl"] = _read_tiff(raw)
            elif stem == "userdata":
                result["userdata"] = json.loads(raw.decode("utf-8"))
    if result["value"] is None:
        raise ServerError(f"The answer has no '{outputs.value}' raster: the evalscript must output it.")
    return result


def _download_tile(spec: RequestSpec, side: _Side, tile: Tile) -> tuple[_Side, Tile, dict[str, Any]]:
    if side.cancel.is_set():
        raise FetchCancelled("cancelled")
    request = process_request(spec, tile.grid, side)
    response = side.client.download([request], max_threads=1, decode_data=False)[0]
    parsed = parse_response(spec, response.content, response.headers.get("Content-Type", ""))
    height, width = parsed["value"].shape[:2]
    if (width, height) != (tile.grid.width, tile.grid.height):
        raise ServerError(
            f"Endpoint '{side.endpoint.profile_id}' returned {width} × {height} px for a {tile.grid.width} × "
            f"{tile.grid.height} px tile: the service did not honour the requested grid.",
            endpoint_id=side.endpoint.profile_id,
        )
    return side, tile, parsed


# -- errors -------------------------------------------------------------------------------------------------------


def map_exception(exc: BaseException, endpoint: Endpoint, timeout_s: float | None = None) -> BaseException:
    """A user-facing :class:`S2ParityError` for anything a download raised (see :mod:`.http_errors`)."""
    return http_errors.map_exception(exc, endpoint.profile_id, endpoint.base_url, timeout_s=timeout_s)


# -- helpers ------------------------------------------------------------------------------------------------------


def _check_writable(out_parent: Path) -> None:
    try:
        out_parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_parent, prefix=".s2parity-write-test-"):
            pass
    except OSError as exc:
        raise OutputFolderError(
            f"Cannot write to the output folder {out_parent} ({exc.strerror or exc}): choose a folder you can write "
            "to, or free disk space."
        ) from exc


def default_run_name(spec: RequestSpec, endpoint_a: Endpoint, endpoint_b: Endpoint) -> str:
    """``<UTC time>_<quantity>_<a>-vs-<b>``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{spec.quantity}_{endpoint_a.profile_id}-vs-{endpoint_b.profile_id}"


def _unique_final(out_parent: Path, name: str) -> Path:
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in '/\\:*?"<>|'):
        raise OutputFolderError(
            f"{name!r} cannot be a run folder name: use letters, digits, '-', '_' (no path separators, no leading dot)."
        )
    final, n = out_parent / name, 2
    while final.exists() or run_folder.partial_dir(out_parent, final.name).exists():
        final, n = out_parent / f"{name}-{n}", n + 1
    return final


def merge_userdata(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One userdata document from the per-tile ones (seed shape: ``acquisitions`` = orbits with ``tiles``;
    orbits merged by ``dateFrom``, tiles de-duplicated by ``productId``)."""
    if not docs:
        return {}
    merged = {k: v for k, v in docs[0].items() if k != "acquisitions"}
    orbits: dict[Any, dict[str, Any]] = {}
    for doc in docs:
        for orbit in doc.get("acquisitions", []) or []:
            target = orbits.setdefault(orbit.get("dateFrom"), {"dateFrom": orbit.get("dateFrom"), "tiles": []})
            seen = {t.get("productId") for t in target["tiles"]}
            for tile in orbit.get("tiles", []) or []:
                if tile.get("productId") not in seen:
                    target["tiles"].append(tile)
                    seen.add(tile.get("productId"))
    merged["acquisitions"] = sorted(orbits.values(), key=lambda orbit: str(orbit.get("dateFrom") or ""))
    merged["s2parity_request_tiles"] = len(docs)
    return merged


def acquisitions_from_userdata(userdata: dict[str, Any]) -> list[dict[str, Any]]:
    """``SideMetadata.acquisitions`` from a (merged) userdata document."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for orbit in userdata.get("acquisitions", []) or []:
        for tile in orbit.get("tiles", []) or []:
            pid = tile.get("productId") or ""
            if pid in seen:
                continue
            seen.add(pid)
            acq: dict[str, Any] = {"date": tile.get("date") or orbit.get("dateFrom") or "", "product_id": pid}
            if tile.get("cloudCoverage") is not None:
                acq["cloud_cover"] = float(tile["cloudCoverage"])
            if tile.get("dataPath"):
                acq["data_path"] = tile["dataPath"]
            out.append(acq)
    return out


def _write(writer: MosaicWriter, tile: Tile, array: np.ndarray) -> None:
    try:
        writer.write(tile.col, tile.row, array)
    except (RuntimeError, OSError) as exc:
        raise OutputFolderError(
            f"Writing {writer.path} failed ({exc}): check the free disk space of the output folder."
        ) from exc


def _close(writer: MosaicWriter) -> None:
    try:
        writer.close()
    except (RuntimeError, OSError) as exc:
        raise OutputFolderError(
            f"Finishing {writer.path} failed ({exc}): check the free disk space of the output folder."
        ) from exc


def _wait_all(futures: set[cf.Future], cancel: threading.Event, is_cancelled: CancelFn | None) -> Any:
    """Yield futures as they finish; poll ``is_cancelled`` every ``POLL_S``."""
    pending = set(futures)
    while pending:
        if is_cancelled is not None and is_cancelled():
            cancel.set()
            raise FetchCancelled("The fetch was cancelled; no run folder was written.")
        done, pending = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
        yield from done


# -- the pipeline -------------------------------------------------------------------------------------------------


def fetch_pair(
    spec: RequestSpec,
    endpoint_a: Endpoint,
    endpoint_b: Endpoint,
    out_parent: str | Path,
    *,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
    run_name: str | None = None,
    proxies: dict[str, str] | None = None,
    max_workers: int = 4,
    max_tile_px: int = PROCESS_API_MAX_PX,
    timeout_s: float = 60.0,
    retry: RetryPolicy | None = None,
) -> Path:
    """Fetch ``spec`` from both endpoints; return the finished run folder ``<out_parent>/<run_name>``.

    ``max_workers``: parallel downloads *per endpoint*. ``max_tile_px``: tile edge limit in pixels (≤ 2500).
    ``timeout_s``: read timeout of one HTTP call (s). ``retry``: backoff and per-request deadline of retries
    (default :func:`~.retry.default_policy`: 5 min per request). ``proxies``: a ``requests`` proxies dict.
    Raises a subclass of :class:`S2ParityError` (see ``fetch_errors``) — never leaves a partial folder behind.
    """
    t_start = time.perf_counter()
    out_parent = Path(out_parent)
    _check_writable(out_parent)
    final = _unique_final(out_parent, run_name or default_run_name(spec, endpoint_a, endpoint_b))
    partial = run_folder.partial_dir(out_parent, final.name)
    cancel = threading.Event()
    retry = retry or default_policy()
    sides = [_Side(k, ep, cancel, proxies, timeout_s, retry) for k, ep in (("a", endpoint_a), ("b", endpoint_b))]
    pools = {s.key: cf.ThreadPoolExecutor(max(1, max_workers), thread_name_prefix=f"s2parity-{s.key}") for s in sides}
    writers: list[MosaicWriter] = []
    current = sides[0]
    try:
        try:
            partial.mkdir(parents=True)
            for s in sides:
                (partial / s.key).mkdir()
        except OSError as exc:
            raise OutputFolderError(f"Cannot create {partial} ({exc}): choose another output folder.") from exc

        # 1. authenticate + catalog, both sides at once
        if progress:
            progress(0, 1, "Authenticating and listing acquisitions on both endpoints")
        bbox = wgs84_bbox(spec)  # once, here: see wgs84_bbox
        futures = {pools[s.key].submit(s.connect, spec, bbox): s for s in sides}
        for fut in _wait_all(set(futures), cancel, is_cancelled):
            current = futures[fut]
            fut.result()
        empty = [s for s in sides if not s.catalog]
        if empty:
            names = " and ".join(f"'{s.endpoint.profile_id}' ({s.endpoint.host})" for s in empty)
            cc = spec.options.max_cloud_coverage
            cc_text = f" with cloud cover ≤ {cc:g} %" if cc < 100 else ""
            raise NoAcquisitionsError(
                f"The catalog of {names} lists no Sentinel-2 L2A acquisition over the AOI between "
                f"{spec.date_from:%Y-%m-%d} and {spec.date_to:%Y-%m-%d}{cc_text}: widen the date range"
                f"{' or raise the maximum cloud cover' if cc_text else ''}.",
                empty[0].endpoint.profile_id,
            )

        # 2. tiles
        aoi = spec.aoi_shape()
        tiles = [t for t in split_grid(spec.grid, max_tile_px) if tile_geometry(aoi, t.grid) is not None]
        value_w = {s.key: MosaicWriter(partial / s.key / "value.tif", spec.grid) for s in sides}
        scl_w = {s.key: MosaicWriter(partial / s.key / "scl.tif", spec.grid) for s in sides} if spec.outputs.scl else {}
        writers = [*value_w.values(), *scl_w.values()]
        total = 2 * len(tiles)
        t_dl = time.perf_counter()
        tile_futures = {pools[s.key].submit(_download_tile, spec, s, t): s for t in tiles for s in sides}
        for done, fut in enumerate(_wait_all(set(tile_futures), cancel, is_cancelled), start=1):
            current = tile_futures[fut]
            side, tile, parsed = fut.result()
            _write(value_w[side.key], tile, parsed["value"])
            if side.key in scl_w and parsed["scl"] is not None:
                _write(scl_w[side.key], tile, parsed["scl"])
            if parsed["userdata"] is not None:
                side.userdata.append(parsed["userdata"])
            if progress:
                progress(done, total, f"Tile {tile.index + 1}/{len(tiles)} from endpoint {side.key.upper()} done")
        download_s = time.perf_counter() - t_dl

        # 3. finish files
        value_dtype = np.float32 if spec.units == "REFLECTANCE" else np.uint16
        for w in value_w.values():
            w.ensure_created(value_dtype)
        for w in scl_w.values():
            w.ensure_created(np.uint8)
        for w in writers:
            _close(w)
        files = {"value_a": "a/value.tif", "value_b": "b/value.tif"}
        if spec.outputs.scl:
            files.update({"scl_a": "a/scl.tif", "scl_b": "b/scl.tif"})
        sides_meta = {}
        for s in sides:
            userdata = merge_userdata(s.userdata)
            if spec.outputs.userdata:
                (partial / s.key / "userdata.json").write_text(json.dumps(userdata, indent=2) + "\n", "utf-8")
                files[f"userdata_{s.key}"] = f"{s.key}/userdata.json"
            (partial / s.key / "catalog.json").write_text(json.dumps(s.catalog, indent=2) + "\n", "utf-8")
            sides_meta[s.key] = {
                "endpoint_id": s.endpoint.profile_id,
                "base_url": s.endpoint.base_url,
                "acquisitions": acquisitions_from_userdata(userdata),
                "catalog_ids": [item["id"] for item in s.catalog],
                "units": spec.units,
                "harmonize_values": spec.options.harmonize_values,
                "quantity": spec.quantity,
            }
        manifest = {
            "schema": run_folder.SCHEMA,
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "request": spec.to_process_body(),
            "grid": spec.grid.to_manifest(),
            "files": files,
            "sides": sides_meta,
            "endpoints": {
                s.key: {"id": s.endpoint.profile_id, "base_url": s.endpoint.base_url, "token_url": s.endpoint.token_url}
                for s in sides
            },
            "spec": spec.to_manifest(),
            "timings": {
                "total_s": round(time.perf_counter() - t_start, 3),
                "download_s": round(download_s, 3),
                **{f"{k}_{s.key}": round(v, 3) for s in sides for k, v in s.timings.items()},
                **{f"http_requests_{s.key}": s.client.request_count for s in sides if s.client},
            },
            "tiles": len(tiles),
            "tile_grids": [t.grid.to_manifest() for t in tiles] if len(tiles) > 1 else [],
        }
        run_folder.write_manifest(partial, manifest)
        result = run_folder.finalize_run(partial, final)
        if progress:
            progress(total, total, f"Run folder written: {final}")
        return result
    except BaseException as exc:
        cancel.set()
        for pool in pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        for w in writers:
            with contextlib.suppress(Exception):
                w.close()
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        mapped = map_exception(exc, current.endpoint, timeout_s)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        for pool in pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def fetch_pair_per_date(
    spec: RequestSpec,
    endpoint_a: Endpoint,
    endpoint_b: Endpoint,
    out_parent: str | Path,
    *,
    run_name: str | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
    **kwargs: Any,
) -> list[Path]:
    """One run folder per acquisition day listed by *both* catalogs, as ``<out_parent>/<run_name>/<YYYY-MM-DD>/``.

    Days only one endpoint lists are skipped (they are written to ``<run_name>/skipped_days.json``).
    """
    out_parent = Path(out_parent)
    _check_writable(out_parent)
    parent = _unique_final(out_parent, run_name or default_run_name(spec, endpoint_a, endpoint_b))
    cancel = threading.Event()
    days: dict[str, list[str]] = {}
    sides = [
        _Side(
            k, ep, cancel, kwargs.get("proxies"), kwargs.get("timeout_s", 60.0), kwargs.get("retry") or default_policy()
        )
        for k, ep in (("a", endpoint_a), ("b", endpoint_b))
    ]
    bbox = wgs84_bbox(spec)  # once, here: see wgs84_bbox
    pool = cf.ThreadPoolExecutor(2, thread_name_prefix="s2parity-catalog")
    futures = {pool.submit(s.connect, spec, bbox): s for s in sides}
    current = sides[0]
    try:
        for fut in _wait_all(set(futures), cancel, is_cancelled):
            current = futures[fut]
            fut.result()
    except Exception as exc:
        cancel.set()
        mapped = map_exception(exc, current.endpoint, kwargs.get("timeout_s", 60.0))
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for s in sides:
        days[s.key] = acquisition_days(s.catalog)
    common = sorted(set(days["a"]) & set(days["b"]))
    if not common:
        raise NoAcquisitionsError(
            f"No acquisition day between {spec.date_from:%Y-%m-%d} and {spec.date_to:%Y-%m-%d} is listed by both "
            f"endpoints (A: {len(days['a'])} days, B: {len(days['b'])} days): widen the date range.",
        )
    parent.mkdir(parents=True)
    skipped = {k: sorted(set(v) - set(common)) for k, v in days.items()}
    (parent / "skipped_days.json").write_text(json.dumps(skipped, indent=2) + "\n", "utf-8")
    out: list[Path] = []
    for i, day in enumerate(common):
        d0 = datetime.fromisoformat(f"{day}T00:00:00+00:00")
        d1 = datetime.fromisoformat(f"{day}T23:59:59+00:00")

        def day_progress(done: int, total: int, message: str, i: int = i) -> None:
            if progress:
                progress(i * total + done, len(common) * total, f"{common[i]}: {message}")

        out.append(
            fetch_pair(
                spec.for_dates(d0, d1),
                endpoint_a,
                endpoint_b,
                parent,
                run_name=day,
                progress=day_progress,
                is_cancelled=is_cancelled,
                **kwargs,
            )
        )
    return out
