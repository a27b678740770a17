"""The Slicer module itself (``AffineInspector.py``) with Slicer's own Python, under both bindings.

``make test`` runs this file under CPython (Qt through PySide6) and inside
the PythonQt host (Slicer's binding). Slicer's ``ScriptedLoadableModule``,
``slicer.util`` (``tryWithErrorDisplay`` re-raises), ``i18n``,
``parameterNodeWrapper``, ``packaging`` and the DICOM module's
``DICOMUtils``/``DICOMScalarVolumePlugin`` run from
``shared/thirdparty/slicer-583e9b37`` with the stand-ins of
``slicerenv.STAND_INS``; Slicer's default settings apply (the DICOM plugin
regularizes irregular series with an acquisition transform).
"""

from __future__ import annotations

import ast
import os
import re

import pytest
import slicer
import slicerenv

from AffineInspectorLib.geometry.formats import formatMatrix
from AffineInspectorLib.mrml.nodes import ijkToRAS
from AffineInspectorLib.ui.qtcompat import prop
from conftest import ROOT, case

MODULE_FILE = os.path.join(ROOT, "AffineInspector", "AffineInspector.py")


@pytest.fixture
def environment(qtApplication, dicomRoot):
    with slicerenv.slicerEnvironment() as module:
        yield module


@pytest.fixture
def module(environment):
    """AffineInspector.py loaded as Slicer's module factory loads it (slicer.modules.affineinspector.path)."""
    return slicer.modules.registerModule(MODULE_FILE)


@pytest.fixture
def widget(module, qtApplication):
    from AffineInspectorLib.ui.qtcompat import qt

    parent = qt.QWidget()
    parent.setLayout(qt.QVBoxLayout())
    moduleWidget = module.AffineInspectorWidget(parent)
    moduleWidget.setup()
    yield moduleWidget
    moduleWidget.cleanup()
    parent.deleteLater()


def loadDICOMFolder(folder):
    """As a Slicer user does: import into the DICOM database, load the series (DICOM module defaults)."""
    from DICOMLib import DICOMUtils

    DICOMUtils.importDicom(folder, slicer.dicomDatabase)
    files = [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]
    nodeIDs = DICOMUtils.loadSeriesByUID(sorted(DICOMUtils.seriesUIDsForFiles(files)))
    return [slicer.mrmlScene.GetNodeByID(nodeID) for nodeID in nodeIDs]


# --------------------------------------------------------------------------- the module file


def test_importing_the_module_installs_nothing(environment, monkeypatch):
    import slicer.packaging

    calls = []
    for owner, name in (
        (slicer.util, "pip_install"),
        (slicer.packaging, "pip_install"),
        (slicer.packaging, "pip_ensure"),
    ):
        monkeypatch.setattr(owner, name, lambda *args, _name=name, **kwargs: calls.append(_name))
    module = slicer.modules.registerModule(MODULE_FILE)
    assert calls == []
    assert module.AffineInspector.__name__ == "AffineInspector"
    # And nothing at module level could: no pip call outside a function body.
    tree = ast.parse(open(MODULE_FILE).read())
    topLevel = [
        node
        for node in tree.body
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef))
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # the docstring
    ]
    assert not [node for node in topLevel if "pip" in ast.unparse(node)]


def test_module_metadata_as_the_wizard_template_has_it(module):
    parent = slicer.modules.affineinspector
    assert parent.title == "Affine Inspector" and parent.categories == ["Utilities"]
    assert all(re.fullmatch(r"[^()]+ \([^()]+\)", contributor) for contributor in parent.contributors)
    assert "README" in parent.helpText and "{url}" not in parent.helpText
    assert slicer.selfTests["AffineInspector"]


def test_requirements_file_lists_what_slicer_lacks_and_pyproject_agrees():
    import tomllib

    lines = open(os.path.join(ROOT, "AffineInspector", "Resources", "requirements.txt")).read().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert requirements == ["matplotlib>=3.5", "nibabel>=4.0", "pynrrd>=1.0"]
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as stream:
        project = tomllib.load(stream)["project"]
    assert "matplotlib>=3.5" in project["optional-dependencies"]["gui"]
    # What Slicer does not bundle is what the standalone package depends on for the same features.
    assert {"nibabel>=4.0", "pynrrd>=1.0"} <= set(project["dependencies"])


# --------------------------------------------------------------------------- the widget in Slicer's setting


def test_first_look_shows_the_loaded_volume_analysed_without_a_click(widget):
    """After a DICOM load (the volume and its acquisition transform), entering the module shows that volume's
    matrices, findings count and slice table."""
    loaded = loadDICOMFolder(case("dcm_qa_ct_GE"))
    (volume,) = [node for node in loaded if node.IsA("vtkMRMLVolumeNode")]
    (transform,) = [node for node in loaded if node.IsA("vtkMRMLGridTransformNode")]
    assert volume.GetParentTransformNode() is transform
    widget.enter()
    panel = widget.panel
    assert panel.selectedNodeID() == volume.GetID()
    analysis = panel.analysis(volume.GetID())
    assert analysis is not None and analysis.check is not None and analysis.check.withinTolerance
    text = panel.ui.geometryText.toPlainText()
    assert formatMatrix(ijkToRAS(volume)) in text and transform.GetName() in text
    row = panel.volumeNodeIDs().index(volume.GetID())
    findings = analysis.check.dicom.findings
    assert panel.ui.volumeTable.item(row, 5).text().startswith(str(len(findings)))
    assert panel.ui.sliceTable.model().rowCount() == 28
    assert widget.parameterNode.inputVolume.GetID() == volume.GetID()


