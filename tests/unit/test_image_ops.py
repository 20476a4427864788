"""The numpy fallbacks of core.image_ops give what scipy.ndimage gives (a QGIS without scipy, same results)."""

from __future__ import annotations

import numpy as np
import pytest

from s2parity_plugin.core.compare import image_ops

ndimage = pytest.importorskip("scipy.ndimage")


@pytest.fixture
def numpy_only(monkeypatch):
    monkeypatch.setattr(image_ops, "_NDIMAGE", None)


@pytest.fixture(scope="module")
def field() -> np.ndarray:
    rng = np.random.default_rng(13)
    return rng.normal(1000.0, 300.0, (61, 47)).cumsum(axis=1)


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.random((40, 33)) > 0.8


def test_spline_coefficients_match_scipy(field, numpy_only):
    expected = ndimage.spline_filter(field, order=3, mode="mirror")
    np.testing.assert_allclose(image_ops.spline_coefficients(field), expected, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("mode", ["mirror", "nearest"])
@pytest.mark.parametrize("shift", [(0.3, -1.7), (-2.25, 0.5), (0.0, 0.0), (3.0, -2.0)])
def test_shift_cubic_matches_scipy(field, numpy_only, mode, shift):
    expected = ndimage.shift(field, shift, order=3, mode=mode)
    got = image_ops.shift_cubic(field, *shift, mode=mode)
    # identical away from the edges; at the edges scipy's boundary handling differs by ≈ 1e-7 of the range
    np.testing.assert_allclose(got[4:-4, 4:-4], expected[4:-4, 4:-4], rtol=0, atol=1e-8 * np.ptp(field))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.ptp(field))


@pytest.mark.parametrize("shift", [(0.3, -1.7), (-2.25, 0.5), (0.0, 0.0), (1.0, -0.4)])
def test_shift_touches_matches_scipy(mask, numpy_only, shift):
    expected = ndimage.shift(mask.astype(np.float32), shift, order=1, mode="constant", cval=1.0) > 0
    np.testing.assert_array_equal(image_ops.shift_touches(mask, *shift), expected)


@pytest.mark.parametrize("iterations", [1, 3])
def test_cross_morphology_matches_scipy(mask, numpy_only, iterations):
    np.testing.assert_array_equal(
        image_ops.dilate_cross(mask, iterations), ndimage.binary_dilation(mask, iterations=iterations)
    )
    np.testing.assert_array_equal(
        image_ops.erode_cross(~mask, iterations), ndimage.binary_erosion(~mask, iterations=iterations, border_value=1)
    )


@pytest.mark.parametrize("radius", [1, 3, 4])
def test_square_dilation_matches_scipy(mask, radius):
    expected = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool), iterations=radius)
    np.testing.assert_array_equal(image_ops.dilate_square(mask.copy(), radius), expected)


def test_near_edges_marks_both_sides_of_a_boundary():
    labels = np.zeros((5, 6), np.uint8)
    labels[1:3, 2:4] = 1
    edges = image_ops.near_edges(labels)
    expected = ndimage.binary_dilation(labels == 1) & ~ndimage.binary_erosion(labels == 1)
    np.testing.assert_array_equal(edges, expected)
