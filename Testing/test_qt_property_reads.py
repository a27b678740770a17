"""One rule for Qt calls: no getter call that a Qt property shadows under PythonQt.

Under PythonQt (Slicer's binding) every Qt property is an attribute that
shadows the getter of the same name: ``table.columnCount()`` raises
``TypeError: 'int' object is not callable``. PySide6 needs the call. The code
that runs under both reads properties with ``qtcompat.prop(obj, name)``.

This test parses that code (ast) and finds every call ``receiver.name()``
without arguments where ``name`` is a Q_PROPERTY. The property names come
from Qt's own meta-objects (``staticMetaObject``, PySide6) of the Qt classes
the code uses: every ``qt.QXxx`` it names and every widget class in the
panel's ``.ui`` file. A receiver whose class the scanner can tell (a widget of
the ``.ui`` file, a ``qt.QXxx(...)`` construction, the documented return type
of a Qt method, a variable bound once to one of those) is judged by that
class's own properties; any other receiver of a property-named getter is
reported too, so the rule cannot be dodged by an unknown type.
"""

from __future__ import annotations

import ast
import glob
import os
import re
from typing import Dict, List, Optional, Set

import pytest

from conftest import ROOT

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402  (the gui extra; make test installs it)

UI_FILE = os.path.join(ROOT, "AffineInspector", "Resources", "UI", "AffineInspector.ui")

#: Code that runs under both bindings: the module, the ui layer, and the Qt-facing tests (PySide6 and PythonQt legs).
SCANNED = sorted(
    [os.path.join(ROOT, "AffineInspector", "AffineInspector.py")]
    + glob.glob(os.path.join(ROOT, "AffineInspector", "AffineInspectorLib", "ui", "*.py"))
    + [os.path.join(ROOT, "Testing", name) for name in ("test_panel.py", "test_module.py", "test_slicerenv.py")]
    + [os.path.join(ROOT, "Testing", "slicerenv.py")]
)

#: Return classes of the Qt methods the scanned code calls and then calls a getter on (Qt's documentation).
RETURN_CLASSES = {
    "fontMetrics": "QFontMetrics",
    "clipboard": "QClipboard",
    "model": "QAbstractItemModel",
    "font": "QFont",
    "pixmap": "QPixmap",
    "grab": "QPixmap",
    "horizontalHeader": "QHeaderView",
    "verticalHeader": "QHeaderView",
    "background": "QBrush",
    "color": "QColor",
    "index": "QModelIndex",
    "metaObject": "QMetaObject",
    "menuBar": "QMenuBar",
    "instance": "QCoreApplication",
}
#: ``item(row, column)`` of a QTableWidget and ``item(row)`` of a QListWidget: item classes, not QObjects.
ITEM_CLASSES = {"QTableWidget": "QTableWidgetItem", "QListWidget": "QListWidgetItem"}


def _metaObjectProperties() -> Dict[str, Set[str]]:
    """Q_PROPERTY names (inherited ones included) of every QObject class of QtCore, QtGui and QtWidgets.

    Read once, when this module is imported (pytest's collection, before any test): after Qt objects of a
    class have come and gone, PySide6 6.11 may report that class's staticMetaObject as "already deleted".
    """
    table: Dict[str, Set[str]] = {}
    for module in (QtCore, QtGui, QtWidgets):
        for name in dir(module):  # getattr, not vars(): PySide6 creates its classes on first access
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, QtCore.QObject):
                metaObject = cls.staticMetaObject
                table[name] = {str(metaObject.property(i).name()) for i in range(metaObject.propertyCount())}
    return table


META_OBJECT_PROPERTIES = _metaObjectProperties()


def propertyNames(className: str) -> Set[str]:
    """The Q_PROPERTY names of a Qt class; empty for a class that is not a QObject (items, fonts, images)."""
    return META_OBJECT_PROPERTIES.get(className, set())


def uiClasses() -> Dict[str, str]:
    return {name: cls for cls, name in re.findall(r'<widget class="(\w+)" name="(\w+)"', open(UI_FILE).read())}