def test_parameter_node_keeps_the_choices_in_the_scene(widget, tmp_path):
    loaded = loadDICOMFolder(case("dicom2nifti/hitachi_oblique"))
    loaded += loadDICOMFolder(case("dcm_qa_ct_GE"))
    mr, ct = [node for node in loaded if node.IsA("vtkMRMLVolumeNode")]
    widget.enter()
    widget.panel.selectVolume(mr.GetID())
    widget.panel.setReferenceNodeID(ct.GetID())
    widget.panel.setInterpolation("cubic")
    parameters = widget.parameterNode
    assert (parameters.inputVolume.GetID(), parameters.referenceVolume.GetID(), parameters.interpolation) == (
        mr.GetID(),
        ct.GetID(),
        "cubic",
    )
    # Saved with the scene: the MRML file holds the references and the value ...
    sceneFile = str(tmp_path / "scene.mrml")
    slicer.mrmlScene.SetURL(sceneFile)
    assert slicer.mrmlScene.Commit()
    saved = open(sceneFile).read()
    assert re.search(r"<ScriptedModule[^>]*AffineInspector", saved) and "cubic" in saved
    # ... and a module entered later restores them (a different volume is selected meanwhile).
    widget.exit()
    widget.panel.selectVolume(ct.GetID())
    widget.panel.setInterpolation("nearest")
    parameters.inputVolume, parameters.interpolation = mr, "cubic"
    widget.enter()
    assert widget.panel.selectedNodeID() == mr.GetID()
    assert widget.panel.interpolation() == "cubic" and widget.panel.referenceNodeID() == ct.GetID()


def test_resample_button_works_on_a_volume_under_the_acquisition_transform(widget):
    loaded = loadDICOMFolder(case("dicom2nifti/hitachi_oblique")) + loadDICOMFolder(case("dcm_qa_ct_GE"))
    mr, ct = [node for node in loaded if node.IsA("vtkMRMLVolumeNode")]
    widget.enter()
    widget.panel.selectVolume(mr.GetID())
    widget.panel.setReferenceNodeID(ct.GetID())
    output = widget.panel.resampleSelected()
    assert output.GetParentTransformNode() is ct.GetParentTransformNode()
    assert widget.logic.compare(output, ct).sameGrid


def test_errors_go_through_slicers_display_and_are_re_raised(widget, caplog):
    """Inside Slicer the panel uses slicer.util.tryWithErrorDisplay (testing mode: logged, no dialog); it
    re-raises, as Slicer's does."""
    from AffineInspectorLib.geometry.errors import GeometryError

    widget.enter()
    with pytest.raises(GeometryError, match="select the volume"):
        with widget.panel.errorsShown("Resampling failed"):
            widget.panel.resampleSelected()
    assert "select the volume" in prop(widget.panel.ui.statusLabel, "text")


def test_plot_package_is_installed_only_when_the_user_accepts(widget, monkeypatch):
    """matplotlib missing: the panel offers a link; Slicer's pip_ensure asks (confirmOkCancelDisplay) before
    pip_install; declining leaves the plot off, accepting draws it."""
    import slicer.packaging

    from AffineInspectorLib.ui import paneldata as paneldataModule

    drawPlot = paneldataModule.stepTiltPlotPNG

    def withoutMatplotlib(series):
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(paneldataModule, "stepTiltPlotPNG", withoutMatplotlib)
    (volume,) = [node for node in loadDICOMFolder(case("dcm_qa_ct_GE")) if node.IsA("vtkMRMLVolumeNode")]
    widget.enter()
    widget.panel.showTab("slices")  # the plot is drawn when its tab shows
    label = widget.panel.ui.slicePlotLabel
    assert 'href="install"' in prop(label, "text")

    installed = {"value": False}
    questions, pipCalls = [], []
    monkeypatch.setattr(slicer.app, "testingEnabled", lambda: False)  # a user session: pip_ensure asks
    monkeypatch.setattr(slicer.packaging, "pip_check", lambda requirements: installed["value"])
    monkeypatch.setattr(slicer.packaging, "_get_installed_versions", lambda: {})

    def pipInstall(requirements, **options):
        pipCalls.append(list(requirements))
        installed["value"] = True

    monkeypatch.setattr(slicer.packaging, "pip_install", pipInstall)
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay", lambda text, *a, **k: questions.append(text) or False)
    assert widget.panel.installPlotForSelected() is False
    assert len(questions) == 1 and pipCalls == []
    assert "not installed" in prop(widget.panel.ui.statusLabel, "text")

    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay", lambda text, *a, **k: questions.append(text) or True)
    monkeypatch.setattr(paneldataModule, "stepTiltPlotPNG", drawPlot)
    assert widget.panel.installPlotForSelected() is True
    assert pipCalls == [["matplotlib>=3.5"]] and len(questions) == 2
    assert not prop(label, "pixmap").isNull()
    assert widget.panel.analysis(volume.GetID()).plotPNG


