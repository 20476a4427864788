"""Sub-pixel shift: exact synthetic shifts of real Sentinel-2 imagery, sign convention, low-confidence cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr
from scipy import ndimage

from s2parity_plugin.core.compare import estimate_shift_files
from s2parity_plugin.core.compare.shift import apply_shift, estimate_shift, phase_correlation

REAL_IMAGES = {
    "T29RKH_B04_100m_N0214": ("s2l2a_T29RKH_20200219_N0214_decimated/B04.tif", 1),
    "T29RKH_B08_100m_N0214": ("s2l2a_T29RKH_20200219_N0214_decimated/B08.tif", 1),
    "T21JUK_B04_10m_N0510": ("s2l2a_T21JUK_20231217_N0510_crop/20231217.tif", 4),
    "manila_B04_10m_SH": (
        "sentinelhub_process_api_outputs/sh_L2A_12bands_SCL_DN_T51P_manila_2023-11_to_2024-01.tif",
        4,
    ),
    "durban_B04_10m_SH": ("sentinelhub_process_api_outputs/sh_L2A_12bands_DN_durban_20190424.tif", 4),
}
SHIFTS = [(0.3, -0.7), (1.63, 0.41), (-1.37, -1.12), (-0.05, 1.95), (0.12, 0.02), (-2.0, 0.0)]
MARGIN = 48


def load(shared: Path, key: str) -> np.ndarray:
    rel, band = REAL_IMAGES[key]
    ds = gdal.Open(str(shared / rel))
    arr = ds.GetRasterBand(band).ReadAsArray().astype(np.float64)
    ds = None
    return arr


def fourier_pair(img: np.ndarray, dx: float, dy: float, margin: int = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """A = crop of ``img``; B = the same crop of ``img`` moved by exactly (dx, dy) px (Fourier shift of the whole
    image, so B(x + d) = A(x) for band-limited content; the crop keeps away from the wrap-around edges)."""
    moved = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(img), (dy, dx))))
    sl = (slice(margin, -margin), slice(margin, -margin))
    return img[sl], moved[sl]


@pytest.mark.parametrize("image", sorted(REAL_IMAGES))
def test_recovers_exact_shift_on_real_imagery(shared_data, image):
    img = load(shared_data, image)
    errors = []
    for dx, dy in SHIFTS:
        a, b = fourier_pair(img, dx, dy)
        # a radiometric offset and gain (e.g. BOA_ADD_OFFSET) must not matter
        est = estimate_shift(a, 1.02 * b + 1000.0, pixel_size_m=(10.0, 10.0))
        assert est.confident, (image, dx, dy, est.note)
        err = float(np.hypot(est.dx_px - dx, est.dy_px - dy))
        errors.append(err)
        assert err <= 0.05, (image, dx, dy, est.dx_px, est.dy_px)
        assert est.dx_m == pytest.approx(10 * est.dx_px) and est.dy_m == pytest.approx(10 * est.dy_px)
        assert est.magnitude_m == pytest.approx(10 * np.hypot(est.dx_px, est.dy_px))
        assert 0.5 <= est.quality <= 1.0
    assert max(errors) > 0  # a real estimate, not the truth echoed back


def test_zero_shift_is_zero(shared_data):
    img = load(shared_data, "manila_B04_10m_SH")
    est = estimate_shift(img, img.copy())
    assert est.confident
    assert abs(est.dx_px) < 1e-3 and abs(est.dy_px) < 1e-3


def test_sign_convention_feature_moves_right_and_down():
    """A feature at A(x, y) appears at B(x + dx, y + dy): dx > 0 east (right), dy > 0 south (down)."""
    yy, xx = np.mgrid[0:200, 0:200].astype(float)
    rng = np.random.default_rng(0)
    centres = rng.uniform(20, 180, (60, 2))

    def scene(ox: float, oy: float) -> np.ndarray:
        out = np.zeros((200, 200))
        for cy, cx in centres:
            out += np.exp(-((xx - cx - ox) ** 2 + (yy - cy - oy) ** 2) / (2 * 3.0**2))
        return out

    a, b = scene(0, 0), scene(1.25, 0.5)  # B: every blob 1.25 px right and 0.5 px down
    est = estimate_shift(a, b)
    assert est.dx_px == pytest.approx(1.25, abs=0.02)
    assert est.dy_px == pytest.approx(0.5, abs=0.02)
    dx, dy, peak = phase_correlation(a, b)
    assert dx == pytest.approx(1.25, abs=0.1) and dy == pytest.approx(0.5, abs=0.1) and peak > 0.1
    # apply_shift undoes it: B(x + d) ≈ A(x)
    back = apply_shift(b, est.dx_px, est.dy_px)
    assert np.abs(back - a)[10:-10, 10:-10].max() < 0.02 * a.max()


def _wave_field(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sum of 12 plane waves (wavelengths 8–300 px, random directions); exact at sub-pixel positions."""
    out = np.zeros(np.broadcast(x, y).shape)
    for length, angle, phase in zip(
        np.exp(rng.uniform(np.log(8), np.log(300), 12)), rng.uniform(0, np.pi, 12), rng.uniform(0, 2 * np.pi, 12)
    ):
        k = 2 * np.pi / length
        out += 300 * np.sqrt(length / 300) * np.sin(k * np.cos(angle) * x + k * np.sin(angle) * y + phase)
    return out


