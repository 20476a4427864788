"""adapters/compat.py on the running QGIS (3.22 on the host, 3.40 / 3.44 in the matrix chroots)."""

from __future__ import annotations

import warnings

import pytest
from qgis.core import QgsFeature, QgsField, QgsVectorLayer

from s2parity_plugin.adapters.compat import (
    FIELD_BOOL,
    FIELD_DOUBLE,
    FIELD_INT,
    FIELD_STRING,
    attribute_text,
    field_type,
)

VALUES = {"name": "T33TVF", "count": 7, "share": 0.25, "flag": True}
TYPES = {"name": FIELD_STRING, "count": FIELD_INT, "share": FIELD_DOUBLE, "flag": FIELD_BOOL}


def test_field_types_are_accepted_without_deprecation_and_keep_their_values():
    """QGIS ≥ 3.38 deprecates QgsField(name, QVariant.Type) and PyQt6 has no QVariant.Type; 3.22 refuses the
    QMetaType one. The FIELD_* types build fields on each without a warning, and a memory layer stores and returns
    values of the matching Python type."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        fields = [QgsField(name, kind) for name, kind in TYPES.items()]
    layer = QgsVectorLayer("None", "types", "memory")
    assert layer.dataProvider().addAttributes(fields)
    layer.updateFields()
    feature = QgsFeature(layer.fields())
    feature.setAttributes(list(VALUES.values()))
    assert layer.dataProvider().addFeatures([feature])[0]
    stored = next(layer.getFeatures())
    got = {name: stored[name] for name in VALUES}
    assert got == VALUES
    assert [type(value) for value in got.values()] == [str, int, float, bool]


def test_field_type_is_cached_and_refuses_unknown_names():
    assert field_type("QString") is FIELD_STRING
    with pytest.raises(AttributeError):
        field_type("NoSuchType")


def test_a_missing_attribute_reads_as_null_text():
    """QGIS 3 (PyQt5) gives a missing value as a null QVariant, QGIS 4 (PyQt6) as None: both read "NULL", as QGIS
    shows them, never "None"."""
    layer = QgsVectorLayer("None", "nulls", "memory")
    layer.dataProvider().addAttributes([QgsField("name", FIELD_STRING), QgsField("count", FIELD_INT)])
    layer.updateFields()
    feature = QgsFeature(layer.fields())
    feature.setAttributes([None, 3])
    layer.dataProvider().addFeatures([feature])
    stored = next(layer.getFeatures())
    assert attribute_text(stored["name"]) == "NULL"
    assert attribute_text(None) == "NULL"
    assert attribute_text(stored["count"]) == "3"
    assert attribute_text("T33TVF") == "T33TVF"