class Scanner:
    """Finds property-shadowed getter calls in one module (see the module docstring)."""

    def __init__(self, source: str, widgets: Dict[str, str], usedProperties: Set[str]) -> None:
        self.tree = ast.parse(source)
        self.widgets = widgets
        self.usedProperties = usedProperties
        self.bindings: Dict[int, Dict[str, List[ast.expr]]] = {}
        self.selfAttributes: Dict[str, List[ast.expr]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                        if target.value.id == "self":
                            self.selfAttributes.setdefault(target.attr, []).append(node.value)

    def scopeBindings(self, scope: ast.AST) -> Dict[str, List[ast.expr]]:
        """Names bound in a function (or the module) to an expression; loop variables count as unknown."""
        key = id(scope)
        if key not in self.bindings:
            bound: Dict[str, List[ast.expr]] = {}
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            bound.setdefault(target.id, []).append(node.value)
                        else:
                            for name in ast.walk(target):
                                if isinstance(name, ast.Name):
                                    bound.setdefault(name.id, []).append(ast.Constant(None))
                elif isinstance(node, (ast.For, ast.comprehension, ast.withitem)):
                    target = node.optional_vars if isinstance(node, ast.withitem) else node.target
                    for name in ast.walk(target) if target is not None else []:
                        if isinstance(name, ast.Name):
                            bound.setdefault(name.id, []).append(ast.Constant(None))
            self.bindings[key] = bound
        return self.bindings[key]

    def classOf(self, expression: ast.expr, scopes: List[ast.AST], depth: int = 0) -> Optional[str]:
        """The Qt class name of an expression's value, when the scanner can tell it."""
        if depth > 8:
            return None
        if isinstance(expression, ast.Attribute):
            value = expression.value
            isUI = (isinstance(value, ast.Name) and value.id == "ui") or (
                isinstance(value, ast.Attribute) and value.attr == "ui"
            )
            if isUI and expression.attr in self.widgets:
                return self.widgets[expression.attr]
            selfValues = self.selfAttributes.get(expression.attr, [])
            if isinstance(value, ast.Name) and value.id == "self" and len(selfValues) == 1:
                return self.classOf(selfValues[0], scopes, depth + 1)
            return None
        if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute):
            function = expression.func
            if isinstance(function.value, ast.Name) and function.value.id == "qt":
                return function.attr  # qt.QClass(...)
            if function.attr == "item":
                return ITEM_CLASSES.get(self.classOf(function.value, scopes, depth + 1) or "")
            return RETURN_CLASSES.get(function.attr)
        if isinstance(expression, ast.Name):
            for scope in reversed(scopes):
                values = self.scopeBindings(scope).get(expression.id)
                if values is not None:
                    return self.classOf(values[0], scopes, depth + 1) if len(values) == 1 else None
        return None

    def violations(self) -> List[str]:
        found: List[str] = []

        def visit(node: ast.AST, scopes: List[ast.AST]) -> None:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                scopes = scopes + [node]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
                name = node.func.attr
                if name in self.usedProperties:
                    receiverClass = self.classOf(node.func.value, scopes)
                    if receiverClass is None:
                        found.append(f"line {node.lineno}: {ast.unparse(node)} (class of the receiver unknown)")
                    elif name in propertyNames(receiverClass):
                        found.append(f"line {node.lineno}: {ast.unparse(node)} ({receiverClass}.{name} is a property)")
            for child in ast.iter_child_nodes(node):
                visit(child, scopes)

        visit(self.tree, [self.tree])
        return found


def usedClasses(sources: List[str]) -> Set[str]:
    names = set(uiClasses().values())
    for source in sources:
        names |= set(re.findall(r"\bqt\.(Q\w+)", source))
    return names


def usedPropertyNames(sources: List[str]) -> Set[str]:
    properties: Set[str] = set()
    for name in usedClasses(sources):
        properties |= propertyNames(name)
    return properties


def scan(path: str, source: Optional[str] = None, sources: Optional[List[str]] = None) -> List[str]:
    source = open(path).read() if source is None else source
    used = usedPropertyNames(sources if sources is not None else [source])
    return [f"{os.path.relpath(path, ROOT)} {line}" for line in Scanner(source, uiClasses(), used).violations()]


def test_property_names_come_from_qt_meta_objects():
    """The classes the code uses give the properties PythonQt turns into attributes (its TypeError cases)."""
    sources = [open(path).read() for path in SCANNED]
    used = usedPropertyNames(sources)
    assert {"QComboBox", "QTableWidget", "QProgressDialog", "QLabel"} <= usedClasses(sources)
    assert {"currentText", "currentIndex", "columnCount", "wasCanceled", "text", "objectName"} <= used


def test_no_getter_call_is_shadowed_by_a_property():
    sources = [open(path).read() for path in SCANNED]
    assert all(os.path.isfile(path) for path in SCANNED), [path for path in SCANNED if not os.path.isfile(path)]
    violations = [line for path, source in zip(SCANNED, sources) for line in scan(path, source, sources)]
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # The six calls PythonQt broke in the panel (enter() failed on the first).
        ("def f(self):\n    return self.ui.volumeTable.columnCount()\n", "QTableWidget.columnCount"),
        ("def f(self):\n    return self.ui.referenceComboBox.currentIndex()\n", "QComboBox.currentIndex"),
        ("def f(self):\n    d = qt.QProgressDialog()\n    return d.wasCanceled()\n", "QProgressDialog.wasCanceled"),
        ("def f(ui):\n    return ui.copyFormatComboBox.currentText()\n", "QComboBox.currentText"),
        ("def f(self):\n    label = self.ui.statusLabel\n    return label.text()\n", "QLabel.text"),
        ("def f(combo):\n    return combo.currentText()\n", "class of the receiver unknown"),
    ],
)
def test_scanner_finds_shadowed_getters(code, expected):
    """The scanner itself: each of these must be reported (so the zero above means something)."""
    (violation,) = Scanner(code, uiClasses(), usedPropertyNames([code, "qt.QComboBox qt.QLabel"])).violations()
    assert expected in violation


@pytest.mark.parametrize(
    "code",
    [
        "def f(self):\n    return prop(self.ui.volumeTable, 'columnCount')\n",
        "def f(self):\n    return self.ui.volumeTable.item(0, 1).text()\n",  # QTableWidgetItem: no properties
        "def f(self):\n    return self.ui.sliceTable.fontMetrics().height()\n",
        "def f():\n    image = qt.QImage('x.png')\n    return image.width()\n",
        "def f():\n    return qt.QApplication.clipboard().text()\n",  # QClipboard has no text property
    ],
)
def test_scanner_accepts_portable_reads(code):
    assert Scanner(code, uiClasses(), usedPropertyNames([code, "qt.QLabel qt.QWidget"])).violations() == []