@pytest.mark.parametrize("shift", [(0.37, -0.61), (1.4, 0.8)])
def test_band_limited_texture_with_independent_noise(shift):
    """Texture in a few frequencies and independent noise in all the others (the bench tile's kind of scene):
    pure phase correlation lost the peak there (most windows rejected, not confident); the whitened-by-√|cross|
    correlation keeps it."""
    rng = np.random.default_rng(5)
    waves = np.random.default_rng(9)
    y, x = np.mgrid[0:768, 0:768].astype(np.float64)
    a = _wave_field(x, y, waves) + rng.normal(0, 15, x.shape)
    waves = np.random.default_rng(9)
    b = _wave_field(x - shift[0], y - shift[1], waves) + 1000 + rng.normal(0, 15, x.shape)
    est = estimate_shift(a, b)
    assert est.confident, est.note
    assert est.n_accepted >= 6
    assert abs(est.dx_px - shift[0]) < 0.02 and abs(est.dy_px - shift[1]) < 0.02


def test_featureless_scene_is_not_confident():
    rng = np.random.default_rng(1)
    a = 1000 + rng.normal(0, 5, (300, 300))
    b = 1000 + rng.normal(0, 5, (300, 300))  # independent noise: there is no shift to find
    est = estimate_shift(a, b)
    assert est.confident is False
    assert est.quality < 0.5


def test_constant_scene_gives_no_number():
    est = estimate_shift(np.full((200, 200), 3.0), np.full((200, 200), 3.0))
    assert est.confident is False and est.dx_px is None


def test_unrelated_scenes_are_not_confident(shared_data):
    a = load(shared_data, "manila_B04_10m_SH")[:400, :400]
    b = load(shared_data, "durban_B04_10m_SH")[:400, :400]
    est = estimate_shift(a, b)
    assert est.confident is False


@pytest.mark.parametrize("cloud_share", [0.9, 0.97])
def test_mostly_cloud_scene_is_not_confidently_wrong(shared_data, cloud_share):
    """Flat, saturated cloud over most of the scene. The geolocation shift moves clouds and ground alike, so B is
    the clouded A moved by (dx, dy); estimated with and without an SCL-like validity mask."""
    img = load(shared_data, "T29RKH_B04_100m_N0214")
    dx, dy = 0.8, -0.35
    rng = np.random.default_rng(2)
    field = ndimage.gaussian_filter(rng.normal(size=img.shape), 25)
    cloud = field > np.quantile(field, 1 - cloud_share)
    a, b = fourier_pair(np.where(cloud, 12000.0, img), dx, dy)
    valid = ~cloud[MARGIN:-MARGIN, MARGIN:-MARGIN]
    a = a + rng.normal(0, 3, a.shape)
    b = b + rng.normal(0, 3, a.shape)
    results = []
    for mask in (None, valid):
        est = estimate_shift(a, b, valid=mask)
        results.append(est.confident)
        if est.confident:  # only allowed when it is right
            assert np.hypot(est.dx_px - dx, est.dy_px - dy) <= 0.05, (cloud_share, est)
        else:
            assert est.quality < 0.5 or est.n_accepted < 3 or (est.spread_px or 0) > 0.1


def test_cloud_that_does_not_move_is_not_a_confident_ground_shift(shared_data):
    """Ground moved but identical flat clouds did not (inconsistent layers): with the clouds masked as invalid
    (SCL), the estimate follows the ground or is not confident."""
    img = load(shared_data, "T29RKH_B04_100m_N0214")
    dx, dy = 0.8, -0.35
    a, b = fourier_pair(img, dx, dy)
    rng = np.random.default_rng(3)
    field = ndimage.gaussian_filter(rng.normal(size=a.shape), 25)
    cloud = field > np.quantile(field, 0.3)  # 70 % cloud
    a_c = np.where(cloud, 12000.0, a)
    b_c = np.where(cloud, 12000.0, b)
    est = estimate_shift(a_c, b_c, valid=~cloud)
    if est.confident:
        assert np.hypot(est.dx_px - dx, est.dy_px - dy) <= 0.05, est
    else:
        assert est.quality < 0.5


def test_fully_clouded_scene_with_scl_mask_has_no_estimate(shared_data):
    img = load(shared_data, "manila_B04_10m_SH")
    est = estimate_shift(img, img, valid=np.zeros(img.shape, bool))
    assert est.confident is False and est.dx_px is None
    assert "valid" in est.note


def test_small_raster_note():
    est = estimate_shift(np.zeros((40, 40)), np.zeros((40, 40)))
    assert est.dx_px is None and "too small" in est.note


def test_estimate_from_files_reads_windows(tmp_path, shared_data):
    img = load(shared_data, "T29RKH_B04_100m_N0214")
    a, b = fourier_pair(img, -0.42, 0.77)
    paths = []
    for name, arr in (("a.tif", a), ("b.tif", b)):
        ds = gdal.GetDriverByName("GTiff").Create(str(tmp_path / name), arr.shape[1], arr.shape[0], 1, gdal.GDT_Float32)
        ds.SetGeoTransform((199980.0, 100.0, 0.0, 2800020.0, 0.0, -100.0))
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32629)
        ds.SetProjection(srs.ExportToWkt())
        ds.GetRasterBand(1).WriteArray(arr.astype(np.float32))
        ds = None
        paths.append(tmp_path / name)
    est = estimate_shift_files(*paths)
    assert est.confident
    assert est.dx_px == pytest.approx(-0.42, abs=0.05) and est.dy_px == pytest.approx(0.77, abs=0.05)
    assert est.dx_m == pytest.approx(100 * est.dx_px) and est.pixel_size_m == (100.0, 100.0)
    d = est.to_dict()
    assert set(d) >= {"dx_px", "dy_px", "dx_m", "dy_m", "magnitude_m", "quality", "confident", "method"}
