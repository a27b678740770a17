"""The PythonQt host works as Slicer's Python does: CTK's qt module, Qt properties as attributes, .ui loading.

Runs under ``AffineInspectorQtHost`` (``make test`` runs it there); plain
CPython does not collect this folder (``Testing/conftest.py``). The
behaviours asserted here are the ones that differ from PySide6 and matter to
code written for both.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import PythonQt  # noqa: F401  (only the host has it: an ImportError elsewhere, never a skip)
import qt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PANEL_UI = os.path.join(ROOT, "AffineInspector", "Resources", "UI", "AffineInspector.ui")


@pytest.fixture
def panel():
    """The module's .ui loaded with QUiLoader, as slicer.util.loadUI does; deleted afterwards."""
    loader = qt.QUiLoader()
    file = qt.QFile(PANEL_UI)
    assert file.open(qt.QIODevice.ReadOnly), PANEL_UI
    try:
        widget = loader.load(file)
    finally:
        file.close()
    assert widget is not None, loader.errorString()
    yield widget
    widget.deleteLater()


def test_qt_is_ctks_module_over_three_kits():
    """``qt`` is CTK's template configured with Core, Gui and UiTools, found next to the host."""
    hostPrefix = os.path.dirname(os.path.dirname(sys.executable))
    assert os.path.dirname(os.path.dirname(qt.__file__)) == os.path.join(hostPrefix, "python")
    assert qt.QTimer.__module__ == "PythonQt.QtCore"
    assert qt.QWidget.__module__ == "PythonQt.QtGui"
    assert qt.QUiLoader.__module__ == "PythonQt.QtUiTools"
    assert qt.QApplication.instance() is not None


def test_host_name_lets_ctk_load_the_kits():
    """CTK's qt/__init__.py skips every kit when sys.executable's name contains "python"."""
    assert "python" not in os.path.basename(sys.executable).lower()


def test_virtual_environment_is_the_prefix():
    """--venv (or VIRTUAL_ENV) makes the venv's site-packages importable, as its own python would."""
    assert os.environ.get("VIRTUAL_ENV"), "make test-pythonqt passes --venv .venv"
    assert os.path.realpath(sys.prefix) == os.path.realpath(os.environ["VIRTUAL_ENV"])
    assert pytest.__file__.startswith(sys.prefix)


def test_property_shadows_the_getter():
    """A Qt property is a value: ``table.columnCount`` is an int and calling it raises TypeError."""
    table = qt.QTableWidget()
    table.setColumnCount(3)
    assert table.columnCount == 3
    assert isinstance(table.columnCount, int)
    with pytest.raises(TypeError):
        table.columnCount()
    combo = qt.QComboBox()
    combo.addItems(["a", "b"])
    combo.setCurrentIndex(1)
    assert (combo.currentText, combo.currentIndex) == ("b", 1)
    progress = qt.QProgressDialog()
    assert progress.wasCanceled is False
    with pytest.raises(TypeError):
        progress.wasCanceled()


def test_property_call_works_in_both_bindings():
    """``obj.property(name)`` reads a property the same way under PythonQt and PySide6."""
    combo = qt.QComboBox()
    combo.addItems(["first", "second"])
    combo.setCurrentIndex(1)
    assert combo.property("currentText") == "second"
    assert combo.property("currentIndex") == 1


def test_panel_ui_loads_offscreen(panel):
    assert panel.objectName == "AffineInspector"
    combos = {combo.objectName: combo for combo in panel.findChildren(qt.QComboBox)}
    assert {"referenceComboBox", "interpolationComboBox", "copyFormatComboBox"} <= set(combos)
    for combo in combos.values():
        assert combo.property("currentText") == combo.currentText
    assert panel.findChildren(qt.QTableWidget) or panel.findChildren(qt.QTableView)


def test_slicer_util_reads_the_ui_by_name(panel):
    """slicer-core's slicer.util.childWidgetVariables needs ``widget.name`` (PYTHONQT_SUPPORT_NAME_PROPERTY)."""
    import slicer.util

    ui = slicer.util.childWidgetVariables(slicer.util.loadUI(PANEL_UI))
    assert isinstance(ui.referenceComboBox, qt.QComboBox)
    assert ui.referenceComboBox.name == ui.referenceComboBox.objectName == "referenceComboBox"


def test_no_new_attributes_on_wrapped_objects():
    """PythonQt refuses new Python attributes on a C++ object (PySide6 allows them); a Python subclass may."""
    combo = qt.QComboBox()
    with pytest.raises(AttributeError, match="creating new attributes on C\\+\\+ objects is not allowed"):
        combo.rowData = []

    class Combo(qt.QComboBox):
        pass

    subclassed = Combo()
    subclassed.rowData = [1]
    assert subclassed.rowData == [1]


@pytest.mark.slotErrors
def test_exception_in_a_slot_is_printed_not_raised(capfd, failOnSlotErrors):
    """A slot's exception goes to stderr and the emitter carries on: a test sees it only in the output."""
    button = qt.QPushButton()
    calls = []

    def slot():
        calls.append("called")
        raise ValueError("raised in slot")

    button.clicked.connect(slot)
    button.click()
    assert calls == ["called"]
    assert "ValueError: raised in slot" in capfd.readouterr().err
    assert failOnSlotErrors == ["ValueError: raised in slot"]  # through sys.excepthook: conftest catches them


@pytest.mark.parametrize(
    ("code", "status"),
    [("pass", 0), ("raise SystemExit(3)", 3), ("import sys; sys.exit('message')", 1), ("1 / 0", 1)],
)
def test_host_exit_status(code, status):
    """The host exits as python does: SystemExit's code, 1 for an uncaught exception."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == status, result.stderr


def test_host_runs_a_script_with_its_arguments(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import sys, qt\nprint(sys.argv[1:], qt.QWidget.__name__)\nsys.exit(int(sys.argv[1]))\n")
    result = subprocess.run([sys.executable, str(script), "4", "--flag"], capture_output=True, text=True, check=False)
    assert result.returncode == 4, result.stderr
    assert result.stdout.strip() == "['4', '--flag'] QWidget"
