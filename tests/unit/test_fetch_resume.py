"""Finished work is kept: resumable partial runs, stale folders after ``kill -9``, atomic names, PER_DATE series."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from shapely.geometry import box

from s2parity_plugin.core.errors import FetchCancelled, ServerError
from s2parity_plugin.core.fetch import partial_run, run_folder
from s2parity_plugin.core.fetch import pipeline as fetch_mod
from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair, fetch_pair_per_date, request_key
from s2parity_plugin.core.model.spec import GridChoice, Preset, build_spec
from s2parity_plugin.core.service.retry import RetryPolicy

sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")

REPO = Path(__file__).resolve().parents[2]
SMALL = box(14.200, 40.800, 14.212, 40.809)  # ~1 km² near Naples (WGS 84)
TILE_PX = 48
FAST = RetryPolicy(deadline_s=60.0, backoff_initial_s=0.02, backoff_max_s=0.2)


def spec_small(date_from: str = "2020-10-04", date_to: str = "2020-10-04"):
    return build_spec(SMALL, 4326, date_from, date_to, preset=Preset(quantity="B04"))


def process_calls(eps, start: int) -> list[tuple]:
    return [r for r in eps.request_log[start:] if r[2].endswith("/process")]


def partials(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.name.startswith(run_folder.PARTIAL_PREFIX))


def assert_same_rasters(run: Path, reference: Path) -> None:
    for rel in ("a/value.tif", "b/value.tif", "a/scl.tif", "b/scl.tif"):
        got, ref = gdal.Open(str(run / rel)), gdal.Open(str(reference / rel))
        assert got.GetGeoTransform() == ref.GetGeoTransform()
        np.testing.assert_array_equal(got.ReadAsArray(), ref.ReadAsArray())


def wait_for_abandoned_requests() -> None:
    """A failed fetch does not wait for requests already on the wire; let them end before counting requests."""
    deadline = time.monotonic() + 60
    while any(t.name.startswith(("s2parity-a", "s2parity-b")) for t in threading.enumerate()):
        assert time.monotonic() < deadline, "download threads still running a minute after the fetch ended"
        time.sleep(0.02)


def fail_tile(monkeypatch, side: str, index: int, exc: Exception) -> None:
    """Make one tile of one side fail for good (the others download normally)."""
    real = fetch_mod._download_tile

    def download(spec, s, tile):
        if s.key == side and tile.index == index:
            raise exc
        return real(spec, s, tile)

    monkeypatch.setattr(fetch_mod, "_download_tile", download)


def test_failed_fetch_keeps_its_tiles_and_the_rerun_fetches_only_the_missing_ones(eps, pair, tmp_path, monkeypatch):
    a, b = pair
    spec = spec_small()
    fail_tile(monkeypatch, "b", 2, ServerError("endpoint 'sample-cdse' failed with HTTP 503 on every retry."))
    with pytest.raises(ServerError) as info:
        fetch_pair(spec, a, b, tmp_path / "runs", options=FetchOptions(max_tile_px=TILE_PX, max_workers=1, retry=FAST))
    [kept] = partials(tmp_path / "runs")
    assert f"are kept in {kept}" in str(info.value) and "run the same request again" in str(info.value)
    manifest = json.loads((kept / partial_run.MANIFEST).read_text())
    done = {side: set(v) for side, v in manifest["done"].items()}
    tiles = manifest["tiles_per_side"]
    assert 2 not in done.get("b", set()) and len(done["a"]) >= 1
    n_done = sum(len(v) for v in done.values())
    assert f"{n_done} of {2 * tiles} tiles" in str(info.value)

    monkeypatch.undo()
    wait_for_abandoned_requests()
    notices: list[str] = []
    start = len(eps.request_log)
    run = fetch_pair(
        spec, a, b, tmp_path / "runs", options=FetchOptions(max_tile_px=TILE_PX, retry=FAST, notify=notices.append)
    )
    assert run.name == kept.name.removeprefix(run_folder.PARTIAL_PREFIX)  # the same run, not a new name
    assert len(process_calls(eps, start)) == 2 * tiles - n_done  # only the missing tiles
    assert any(n.startswith(f"Resuming the unfinished run {kept}") for n in notices)
    assert partials(tmp_path / "runs") == []
    assert sorted(p.name for p in run.iterdir()) == ["a", "b", "run.json"]
    assert run_folder.load_manifest(run)["tiles_resumed"] == n_done
    reference = fetch_pair(spec, a, b, tmp_path / "reference", options=FetchOptions(max_tile_px=TILE_PX))
    assert_same_rasters(run, reference)


def test_cancelled_fetch_is_resumable(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("sh", latency_s=0.3)
    eps.set_faults("cdse", latency_s=0.3)
    cancel = threading.Event()

    def progress(done, total, message):
        if done >= 2:
            cancel.set()

    with pytest.raises(FetchCancelled, match=r"cancelled. .* tiles are kept in"):
        fetch_pair(
            spec_small(),
            a,
            b,
            tmp_path,
            progress=progress,
            is_cancelled=cancel.is_set,
            options=FetchOptions(max_tile_px=TILE_PX),
        )
    [kept] = partials(tmp_path)
    assert not list(kept.rglob("*.tif"))
    eps.clear_faults()
    run = fetch_pair(spec_small(), a, b, tmp_path, options=FetchOptions(max_tile_px=TILE_PX))
    assert run_folder.load_manifest(run)["tiles_resumed"] >= 2 and partials(tmp_path) == []


KILLED_FETCH = """
import json, sys
from shapely.geometry import box
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint
from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair
from s2parity_plugin.core.model.spec import GridChoice, Preset, build_spec
info, out = json.loads(sys.argv[1]), sys.argv[2]
ep = lambda pid, k: Endpoint(pid, info[k]["base_url"], info[k]["token_url"],
                             Credentials(info[k]["client_id"], info[k]["client_secret"]))
