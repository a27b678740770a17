"""The Qt panel and the standalone window, offscreen on slicer-core, on the shared real data, under both bindings.

``make test`` runs this file twice: under CPython with PySide6 (the standalone
window's binding) and inside the PythonQt host (Slicer's binding). Qt
properties are read with ``qtcompat.prop`` (PythonQt's attributes shadow the
getters; ``Testing/test_qt_property_reads.py`` checks this file too).

Expected values come from the engine reading the folders directly
(``inspectPaths``, no Slicer, no Qt) and from the MRML logic; the panel must
show exactly those, in its widgets.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import case

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from AffineInspectorLib.dicom.series import inspectPaths  # noqa: E402
from AffineInspectorLib.geometry.errors import GeometryError  # noqa: E402
from AffineInspectorLib.geometry.findings import worstSeverity  # noqa: E402
from AffineInspectorLib.geometry.formats import (  # noqa: E402
    COPY_FORMATS,
    formatGeometry,
    formatMatrix,  # noqa: E402
)
from AffineInspectorLib.mrml.nodes import ijkToRAS  # noqa: E402
from AffineInspectorLib.ui import paneldata  # noqa: E402
from AffineInspectorLib.ui.panel import UI_FILE  # noqa: E402
from AffineInspectorLib.ui.qtcompat import childWidgetVariables, loadUI, prop, qt  # noqa: E402

GE_TILT = "dcm_qa_ct_GE"
HITACHI = "dicom2nifti/hitachi_oblique"
GE_NIFTI = "dicom2nifti/ge_anatomical/001_ground_truth.nii.gz"


@pytest.fixture(scope="module")
def application(qtApplication):
    return qtApplication


def settle():
    """Let the panel's deferred refresh run (it waits for the current burst of scene events)."""
    for _ in range(3):
        qt.QApplication.processEvents()


def tableRows(panel):
    table = panel.ui.volumeTable
    return [
        [table.item(row, column).text() for column in range(prop(table, "columnCount"))]
        for row in range(prop(table, "rowCount"))
    ]


def rowOf(panel, node) -> int:
    return panel.volumeNodeIDs().index(node.GetID())


def expectedSeries(name):
    (series,) = inspectPaths([case(name)]).series
    return series


# --------------------------------------------------------------------------- the .ui file


def panelWidgetNames():
    """Every ``ui.<name>`` the panel code uses."""
    source = open(os.path.join(os.path.dirname(UI_FILE), "..", "..", "AffineInspectorLib", "ui", "panel.py")).read()
    return set(re.findall(r"\bui\.([A-Za-z]\w*)", source))


def test_ui_file_loads_with_quiloader_and_has_every_widget_the_panel_uses(application):
    widget = loadUI(UI_FILE)
    names = vars(childWidgetVariables(widget))
    used = panelWidgetNames()
    assert {"volumeTable", "sliceTable", "geometryText", "resampleButton"} <= used
    assert used <= set(names), used - set(names)
    # Standard Qt widgets only, so that Slicer's loadUI needs no plugin either.
    classes = set(re.findall(r'<widget class="(\w+)"', open(UI_FILE).read()))
    assert all(name.startswith("Q") for name in classes), classes


def test_panel_code_uses_no_qt_property_assignment():
    """PythonQt and PySide6 differ on property assignment; only method calls are portable."""
    libFolder = os.path.join(os.path.dirname(UI_FILE), "..", "..", "AffineInspectorLib", "ui")
    for name in ("panel.py", "window.py", "qtcompat.py"):
        tree = ast.parse(open(os.path.join(libFolder, name)).read())
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Attribute):
                    base = ast.unparse(target.value)
                    assert base in ("self", "main", "analysis", "children") or base.startswith("self._"), (
                        f"{name}: assignment to {ast.unparse(target)}"
                    )


# --------------------------------------------------------------------------- volume table


