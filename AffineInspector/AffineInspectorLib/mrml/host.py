"""Hosts: where the scene, the volumes and the DICOM files come from.

* :class:`StandaloneHost` (PyPI ``slicer-core``, no Slicer application): a
  scene with the colour and volumes logics Slicer registers, DICOM series
  loaded the way Slicer's scalar-volume DICOM plugin loads them (files sorted
  by Slicer's rule, then vtkITK's archetype series reader with the GDCM
  approach, native orientation and origin, the ``DICOM.instanceUIDs``
  attribute set), its own SOPInstanceUID -> file index, and NRRD / NIfTI /
  MetaImage through ``vtkSlicerVolumesLogic``.
* Inside Slicer nothing here is needed: the module uses ``slicer.mrmlScene``
  and ``slicer.dicomDatabase`` (see ``AffineInspector.py``).

The optional acquisition transform reproduces what Slicer's plugin does when
"Acquisition geometry regularization" is on (a grid transform that moves each
slice's corners onto its IPP), so its effect can be checked here too.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from ..dicom.series import InspectionResult, SeriesGeometry, inspectPaths
from ..geometry import crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Finding
from ..geometry.progress import ProgressCallback
from .dicomcheck import DICOMSource, dicomSlices
from .nodes import ijkToRAS

VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")


class StandaloneHost:
    """A Slicer-like environment on ``slicer-core``: scene, logics, DICOM loading, UID index."""

    def __init__(self, *, setGlobalScene: bool = True) -> None:
        self.scene = slicer.vtkMRMLScene()
        # As Slicer's application registers them: the volumes logic finds the
        # colour logic (default colour tables for display nodes) through it.
        self.applicationLogic = slicer.vtkSlicerApplicationLogic()
        self.applicationLogic.SetMRMLScene(self.scene)
        # Slicer's home holds share/ColorFiles (optional user colour tables); an empty one here, so that the
        # colour logic does not log an error for the missing folder. The built-in tables need no files.
        home = os.path.join(tempfile.gettempdir(), "affine-inspector-slicer-home")
        os.makedirs(os.path.join(home, "share", "ColorFiles"), exist_ok=True)
        self.applicationLogic.SetHomeDirectory(home)
        self.applicationLogic.SetShareDirectory("share")
        self.colorLogic = slicer.vtkSlicerColorLogic()
        self.colorLogic.SetMRMLApplicationLogic(self.applicationLogic)
        self.colorLogic.SetMRMLScene(self.scene)
        self.applicationLogic.SetModuleLogic("Colors", self.colorLogic)
        self.applicationLogic.SetColorLogic(self.colorLogic)
        self.volumesLogic = slicer.vtkSlicerVolumesLogic()
        self.volumesLogic.SetMRMLApplicationLogic(self.applicationLogic)
        self.volumesLogic.SetMRMLScene(self.scene)
        self.applicationLogic.SetModuleLogic("Volumes", self.volumesLogic)
        self._instanceFiles: Dict[str, str] = {}
        self.unreadable: List[Finding] = []
        self.loadErrors: Dict[str, str] = {}  # SeriesInstanceUID -> why Slicer's reader could not load it
        if setGlobalScene and getattr(slicer, "mrmlScene", None) is None:
            slicer.mrmlScene = self.scene  # so that slicer.util.getNode and friends work, as in Slicer

    # ------------------------------------------------------------------ DICOM database stand-in

    def fileForInstance(self, uid: str) -> str:
        """Path of the file holding SOPInstanceUID ``uid``, or ``""`` (as ``slicer.dicomDatabase``)."""
        return self._instanceFiles.get(uid, "")

    # ------------------------------------------------------------------ loading

    def loadDICOM(
        self,
        paths: Sequence[str],
        *,
        regularize: bool = False,
        progressCallback: Optional[ProgressCallback] = None,
    ) -> List[Any]:
        """Load every series under ``paths`` as Slicer's scalar-volume plugin does; return the volume nodes.

        ``regularize`` adds Slicer's acquisition transform where slice corners
        deviate by more than 1e-3 mm (Slicer's default is on; here it is off
        so that the raw reader geometry is what gets inspected).
        """
        return self.loadInspection(inspectPaths(list(paths), progressCallback=progressCallback), regularize=regularize)

    def loadInspection(self, result: InspectionResult, *, regularize: bool = False) -> List[Any]:
        """Load the series of an :func:`~AffineInspectorLib.series.inspectPaths` result (see :meth:`loadDICOM`)."""
        self.unreadable = list(result.unreadableFiles)
        nodes = []
        for series in result.series:
            if not series.files or series.IJKToLPS is None:
                self.loadErrors[series.seriesInstanceUID] = "no slice with usable geometry: not loaded"
                continue
            try:
                nodes.append(self._loadSeries(series, regularize=regularize))
            except GeometryError as error:  # one unreadable series does not stop the others
                self.loadErrors[series.seriesInstanceUID] = str(error)
        return nodes

    def _loadSeries(self, series: SeriesGeometry, *, regularize: bool) -> Any:
        """The new scalar volume node of one series."""
        files = list(series.files)  # Slicer's sort order (the engine's port of getSortedImageFiles)
        reader = slicer.vtkITKArchetypeImageSeriesScalarReader()
        reader.SetArchetype(files[0])
        for path in files:
            reader.AddFileName(path)
        reader.SetSingleFile(0)
        reader.SetOutputScalarTypeToNative()
        reader.SetDesiredCoordinateOrientationToNative()
        reader.SetUseNativeOriginOn()
        reader.SetDICOMImageIOApproachToGDCM()
        reader.Update()
        if reader.GetErrorCode() != vtk.vtkErrorCode.NoError:
            raise GeometryError(
                f"vtkITK could not read series {series.seriesInstanceUID} ({len(files)} files): "
                f"{vtk.vtkErrorCode.GetStringFromErrorCode(reader.GetErrorCode())}"
            )
        # Slicer keeps geometry in the node, not in the image data.
        change = vtk.vtkImageChangeInformation()
        change.SetInputConnection(reader.GetOutputPort())
        change.SetOutputSpacing(1, 1, 1)
        change.SetOutputOrigin(0, 0, 0)
        change.Update()
        image = vtk.vtkImageData()
        image.DeepCopy(change.GetOutput())
        name = self.scene.GenerateUniqueName(_seriesName(series))
        node = self.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
        node.SetAndObserveImageData(image)
        node.SetRASToIJKMatrix(reader.GetRasToIjkMatrix())
        node.CreateDefaultDisplayNodes()
        uids = [uid or "Unknown" for uid in series.instanceUIDs]
        for path, uid in zip(files, uids):
            if uid != "Unknown":
                self._instanceFiles[uid] = path
        node.SetAttribute("DICOM.instanceUIDs", " ".join(uids))
        node.SetAttribute("DICOM.seriesInstanceUID", series.seriesInstanceUID)
        if regularize:
            addAcquisitionTransformIfNeeded(node, self)
        return node

    def loadVolume(self, path: str, *, labelmap: bool = False) -> Any:
        """Load a NRRD, NIfTI or MetaImage file (as Slicer's Add Data); raises GeometryError if it cannot."""
        if not os.path.isfile(path):
            raise GeometryError(f"{path}: no such file")
        name = self.scene.GenerateUniqueName(_stem(path))
        node = self.volumesLogic.AddArchetypeVolume(path, name, 1 if labelmap else 0)
        if node is None or node.GetImageData() is None:
            raise GeometryError(
                f"{path}: not a volume Slicer's volumes logic can read ({', '.join(VOLUME_EXTENSIONS)})"
            )
        return node

    def load(self, path: str, *, labelmap: bool = False, regularize: bool = False) -> Any:
        """A volume file, or a DICOM file/folder (its first series); returns one node."""
        if os.path.isfile(path) and path.lower().endswith(VOLUME_EXTENSIONS):
            return self.loadVolume(path, labelmap=labelmap)
        nodes = self.loadDICOM([path], regularize=regularize)
        if not nodes:
            reasons = "; ".join(self.loadErrors.values()) or f"not a volume file ({', '.join(VOLUME_EXTENSIONS)})"
            raise GeometryError(f"{path}: no DICOM image series loaded: {reasons}")
        return nodes[0]

    def saveVolume(self, node: Any, path: str) -> None:
        """Write a volume to NRRD / NIfTI / MetaImage (by extension); never over an existing input file."""
        if not path.lower().endswith(VOLUME_EXTENSIONS):
            raise GeometryError(f"{path}: output must end with one of {', '.join(VOLUME_EXTENSIONS)}")
        storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
        self.scene.AddNode(storage)
        storage.SetFileName(path)
        if not storage.WriteData(node):
            raise GeometryError(f"{path}: could not be written")
        self.scene.RemoveNode(storage)


def _seriesName(series: SeriesGeometry) -> str:
    number = f"{series.seriesNumber}: " if series.seriesNumber is not None else ""
    return f"{number}{series.seriesDescription or series.modality or 'DICOM series'}"


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for extension in VOLUME_EXTENSIONS:
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name


def addAcquisitionTransformIfNeeded(volumeNode: Any, dicomSource: DICOMSource) -> Any:
    """Add Slicer's acquisition (grid) transform when slice corners deviate more than 1e-3 mm; return it or None.

    Same construction as Slicer's DICOMScalarVolumePlugin AcquisitionModeling:
    a 2 x 2 x slices displacement grid in the volume's IJK directions whose
    vectors move each loaded corner onto the corner the DICOM file gives.
    """
    slices, _ = dicomSlices(volumeNode, dicomSource)
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    if len(slices) != count or not all(header.hasGeometry for header in slices):
        return None
    source = crosscheck.cornersFromIJKToRAS(ijkToRAS(volumeNode), (columns, rows, count))
    target = crosscheck.cornersFromDICOM(slices, columns, rows)
    if np.abs(source - target).max() <= crosscheck.CORNER_TOLERANCE_MM:
        return None
    scene = volumeNode.GetScene()
    transformNode = scene.AddNewNodeByClass(
        "vtkMRMLGridTransformNode", scene.GenerateUniqueName(volumeNode.GetName() + " acquisition transform")
    )
    grid = vtk.vtkImageData()
    grid.SetOrigin(*volumeNode.GetOrigin())
    grid.SetDimensions(2, 2, count)
    spacing = volumeNode.GetSpacing()
    grid.SetSpacing(spacing[0] * columns, spacing[1] * rows, spacing[2])
    # Displacement at grid point (c, r, k) in VTK's x-fastest order: corners are stored (k, r, c).
    displacements = (target - source).reshape(count, 2, 2, 3)
    array = numpy_support.numpy_to_vtk(np.ascontiguousarray(displacements.reshape(-1, 3)), deep=True)
    array.SetNumberOfComponents(3)
    grid.GetPointData().SetScalars(array)
    transform = slicer.vtkOrientedGridTransform()
    direction = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASDirectionMatrix(direction)
    transform.SetGridDirectionMatrix(direction)
    transform.SetDisplacementGridData(grid)
    transformNode.SetAndObserveTransformToParent(transform)
    volumeNode.SetAndObserveTransformNodeID(transformNode.GetID())
    return transformNode
