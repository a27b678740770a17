"""AffineInspector: a 3D Slicer scripted module that makes image geometry visible.

Module, widget, logic and self-test classes (Slicer Extension Wizard form).
Everything else lives in ``AffineInspectorLib`` (pure geometry and DICOM
analysis; MRML logic on a scene passed in), so that the same code runs
standalone on the PyPI package ``slicer-core``.

Console use inside Slicer::

    logic = slicer.util.getModuleLogic("AffineInspector")
    logic.volumes()                                  # every volume: IJKToRAS, axis codes, scan order, ...
    check = logic.crossCheck(getNode("CT"))          # Slicer vs its DICOM files, per slice, 1e-3 mm
    print("\\n".join(check.messages))
    logic.compare(getNode("Segmentation"), getNode("CT"))
    resampled = logic.resample(getNode("Segmentation"), getNode("CT"), interpolation="nearest")
"""

from __future__ import annotations

import os
import tempfile

import slicer
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

try:
    import nibabel  # noqa: F401  (axis codes)
except ImportError:  # Slicer bundles numpy and pydicom but not nibabel
    slicer.util.pip_install("nibabel")

from AffineInspectorLib.mrmllogic import VolumeGeometryLogic  # noqa: E402

README_URL = "https://github.com/affine-inspector/SlicerAffineInspector#readme"


class AffineInspector(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Affine Inspector"
        self.parent.categories = ["Utilities"]
        self.parent.dependencies = ["DICOM"]
        self.parent.contributors = ["AffineInspector developers"]
        self.parent.helpText = (
            "Shows, for every loaded volume, its IJK-to-RAS matrix, the LPS affine its DICOM files imply, and which "
            "slice breaks the geometry and by how much (gantry tilt, missing or duplicate slices, mixed orientation); "
            "resamples a volume onto a reference volume's grid. "
            f'See the <a href="{README_URL}">README</a> ("What each finding means", "Python console").'
        )
        self.parent.acknowledgementText = (
            "Uses pydicom, nibabel and numpy. The slice sort follows Slicer's DICOMUtils.getSortedImageFiles and the "
            "corner check follows the DICOMScalarVolumePlugin's AcquisitionModeling."
        )


class AffineInspectorWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Setup/enter/exit/cleanup wiring; the panel itself is loaded from Resources/UI."""

    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        self.logic = AffineInspectorLogic()
        uiPath = self.resourcePath("UI/AffineInspector.ui")
        if os.path.exists(uiPath):  # the panel (next issue); until then the module has no controls
            uiWidget = slicer.util.loadUI(uiPath)
            self.layout.addWidget(uiWidget)
            self.ui = slicer.util.childWidgetVariables(uiWidget)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneChanged)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.NodeAddedEvent, self.onSceneChanged)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.NodeRemovedEvent, self.onSceneChanged)
        self.layout.addStretch(1)

    def enter(self):
        self.refresh()

    def exit(self):
        pass

    def cleanup(self):
        self.removeObservers()

    def onSceneChanged(self, caller=None, event=None):
        if self.parent.isEntered:
            self.refresh()

    def refresh(self):
        """Re-read the volume list (the panel shows it; see the panel issue)."""
        return self.logic.volumes() if self.logic is not None else []


class AffineInspectorLogic(ScriptedLoadableModuleLogic, VolumeGeometryLogic):
    """The module logic: :class:`AffineInspectorLib.mrmllogic.VolumeGeometryLogic` on ``slicer.mrmlScene``
    with ``slicer.dicomDatabase`` as DICOM source."""

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        VolumeGeometryLogic.__init__(self)


class AffineInspectorTest(ScriptedLoadableModuleTest):
    """Writes DICOM series with pydicom, imports them into a temporary DICOM database, loads and checks them.

    The checks are ``AffineInspectorLib.scenario.runScenario``, the same code
    the pytest suite runs on slicer-core.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_scenario()

    def test_scenario(self):
        from DICOMLib import DICOMUtils

        from AffineInspectorLib.scenario import runScenario
        from AffineInspectorLib.series import inspectPaths

        def loadFolder(folder):
            DICOMUtils.importDicom(folder, slicer.dicomDatabase)
            seriesUIDs = [series.seriesInstanceUID for series in inspectPaths([folder]).series]
            nodeIDs = DICOMUtils.loadSeriesByUID(seriesUIDs)
            return [slicer.mrmlScene.GetNodeByID(nodeID) for nodeID in nodeIDs if nodeID]

        self.delayDisplay("Writing and loading synthetic DICOM series")
        with tempfile.TemporaryDirectory() as folder, DICOMUtils.TemporaryDICOMDatabase():
            for line in runScenario(AffineInspectorLogic(), loadFolder, folder):
                self.delayDisplay(line, msec=100)
        self.delayDisplay("AffineInspector self-test passed")
