"""The ``s2parity`` Processing provider: every action of the dock is one of its algorithms."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

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
        for alg in algorithms():
            self.addAlgorithm(alg)


def algorithms() -> list:
    """New instances of every S2 Parity algorithm."""
    from s2parity_plugin.processing.compare_endpoints import CompareEndpointsAlgorithm
    from s2parity_plugin.processing.compare_rasters import CompareRastersAlgorithm
    from s2parity_plugin.processing.export_comparison import ExportComparisonAlgorithm
    from s2parity_plugin.processing.fetch_pair import FetchPairAlgorithm

    return [
        CompareEndpointsAlgorithm(),
        CompareRastersAlgorithm(),
        ExportComparisonAlgorithm(),
        FetchPairAlgorithm(),
    ]
