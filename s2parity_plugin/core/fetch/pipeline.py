"""Fetch one :class:`RequestSpec` from two endpoints and land an aligned run folder (QGIS-free, blocking).

``fetch_pair`` runs in the caller's thread (a QgsTask / Processing worker, a script) and never touches QGIS:

1. check the output folder is writable; reserve ``<out_parent>/.partial-<run_name>/`` atomically, or resume an
   unfinished partial run of the same request found there (:mod:`.partial_run`; other stale ones are reported);
2. per endpoint, concurrently: authenticate (OAuth client credentials) and list the acquisitions in range from
   its Catalog API; no acquisition on a side → :class:`NoAcquisitionsError` naming the side(s);
3. split the snapped grid into ≤ ``max_tile_px`` tiles (tiles outside the AOI are skipped) and download every tile
   not kept yet from both endpoints concurrently: one thread pool per endpoint (``max_workers`` each, so each
   endpoint's rate limit is respected separately) running sentinelhub-py's download client
   (``shclient.ParityClient``: retries with backoff and jitter within a per-request deadline, see :mod:`.retry`;
   honours 429 ``Retry-After`` in ms; renews an expired token once);
4. the calling thread keeps each finished tile in the partial folder (complete or absent) and reports
   ``progress(done_tiles, total_tiles, message)``;
5. mosaics the tiles into one GeoTIFF per raster and side, writes ``a|b/userdata.json`` and ``run.json`` (no
   secrets), then renames the folder to ``<run_name>``.

Cancellation: ``is_cancelled()`` is polled every 0.1 s while waiting. On cancel a shared event stops every worker
at its next check (before a request, in every wait slice); queued tiles are dropped, HTTP calls already on the wire
finish or time out in their worker thread, and ``fetch_pair`` does not wait for them: it raises
:class:`FetchCancelled` right away (measured < 0.2 s, see tests). A failed or cancelled fetch keeps the tiles it
finished in its partial folder (the error says where; the same request resumes it); one that finished no tile
leaves nothing behind. A run folder without the ``.partial-`` prefix is always complete.

Multi-date: :func:`fetch_pair_per_date` lists the acquisition days both catalogs share and writes one complete run
folder per day as sub-folders ``<out_parent>/<run_name>/<YYYY-MM-DD>/`` (each a normal run folder).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, Callable

import numpy as np
from osgeo import gdal
from sentinelhub import CRS, BBox, SentinelHubRequest
from sentinelhub.api.base_request import InputDataDict

from s2parity_plugin.core.errors import (
    FetchCancelled,
    NoAcquisitionsError,
    OutputFolderError,
    S2ParityError,
    ServerError,
)
from s2parity_plugin.core.fetch import partial_run, run_folder
from s2parity_plugin.core.fetch.mosaic import MosaicWriter
from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.core.model import evalscript_check
from s2parity_plugin.core.model.spec import Grid, RequestSpec, tile_geometry
from s2parity_plugin.core.model.tiling import PROCESS_API_MAX_PX, Tile, split_grid
from s2parity_plugin.core.service import http_errors
from s2parity_plugin.core.service.catalog import acquisition_days, search_acquisitions, wgs84_bbox
from s2parity_plugin.core.service.endpoints import Endpoint, l2a_collection, sh_config
from s2parity_plugin.core.service.retry import RetryPolicy, default_policy
from s2parity_plugin.core.service.session import ParityClient, ParitySession

LOGGER = logging.getLogger(__name__)

POLL_S = 0.1  # s between checks of is_cancelled while waiting
DEFAULT_TIMEOUT_S = 60.0  # read timeout of one HTTP call
ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]
NotifyFn = Callable[[str], None]


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


@gdal_exceptions()
def _read_tiff(content: bytes, output_id: str | None = None) -> np.ndarray:
    """Band 1 of a GeoTIFF answer; with ``output_id`` (the value raster) an answer of several bands is refused."""
    name = f"/vsimem/s2parity_{uuid.uuid4().hex}.tif"
    gdal.FileFromMemBuffer(name, content)
    try:
        ds = gdal.Open(name)
        if output_id is not None:
            evalscript_check.check_band_count(output_id, ds.RasterCount)
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
        return {"value": _read_tiff(content, outputs.value), "scl": None, "userdata": None}
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
                result["value"] = _read_tiff(raw, outputs.value)
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


def _check_run_name(name: str) -> None:
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in '/\\:*?"<>|'):
        raise OutputFolderError(
            f"{name!r} cannot be a run folder name: use letters, digits, '-', '_' (no path separators, no leading dot)."
        )


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


def request_key(spec: RequestSpec, endpoint_a: Endpoint, endpoint_b: Endpoint, max_tile_px: int) -> str:
    """The identity of a fetch for resuming it: request body, grid, endpoints (no credentials), tile size."""
    endpoints = [(e.profile_id, e.base_url) for e in (endpoint_a, endpoint_b)]
    return partial_run.fingerprint(spec.to_process_body(), spec.grid.to_manifest(), endpoints, max_tile_px)


def _mosaic(run: partial_run.PartialRun, spec: RequestSpec, tiles: list[Tile], sides: list[_Side]) -> dict[str, str]:
    """Write the kept tiles of both sides into one GeoTIFF per raster and side; the ``files`` of the manifest."""
    value_dtype = np.float32 if spec.units == "REFLECTANCE" else np.uint16
    for s in sides:
        (run.path / s.key).mkdir(exist_ok=True)
        value_w = MosaicWriter(run.path / s.key / "value.tif", spec.grid)
        scl_w = MosaicWriter(run.path / s.key / "scl.tif", spec.grid) if spec.outputs.scl else None
        try:
            for tile in tiles:
                parsed = run.load_tile(s.key, tile.index)
                _write(value_w, tile, parsed["value"])
                if scl_w is not None and parsed["scl"] is not None:
                    _write(scl_w, tile, parsed["scl"])
                if parsed["userdata"] is not None:
                    s.userdata.append(parsed["userdata"])
            value_w.ensure_created(value_dtype)
            _close(value_w)
            if scl_w is not None:
                scl_w.ensure_created(np.uint8)
                _close(scl_w)
        finally:
            for w in (value_w, scl_w):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()
    files = {"value_a": "a/value.tif", "value_b": "b/value.tif"}
    if spec.outputs.scl:
        files.update({"scl_a": "a/scl.tif", "scl_b": "b/scl.tif"})
    return files


def _check_catalogs(spec: RequestSpec, sides: list[_Side]) -> None:
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


def _reserve(
    out_parent: Path, name: str, key: str, tiles: int, notify: NotifyFn, explicit: bool
) -> partial_run.PartialRun:
    _check_run_name(name)
    try:
        return partial_run.reserve(out_parent, name, key, tiles, notify, explicit_name=explicit)
    except OSError as exc:
        raise OutputFolderError(
            f"Cannot create a run folder in {out_parent} ({exc.strerror or exc}): choose another output folder."
        ) from exc


def _side_metadata(run: partial_run.PartialRun, spec: RequestSpec, s: _Side, files: dict[str, str]) -> dict:
    userdata = merge_userdata(s.userdata)
    if spec.outputs.userdata:
        (run.path / s.key / "userdata.json").write_text(json.dumps(userdata, indent=2) + "\n", "utf-8")
        files[f"userdata_{s.key}"] = f"{s.key}/userdata.json"
    (run.path / s.key / "catalog.json").write_text(json.dumps(s.catalog, indent=2) + "\n", "utf-8")
    return {
        "endpoint_id": s.endpoint.profile_id,
        "base_url": s.endpoint.base_url,
        "acquisitions": acquisitions_from_userdata(userdata),
        "catalog_ids": [item["id"] for item in s.catalog],
        "units": spec.units,
        "harmonize_values": spec.options.harmonize_values,
        "quantity": spec.quantity,
    }


@dataclass(frozen=True)
class FetchOptions:
    """How a fetch runs (what it fetches is the :class:`RequestSpec`); every field has a default.

    ``max_workers``: parallel downloads *per endpoint*. ``max_tile_px``: tile edge limit in pixels (≤ 2500).
    ``timeout_s``: read timeout of one HTTP call (s). ``retry``: backoff and per-request deadline of retries
    (None: :func:`~.retry.default_policy`, 5 min per request). ``proxies``: a ``requests`` proxies dict.
    ``notify(text)``: told about resumed, renamed and stale partial runs (None: the log, level WARNING).
    """

    max_workers: int = 4
    max_tile_px: int = PROCESS_API_MAX_PX
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy | None = None
    proxies: dict[str, str] | None = None
    notify: NotifyFn | None = None

    def notifier(self) -> NotifyFn:
        """``notify``, or a WARNING in the log."""
        return self.notify or (lambda text: LOGGER.warning("%s", text))


def _sides(opts: FetchOptions, endpoint_a: Endpoint, endpoint_b: Endpoint) -> list[_Side]:
    """One :class:`_Side` per endpoint, sharing one cancel event."""
    cancel, retry = threading.Event(), opts.retry or default_policy()
    return [
        _Side(key, ep, cancel, opts.proxies, opts.timeout_s, retry)
        for key, ep in (("a", endpoint_a), ("b", endpoint_b))
    ]


@dataclass
class _Pair:
    """The two sides of a fetch and their worker pools. ``current`` is the side whose result was read last: the
    one an error is blamed on."""

    sides: list[_Side]
    pools: dict[str, cf.ThreadPoolExecutor]
    is_cancelled: CancelFn | None
    current: _Side | None = None

    def results(self, futures: dict[cf.Future, _Side]) -> Iterator[Any]:
        """The results of ``futures`` as they finish; polls ``is_cancelled`` every ``POLL_S``."""
        for fut in _wait_all(set(futures), self.sides[0].cancel, self.is_cancelled):
            self.current = futures[fut]
            yield fut.result()

    def connect(self, spec: RequestSpec) -> None:
        """Authenticate and list the catalog on both sides at once."""
        bbox = wgs84_bbox(spec)  # once, here: see wgs84_bbox
        for _ in self.results({self.pools[s.key].submit(s.connect, spec, bbox): s for s in self.sides}):
            pass

    def blamed(self) -> Endpoint:
        """The endpoint an error is blamed on: the side read last (A before any result)."""
        return (self.current or self.sides[0]).endpoint

    def stop(self) -> None:
        """Stop every worker at its next check and drop queued work (HTTP calls on the wire are not waited for)."""
        self.sides[0].cancel.set()
        self.shutdown()

    def shutdown(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class _PairFetch:
    """One running :func:`fetch_pair`: its tiles, reserved partial folder and both sides."""

    spec: RequestSpec
    tiles: list[Tile]
    run: partial_run.PartialRun
    pair: _Pair
    progress: ProgressFn
    t_start: float  # time.perf_counter() when fetch_pair was called

    @property
    def total(self) -> int:
        """Tile downloads of the whole run (both sides)."""
        return 2 * len(self.tiles)

    def download(self, resumed: int) -> float:
        """Download the tiles not kept yet, keeping each as soon as it arrives; the download time (s)."""
        t0 = time.perf_counter()
        todo = [(s, t) for t in self.tiles for s in self.pair.sides if t.index not in self.run.done.get(s.key, set())]
        futures = {self.pair.pools[s.key].submit(_download_tile, self.spec, s, t): s for s, t in todo}
        for done, (side, tile, parsed) in enumerate(self.pair.results(futures), start=resumed + 1):
            _keep(self.run, side.key, tile, parsed)
            self.progress(
                done, self.total, f"Tile {tile.index + 1}/{len(self.tiles)} from endpoint {side.key.upper()} done"
            )
        return time.perf_counter() - t0

    def manifest(self, download_s: float, resumed: int) -> dict[str, Any]:
        """Write the mosaics and per-side metadata; the ``run.json`` document."""
        spec, sides = self.spec, self.pair.sides
        files = _mosaic(self.run, spec, self.tiles, sides)
        sides_meta = {s.key: _side_metadata(self.run, spec, s, files) for s in sides}
        return {
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
                "total_s": round(time.perf_counter() - self.t_start, 3),
                "download_s": round(download_s, 3),
                **{f"{k}_{s.key}": round(v, 3) for s in sides for k, v in s.timings.items()},
                **{f"http_requests_{s.key}": s.client.request_count for s in sides if s.client},
            },
            "tiles": len(self.tiles),
            "tiles_resumed": resumed,
            "tile_grids": [t.grid.to_manifest() for t in self.tiles] if len(self.tiles) > 1 else [],
        }


def fetch_pair(
    spec: RequestSpec,
    endpoint_a: Endpoint,
    endpoint_b: Endpoint,
    out_parent: str | Path,
    *,
    options: FetchOptions | None = None,
    run_name: str | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
) -> Path:
    """Fetch ``spec`` from both endpoints; return the finished run folder ``<out_parent>/<run_name>``.

    ``options``: how to fetch (:class:`FetchOptions`). ``run_name`` None: :func:`default_run_name`.
    ``progress(done_tiles, total_tiles, message)``; ``is_cancelled()`` is polled every ``POLL_S``.
    Raises a subclass of :class:`S2ParityError` (see ``core.errors``). Finished tiles of a failed or cancelled
    fetch are kept in a partial run folder (:mod:`.partial_run`; the error says where) that the same request
    resumes; a fetch that finished no tile leaves nothing behind.
    """
    t_start = time.perf_counter()
    opts = options or FetchOptions()
    out_parent = Path(out_parent)
    _check_writable(out_parent)
    evalscript_check.check_single_band(spec.evalscript, spec.outputs.value)
    aoi = spec.aoi_shape()
    tiles = [t for t in split_grid(spec.grid, opts.max_tile_px) if tile_geometry(aoi, t.grid) is not None]
    key = request_key(spec, endpoint_a, endpoint_b, opts.max_tile_px)
    name = run_name or default_run_name(spec, endpoint_a, endpoint_b)
    run = _reserve(out_parent, name, key, len(tiles), opts.notifier(), explicit=run_name is not None)
    sides = _sides(opts, endpoint_a, endpoint_b)
    workers = max(1, opts.max_workers)
    pools = {s.key: cf.ThreadPoolExecutor(workers, thread_name_prefix=f"s2parity-{s.key}") for s in sides}
    pair = _Pair(sides, pools, is_cancelled)
    job = _PairFetch(spec, tiles, run, pair, progress or (lambda *_: None), t_start)
    resumed = run.tiles_done()
    try:
        job.progress(resumed, max(job.total, 1), "Authenticating and listing acquisitions on both endpoints")
        pair.connect(spec)
        _check_catalogs(spec, sides)
        download_s = job.download(resumed)
        run_folder.write_manifest(run.path, job.manifest(download_s, resumed))  # then the folder gets its final name
        final = out_parent / run.name
        result = run.finalize(final)
        job.progress(job.total, job.total, f"Run folder written: {final}")
        return result
    except BaseException as exc:
        pair.stop()
        error = _failed(exc, run, pair.blamed(), opts.timeout_s)
        if error is exc:
            raise
        raise error from exc
    finally:
        run.release()
        pair.shutdown()


def _keep(run: partial_run.PartialRun, side: str, tile: Tile, parsed: dict[str, Any]) -> None:
    try:
        run.save_tile(side, tile.index, parsed)
    except OSError as exc:
        raise OutputFolderError(
            f"Keeping tile {tile.index + 1} in {run.path} failed ({exc.strerror or exc}): check the free disk space "
            "of the output folder."
        ) from exc


def _failed(exc: BaseException, run: partial_run.PartialRun, endpoint: Endpoint, timeout_s: float) -> BaseException:
    """The error to raise for ``exc``: mapped to a user-facing one that says where the finished tiles are kept
    (or, when none finished, with the partial folder removed)."""
    with contextlib.suppress(OSError):
        (run.path / run_folder.RUN_MANIFEST).unlink()  # a failure while finishing: the folder stays resumable
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return exc
    mapped = map_exception(exc, endpoint, timeout_s)
    if run.tiles_done() == 0:
        run.discard()
        if isinstance(mapped, FetchCancelled):
            mapped.args = ("The fetch was cancelled; no run folder was written.",)
        return mapped
    if isinstance(mapped, FetchCancelled):
        mapped.args = (f"The fetch was cancelled. {run.where()}",)
    elif isinstance(mapped, S2ParityError):
        mapped.args = (f"{mapped} {run.where()}",)
    return mapped


SERIES_MANIFEST = "series.json"


def _series_folder(out_parent: Path, name: str, key: str, explicit: bool, notify: NotifyFn) -> Path:
    """The folder of a per-date series: an unfinished one of the same request (resumed), else a new one named
    ``name`` (``name-2``… when taken, said through ``notify``), reserved atomically (``mkdir``)."""
    _check_run_name(name)
    for folder in sorted(p for p in out_parent.iterdir() if (p / SERIES_MANIFEST).is_file()):
        try:
            doc = json.loads((folder / SERIES_MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if doc.get("fingerprint") == key and not doc.get("complete") and (not explicit or folder.name == name):
            notify(f"Resuming the unfinished series {folder}: dates already complete are not fetched again.")
            return folder
    candidate, n = name, 2
    while True:
        try:
            (out_parent / candidate).mkdir()
        except FileExistsError:
            candidate, n = f"{name}-{n}", n + 1
            continue
        except OSError as exc:
            raise OutputFolderError(f"Cannot create {out_parent / candidate} ({exc.strerror or exc}).") from exc
        if candidate != name:
            notify(f"{out_parent / name} already exists: this series is written to {out_parent / candidate} instead.")
        return out_parent / candidate


def _complete_run(folder: Path) -> bool:
    try:
        run_folder.load_manifest(folder)
    except run_folder.RunFolderError:
        return False
    return True


def fetch_pair_per_date(
    spec: RequestSpec,
    endpoint_a: Endpoint,
    endpoint_b: Endpoint,
    out_parent: str | Path,
    *,
    options: FetchOptions | None = None,
    run_name: str | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
) -> list[Path]:
    """One run folder per acquisition day listed by *both* catalogs, as ``<out_parent>/<run_name>/<YYYY-MM-DD>/``.

    Parameters as :func:`fetch_pair`. Days only one endpoint lists are skipped (they are written to
    ``<run_name>/skipped_days.json``). Each date is complete or absent (its unfinished tiles wait in a hidden
    partial folder); an error names the date that failed; running the same request again resumes the series
    (complete dates are not fetched again).
    """
    opts = options or FetchOptions()
    out_parent = Path(out_parent)
    _check_writable(out_parent)
    key = request_key(spec, endpoint_a, endpoint_b, opts.max_tile_px)
    common, skipped = _common_days(spec, endpoint_a, endpoint_b, is_cancelled, opts)
    name = run_name or default_run_name(spec, endpoint_a, endpoint_b)
    parent = _series_folder(out_parent, name, key, run_name is not None, opts.notifier())
    partial_run.write_json(parent / SERIES_MANIFEST, {"fingerprint": key, "days": common, "complete": False})
    (parent / "skipped_days.json").write_text(json.dumps(skipped, indent=2) + "\n", "utf-8")
    out: list[Path] = []
    for i, day in enumerate(common):
        if _complete_run(parent / day):
            out.append(parent / day)
            continue

        def day_progress(done: int, total: int, message: str, i: int = i) -> None:
            if progress:
                progress(i * total + done, len(common) * total, f"{common[i]}: {message}")

        try:
            day_spec = spec.for_dates(*_whole_day(day))
            out.append(
                fetch_pair(
                    day_spec,
                    endpoint_a,
                    endpoint_b,
                    parent,
                    options=opts,
                    run_name=day,
                    progress=day_progress,
                    is_cancelled=is_cancelled,
                )
            )
        except S2ParityError as exc:
            done = ", ".join(p.name for p in out) or "none"
            exc.args = (
                f"Date {day} failed: {exc} Dates complete in {parent}: {done}. Run the same request again (same "
                "output folder) to resume the series.",
            )
            raise
    partial_run.write_json(parent / SERIES_MANIFEST, {"fingerprint": key, "days": common, "complete": True})
    return out


def _whole_day(day: str) -> tuple[datetime, datetime]:
    """``YYYY-MM-DD`` → its first and last second, UTC."""
    return datetime.fromisoformat(f"{day}T00:00:00+00:00"), datetime.fromisoformat(f"{day}T23:59:59+00:00")


def _common_days(
    spec: RequestSpec, endpoint_a: Endpoint, endpoint_b: Endpoint, is_cancelled: CancelFn | None, opts: FetchOptions
) -> tuple[list[str], dict[str, list[str]]]:
    """Acquisition days both catalogs list, and the days only one lists (``{"a": [...], "b": [...]}``)."""
    sides = _sides(opts, endpoint_a, endpoint_b)
    pool = cf.ThreadPoolExecutor(2, thread_name_prefix="s2parity-catalog")
    pair = _Pair(sides, {s.key: pool for s in sides}, is_cancelled)
    try:
        pair.connect(spec)
    except Exception as exc:
        pair.sides[0].cancel.set()
        mapped = map_exception(exc, pair.blamed(), opts.timeout_s)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        pair.shutdown()
    days = {s.key: acquisition_days(s.catalog) for s in sides}
    common = sorted(set(days["a"]) & set(days["b"]))
    if not common:
        raise NoAcquisitionsError(
            f"No acquisition day between {spec.date_from:%Y-%m-%d} and {spec.date_to:%Y-%m-%d} is listed by both "
            f"endpoints (A: {len(days['a'])} days, B: {len(days['b'])} days): widen the date range.",
        )
    return common, {k: sorted(set(v) - set(common)) for k, v in days.items()}