spec = build_spec(box(14.200, 40.800, 14.212, 40.809), 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04"))
options = FetchOptions(max_tile_px=48, max_workers=1)
fetch_pair(spec, ep("sample-sh", "sh"), ep("sample-cdse", "cdse"), out, options=options)
"""


def test_stale_partial_after_kill_9_is_found_reported_and_resumed(eps, pair, tmp_path):
    a, b = pair
    for dep in ("sh", "cdse"):
        eps.set_faults(dep, latency_s=0.2)
    out = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_FETCH, json.dumps(eps.info), str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait (not a timing assertion) until it has kept a few tiles
            found = partials(out) if out.is_dir() else []
            if found and sum(len(v) for v in json.loads((found[0] / "partial.json").read_text())["done"].values()) >= 3:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [stale] = partials(out)
    eps.clear_faults()

    other = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="B08"))
    notices: list[str] = []
    fetch_pair(
        other, a, b, out, options=FetchOptions(max_tile_px=TILE_PX, notify=notices.append)
    )  # another request: reported, kept
    assert any(f"Found an unfinished run in {stale}" in n and "for another request" in n for n in notices)
    assert partials(out) == [stale]

    notices.clear()
    wait_for_abandoned_requests()
    start = len(eps.request_log)
    run = fetch_pair(spec_small(), a, b, out, options=FetchOptions(max_tile_px=TILE_PX, notify=notices.append))
    done = run_folder.load_manifest(run)["tiles_resumed"]
    assert done >= 3 and any(n.startswith(f"Resuming the unfinished run {stale}") for n in notices)
    assert len(process_calls(eps, start)) == 2 * run_folder.load_manifest(run)["tiles"] - done
    assert partials(out) == []


def test_a_folder_of_an_older_version_is_removed_and_reported(pair, tmp_path):
    a, b = pair
    legacy = tmp_path / f"{run_folder.PARTIAL_PREFIX}20201004_old"
    (legacy / "a").mkdir(parents=True)
    (legacy / "a" / "value.tif").write_bytes(b"half a tiff")
    notices: list[str] = []
    fetch_pair(spec_small(), a, b, tmp_path, options=FetchOptions(notify=notices.append))
    assert not legacy.exists()
    assert any(n.startswith(f"Removed {legacy}") for n in notices)


def test_a_taken_name_is_never_silently_replaced(pair, tmp_path):
    a, b = pair
    notices: list[str] = []
    first = fetch_pair(spec_small(), a, b, tmp_path, run_name="same")
    second = fetch_pair(spec_small(), a, b, tmp_path, run_name="same", options=FetchOptions(notify=notices.append))
    assert (first.name, second.name) == ("same", "same-2")
    assert notices == [f"{tmp_path / 'same'} already exists: this run is written to {tmp_path / 'same-2'} instead."]
    assert run_folder.load_manifest(first) and run_folder.load_manifest(second)


def test_names_are_reserved_atomically(tmp_path):
    """Eight runs reserving the same name at the same moment get eight different folders, none shared."""
    barrier = threading.Barrier(8)
    runs: list[partial_run.PartialRun] = []
    lock = threading.Lock()

    def reserve():
        barrier.wait()
        run = partial_run.reserve(tmp_path, "same", "key", 4, lambda text: None, explicit_name=True)
        with lock:
            runs.append(run)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(r.name for r in runs)
    assert names == sorted(["same", *(f"same-{n}" for n in range(2, 9))])
    for run in runs:  # each is its own, locked: a scan by another run leaves it alone
        assert partial_run.scan(tmp_path, "key", run.name, lambda text: None) is None
        run.release()
    assert partial_run.scan(tmp_path, "key", "same", lambda text: None).name == "same"


def test_a_live_partial_run_is_left_alone(pair, tmp_path):
    """A partial folder whose writer is alive (lock held) is neither resumed nor removed by another run."""
    a, b = pair
    spec = spec_small()
    key = request_key(spec, a, b, TILE_PX)
    live = partial_run.reserve(tmp_path, "busy", key, 4, lambda text: None)
    try:
        run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=TILE_PX))
        assert run.name != "busy" and live.path.is_dir()
    finally:
        live.discard()


def test_per_date_failure_names_the_date_and_the_rerun_resumes_the_series(eps, pair, tmp_path, monkeypatch):
    a, b = pair
    spec = build_spec(
        SMALL, 4326, "2020-10-01", "2020-10-10", preset=Preset(quantity="B04"), grid=GridChoice(resolution_m=20)
    )
    real = fetch_mod._download_tile

    def fail_second_date(spec_day, side, tile):
        if spec_day.date_from.day == 9 and side.key == "b":
            raise ServerError("endpoint 'sample-cdse' failed with HTTP 503 on every retry.")
        return real(spec_day, side, tile)

    monkeypatch.setattr(fetch_mod, "_download_tile", fail_second_date)
    with pytest.raises(
        ServerError, match=r"^Date 2020-10-09 failed: .*Dates complete in .*: 2020-10-02, 2020-10-04, 2020-10-07\."
    ):
        fetch_pair_per_date(spec, a, b, tmp_path, options=FetchOptions(retry=FAST))
    [series] = [p for p in tmp_path.iterdir() if p.is_dir()]
    visible = sorted(p.name for p in series.iterdir() if not p.name.startswith("."))
    done = ["2020-10-02", "2020-10-04", "2020-10-07"]  # the sample pair's acquisitions before the failing date
    assert visible == [*done, "series.json", "skipped_days.json"]  # the failed date is absent
    monkeypatch.undo()
    wait_for_abandoned_requests()
    start = len(eps.request_log)
    runs = fetch_pair_per_date(spec, a, b, tmp_path, options=FetchOptions(retry=FAST))
    assert [r.parent for r in runs] == [series] * 4 and [r.name for r in runs] == [*done, "2020-10-09"]
    assert len(process_calls(eps, start)) == 2  # only 2020-10-09, one tile per side
    assert json.loads((series / "series.json").read_text())["complete"] is True
    assert [p.name for p in tmp_path.iterdir()] == [series.name]
