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

import tempfile

import slicer
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)

try:
    import nibabel  # noqa: F401  (axis codes)
except ImportError:  # Slicer bundles numpy and pydicom but not nibabel
    slicer.util.pip_install("nibabel")

from AffineInspectorLib.mrml.logic import VolumeGeometryLogic  # noqa: E402

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


class AffineInspectorWidget(ScriptedLoadableModuleWidget):
    """Thin: loads Resources/UI/AffineInspector.ui and hands it to AffineInspectorLib.ui.panel.AffineInspectorPanel,
    the same panel class the standalone window uses (it observes the scene and fills the widgets)."""

    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        self.logic = None
        self.panel = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        from AffineInspectorLib.ui.panel import AffineInspectorPanel

        self.logic = AffineInspectorLogic()
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/AffineInspector.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        self.panel = AffineInspectorPanel(self.logic, uiWidget, showVolume=self.showVolume)
        self.panel.setActive(False)  # refreshed on enter

    @staticmethod
    def showVolume(volumeNode):
        """Show the selected volume in the slice views (labelmaps as label layer)."""
        if volumeNode.IsA("vtkMRMLLabelMapVolumeNode"):
            slicer.util.setSliceViewerLayers(label=volumeNode)
        else:
            slicer.util.setSliceViewerLayers(background=volumeNode)

    def enter(self):
        self.panel.setActive(True)

    def exit(self):
        self.panel.setActive(False)

    def cleanup(self):
        if self.panel is not None:
            self.panel.cleanup()


class AffineInspectorLogic(ScriptedLoadableModuleLogic, VolumeGeometryLogic):
    """The module logic: :class:`AffineInspectorLib.mrml.logic.VolumeGeometryLogic` on ``slicer.mrmlScene``
    with ``slicer.dicomDatabase`` as DICOM source."""

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        VolumeGeometryLogic.__init__(self)


class AffineInspectorTest(ScriptedLoadableModuleTest):
    """Writes DICOM series with pydicom, imports them into a temporary DICOM database, loads and checks them.

    The checks are ``AffineInspectorLib.mrml.scenario.runScenario``, the same code
    the pytest suite runs on slicer-core.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_scenario()

    def test_scenario(self):
        from DICOMLib import DICOMUtils

        from AffineInspectorLib.dicom.series import inspectPaths
        from AffineInspectorLib.mrml.scenario import runScenario

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
