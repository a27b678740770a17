"""AffineInspector: a 3D Slicer scripted module that makes image geometry visible.

Module, parameter node, widget, logic and self-test classes (Slicer Extension
Wizard form). Everything else lives in ``AffineInspectorLib`` (pure geometry
and DICOM analysis; MRML logic on a scene passed in; the panel), so that the
same code runs standalone on the PyPI package ``slicer-core``.

Nothing is installed when this file is imported: Slicer bundles numpy and
pydicom, which is all the analysis needs; the step/tilt plot needs matplotlib,
listed in ``Resources/requirements.txt`` and installed only when the user
asks for it (``slicer.packaging.pip_ensure`` shows a confirmation first).

Console use inside Slicer::

    logic = slicer.util.getModuleLogic("AffineInspector")
    logic.volumes()                                  # every volume: IJKToRAS, axis codes, scan order, ...
    check = logic.crossCheck(getNode("CT"))          # Slicer vs its DICOM files, per slice, 1e-3 mm
    print("\\n".join(check.messages))
    logic.compare(getNode("Segmentation"), getNode("CT"))
    resampled = logic.resample(getNode("Segmentation"), getNode("CT"), interpolation="nearest")
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Annotated, Any, List, Optional, Sequence

import slicer
from slicer import vtkMRMLVolumeNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from AffineInspectorLib.mrml.logic import INTERPOLATIONS, VolumeGeometryLogic

README_URL = "https://github.com/affine-inspector/SlicerAffineInspector#readme"


#
# AffineInspector
#


class AffineInspector(ScriptedLoadableModule):
    def __init__(self, parent: Any) -> None:
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Affine Inspector")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Utilities")]
        self.parent.dependencies = ["DICOM"]
        self.parent.contributors = ["AffineInspector developers (AffineInspector project)"]
        self.parent.helpText = _(
            "Shows, for every loaded volume, its IJK-to-RAS matrix, the LPS affine its DICOM files imply, and which "
            "slice breaks the geometry and by how much (gantry tilt, missing or duplicate slices, mixed orientation); "
            'resamples a volume onto a reference volume\'s grid. See the <a href="{url}">README</a> ("What each '
            'finding means", "Python console").'
        ).format(url=README_URL)
        self.parent.acknowledgementText = _(
            "Uses pydicom and numpy (bundled with Slicer), matplotlib for the step and tilt plot (installed on "
            "request). The slice sort follows Slicer's DICOMUtils.getSortedImageFiles and the corner check follows "
            "the DICOMScalarVolumePlugin's AcquisitionModeling."
        )


#
# AffineInspectorParameterNode
#


@parameterNodeWrapper
class AffineInspectorParameterNode:
    """What the module remembers in the scene (saved and restored with it).

    inputVolume - the volume shown (selected in the volume table).
    referenceVolume - the grid that "Resample to reference" resamples onto.
    interpolation - the resampling interpolation.
    """

    inputVolume: vtkMRMLVolumeNode
    referenceVolume: vtkMRMLVolumeNode
    interpolation: Annotated[str, Choice(list(INTERPOLATIONS))] = "linear"


#
# AffineInspectorWidget
#


class AffineInspectorWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Thin: loads Resources/UI/AffineInspector.ui and hands it to AffineInspectorLib.ui.panel.AffineInspectorPanel,
    the same panel class the standalone window uses (it observes the scene and fills the widgets). The widget adds
    what only Slicer has: the parameter node, the slice views, the package installation."""

    def __init__(self, parent: Any = None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic: Optional[AffineInspectorLogic] = None
        self.panel: Any = None
        self._parameterNode: Optional[AffineInspectorParameterNode] = None
        self._applyingParameterNode = False
        self._entered = False

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        from AffineInspectorLib.ui.panel import AffineInspectorPanel
        from AffineInspectorLib.ui.qtcompat import loadUI

        self.logic = AffineInspectorLogic()
        uiWidget = loadUI(self.resourcePath("UI/AffineInspector.ui"))
        self.layout.addWidget(uiWidget)
        self.panel = AffineInspectorPanel(
            self.logic,
            uiWidget,
            showVolume=self.showVolume,
            analyseOnShow=True,
            installRequirements=self.installPythonRequirements,
        )
        self.ui = self.panel.ui
        self.panel.setActive(False)  # refreshed on enter
        self.ui.volumeTable.itemSelectionChanged.connect(self.updateParameterNodeFromGUI)
        self.ui.referenceComboBox.currentIndexChanged.connect(self.updateParameterNodeFromGUI)
        self.ui.interpolationComboBox.currentIndexChanged.connect(self.updateParameterNodeFromGUI)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

    @staticmethod
    def showVolume(volumeNode: Any) -> None:
        """Show the selected volume in the slice views (labelmaps as label layer)."""
        if volumeNode.IsA("vtkMRMLLabelMapVolumeNode"):
            slicer.util.setSliceViewerLayers(label=volumeNode)
        else:
            slicer.util.setSliceViewerLayers(background=volumeNode)

    def enter(self) -> None:
        """Shown: the parameter node's choices are restored, or, the first time, Slicer's active volume (the one
        just loaded from DICOM) is selected; the selected DICOM volume is analysed at once."""
        self.initializeParameterNode()
        volume, reference, interpolation = self._rememberedChoices()
        self._applyingParameterNode = True
        try:
            self.panel.setActive(True, select=volume)
            self.panel.setReferenceNodeID(reference)
            if volume is not None and volume == self.panel.selectedNodeID():
                self.panel.setInterpolation(interpolation)
        finally:
            self._applyingParameterNode = False
        self._entered = True
        self.updateParameterNodeFromGUI()

    def exit(self) -> None:
        self._entered = False
        self.panel.setActive(False)

    def cleanup(self) -> None:
        if self.panel is not None:
            self.panel.cleanup()
        self.removeObservers()

    def onSceneStartClose(self, caller: Any = None, event: Any = None) -> None:
        self._parameterNode = None

    def onSceneEndClose(self, caller: Any = None, event: Any = None) -> None:
        if getattr(self.parent, "isEntered", False):  # shown while the scene was closed: a new parameter node now
            self.initializeParameterNode()

    # ------------------------------------------------------------------ parameter node

    def initializeParameterNode(self) -> None:
        assert self.logic is not None
        self._parameterNode = self.logic.getParameterNode()

    @property
    def parameterNode(self) -> Optional[AffineInspectorParameterNode]:
        return self._parameterNode

    def _rememberedChoices(self) -> tuple:
        """(volume ID, reference ID, interpolation) from the parameter node, read before any is applied
        (selecting a volume sets its default interpolation, which would overwrite the remembered one)."""
        if self._parameterNode is None:
            return None, None, "linear"
        volume = self._parameterNode.inputVolume
        reference = self._parameterNode.referenceVolume
        return (
            volume.GetID() if volume is not None else None,
            reference.GetID() if reference is not None else None,
            self._parameterNode.interpolation,
        )

    def updateParameterNodeFromGUI(self, *unused: Any) -> None:
        """Remember the panel's choices in the scene."""
        if self._parameterNode is None or self._applyingParameterNode or not self._entered:
            return
        scene = slicer.mrmlScene
        selected = self.panel.selectedNodeID()
        reference = self.panel.referenceNodeID()
        self._parameterNode.inputVolume = scene.GetNodeByID(selected) if selected else None
        self._parameterNode.referenceVolume = scene.GetNodeByID(reference) if reference else None
        self._parameterNode.interpolation = self.panel.interpolation()

    # ------------------------------------------------------------------ Python packages

    def installPythonRequirements(self, packages: Sequence[str] = ("matplotlib",)) -> bool:
        """Install the named packages as Resources/requirements.txt pins them, asking the user first.

        The plot asks for matplotlib; nibabel and pynrrd (Align and Conventions tabs) are listed there too.
        Returns whether they are installed now. Declining is not an error: the feature stays off.
        """
        import slicer.packaging

        pinned = slicer.packaging.load_requirements(self.resourcePath("requirements.txt"))
        requirements = [requirement for requirement in pinned if requirement.name in packages]
        names = ", ".join(str(requirement) for requirement in requirements)
        logging.info(f"AffineInspector: this needs {names}; asking to install (pip)")
        try:
            slicer.packaging.pip_ensure(requirements, requester="AffineInspector")
        except RuntimeError as error:  # pip_ensure's "User declined package installation"
            logging.info(f"AffineInspector: {names} not installed ({error})")
            return False
        installed = slicer.packaging.pip_check(requirements)
        logging.info(f"AffineInspector: {names} " + ("installed" if installed else "still missing"))
        return bool(installed)


#
# AffineInspectorLogic
#


class AffineInspectorLogic(ScriptedLoadableModuleLogic, VolumeGeometryLogic):
    """The module logic: :class:`AffineInspectorLib.mrml.logic.VolumeGeometryLogic` on ``slicer.mrmlScene``
    with ``slicer.dicomDatabase`` as DICOM source."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        VolumeGeometryLogic.__init__(self)

    def getParameterNode(self) -> AffineInspectorParameterNode:
        return AffineInspectorParameterNode(super().getParameterNode())


#
# AffineInspectorTest
#


class AffineInspectorTest(ScriptedLoadableModuleTest):
    """Writes DICOM series with pydicom, imports them into a temporary DICOM database, loads them with Slicer's
    DICOM module at its default settings (irregular series get an acquisition transform) and checks them.

    The checks are ``AffineInspectorLib.mrml.scenario.runScenario``, the same code the pytest suite runs.
    ``runTest(extraDICOMFolders=[...])`` adds real series (folders of DICOM files) to the same checks.
    """

    def setUp(self) -> None:
        slicer.mrmlScene.Clear()

    def runTest(self, extraDICOMFolders: Sequence[str] = ()) -> None:
        self.setUp()
        self.test_scenario(extraDICOMFolders)

    def test_scenario(self, extraDICOMFolders: Sequence[str] = ()) -> None:
        from DICOMLib import DICOMUtils

        from AffineInspectorLib.mrml.scenario import runScenario

        def loadFolder(folder: str) -> List[Any]:
            """Import a folder and load its series as the DICOM module does; returns every node loaded (the
            volume, and the acquisition transform node where Slicer adds one)."""
            DICOMUtils.importDicom(folder, slicer.dicomDatabase)
            files = [os.path.join(root, name) for root, _folders, names in os.walk(folder) for name in names]
            nodeIDs = DICOMUtils.loadSeriesByUID(sorted(DICOMUtils.seriesUIDsForFiles(files)))
            return [slicer.mrmlScene.GetNodeByID(nodeID) for nodeID in nodeIDs if nodeID]

        self.delayDisplay(_("Writing and loading synthetic DICOM series"))
        with tempfile.TemporaryDirectory() as folder, DICOMUtils.TemporaryDICOMDatabase():
            for line in runScenario(AffineInspectorLogic(), loadFolder, folder, extraFolders=extraDICOMFolders):
                self.delayDisplay(line, msec=100)
        self.delayDisplay(_("AffineInspector self-test passed"))
