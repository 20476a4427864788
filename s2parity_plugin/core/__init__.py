"""QGIS-free core (numpy, GDAL, sentinelhub only). Data flows one way, one subpackage per step:

``model`` (what is asked, Sentinel-2 facts) → ``service`` (the two deployments) → ``fetch`` (run folder) →
``compare`` (pixels) → ``diagnosis`` (why) → ``report`` (documents); ``statistics`` and ``archive`` are the two
other flows on the same model and service. ``errors`` and ``gdal_scope`` are shared by all of them.
"""
