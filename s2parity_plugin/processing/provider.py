"""The ``s2parity`` Processing provider: every action of the dock is one of its algorithms."""

from __future__ import annotations

import importlib

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from s2parity_plugin.adapters.packages import plugin_packages_prefix
from s2parity_plugin.dependencies import missing_dependencies_message
from s2parity_plugin.paths import icon_path

PROVIDER_ID = "s2parity"


class S2ParityProvider(QgsProcessingProvider):
    """Provider ``s2parity``; algorithms are listed in :func:`algorithms`."""

    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return "S2 Parity"

    def longName(self) -> str:
        return "S2 Parity — Sentinel Hub vs CDSE comparison"

    def icon(self) -> QIcon:
        return QIcon(icon_path())

    def svgIconPath(self) -> str:
        return icon_path()

    def loadAlgorithms(self) -> None:
        register_optional_profiles()  # before the algorithms list the endpoint profiles
        for alg in algorithms():
            self.addAlgorithm(alg)


#: (module, class) of every algorithm; imported lazily so one missing runtime package (e.g. sentinelhub) only
#: hides the algorithms that need it instead of breaking the provider (and QGIS start-up with it).
ALGORITHMS = (
    ("s2parity_plugin.processing.compare_catalogs", "CompareCatalogsAlgorithm"),
    ("s2parity_plugin.processing.compare_endpoints", "CompareEndpointsAlgorithm"),
    ("s2parity_plugin.processing.compare_rasters", "CompareRastersAlgorithm"),
    ("s2parity_plugin.processing.compare_statistics", "CompareStatisticsAlgorithm"),
    ("s2parity_plugin.processing.export_comparison", "ExportComparisonAlgorithm"),
    ("s2parity_plugin.processing.fetch_pair", "FetchPairAlgorithm"),
)


def register_optional_profiles() -> bool:
    """Register the offline sample pair's endpoint profiles when that optional package and mini-racer are there."""
    try:
        from s2parity_plugin.sample_endpoints import profiles
    except ImportError:  # a build without the sample package
        return False
    return profiles.register()


def unregister_optional_profiles() -> None:
    """Stop the sample pair if it runs and remove its profiles (the plugin's ``unload``)."""
    try:
        from s2parity_plugin.sample_endpoints import profiles
    except ImportError:
        return
    profiles.stop_sample_endpoints()
    profiles.unregister()


def algorithms() -> list:
    """New instances of every S2 Parity algorithm whose runtime packages are installed."""
    found = []
    for module_name, class_name in ALGORITHMS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            fix = missing_dependencies_message(prefix=plugin_packages_prefix()) or ""
            QgsMessageLog.logMessage(
                f"{module_name.rsplit('.', 1)[-1]} is unavailable: {exc}. {fix}",
                "S2 Parity",
                Qgis.MessageLevel.Warning,
            )
            continue
        found.append(getattr(module, class_name)())
    return found