def test_volume_table_shows_every_volume_with_its_findings_count(window):
    nodes = window.open([case(GE_TILT), case(HITACHI), case(GE_NIFTI)])
    settle()
    assert len(nodes) == 3 and not window.errors
    panel = window.panel
    rows = tableRows(panel)
    assert len(rows) == 3
    for name in (GE_TILT, HITACHI):
        expected = expectedSeries(name)
        node = next(n for n in nodes if n.GetAttribute("DICOM.seriesInstanceUID") == expected.seriesInstanceUID)
        cells = rows[rowOf(panel, node)]
        severity = worstSeverity(expected.findings)
        assert cells[5] == str(len(expected.findings)) + (f" ({severity})" if severity else "")
        assert cells[1] == " x ".join(str(n) for n in node.GetImageData().GetDimensions())
        transform = node.GetParentTransformNode()  # Slicer's default: the tilted CT gets its acquisition transform
        assert (transform is not None) == (name == GE_TILT)
        assert cells[4] == f"DICOM ({len(expected.files)} files)" + (
            f", under {transform.GetName()}" if transform is not None else ""
        )
        item = panel.ui.volumeTable.item(rowOf(panel, node), 5)
        if severity:
            assert item.background().color().name() == paneldata.SEVERITY_COLOURS[severity]
    assert len(expectedSeries(GE_TILT).findings) > 10  # the tilted CT has findings; the oblique MR has none
    assert expectedSeries(HITACHI).findings == []
    niftiNode = next(n for n in nodes if not n.GetAttribute("DICOM.instanceUIDs"))
    niftiCells = rows[rowOf(panel, niftiNode)]
    assert niftiCells[4] == "file" and niftiCells[5] == "-"


def test_table_follows_the_scene_added_modified_removed(window):
    (mr,) = window.open([case(HITACHI)])
    settle()
    assert len(tableRows(window.panel)) == 1
    nifti = window.host.loadVolume(case(GE_NIFTI))
    settle()
    assert [row[0] for row in tableRows(window.panel)] == [mr.GetName(), nifti.GetName()]
    nifti.SetSpacing(2.0, 3.0, 4.0)
    settle()
    assert tableRows(window.panel)[1][2] == "2 x 3 x 4"
    window.host.scene.RemoveNode(nifti)
    settle()
    assert [row[0] for row in tableRows(window.panel)] == [mr.GetName()]


def test_moving_a_volume_drops_its_cached_check(window):
    (mr,) = window.open([case(HITACHI)])
    panel = window.panel
    panel.selectVolume(mr.GetID())
    assert panel.analysis(mr.GetID()).check.withinTolerance is True
    origin = np.array(mr.GetOrigin())
    mr.SetOrigin(*(origin + [0.0, 0.0, 7.5]))
    settle()
    assert panel.analysis(mr.GetID()) is None
    assert tableRows(panel)[0][5] == paneldata.notCheckedText()
    panel.selectVolume(mr.GetID())
    check = panel.analysis(mr.GetID()).check
    assert check.withinTolerance is False
    assert check.maxCornerDeviationMm == pytest.approx(7.5, abs=1e-3)
    assert "7.5 mm" in panel.ui.geometryText.toPlainText()


# --------------------------------------------------------------------------- details of the selected volume


def test_selecting_a_row_shows_the_logic_matrices(window):
    (ct,) = window.open([case(GE_TILT)])
    panel = window.panel
    panel.ui.volumeTable.selectRow(rowOf(panel, ct))
    text = panel.ui.geometryText.toPlainText()
    matrix = ijkToRAS(ct)
    assert formatMatrix(matrix) in text
    assert formatMatrix(np.linalg.inv(matrix)) in text
    expected = expectedSeries(GE_TILT)
    assert formatMatrix(expected.IJKToLPS) in text and formatMatrix(expected.IJKToRAS) in text
    check = panel.analysis(ct.GetID()).check
    assert f"{check.maxCornerDeviationMm:.4g} mm" in text
    assert check.originExplanation in text and "negate x and y" in text
    # The same numbers the engine found reading the files without Slicer: the tilt, and 22.8 mm.
    assert "18.5 deg" in text and "22.78 mm" in text
    font = prop(panel.ui.geometryText, "font")
    assert qt.QFontInfo(font).fixedPitch()


