"""The comparison as documents: the report (JSON, CSV, HTML), exports, the A-vs-B density, zonal statistics and
display samples (QGIS-free)."""
