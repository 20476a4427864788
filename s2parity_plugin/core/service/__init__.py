"""The deployments as services: endpoint profiles and registry, the client session, catalog search, retries,
rate limits, and HTTP failures in words (QGIS-free)."""