def test_slice_table_flags_the_right_slices(window):
    (ct,) = window.open([case(GE_TILT)])
    panel = window.panel
    panel.selectVolume(ct.GetID())
    panel.showTab("slices")
    model = panel.ui.sliceTable.model()
    expected = expectedSeries(GE_TILT)
    assert model.rowCount() == len(expected.slices) == 28
    flagged = {finding.slice for finding in expected.findings if finding.slice is not None}
    for row in range(model.rowCount()):
        background = model.data(model.index(row, 0), qt.Qt.BackgroundRole)
        severity = worstSeverity([f for f in expected.findings if f.slice == row])
        assert (background is not None) == (row in flagged), row
        if severity:
            assert background.name() == paneldata.SEVERITY_COLOURS[severity]
            toolTip = model.data(model.index(row, 3), qt.Qt.ToolTipRole)
            assert all(f.message in toolTip for f in expected.findings if f.slice == row)
    # The missing slice: the gaps before slices 14 and 15 are 1.081 and 6.999 mm instead of 4.002 mm.
    assert [model.data(model.index(row, 5), qt.Qt.DisplayRole) for row in (13, 14, 15)] == ["4.002", "1.081", "6.999"]
    assert "nonUniformSpacing" in model.data(model.index(14, 8), qt.Qt.DisplayRole)
    assert model.data(model.index(0, 0), qt.Qt.BackgroundRole) is None
    assert model.data(model.index(5, 1), qt.Qt.DisplayRole) == "06.dcm"
    # Slicer's corner deviation per slice, as the logic measured it.
    deviations = panel.analysis(ct.GetID()).check.deviations
    assert model.data(model.index(14, 7), qt.Qt.DisplayRole) == f"{deviations[14].deviationMm:.3g}"
    assert not prop(panel.ui.slicePlotLabel, "pixmap").isNull()
    findings = [panel.ui.findingsList.item(i).text() for i in range(prop(panel.ui.findingsList, "count"))]
    assert findings[0].startswith("ERROR") and any("gantryTilt" in line for line in findings)


def test_plot_is_drawn_when_its_tab_shows(window):
    """Selected while another tab shows, a volume's step and tilt plot waits (matplotlib's first import costs more
    than the cross-check); showing the Slices tab draws it; selected with that tab shown, it is drawn at once."""
    (ct,) = window.open([case(GE_TILT)])
    panel = window.panel
    label = panel.ui.slicePlotLabel
    panel.showTab("geometry")
    panel._analyses.clear()
    panel.selectVolume(ct.GetID())
    analysis = panel.analysis(ct.GetID())
    assert analysis.plotPending and not analysis.plotPNG and prop(label, "pixmap").isNull()
    panel.showTab("slices")
    assert not analysis.plotPending and analysis.plotPNG and not prop(label, "pixmap").isNull()
    panel._analyses.clear()
    panel.selectVolume(ct.GetID())
    assert not panel.analysis(ct.GetID()).plotPending and panel.analysis(ct.GetID()).plotPNG


def test_cancelling_the_dicom_reading_caches_nothing(window):
    (ct,) = window.host.loadDICOM([case(GE_TILT)])
    settle()
    panel = window.panel
    assert panel.analyse(ct, progressCallback=lambda label, fraction: True) is None
    assert panel.analysis(ct.GetID()) is None
    assert "cancelled" in prop(panel.ui.statusLabel, "text")
    assert tableRows(panel)[0][5] == paneldata.notCheckedText()


# --------------------------------------------------------------------------- actions


def test_resample_button_creates_a_node_on_the_reference_grid_and_selects_it(window):
    ct, mr = window.open([case(GE_TILT), case(HITACHI)])
    panel = window.panel
    panel.selectVolume(mr.GetID())
    panel.ui.referenceComboBox.setCurrentIndex(panel.volumeNodeIDs().index(ct.GetID()))
    panel.ui.interpolationComboBox.setCurrentText("nearest")
    panel.ui.resampleButton.click()
    settle()
    assert window.errors == []
    assert len(panel.volumeNodeIDs()) == 3
    output = window.host.scene.GetNodeByID(panel.selectedNodeID())
    assert output.GetID() not in (ct.GetID(), mr.GetID())
    assert np.allclose(ijkToRAS(output), ijkToRAS(ct))
    assert output.GetImageData().GetDimensions() == ct.GetImageData().GetDimensions()
    assert "nearest interpolation" in prop(panel.ui.statusLabel, "text")
    assert ct.GetImageData().GetDimensions() == (512, 512, 28)  # inputs untouched


