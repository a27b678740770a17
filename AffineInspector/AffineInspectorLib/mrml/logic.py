"""MRML logic: the geometry of the volumes in a scene, checked against their DICOM files, compared and resampled.

Works on any ``vtkMRMLScene`` passed in: ``slicer.mrmlScene`` inside 3D
Slicer, or a scene made by :class:`~AffineInspectorLib.mrml.host.StandaloneHost`
on the PyPI package ``slicer-core``. Imports ``slicer`` (MRML, VTK) but no Qt.
:class:`VolumeGeometryLogic` is the one object the panel, the console and the
command line use; the pieces are in :mod:`.nodes` (reading nodes) and
:mod:`.dicomcheck` (a volume against its DICOM files).

Conventions: ``IJKToRAS`` is the node's own matrix (Slicer IJK: i column,
j row, k slice; RAS mm) without parent transforms; ``IJKToWorld`` includes
the parent transform chain (linear only); DICOM values are LPS.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional

import numpy as np
import slicer

from ..dicom import aligner
from ..dicom.imagewriters import refuseEmpty
from ..dicom.series import SeriesGeometry, analyseSeries
from ..geometry import affines, crosscheck
from ..geometry.alignment import SAME_GRID_TOLERANCE_MM
from ..geometry.errors import GeometryError
from ..geometry.findings import Tolerances
from ..geometry.progress import ProgressCallback
from . import vtkclasses as vtk
from .dicomcheck import CrossCheck, DICOMSource, crossCheckVolume, dicomSlices
from .nodes import (
    VolumeInfo,
    ijkToRAS,
    ijkToWorld,
    parentToWorld,
    parentTransformChain,
    pointsToWorld,
    transformFromWorld,
    transformToWorld,
    volumeInfo,
    volumeNodes,
)

INTERPOLATIONS = ("nearest", "linear", "cubic")


# --------------------------------------------------------------------------- compare and resample


def compareVolumes(volumeNode: Any, referenceNode: Any) -> crosscheck.GridComparison:
    """Compare a volume's grid with a reference volume's, in world space, through every parent transform.

    Linear parent transforms: the two IJK-to-world matrices are compared exactly. A non-linear one (such as
    Slicer's acquisition transform): voxel centres at the corners and centre of every slice are mapped through
    it (:func:`~..geometry.crosscheck.compareSampledGrids`).
    """
    if parentToWorld(volumeNode) is not None and parentToWorld(referenceNode) is not None:
        return crosscheck.compareGrids(
            ijkToWorld(volumeNode),
            volumeNode.GetImageData().GetDimensions(),
            ijkToWorld(referenceNode),
            referenceNode.GetImageData().GetDimensions(),
        )
    names = sorted({parent.GetName() for node in (volumeNode, referenceNode) for parent in parentTransformChain(node)})
    return crosscheck.compareSampledGrids(
        _worldSample(volumeNode),
        volumeNode.GetImageData().GetDimensions(),
        _worldSample(referenceNode),
        referenceNode.GetImageData().GetDimensions(),
        transformNote="Under a non-linear transform (" + ", ".join(names) + ")",
    )


def _worldSample(node: Any) -> tuple:
    """(IJK sample points, their world positions through every parent transform, the node's IJKToRAS)."""
    points = crosscheck.gridSamplePoints(node.GetImageData().GetDimensions())
    matrix = ijkToRAS(node)
    local = (np.hstack([points, np.ones((len(points), 1))]) @ matrix.T)[:, :3]
    return points, pointsToWorld(node, local), matrix


def voxelToVoxelMatrix(inputNode: Any, referenceNode: Any) -> np.ndarray:
    """inverse(reference IJKToWorld) . input IJKToWorld: input IJK to reference IJK (4x4).

    Exact also under a non-linear transform when both volumes are under the same one (its effect cancels);
    otherwise a non-linear transform leaves no matrix to give (GeometryError: resample instead).
    """
    if _sameParentChain(inputNode, referenceNode):
        return affines.voxelToVoxel(ijkToRAS(inputNode), ijkToRAS(referenceNode))
    return affines.voxelToVoxel(ijkToWorld(inputNode), ijkToWorld(referenceNode))


def _sameParentChain(first: Any, second: Any) -> bool:
    return [node.GetID() for node in parentTransformChain(first)] == [
        node.GetID() for node in parentTransformChain(second)
    ]


def resampleToReference(
    inputNode: Any,
    referenceNode: Any,
    *,
    interpolation: Optional[str] = None,
    outputName: Optional[str] = None,
    labelmap: Optional[bool] = None,
    displayNodes: bool = True,
) -> Any:
    """Resample ``inputNode`` onto ``referenceNode``'s grid into a new node; the input is not modified.

    Correct in world space, through every parent transform, linear or not (Slicer's acquisition transform
    included): each output voxel (reference IJK) is mapped through the reference's IJKToRAS and parent
    transforms to world, then through the input's inverse parent transforms and RASToIJK. The output node gets
    the reference's IJKToRAS and is placed under the reference's parent transform, so it overlays the reference
    voxel for voxel (in world space too). ``interpolation`` defaults to nearest for labelmaps (or
    ``labelmap=True``) and linear otherwise. Voxels outside the input are 0. ``displayNodes=False`` (the command
    line, which shows nothing): no display nodes, whose automatic window/level reads every voxel.
    """
    isLabel = inputNode.IsA("vtkMRMLLabelMapVolumeNode") if labelmap is None else bool(labelmap)
    interpolation = interpolation or ("nearest" if isLabel else "linear")
    if interpolation not in INTERPOLATIONS:
        raise GeometryError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, not {interpolation!r}")
    if inputNode.GetImageData() is None or referenceNode.GetImageData() is None:
        raise GeometryError("both the input and the reference volume need image data")
    reslice = vtk.vtkImageReslice()
    reslice.SetInputData(inputNode.GetImageData())
    if _sameParentChain(inputNode, referenceNode) or (
        parentToWorld(inputNode) is not None and parentToWorld(referenceNode) is not None
    ):
        # A matrix: the shared transform (if any) cancels, or every transform is linear.
        reslice.SetResliceAxes(vtk.matrixFromArray(voxelToVoxelMatrix(referenceNode, inputNode)))
    else:
        _refuseNonInvertible(inputNode)
        reslice.SetResliceTransform(referenceIJKToInputIJK(inputNode, referenceNode))
    columns, rows, slices = referenceNode.GetImageData().GetDimensions()
    reslice.SetOutputExtent(0, columns - 1, 0, rows - 1, 0, slices - 1)
    reslice.SetOutputOrigin(0, 0, 0)
    reslice.SetOutputSpacing(1, 1, 1)
    reslice.SetBackgroundLevel(0)
    {
        "nearest": reslice.SetInterpolationModeToNearestNeighbor,
        "linear": reslice.SetInterpolationModeToLinear,
        "cubic": reslice.SetInterpolationModeToCubic,
    }[interpolation]()
    reslice.Update()
    image = vtk.vtkImageData()
    image.ShallowCopy(reslice.GetOutput())  # the voxels are not copied: the reslice filter ends here

    scene = inputNode.GetScene()
    className = "vtkMRMLLabelMapVolumeNode" if isLabel else inputNode.GetClassName()
    name = scene.GenerateUniqueName(outputName or f"{inputNode.GetName()} resampled to {referenceNode.GetName()}")
    output = scene.AddNewNodeByClass(className, name)
    output.SetIJKToRASMatrix(vtk.matrixFromArray(ijkToRAS(referenceNode)))
    output.SetAndObserveImageData(image)
    parent = referenceNode.GetParentTransformNode()
    if parent is not None:
        output.SetAndObserveTransformNodeID(parent.GetID())
    if displayNodes:
        output.CreateDefaultDisplayNodes()
    return output


INVERSE_TOLERANCE_MM = 1e-3
"""Largest round-trip error (node RAS -> world -> node RAS) of a parent transform still taken as invertible."""


def _refuseNonInvertible(node: Any) -> None:
    """GeometryError when the node's parent transforms cannot be inverted where its voxels are.

    Resampling maps each output voxel back through the input's inverse transforms. An acquisition (grid)
    transform that maps several slices onto one position (a series whose slices are all at one place, "not a
    volume") has no inverse there: VTK's iterative inverse then fails to converge at every voxel, which took
    minutes, for a result that means nothing. The round trip is tried at each slice's corners first.
    """
    columns, rows, slices = node.GetImageData().GetDimensions()
    corners = [(i, j, k) for k in sorted({0, slices // 2, slices - 1}) for i in (0, columns - 1) for j in (0, rows - 1)]
    pointsRAS = np.array([ijkToRAS(node) @ np.array([*corner, 1.0]) for corner in corners])[:, :3]
    world = pointsToWorld(node, pointsRAS)
    back = transformFromWorld(node)
    roundTrip = np.array([back.TransformPoint(*map(float, point)) for point in world])
    error = float(np.abs(roundTrip - pointsRAS).max())
    if not error <= INVERSE_TOLERANCE_MM:
        raise GeometryError(
            f"{node.GetName()}: its parent (acquisition) transform cannot be inverted where its voxels are (a "
            f"round trip misses by {error:.3g} mm: its slices do not map one-to-one, e.g. all at one position), so "
            f"resampling it through that transform is not defined; load it without the transform "
            f"(--no-regularization) to resample its voxel grid as it is"
        )


def referenceIJKToInputIJK(inputNode: Any, referenceNode: Any) -> Any:
    """A ``vtkGeneralTransform``: reference IJK -> reference RAS -> world (reference's parent transforms) ->
    input RAS (inverse of the input's parent transforms) -> input IJK. Linear or not."""
    transform = vtk.vtkGeneralTransform()
    transform.PostMultiply()  # each Concatenate applies after the previous ones, in the order written
    transform.Concatenate(vtk.matrixFromArray(ijkToRAS(referenceNode)))
    transform.Concatenate(transformToWorld(referenceNode))
    transform.Concatenate(transformFromWorld(inputNode))
    transform.Concatenate(vtk.matrixFromArray(np.linalg.inv(ijkToRAS(inputNode))))
    return transform


# --------------------------------------------------------------------------- the logic object


class VolumeGeometryLogic:
    """One object for the panel, the console and the command line; the Slicer module's logic derives from it.

    ``scene`` defaults to ``slicer.mrmlScene``; ``dicomSource`` to
    ``slicer.dicomDatabase`` (inside Slicer). Standalone, pass the host's.
    """

    def __init__(self, scene: Any = None, dicomSource: Optional[DICOMSource] = None) -> None:
        self._scene = scene
        self._dicomSource = dicomSource

    @property
    def scene(self) -> Any:
        return self._scene if self._scene is not None else slicer.mrmlScene

    @property
    def dicomSource(self) -> DICOMSource:
        if self._dicomSource is not None:
            return self._dicomSource
        database = getattr(slicer, "dicomDatabase", None)
        if database is None:
            raise GeometryError("no DICOM database: open the DICOM module once, or pass a dicomSource")
        return database

    def activeVolumeID(self) -> Optional[str]:
        """The scene's active volume (what the application shows; Slicer's DICOM loading sets it), or None."""
        selectionNode = self.scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
        return selectionNode.GetActiveVolumeID() if selectionNode is not None else None

    def volumes(self) -> List[VolumeInfo]:
        return [volumeInfo(node) for node in volumeNodes(self.scene)]

    def crossCheck(
        self, volumeNode: Any, progressCallback: Optional[ProgressCallback] = None, **tolerances: float
    ) -> CrossCheck:
        limits = Tolerances.fromKeywords(**tolerances)
        return crossCheckVolume(volumeNode, self.dicomSource, progressCallback=progressCallback, limits=limits)

    def dicomGeometry(self, volumeNode: Any, progressCallback: Optional[ProgressCallback] = None) -> SeriesGeometry:
        slices, problems = dicomSlices(volumeNode, self.dicomSource, progressCallback)
        if not slices:
            raise GeometryError("; ".join(problems) or "no DICOM slices found")
        return analyseSeries(slices)

    def compare(self, volumeNode: Any, referenceNode: Any) -> crosscheck.GridComparison:
        return compareVolumes(volumeNode, referenceNode)

    def voxelToVoxel(self, inputNode: Any, referenceNode: Any) -> np.ndarray:
        return voxelToVoxelMatrix(inputNode, referenceNode)

    def resample(self, inputNode: Any, referenceNode: Any, **options: Any) -> Any:
        return resampleToReference(inputNode, referenceNode, **options)

    # ------------------------------------------------------------------ align (an image file against a DICOM series)

    def align(
        self,
        imagePath: str,
        dicom: Any,
        *,
        seriesUID: Optional[str] = None,
        toleranceMm: float = SAME_GRID_TOLERANCE_MM,
        checkContent: bool = False,
    ) -> aligner.AlignmentResult:
        """Does the image FILE (read through its own header, not Slicer's storage node) line up with a DICOM
        series: a DICOM folder or file path, or a volume node loaded from DICOM. See :mod:`..dicom.aligner`."""
        return aligner.align(
            self.alignInputs(imagePath, dicom, seriesUID=seriesUID), toleranceMm=toleranceMm, checkContent=checkContent
        )

    def alignInputs(self, imagePath: str, dicom: Any, *, seriesUID: Optional[str] = None) -> aligner.AlignmentInputs:
        """The image file and the DICOM series read (for :meth:`align` and :meth:`alignedVolume`)."""
        return aligner.loadInputs(imagePath, self.dicomPathOf(dicom), seriesUID=seriesUID or _seriesUIDOf(dicom))

    def dicomPathOf(self, dicom: Any) -> str:
        """A DICOM path as given, or the first file of a volume node loaded from DICOM."""
        if isinstance(dicom, str):
            return dicom
        uids = (dicom.GetAttribute("DICOM.instanceUIDs") or "").split()
        files = [self.dicomSource.fileForInstance(uid) for uid in uids if uid != "Unknown"]
        files = [path for path in files if path]
        if not files:
            raise GeometryError(f"{dicom.GetName()} was not loaded from DICOM: choose a DICOM series as the reference")
        return files[0]

    def alignedVolume(
        self,
        imagePath: str,
        dicom: Any,
        *,
        seriesUID: Optional[str] = None,
        trustHeader: bool = False,
        interpolation: Optional[str] = None,
        name: Optional[str] = None,
    ) -> Any:
        """A new labelmap node (scalar volume for a float image) holding the image on the DICOM series' voxels:
        copied through the one-to-one correspondence when there is one, else sampled at each slice's IPP. Its
        IJKToRAS is the DICOM volume's (Slicer's affine of the sorted stack); inside Slicer a segmentation node
        is made from a labelmap as well (``node.GetAttribute("AffineInspector.segmentation")`` is its ID)."""
        inputs = self.alignInputs(imagePath, dicom, seriesUID=seriesUID)
        result = aligner.align(inputs)
        array, method, _ = aligner.alignedArray(inputs, result, trustHeader=trustHeader, interpolation=interpolation)
        refuseEmpty(array, name or imagePath)
        isLabel = array.dtype.kind in "iub"
        scene = self.scene
        nodeName = scene.GenerateUniqueName(
            name or f"{_stemOf(imagePath)} on {inputs.series.seriesDescription or 'DICOM'}"
        )
        node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode" if isLabel else "vtkMRMLScalarVolumeNode", nodeName)
        node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(inputs.stack.IJKToRAS()))
        slicer.util.updateVolumeFromArray(node, np.ascontiguousarray(array))
        node.CreateDefaultDisplayNodes()
        node.SetAttribute("AffineInspector.alignMethod", method)
        if isLabel and hasattr(slicer, "modules") and hasattr(slicer.modules, "segmentations"):
            segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", nodeName + " segmentation")
            slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(node, segmentation)
            node.SetAttribute("AffineInspector.segmentation", segmentation.GetID())
        return node


def _seriesUIDOf(dicom: Any) -> Optional[str]:
    if isinstance(dicom, str) or dicom is None:
        return None
    return dicom.GetAttribute("DICOM.seriesInstanceUID") or None


def _stemOf(path: str) -> str:
    name = os.path.basename(path)
    for extension in (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".mgz", ".mgh"):
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name
