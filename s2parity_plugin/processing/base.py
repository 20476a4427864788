"""Common base of the S2 Parity Processing algorithms: naming, group, icon, help and instantiation."""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtGui import QIcon

from s2parity_plugin.paths import icon_path


class S2ParityAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set ``NAME``, ``DISPLAY_NAME``, ``GROUP`` (shown) and ``HELP``; the group id is ``GROUP`` in
    lower case. ``createInstance`` makes a new object of the subclass."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    HELP = ""

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:
        return self.DISPLAY_NAME

    def group(self) -> str:
        return self.GROUP

    def groupId(self) -> str:
        return self.GROUP.lower()

    def icon(self) -> QIcon:
        return QIcon(icon_path())

    def shortHelpString(self) -> str:
        return self.HELP

    def createInstance(self) -> S2ParityAlgorithm:
        return type(self)()
