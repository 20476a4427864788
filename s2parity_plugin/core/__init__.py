"""QGIS-free core: requests, fetching, comparison, diagnosis and reports (numpy, GDAL, sentinelhub only)."""
