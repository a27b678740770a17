"""One small compatibility import: Slicer's PythonQt ``qt`` module, or PySide6 outside Slicer.

``qt`` gives every Qt class by its C++ name (``qt.QTableWidget``,
``qt.Qt.AlignLeft``), as PythonQt does. The panel uses only what both
bindings do the same way: method calls (``setText()``), signals connected
with ``signal.connect(slot)``, enums through their class
(``qt.QHeaderView.Stretch``), no Qt property assignment, and Qt properties
read with :func:`prop` (one rule, checked by ``Testing/test_qt_property_reads.py``).

Why :func:`prop`: PythonQt exposes every Qt property as an attribute that
shadows the getter of the same name (``combo.currentText`` is a string there,
and ``combo.currentText()`` raises ``TypeError``), while PySide6 needs the
call. ``obj.property("currentText")`` is the same in both.

What else differs is a function here: :func:`loadUI`, :func:`childWidgetVariables`,
:func:`tryWithErrorDisplay`; :func:`tr` (translation) is
:mod:`.translation`'s, re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
import types
from typing import Any, Callable, Iterator, Optional

from .translation import tr as _
from .translation import tr as tr  # re-exported: ``from .qtcompat import tr as _`` keeps working

try:  # Slicer: PythonQt
    import qt as _pythonQt

    PYTHONQT = hasattr(_pythonQt, "QWidget")
except ImportError:
    PYTHONQT = False


class _PySide6Namespace:
    """``qt.X`` looked up in QtCore, QtGui, QtWidgets, then QtUiTools (PySide6)."""

    def __init__(self) -> None:
        from PySide6 import QtCore, QtGui, QtWidgets

        self._modules = [QtCore, QtGui, QtWidgets]

    def __getattr__(self, name: str) -> Any:
        for module in self._modules:
            if hasattr(module, name):
                value = getattr(module, name)
                setattr(self, name, value)  # cache
                return value
        if name == "QUiLoader":
            from PySide6.QtUiTools import QUiLoader

            return QUiLoader
        raise AttributeError(f"Qt has no {name}")


qt: Any = _pythonQt if PYTHONQT else _PySide6Namespace()
"""Every Qt class by its C++ name; typed ``Any``: PythonQt has no stubs, and the two bindings differ."""


def prop(qobject: Any, name: str) -> Any:
    """The value of the Qt property ``name`` of ``qobject`` (e.g. ``prop(combo, "currentText")``), in both bindings.

    Raises AttributeError when the object's class has no such property: ``QObject.property`` would return
    an empty value for a misspelt name, and a wrong value shown is worse than an error.
    """
    if qobject.metaObject().indexOfProperty(name) < 0:
        raise AttributeError(f"{type(qobject).__name__} has no Qt property {name!r}")
    return qobject.property(name)


def slicerApplication() -> Any:
    """``slicer.app`` inside Slicer (or a test environment that provides it); None elsewhere.

    The binding alone does not say it: the PythonQt test host runs the panel without a Slicer application.
    """
    try:
        import slicer
    except ImportError:
        return None
    return getattr(slicer, "app", None)


def loadUI(path: str) -> Any:
    """Load a Qt Designer ``.ui`` file into a widget (``slicer.util.loadUI`` under PythonQt)."""
    if PYTHONQT:
        import slicer

        return slicer.util.loadUI(path)
    loader = qt.QUiLoader()
    file = qt.QFile(path)
    if not file.open(qt.QIODevice.ReadOnly):
        raise OSError(f"cannot open {path}: {file.errorString()}")
    try:
        widget = loader.load(file)
    finally:
        file.close()
    if widget is None:
        raise OSError(f"cannot load {path}: {loader.errorString()}")
    return widget


def childWidgetVariables(widget: Any) -> Any:
    """An object with one attribute per named child widget (``slicer.util.childWidgetVariables`` under PythonQt)."""
    if PYTHONQT:
        import slicer

        return slicer.util.childWidgetVariables(widget)
    children = types.SimpleNamespace()
    for child in widget.findChildren(qt.QObject):
        name = prop(child, "objectName")
        if name and not name.startswith("qt_"):
            setattr(children, name, child)
    return children


def showErrorDialog(message: str, details: str) -> None:
    """A modal error box (the standalone window's; Slicer uses its own through tryWithErrorDisplay)."""
    box = qt.QMessageBox(qt.QMessageBox.Critical, _("Affine Inspector"), message)
    box.setInformativeText(details)
    box.exec()


@contextlib.contextmanager
def tryWithErrorDisplay(message: str, *, report: Optional[Callable[[str, str], None]] = None) -> Iterator[None]:
    """Run a block; if it raises, show ``message`` with the error, then re-raise it (nothing silent).

    As ``slicer.util.tryWithErrorDisplay(message, waitCursor=True)``, which is
    what runs inside Slicer when no ``report`` is given: wait cursor during the
    block, the error shown, the exception re-raised (a Qt slot's caller, Qt,
    prints it; a Python caller decides whether to go on). Elsewhere, or with
    ``report``, the error is logged with its traceback and passed to
    ``report(message, error text)``, by default a modal message box.
    """
    if report is None and slicerApplication() is not None:
        import slicer

        with slicer.util.tryWithErrorDisplay(message, waitCursor=True):
            yield
        return
    qt.QApplication.setOverrideCursor(qt.QCursor(qt.Qt.WaitCursor))
    try:
        yield
    except Exception as error:
        logging.exception(message)
        qt.QApplication.restoreOverrideCursor()
        (report or showErrorDialog)(message, str(error) or type(error).__name__)
        raise
    qt.QApplication.restoreOverrideCursor()
