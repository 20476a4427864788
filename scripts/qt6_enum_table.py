"""Build scripts/qt6_enums.json, the table scripts/check_qt6.py reads (like QGIS's own pyqt5_to_pyqt6.py, the enum
names come from introspecting the bindings, not from a hand-written list).

Three steps, each in the Python that has the bindings it introspects; each merges its part into the JSON file:

    .venv-qt6/bin/python scripts/qt6_enum_table.py qt       # PyQt6 (pip, .venv-qt6): every scoped Qt enum member
    <QGIS 3.44 python> scripts/qt6_enum_table.py qgis       # newest QGIS: its enums, and old aliases → new names
    /usr/bin/python3 scripts/qt6_enum_table.py qgis-oldest  # QGIS 3.22: which new names it lacks

`make qt6-enum-table` runs all three (QGIS 3.44 from the sid chroot of scripts/matrix.sh).
"""

from __future__ import annotations

import enum
import importlib
import json
import sys
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "qt6_enums.json"
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtSvg", "QtPrintSupport", "QtXml", "QtSql", "QtTest")
QGIS_MODULES = ("qgis.core", "qgis.gui")


def load() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}


def save(table: dict) -> None:
    TABLE.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n", encoding="utf-8")


def qt_enums() -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """From PyQt6 (where enum members are only reachable scoped): ({class: {member: enum name}} of the enums each
    Q* class defines itself, {class: [Q* base classes]} so that inherited members (``QLabel.NoFrame``) resolve)."""
    members_of: dict[str, dict[str, str]] = {}
    bases_of: dict[str, list[str]] = {}
    for module_name in QT_MODULES:
        try:
            module = importlib.import_module(f"PyQt6.{module_name}")
        except ImportError:
            continue
        for class_name in dir(module):
            cls = getattr(module, class_name)
            if not class_name.startswith("Q") or not isinstance(cls, type):
                continue
            bases = [base.__name__ for base in cls.__bases__ if base.__name__.startswith("Q")]
            if bases:
                bases_of[class_name] = bases
            members: dict[str, str] = {}
            for enum_name, value in vars(cls).items():
                if isinstance(value, type) and issubclass(value, enum.Enum):
                    for member in value.__members__:
                        # A name in two enums of one class cannot be scoped mechanically: keep both, checker says so.
                        members[member] = members[member] + "|" + enum_name if member in members else enum_name
            if members:
                members_of[class_name] = members
    return members_of, bases_of


def _enum_type_of(value: object) -> type | None:
    kind = type(value)
    if isinstance(value, enum.Enum):
        return kind
    if type(kind).__name__ == "enumtype":  # sip's unscoped C++ enum (PyQt5 builds of QGIS)
        return kind
    return None


def qgis_enums() -> tuple[dict, dict, dict]:
    """From the newest QGIS (PyQt5 build): ({class: {member: enum}} of the unscoped enums each class defines,
    {class: {old alias: new dotted name}} of QGIS enum members reached through an old name, {class: [bases]})."""
    scoped: dict[str, dict[str, str]] = {}
    aliases: dict[str, dict[str, str]] = {}
    bases_of: dict[str, list[str]] = {}
    for module_name in QGIS_MODULES:
        module = importlib.import_module(module_name)
        for class_name in dir(module):
            cls = getattr(module, class_name)
            if not (class_name.startswith("Qgs") or class_name == "Qgis") or not isinstance(cls, type):
                continue
            bases = [base.__name__ for base in cls.__bases__ if base.__name__.startswith("Q")]
            if bases:
                bases_of[class_name] = bases
            for attr in dir(cls):
                if not attr[:1].isupper():
                    continue
                value = getattr(cls, attr, None)
                kind = _enum_type_of(value)
                if kind is None:
                    continue
                owner = kind.__qualname__.rsplit(".", 1)[0]
                name = value.name if isinstance(value, enum.Enum) else attr
                if owner == class_name and name == attr:
                    scoped.setdefault(class_name, {})[attr] = kind.__name__
                elif owner.startswith(("Qgs", "Qgis")) and not issubclass(cls, _class(owner)):
                    # a QGIS enum member reached through a class that neither defines nor inherits it: an old alias
                    aliases.setdefault(class_name, {})[attr] = f"{kind.__qualname__}.{name}"
                elif owner.startswith(("Qgs", "Qgis")) and name != attr:
                    aliases.setdefault(class_name, {})[attr] = f"{kind.__qualname__}.{name}"
    return scoped, _without_inherited(aliases, bases_of), bases_of


def _without_inherited(table: dict[str, dict[str, str]], bases_of: dict[str, list[str]]) -> dict:
    """Drop the entries a class inherits unchanged (the checker looks them up through ``bases_of``)."""

    def inherited(class_name: str, seen: frozenset = frozenset()) -> dict[str, str]:
        out: dict[str, str] = {}
        for base in bases_of.get(class_name, []):
            if base != class_name and base not in seen:
                out.update(inherited(base, seen | {class_name}))
                out.update(table.get(base, {}))
        return out

    slim = {}
    for class_name, members in table.items():
        from_bases = inherited(class_name)
        own = {k: v for k, v in members.items() if from_bases.get(k) != v}
        if own:
            slim[class_name] = own
    return slim


def _class(dotted: str) -> type:
    """The class ``Qgis`` / ``QgsTask`` / ``QgsRasterLayer.X`` named by a qualified name (object when unknown)."""
    obj = None
    for module_name in QGIS_MODULES:
        obj = getattr(importlib.import_module(module_name), dotted.split(".")[0], None)
        if obj is not None:
            break
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else object


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for module_name in QGIS_MODULES:
        obj = getattr(importlib.import_module(module_name), parts[0], None)
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        if obj is not None:
            return True
    return False


def main(step: str) -> int:
    table = load()
    if step == "qt":
        table["qt"], table["qt_bases"] = qt_enums()
    elif step == "qgis":
        from qgis.core import Qgis

        table["qgis"], table["qgis_aliases"], table["qgis_bases"] = qgis_enums()
        table["qgis_version"] = Qgis.QGIS_VERSION
    elif step == "qgis-oldest":
        from qgis.core import Qgis

        new_names = {new for members in table["qgis_aliases"].values() for new in members.values()}
        new_names |= {
            f"{cls}.{enum_name}.{member}"
            for cls, members in table["qgis"].items()
            for member, enum_name in members.items()
        }
        table["qgis_oldest_version"] = Qgis.QGIS_VERSION
        table["missing_in_oldest"] = [new for new in sorted(new_names) if not resolves(new)]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    save(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
