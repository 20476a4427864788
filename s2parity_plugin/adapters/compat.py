"""What differs between the QGIS versions S2 Parity runs on (3.22 LTR … 3.44, QGIS 4 on Qt6), in one place.

- ``QAction`` (and ``QActionGroup``, ``QShortcut``): Qt6 moved them from QtWidgets to QtGui. QGIS ≥ 3.40's
  ``qgis.PyQt.QtGui`` offers them on Qt5 too; QGIS 3.22's does not.
- :func:`qgis_enum`: QGIS moved many enums into ``Qgis`` (``QgsWkbTypes.PolygonGeometry`` →
  ``Qgis.GeometryType.Polygon`` in 3.30, ``QgsProcessing.TypeVectorAnyGeometry`` →
  ``Qgis.ProcessingSourceType.VectorAnyGeometry`` in 3.36, …) and keeps the old names only as aliases, which QGIS 4
  drops; 3.22 has only the old names. scripts/check_qt6.py tells which names need this (finding QT6003).
- :func:`field_type`: a ``QgsField``'s type. QGIS ≥ 3.38 takes a ``QMetaType.Type`` (the ``QVariant.Type``
  overload is deprecated) and PyQt6, hence QGIS 4, has no ``QVariant.Type`` at all; QGIS 3.22 takes only
  ``QVariant.Type`` (finding QT6007).
- :func:`attribute_text`: a missing attribute value arrives as QGIS 3's NULL ``QVariant`` on PyQt5 but as ``None``
  on PyQt6 (QGIS 4).
"""

from __future__ import annotations

import functools
from typing import Any

from qgis.PyQt.QtCore import QMetaType, QVariant

try:
    from qgis.PyQt.QtGui import QAction, QActionGroup, QShortcut
except ImportError:  # QGIS < 3.40 on Qt5: only QtWidgets has them
    from qgis.PyQt.QtWidgets import QAction, QActionGroup, QShortcut

__all__ = ["QAction", "QActionGroup", "QShortcut", "attribute_text", "field_type", "qgis_enum"]


def _resolve(dotted: str) -> Any:
    """The object ``Qgis.GeometryType.Polygon`` names in qgis.core (or qgis.gui), or None when this QGIS lacks it."""
    import qgis.core
    import qgis.gui

    head, *rest = dotted.split(".")
    obj = getattr(qgis.core, head, None)
    if obj is None:
        obj = getattr(qgis.gui, head, None)
    for part in rest:
        obj = getattr(obj, part, None)
    return obj


@functools.cache
def qgis_enum(new: str, old: str) -> Any:
    """The enum member ``new`` (e.g. ``"Qgis.GeometryType.Polygon"``) where this QGIS has it, else ``old``
    (``"QgsWkbTypes.PolygonGeometry"``). Raises AttributeError when neither exists (a typo, not a version gap)."""
    for name in (new, old):
        value = _resolve(name)
        if value is not None:
            return value
    raise AttributeError(f"neither {new} nor {old} exists in this QGIS")


def _qgsfield_takes_metatype() -> bool:
    """Whether this QGIS's ``QgsField`` accepts a ``QMetaType.Type`` (QGIS ≥ 3.38 and QGIS 4; 3.22 refuses it)."""
    from qgis.core import QgsField

    try:
        QgsField("probe", QMetaType.Type.Int)
    except TypeError:
        return False
    return True


@functools.cache
def field_type(name: str) -> Any:
    """What to pass ``QgsField(name, …)`` for the type ``QMetaType.Type.<name>`` (``"QString"``, ``"Int"``,
    ``"Double"``, ``"Bool"``, …): that member where QgsField takes it, else the ``QVariant.Type`` of the same value."""
    member = getattr(QMetaType.Type, name)
    if _qgsfield_takes_metatype():
        return member
    return QVariant.Type(int(member))  # qt6: ok (QGIS 3.22 on PyQt5 only)


NULL_TEXT = "NULL"  # how QGIS shows a missing attribute value


def attribute_text(value: Any) -> str:
    """A feature attribute as text: ``"NULL"`` for a missing value, whether QGIS gives it as a null ``QVariant``
    (QGIS 3, PyQt5) or as ``None`` (PyQt6, QGIS 4); else ``str(value)``."""
    if value is None or (isinstance(value, QVariant) and value.isNull()):
        return NULL_TEXT
    return str(value)


# The moved enum members S2 Parity uses, resolved once for the running QGIS.
NUMBER_DOUBLE = qgis_enum("Qgis.ProcessingNumberParameterType.Double", "QgsProcessingParameterNumber.Double")
NUMBER_INTEGER = qgis_enum("Qgis.ProcessingNumberParameterType.Integer", "QgsProcessingParameterNumber.Integer")
PARAMETER_ADVANCED = qgis_enum("Qgis.ProcessingParameterFlag.Advanced", "QgsProcessingParameterDefinition.FlagAdvanced")
FILE_FOLDER = qgis_enum("Qgis.ProcessingFileParameterBehavior.Folder", "QgsProcessingParameterFile.Folder")
SOURCE_VECTOR_ANY_GEOMETRY = qgis_enum(
    "Qgis.ProcessingSourceType.VectorAnyGeometry", "QgsProcessing.TypeVectorAnyGeometry"
)
GEOMETRY_POLYGON = qgis_enum("Qgis.GeometryType.Polygon", "QgsWkbTypes.PolygonGeometry")
SOURCE_VECTOR_POLYGON = qgis_enum("Qgis.ProcessingSourceType.VectorPolygon", "QgsProcessing.TypeVectorPolygon")
SOURCE_VECTOR = qgis_enum("Qgis.ProcessingSourceType.Vector", "QgsProcessing.TypeVector")
WKB_NO_GEOMETRY = qgis_enum("Qgis.WkbType.NoGeometry", "QgsWkbTypes.NoGeometry")
SHADER_LINEAR = qgis_enum("Qgis.ShaderInterpolationMethod.Linear", "QgsColorRampShader.Interpolated")
LAYER_POLYGON = qgis_enum("Qgis.LayerFilter.PolygonLayer", "QgsMapLayerProxyModel.PolygonLayer")

# QgsField types (QMetaType.Type names), resolved once for the running QGIS.
FIELD_STRING = field_type("QString")
FIELD_INT = field_type("Int")
FIELD_DOUBLE = field_type("Double")
FIELD_BOOL = field_type("Bool")
