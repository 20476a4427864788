"""Fetching one request from two endpoints into an aligned, resumable run folder: pipeline, mosaic, run folder,
partial runs (QGIS-free, blocking)."""