# --------------------------------------------------------------------------- the self-test


def test_self_test_passes_with_slicers_default_settings(module, caplog):
    """Slicer's self-test runner: slicer.selfTests[name](msec, **kwargs) -> AffineInspectorTest.runTest.

    The DICOM module regularizes (default): the tilted sample and the real GE CT come with an acquisition
    transform node, which loadSeriesByUID returns beside the volume; the scenario goes through it.
    """
    import logging

    caplog.set_level(logging.INFO)
    slicer.selfTests["AffineInspector"](msec=0, extraDICOMFolders=[case("dcm_qa_ct_GE")])
    messages = [record.getMessage() for record in caplog.records]
    assert "AffineInspector self-test passed" in messages
    transforms = slicer.util.getNodesByClass("vtkMRMLGridTransformNode")
    assert sorted(node.GetName().split(":")[0] for node in transforms) == ["1", "2"]  # the sample and the GE CT
    for series in ("tilted CT", "dcm_qa_ct_GE"):
        assert any(m.startswith(f"{series}: resampled through the transform, voxels within") for m in messages)


def test_self_test_reports_what_differs(module, monkeypatch):
    """The self-test can fail: a resampling that ignored the transform is caught."""
    from AffineInspectorLib.mrml import scenario

    monkeypatch.setattr(scenario, "POSITION_TOLERANCE_MM", -1.0)
    with pytest.raises(AssertionError, match="resampled through the transform"):
        slicer.selfTests["AffineInspector"](msec=0)


def test_panel_strings_are_translatable(module):
    """User-visible strings go through _(): inside Slicer through slicer.i18n with the calling file's context."""
    from AffineInspectorLib.ui import qtcompat

    translations = []
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(slicer.app, "translate", lambda context, text: translations.append(context) or text.upper())
    try:
        assert qtcompat.tr("Resampling failed") == "RESAMPLING FAILED"
        assert qtcompat.tr("{count} files") == "{count} files"  # a translation that breaks a placeholder is refused
    finally:
        monkeypatch.undo()
    assert translations[0] == "test_module"
    panelSource = open(os.path.join(ROOT, "AffineInspector", "AffineInspectorLib", "ui", "panel.py")).read()
    assert 'errorsShown(_("Resampling failed"))' in panelSource


STAND_IN_TRANSLATIONS = {
    ("ui.panel", "Align"): "Ausrichten",
    ("ui.panel", "No volume in the scene: load a DICOM series or a volume file."): "Keine Volumen in der Szene.",
    ("ui.paneldata", "Findings"): "Befunde",
    ("ui.paneldata", "IPP (LPS mm)"): "IPP (LPS, mm)",
    ("ui.aligntab", "Compare"): "Vergleichen",
    ("ui.conventionsview", "Conventions"): "Konventionen",
}
"""German for a few of the panel's strings, under the context Slicer's extraction gives each file."""


@pytest.fixture
def germanPanel(environment, monkeypatch):
    """A stand-in for a German language pack: ``slicer.app.translate`` (what ``slicer.i18n.translate`` calls)
    knows :data:`STAND_IN_TRANSLATIONS` and gives every other text back, before the widget is made."""

    def translate(context, text):
        return STAND_IN_TRANSLATIONS.get((context, text), text)

    monkeypatch.setattr(slicer.app, "translate", translate)


def test_a_translation_installed_in_slicer_reaches_the_panels_widgets(germanPanel, widget):
    from AffineInspectorLib.ui.qtcompat import qt

    widget.enter()
    ui = widget.panel.ui
    tabs = [ui.detailTabs.tabText(index) for index in range(prop(ui.detailTabs, "count"))]
    assert "Ausrichten" in tabs and "Konventionen" in tabs and "Align" not in tabs
    volumeModel = ui.volumeTable.model()
    headers = [
        volumeModel.headerData(column, qt.Qt.Horizontal, qt.Qt.DisplayRole)
        for column in range(prop(ui.volumeTable, "columnCount"))
    ]
    assert headers[-1] == "Befunde" and headers[0] == "Name"  # an untranslated text stays as it is
    assert ui.sliceTable.model().headerData(3, qt.Qt.Horizontal, qt.Qt.DisplayRole) == "IPP (LPS, mm)"
    assert prop(widget.panel.alignTab.compareButton, "text") == "Vergleichen"
    assert ui.geometryText.toPlainText() == "Keine Volumen in der Szene."


def test_an_empty_scene_says_what_to_do(widget):
    widget.enter()
    assert "No volume in the scene" in widget.panel.ui.geometryText.toPlainText()
    assert widget.parameterNode.inputVolume is None
