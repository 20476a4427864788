"""Request model: what one request asks for (spec, grid, tiling, SCL classes, evalscripts) and the Sentinel-2 facts
with their sources (``s2facts``), QGIS-free."""
