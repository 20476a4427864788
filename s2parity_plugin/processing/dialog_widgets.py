"""Dialog widgets for the parameters of ``s2parity:fetchpair`` / ``compareendpoints`` in QGIS's algorithm dialog:
dates as date pickers, the preset as a drop-down, credentials as auth-config selectors.

The parameters stay strings (``qgis_process``, models and scripts pass the same values as before); only the
standard dialog shows richer widgets, named by dotted class path so this module imports no GUI code.
"""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm

WRAPPERS = "s2parity_plugin.gui.processing_widgets"
WIDGETS = {
    "DATE_FROM": "DateWrapper",
    "DATE_TO": "DateWrapper",
    "PRESET": "PresetWrapper",
    "AUTH_A": "AuthConfigWrapper",
    "AUTH_B": "AuthConfigWrapper",
}


def apply_dialog_widgets(alg: QgsProcessingAlgorithm) -> None:
    """Attach the S2 Parity widget wrappers to the parameters of ``alg`` that have one."""
    for name, wrapper in WIDGETS.items():
        param = alg.parameterDefinition(name)
        if param is not None:
            metadata = dict(param.metadata())
            metadata["widget_wrapper"] = {"class": f"{WRAPPERS}.{wrapper}"}
            param.setMetadata(metadata)
