"""Slicer's own Python runs here with slicerenv's stand-ins: the proof, and the oracle for the project's ports.

``make test`` runs it twice: under plain CPython (``qt`` is PySide6) and inside
the PythonQt host (``qt`` is PythonQt, as in Slicer).
"""

from __future__ import annotations

import glob
import random
import sys
import types

import numpy as np
import pydicom
import pytest
import slicer
import slicerenv

from AffineInspectorLib.dicom.slicersort import sortLikeSlicer
from conftest import case


@pytest.fixture
def environment(dicomRoot):
    with slicerenv.slicerEnvironment() as module:
        yield module


def geTiltFiles():
    """The shared GE CT series: 28 files, a gantry tilt and one uneven gap, given in a shuffled order."""
    files = sorted(glob.glob(case("dcm_qa_ct_GE", "*.dcm")))
    assert len(files) == 28
    random.Random(11).shuffle(files)
    return files


def test_try_with_error_display_reraises_and_restores_the_cursor(environment):
    """In testing mode (slicer.app.testingEnabled(), as in Slicer's self-tests) nothing is shown; it re-raises."""
    import qt

    with pytest.raises(ValueError, match="boom"):
        with slicer.util.tryWithErrorDisplay("Could not inspect", waitCursor=True):
            raise ValueError("boom")
    if qt.QApplication.instance() is not None:
        assert qt.QApplication.overrideCursor() is None


def test_get_sorted_image_files_equals_the_port(environment):
    from DICOMLib import DICOMUtils

    files = geTiltFiles()
    sortedFiles, distances, warning = DICOMUtils.getSortedImageFiles(files)

    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in files]
    portFiles, portDistances, portWarning = sortLikeSlicer(
        files,
        [[float(v) for v in header.ImagePositionPatient] for header in headers],
        [[float(v) for v in header.ImageOrientationPatient] for header in headers],
    )
    assert sortedFiles == portFiles
    np.testing.assert_allclose([distances[path] for path in sortedFiles], portDistances, rtol=0, atol=1e-9)
    assert warning == portWarning
    assert "Image slices are not equally spaced" in warning


def test_scalar_volume_plugin_examines_and_loads_with_an_acquisition_transform(environment):
    """Slicer's default regularization adds a grid transform to a volume whose slices leave its IJKToRAS."""
    import DICOMScalarVolumePlugin

    files = geTiltFiles()
    plugin = DICOMScalarVolumePlugin.DICOMScalarVolumePluginClass()
    loadables = plugin.examineForImport([files])
    selected = [loadable for loadable in loadables if loadable.selected]
    assert len(selected) == 1 and len(selected[0].files) == 28
    assert "not equally spaced" in selected[0].warning

    volumeNode = plugin.load(selected[0])
    assert volumeNode.GetImageData().GetDimensions()[2] == 28
    assert len(volumeNode.GetAttribute("DICOM.instanceUIDs").split()) == 28
    transformNode = volumeNode.GetParentTransformNode()
    assert transformNode is not None and transformNode.IsA("vtkMRMLGridTransformNode")

    modeling = plugin.acquisitionModeling
    assert np.abs(modeling.originalCorners - modeling.targetCorners).max() > modeling.cornerEpsilon
    np.testing.assert_allclose(modeling.cornersToWorld(volumeNode, modeling.originalCorners), modeling.targetCorners)


def test_parameter_node_wrapper_stores_in_the_scene(environment):
    from slicer.parameterNodeWrapper import parameterNodeWrapper

    @parameterNodeWrapper
    class Parameters:
        toleranceMm: float = 0.001
        volume: slicer.vtkMRMLScalarVolumeNode

    volumeNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CT")
    parameterNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    parameters = Parameters(parameterNode)
    parameters.toleranceMm = 0.5
    parameters.volume = volumeNode
    assert parameterNode.GetParameter("toleranceMm") == "0.5"
    assert Parameters(parameterNode).volume.GetName() == "CT"


def test_scripted_loadable_module_and_logic(environment, tmp_path):
    from slicer.i18n import tr as _
    from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic

    class Example(ScriptedLoadableModule):
        def __init__(self, parent):
            ScriptedLoadableModule.__init__(self, parent)
            self.parent.title = _("Example")

    parent = types.SimpleNamespace(path=str(tmp_path / "Example.py"))
    module = Example(parent)
    assert parent.title == "Example"
    assert module.resourcePath("UI/Example.ui") == str(tmp_path / "Resources" / "UI" / "Example.ui")
    assert "Example" in slicer.selfTests
    assert ScriptedLoadableModuleLogic().getParameterNode().IsA("vtkMRMLScriptedModuleNode")


def test_scripted_loadable_module_widget_sets_up_and_cleans_up(qtApplication, environment):
    """Slicer's widget base class sets up on a parent widget, and cleanup() runs when the module manager announces
    the module's unloading (both bindings; parameterNodeWrapper's GUI connectors: Testing/pythonqt)."""
    import qt
    from slicer.ScriptedLoadableModule import ScriptedLoadableModuleWidget

    class ExampleWidget(ScriptedLoadableModuleWidget):
        def setup(self):
            ScriptedLoadableModuleWidget.setup(self)
            self.label = qt.QLabel("example")
            self.layout.addWidget(self.label)
            self.cleanedUp = False

        def cleanup(self):
            self.cleanedUp = True

    parent = qt.QWidget()
    parent.setLayout(qt.QVBoxLayout())
    widget = ExampleWidget(parent)
    widget.setup()
    assert widget.moduleName == "Example" and parent.layout().indexOf(widget.label) >= 0
    slicer.app.moduleManager().moduleAboutToBeUnloaded.emit("Other")
    assert not widget.cleanedUp
    slicer.app.moduleManager().moduleAboutToBeUnloaded.emit("Example")
    assert widget.cleanedUp
    parent.deleteLater()


def test_ctk_classes_are_names_only(environment):
    import ctk

    with pytest.raises(NotImplementedError, match="ctk.ctkDICOMDatabase is not available outside Slicer"):
        ctk.ctkDICOMDatabase()


def test_environment_is_undone(dicomRoot):
    before = {name for name in ("qt", "ctk", "vtkITK", "DICOMLib") if name in sys.modules}
    with slicerenv.slicerEnvironment():
        from DICOMLib import DICOMUtils  # noqa: F401

        assert hasattr(slicer, "app") and "ctk" in sys.modules
    assert {name for name in ("qt", "ctk", "vtkITK", "DICOMLib") if name in sys.modules} == before
    assert not hasattr(slicer, "app") and not hasattr(slicer, "ScriptedLoadableModule")
    assert slicerenv.SLICER_BASE_PYTHON not in slicer.__path__
    assert not [name for name in sys.modules if name.startswith("DICOMLib")]
