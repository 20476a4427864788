"""No debris in ``<run>/compare``: a killed comparison's temporary files go, a full disk is a clear message."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from shapely.geometry import box

from s2parity_plugin.core.compare import engine as compare_mod
from s2parity_plugin.core.compare import writing
from s2parity_plugin.core.compare.output import guarded, remove_stale_partials
from s2parity_plugin.core.errors import OutputFolderError

sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from s2parity_plugin.core.fetch.pipeline import fetch_pair
    from s2parity_plugin.core.model.spec import Preset, build_spec
    from s2parity_plugin.core.service.endpoints import resolve_endpoint
    from s2parity_plugin.sample_endpoints import profiles

    profiles.register()  # module scope: before the per-test autouse registration
    spec = build_spec(
        box(14.200, 40.800, 14.206, 40.805), 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04")
    )
    out = tmp_path_factory.mktemp("runs")
    return fetch_pair(spec, resolve_endpoint("sample-sh"), resolve_endpoint("sample-cdse"), out, run_name="run")


def test_a_killed_comparisons_temporary_files_are_removed_by_the_next(run_dir):
    out = run_dir / "compare"
    out.mkdir(exist_ok=True)
    stale = [out / ".difference.0badf00d.partial.tif", out / ".difference.0badf00d.partial.tif.aux.xml",
             out / ".report.0badf00d.partial.json", out / ".report.json.tmp"]  # fmt: skip
    for path in stale:
        path.write_bytes(b"left by a killed comparison")
    with guarded(out):
        compare_mod.compare_run_folder(run_dir, out_dir=out)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names
    assert "difference.tif" in names and json.loads((out / "report.json").read_text())["stats"]["n"] > 0


def test_full_disk_is_a_clear_message_and_leaves_no_compare_folder(run_dir, monkeypatch):
    out = run_dir / "compare-full-disk"

    def disk_full(*args, **kwargs):
        raise RuntimeError("TIFFAppendToStrip:Write error at scanline 12: No space left on device")

    monkeypatch.setattr(writing, "create_raster", disk_full)
    full = r"is full: the comparison could not be written\. Free some disk"
    with pytest.raises(OutputFolderError, match=full), guarded(out):
        compare_mod.compare_run_folder(run_dir, out_dir=out)
    assert not out.exists()
    assert (run_dir / "a" / "value.tif").is_file()  # the fetched rasters are kept


def test_enospc_oserror_and_other_failures(tmp_path):
    out = tmp_path / "compare"
    with pytest.raises(OutputFolderError, match="is full"), guarded(out):
        out.mkdir()
        raise OSError(errno.ENOSPC, "No space left on device")
    assert not out.exists()
    with pytest.raises(OutputFolderError, match="could not be completed"), guarded(out):
        out.mkdir()
        raise RuntimeError("TIFFReadEncodedTile: read error")
    assert not out.exists()
    out.mkdir()
    (out / "difference.tif").write_bytes(b"an earlier, complete output")
    with pytest.raises(OutputFolderError), guarded(out):
        raise OSError(errno.EIO, "I/O error")
    assert (out / "difference.tif").is_file()  # a folder that existed before is never removed
    assert remove_stale_partials(tmp_path / "missing") == []


def test_every_pixel_masked_says_nothing_to_compare(run_dir, tmp_path):
    every_class = compare_mod.CompareOptions(invalid_classes=",".join(str(c) for c in range(12)))
    result = compare_mod.compare_run_folder(run_dir, out_dir=tmp_path / "all-masked", options=every_class)
    assert result.report["stats"]["n"] == 0
    explanation = result.report["diagnosis"]["explanation"]
    assert "Nothing to compare" in explanation and "agree everywhere" not in explanation


def test_scl_values_outside_0_to_11_are_counted_and_reported(run_dir, tmp_path):
    import shutil

    from osgeo import gdal

    from s2parity_plugin.core.compare.scl_check import annotate
    from s2parity_plugin.core.diagnosis.explain import check_claims

    run = tmp_path / "odd-scl"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("compare*"))
    ds = gdal.Open(str(run / "a" / "scl.tif"), gdal.GA_Update)
    band = ds.GetRasterBand(1)
    scl = band.ReadAsArray()
    scl[0, :5] = 12
    scl[1, :3] = 255
    band.WriteArray(scl)
    ds = None
    result = compare_mod.compare_run_folder(run, out_dir=run / "compare")
    sentence = annotate(result.report, run / "a" / "scl.tif", run / "b" / "scl.tif")
    counts = result.report["scl"]["out_of_range"]
    assert counts["a"] == {"pixels": 8, "values": {"12": 5, "255": 3}}
    assert counts["b"] == {"pixels": 0, "values": {}}
    assert sentence == (
        "SCL A has 8 pixels with values outside the classes 0–11 (12, 255): they are no scene class and were "
        "treated as no data."
    )
    assert result.report["diagnosis"]["explanation"].endswith(sentence)
    assert check_claims(result.report) == []
