"""Common base of the S2 Parity Processing algorithms: naming, group, icon, help and instantiation; the endpoint
and credential parameters of the algorithms that talk to two endpoints."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingParameterEnum,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtGui import QIcon

from s2parity_plugin.i18n import tr
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

    def optional_double(self, parameters: dict, name: str, context: QgsProcessingContext) -> float | None:
        """The number parameter ``name``, or ``None`` when it was left empty (not given or ``""``)."""
        value = parameters.get(name)
        if value is None or value == "":
            return None
        return self.parameterAsDouble(parameters, name, context)


#: ``(side, default profile)`` of the two endpoints every fetch/compare algorithm asks for.
ENDPOINT_SIDES = (("A", "sentinelhub"), ("B", "cdse"))


class EndpointPairAlgorithm(S2ParityAlgorithm):
    """Base of the algorithms that talk to endpoint A and endpoint B: their profile and credential parameters
    (``ENDPOINT_A``/``ENDPOINT_B``, ``AUTH_A``/``AUTH_B``) and what :meth:`prepareAlgorithm` resolved in the main
    thread for :meth:`processAlgorithm` (``self._prepared``)."""

    ENDPOINT_A = "ENDPOINT_A"
    ENDPOINT_B = "ENDPOINT_B"
    AUTH_A = "AUTH_A"
    AUTH_B = "AUTH_B"

    def __init__(self) -> None:
        super().__init__()
        self._prepared: dict[str, Any] = {}

    def add_endpoint_parameters(self) -> None:
        """Add ``ENDPOINT_A``/``ENDPOINT_B`` (profile drop-downs, every registered profile) and ``AUTH_A``/``AUTH_B``
        (optional credential references), in that order."""
        from s2parity_plugin.core.service.endpoints import profile_ids  # needs sentinelhub

        profiles = list(profile_ids())
        for side, default in ENDPOINT_SIDES:
            self.addParameter(
                QgsProcessingParameterEnum(
                    f"ENDPOINT_{side}", tr("Endpoint {}").format(side), profiles, False, default, usesStaticStrings=True
                )
            )
        for side, _default in ENDPOINT_SIDES:
            label = tr("Credentials {} (auth config id or sentinelhub profile)").format(side)
            self.addParameter(QgsProcessingParameterString(f"AUTH_{side}", label, "", False, True))

    def endpoint_choice(self, parameters: dict, context: QgsProcessingContext, side: str) -> tuple[str, str]:
        """``(profile id, credential reference)`` chosen for ``side`` (``"A"`` or ``"B"``)."""
        profile = self.parameterAsEnumString(parameters, f"ENDPOINT_{side}", context)
        return profile, self.parameterAsString(parameters, f"AUTH_{side}", context)

    def resolve_side(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        side: str,
        urls: tuple[str | None, str | None] = (None, None),
    ) -> Any:
        """The core :class:`Endpoint` of ``side``: its profile with the credentials its
        ``AUTH_<side>`` names (QGIS auth config or sentinelhub-py profile); ``urls`` = ``(base URL, token URL)`` of a
        custom deployment. Main thread only (it reads the authentication manager)."""
        from s2parity_plugin.adapters.auth import resolve_credentials
        from s2parity_plugin.core.service.endpoints import resolve_endpoint

        profile, reference = self.endpoint_choice(parameters, context, side)
        return resolve_endpoint(profile, resolve_credentials(reference), base_url=urls[0], token_url=urls[1])
