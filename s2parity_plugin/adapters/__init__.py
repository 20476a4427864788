"""Adapters between QGIS objects and the core: AOI layers → WKT/CRS, the Authentication Manager → credentials,
run folders → styled layers, Qt5/Qt6 and QGIS enum compatibility, and the plugin's own package folder."""
