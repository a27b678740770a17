"""One small compatibility import: Slicer's PythonQt ``qt`` module, or PySide6 outside Slicer.

``qt`` gives every Qt class by its C++ name (``qt.QTableWidget``,
``qt.Qt.AlignLeft``), as PythonQt does. The panel uses only what both
bindings have the same way: method calls (``setText()``), signals connected
with ``signal.connect(slot)``, enums through their class
(``qt.QHeaderView.Stretch``), no Qt property assignment.

The three things that differ are functions here: :func:`loadUI`,
:func:`childWidgetVariables` and :func:`tryWithErrorDisplay`.
"""

from __future__ import annotations

import contextlib
import logging
import types
from typing import Any, Callable, Iterator, Optional

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


def loadUI(path: str) -> Any:
    """Load a Qt Designer ``.ui`` file into a widget (``slicer.util.loadUI`` inside Slicer)."""
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
    """An object with one attribute per named child widget (``slicer.util.childWidgetVariables``)."""
    if PYTHONQT:
        import slicer

        return slicer.util.childWidgetVariables(widget)
    children = types.SimpleNamespace()
    for child in widget.findChildren(qt.QObject):
        name = child.objectName()
        if name and not name.startswith("qt_"):
            setattr(children, name, child)
    return children


def showErrorDialog(message: str, details: str) -> None:
    """A modal error box (the standalone window's; Slicer uses its own through tryWithErrorDisplay)."""
    box = qt.QMessageBox(qt.QMessageBox.Critical, "Affine Inspector", message)
    box.setInformativeText(details)
    box.exec()


@contextlib.contextmanager
def tryWithErrorDisplay(message: str, *, report: Optional[Callable[[str, str], None]] = None) -> Iterator[None]:
    """Run a block; if it raises, show ``message`` with the error and carry on (nothing silent).

    Inside Slicer this is ``slicer.util.tryWithErrorDisplay(message, waitCursor=True)``.
    Outside, the error is logged with its traceback and passed to ``report(message, error text)``,
    by default a modal message box.
    """
    if PYTHONQT:
        import slicer

        with slicer.util.tryWithErrorDisplay(message, waitCursor=True):
            yield
        return
    qt.QApplication.setOverrideCursor(qt.QCursor(qt.Qt.WaitCursor))
    try:
        yield
    except Exception as error:  # noqa: BLE001  shown to the user, logged with its traceback
        logging.exception(message)
        qt.QApplication.restoreOverrideCursor()
        (report or showErrorDialog)(message, str(error) or type(error).__name__)
        return
    qt.QApplication.restoreOverrideCursor()