@pytest.mark.slotErrors  # the resample button's slot re-raises after showing the error, as in Slicer
def test_errors_reach_the_user(window, tmp_path, failOnSlotErrors):
    (mr,) = window.open([case(HITACHI)])
    panel = window.panel
    panel.selectVolume(mr.GetID())
    panel.ui.referenceComboBox.setCurrentIndex(0)  # itself
    panel.ui.resampleButton.click()
    assert window.errors and window.errors[-1][0] == "Resampling failed"
    assert "its own reference" in window.errors[-1][1]
    assert "its own reference" in prop(panel.ui.statusLabel, "text")
    assert failOnSlotErrors == [f"GeometryError: {window.errors[-1][1]}"]
    assert len(panel.volumeNodeIDs()) == 1
    window.open([str(tmp_path / "missing"), case(GE_TILT)])
    assert window.errors[-1][0] == f"Opening {tmp_path / 'missing'} failed"
    assert "no such file or folder" in window.errors[-1][1]
    assert len(window.panel.volumeNodeIDs()) == 2  # the other path still loaded
    (tmp_path / "notes.txt").write_text("not DICOM")
    window.open([str(tmp_path)])
    assert "no DICOM image series loaded" in window.errors[-1][1]


def test_errors_are_shown_then_re_raised_as_slicer_does(window):
    """As slicer.util.tryWithErrorDisplay: shown once, status line set, and the exception goes on to the caller."""
    with pytest.raises(GeometryError, match="no reference"):
        with window.panel.errorsShown("Resampling failed"):
            raise GeometryError("no reference")
    assert window.errors == [("Resampling failed", "no reference")]
    assert prop(window.panel.ui.statusLabel, "text") == "Resampling failed: no reference"
    assert qt.QApplication.overrideCursor() is None


def test_copy_button_puts_the_chosen_format_on_the_clipboard(window):
    (mr,) = window.open([case(HITACHI)])
    panel = window.panel
    panel.selectVolume(mr.GetID())
    for index, name in enumerate(COPY_FORMATS):
        panel.ui.copyFormatComboBox.setCurrentIndex(index)
        panel.ui.copyButton.click()
        assert qt.QApplication.clipboard().text() == formatGeometry(name, ijkToRAS(mr))


# --------------------------------------------------------------------------- the command


def test_gui_command_renders_a_screenshot_offscreen(tmp_path):
    shot = tmp_path / "panel.png"
    command = [
        sys.executable,
        "-m",
        "AffineInspectorLib.cli",
        "gui",
        "--offscreen",
        "--screenshot",
        str(shot),
        "--size",
        "800x900",
        case(GE_TILT),
    ]
    environment = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(UI_FILE), "..", ".."))
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr
    image = qt.QImage(str(shot))
    assert (image.width(), image.height()) == (800, 900)
    completed = subprocess.run(
        command[:6] + [str(tmp_path / "panel.txt"), case(GE_TILT)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert completed.returncode == 2 and ".png" in completed.stderr
    before = shot.read_bytes()  # an existing screenshot is never replaced
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 1 and "exists: refusing to replace it" in completed.stderr
    assert shot.read_bytes() == before
    (tmp_path / "empty").mkdir()
    completed = subprocess.run(
        command[:6] + [str(tmp_path / "other.png")] + command[7:-1] + [str(tmp_path / "empty")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert completed.returncode == 1 and "no volume loaded" in completed.stderr
    # One line: ours. (The PythonQt host makes its QApplication before the command runs, and Qt may note
    # "QStandardPaths: XDG_RUNTIME_DIR not set" then: the host's, not the command's.)
    lines = [line for line in completed.stderr.splitlines() if not line.startswith("QStandardPaths:")]
    assert len(lines) == 1 and not (tmp_path / "other.png").exists()
