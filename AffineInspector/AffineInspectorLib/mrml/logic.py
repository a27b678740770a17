"""MRML logic: the geometry of the volumes in a scene, checked against their DICOM files.

Works on any ``vtkMRMLScene`` passed in: ``slicer.mrmlScene`` inside 3D
Slicer, or a scene made by :class:`~AffineInspectorLib.host.StandaloneHost`
on the PyPI package ``slicer-core``. Imports ``slicer`` (MRML, VTK) but no Qt.

Where DICOM files come from is the host's business: an object with
``fileForInstance(uid) -> path or ""`` (``slicer.dicomDatabase`` inside
Slicer, the standalone host's UID index outside).

Conventions: ``IJKToRAS`` is the node's own matrix (Slicer IJK: i column,
j row, k slice; RAS mm) without parent transforms; ``IJKToWorld`` includes
the parent transform chain (linear only); DICOM values are LPS.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import numpy as np
import slicer
import vtk

from ..dicom.headers import UnreadableFileError, readSliceHeaders
from ..dicom.series import SeriesGeometry, analyseSeries
from ..dicom.slicersort import sortLikeSlicer
from ..geometry import affines, crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Tolerances
from ..geometry.progress import Cancelled, ProgressCallback

INTERPOLATIONS = ("nearest", "linear", "cubic")


# --------------------------------------------------------------------------- matrices


def ijkToRAS(volumeNode) -> np.ndarray:
    """The node's own IJKToRAS (4x4, RAS mm), parent transforms not applied."""
    matrix = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASMatrix(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def parentToWorld(node) -> Optional[np.ndarray]:
    """The 4x4 linear transform from the node's RAS to world RAS; identity without a parent.

    ``None`` when a transform in the parent chain is not linear.
    """
    parent = node.GetParentTransformNode()
    if parent is None:
        return np.eye(4)
    if not parent.IsTransformToWorldLinear():
        return None
    matrix = vtk.vtkMatrix4x4()
    parent.GetMatrixTransformToWorld(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def ijkToWorld(volumeNode) -> np.ndarray:
    """IJK to world RAS including the (linear) parent transforms; raises GeometryError for a non-linear one."""
    toWorld = parentToWorld(volumeNode)
    if toWorld is None:
        transformName = volumeNode.GetParentTransformNode().GetName()
        raise GeometryError(
            f"{volumeNode.GetName()} is under a non-linear transform ({transformName}): its voxels are not on a "
            f"grid in world space. Harden or remove the transform first."
        )
    return toWorld @ ijkToRAS(volumeNode)


def _pointsToWorld(node, pointsRAS: np.ndarray) -> np.ndarray:
    """Map RAS points (N, 3) of a node through its parent transforms (linear or not) to world."""
    parent = node.GetParentTransformNode()
    if parent is None:
        return np.asarray(pointsRAS, dtype=float)
    transform = vtk.vtkGeneralTransform()
    parent.GetTransformToWorld(transform)
    return np.array([transform.TransformPoint(*map(float, point)) for point in pointsRAS])


# --------------------------------------------------------------------------- volumes


@dataclasses.dataclass
class VolumeInfo:
    """What the panel shows for one volume node. Matrices are 4x4 lists (RAS mm, Slicer IJK)."""

    name: str
    nodeID: str
    className: str
    dimensions: Tuple[int, int, int]
    spacing: Tuple[float, float, float]
    origin: Tuple[float, float, float]
    IJKToRAS: List[List[float]]
    RASToIJK: List[List[float]]
    axisCodes: str
    scanOrder: str
    parentTransform: Optional[str]
    parentTransformLinear: Optional[bool]
    fromDICOM: bool
    numberOfInstances: int


def volumeInfo(volumeNode) -> VolumeInfo:
    matrix = ijkToRAS(volumeNode)
    image = volumeNode.GetImageData()
    dimensions = tuple(image.GetDimensions()) if image is not None else (0, 0, 0)
    parent = volumeNode.GetParentTransformNode()
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    codes = "".join(affines.axisCodes(matrix))
    return VolumeInfo(
        name=volumeNode.GetName(),
        nodeID=volumeNode.GetID(),
        className=volumeNode.GetClassName(),
        dimensions=dimensions,
        spacing=tuple(volumeNode.GetSpacing()),
        origin=tuple(volumeNode.GetOrigin()),
        IJKToRAS=matrix.tolist(),
        RASToIJK=np.linalg.inv(matrix).tolist(),
        axisCodes=codes,
        scanOrder=scanOrder(matrix),
        parentTransform=parent.GetName() if parent is not None else None,
        parentTransformLinear=parent.IsTransformToWorldLinear() if parent is not None else None,
        fromDICOM=bool(uids),
        numberOfInstances=len(uids),
    )


def scanOrder(matrixIJKToRAS) -> str:
    """Slicer's name for the k direction: e.g. ``"IS"`` (inferior to superior, axial) or ``"PA"``.

    The anatomical axis the k column points along most, from where it starts
    to where it goes, as Slicer's volume information shows it.
    """
    column = np.asarray(matrixIJKToRAS, dtype=float)[:3, 2]
    axis = int(np.argmax(np.abs(column)))
    pairs = (("L", "R"), ("P", "A"), ("I", "S"))
    start, end = pairs[axis] if column[axis] > 0 else pairs[axis][::-1]
    return start + end


def volumeNodes(scene) -> list:
    """Every volume node (scalar, labelmap, vector, ...) in the scene, in scene order."""
    nodes = scene.GetNodesByClass("vtkMRMLVolumeNode")
    return [nodes.GetItemAsObject(index) for index in range(nodes.GetNumberOfItems())]


# --------------------------------------------------------------------------- DICOM source


def dicomSlices(volumeNode, dicomSource, progressCallback: Optional[ProgressCallback] = None):
    """The DICOM slice headers of a loaded volume, in its k order (from ``DICOM.instanceUIDs``).

    Returns ``(slices, problems)``: one :class:`SliceHeader` per UID whose
    file was found and read, and plain-language problems for the others.
    """
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    if not uids:
        raise GeometryError(
            f"{volumeNode.GetName()} was not loaded from DICOM (no DICOM.instanceUIDs attribute): there are no "
            f"DICOM files to compare with."
        )
    slices, problems = [], []
    for index, uid in enumerate(uids):
        if progressCallback is not None and index % 32 == 0:
            if progressCallback(f"Reading DICOM headers ({index}/{len(uids)})", index / len(uids)):
                raise Cancelled()
        path = dicomSource.fileForInstance(uid) if uid != "Unknown" else ""
        if not path:
            problems.append(f"k = {index}: instance {uid} has no file in the DICOM database")
            continue
        try:
            headers = readSliceHeaders(path)
        except UnreadableFileError as error:
            problems.append(f"k = {index}: {error}")
            continue
        slices.extend(headers)
    return slices, problems


# --------------------------------------------------------------------------- cross-check


@dataclasses.dataclass
class CrossCheck:
    """Slicer's loaded volume against its own DICOM files.

    ``deviations[k]`` compares slice k's corners placed by the node's
    IJKToRAS and parent transforms with the corners its file's IPP/IOP/
    PixelSpacing give; ``maxCornerDeviationWithoutTransformMm`` is the same
    from IJKToRAS alone (what the voxel grid itself gets wrong, e.g. before
    Slicer's acquisition transform corrects it). ``dicom`` is the engine's
    analysis of the same files.
    """

    volumeName: str
    IJKToRAS: List[List[float]]
    parentTransform: Optional[str]
    toleranceMm: float
    maxCornerDeviationMm: Optional[float]
    maxCornerDeviationWithoutTransformMm: Optional[float]
    slicerMaxErrorMm: Optional[float]
    withinTolerance: Optional[bool]
    deviations: List[crosscheck.SliceDeviation]
    originExplanation: str
    instanceNumberOrder: str
    messages: List[str]
    dicom: Optional[SeriesGeometry]


def crossCheckVolume(
    volumeNode, dicomSource, *, progressCallback: Optional[ProgressCallback] = None, limits: Optional[Tolerances] = None
) -> CrossCheck:
    """Compare a loaded DICOM volume with its files (Slicer's AcquisitionModeling rule, 1e-3 mm)."""
    slices, problems = dicomSlices(volumeNode, dicomSource, progressCallback)
    matrix = ijkToRAS(volumeNode)
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    parent = volumeNode.GetParentTransformNode()
    messages = list(problems)
    result = CrossCheck(
        volumeName=volumeNode.GetName(),
        IJKToRAS=matrix.tolist(),
        parentTransform=parent.GetName() if parent is not None else None,
        toleranceMm=crosscheck.CORNER_TOLERANCE_MM,
        maxCornerDeviationMm=None,
        maxCornerDeviationWithoutTransformMm=None,
        slicerMaxErrorMm=None,
        withinTolerance=None,
        deviations=[],
        originExplanation="",
        instanceNumberOrder=crosscheck.instanceNumberOrderAlongK(slices),
        messages=messages,
        dicom=analyseSeries(slices, limits) if slices else None,
    )
    usable = [header for header in slices if header.hasGeometry]
    if any(header.frame is not None for header in usable) and len(usable) == count:
        # Frames of multi-frame files: Slicer's own check skips these (one UID per slice); we compare them
        # in Slicer's sort order, which is how the reader stacks them.
        usable, _, _ = sortLikeSlicer(usable, [h.position for h in usable], [h.orientation for h in usable])
        messages.append("Multi-frame file: frames compared in Slicer's sort order (Slicer itself skips this check).")
    if len(slices) != count or len(usable) != len(slices):
        messages.append(
            f"The volume has {count} slices but {len(usable)} of its instances have usable geometry: slice corners "
            f"cannot be compared one to one (multi-frame file, or missing files)."
        )
        return result
    localCorners = crosscheck.cornersFromIJKToRAS(matrix, (columns, rows, count))
    dicomCorners = crosscheck.cornersFromDICOM(usable, columns, rows)
    loaded = _pointsToWorld(volumeNode, localCorners.reshape(-1, 3)).reshape(count, 4, 3)
    deviations = crosscheck.sliceDeviations(loaded, dicomCorners, usable)
    result.maxCornerDeviationWithoutTransformMm = float(np.linalg.norm(localCorners - dicomCorners, axis=2).max())
    result.deviations = deviations
    result.maxCornerDeviationMm = max(deviation.deviationMm for deviation in deviations)
    result.slicerMaxErrorMm = max(deviation.slicerErrorMm for deviation in deviations)
    result.withinTolerance = result.slicerMaxErrorMm <= crosscheck.CORNER_TOLERANCE_MM
    result.originExplanation = crosscheck.originExplanation(_worldIJKToRASIfLinear(volumeNode), usable[0])
    messages.extend(_crossCheckMessages(result, parent))
    return result


def _worldIJKToRASIfLinear(volumeNode) -> np.ndarray:
    toWorld = parentToWorld(volumeNode)
    matrix = ijkToRAS(volumeNode)
    return matrix if toWorld is None else toWorld @ matrix


# Findings that explain a corner deviation (gantryTilt: the series-level one only).
_IRREGULAR_KINDS = ("gantryTilt", "missingSlice", "nonUniformSpacing", "duplicatePosition")


def _crossCheckMessages(result: CrossCheck, parent) -> List[str]:
    worst = max(result.deviations, key=lambda deviation: deviation.deviationMm)
    where = f"slice k = {worst.k} ({worst.file}" + (
        f", InstanceNumber {worst.instanceNumber})" if worst.instanceNumber is not None else ")"
    )
    transformText = f" through its parent transform {parent.GetName()}" if parent is not None else ""
    if result.withinTolerance:
        text = (
            f"Slicer's geometry{transformText} matches every DICOM slice: largest corner deviation "
            f"{result.maxCornerDeviationMm:.3g} mm (tolerance {result.toleranceMm:g} mm)."
        )
        if parent is not None and result.maxCornerDeviationWithoutTransformMm > result.toleranceMm:
            text += (
                f" The voxel grid alone (IJKToRAS) is up to {result.maxCornerDeviationWithoutTransformMm:.4g} mm off; "
                f"the transform corrects it. Harden it or resample to get a grid that is right by itself."
            )
        return [text]
    messages = [
        f"Slicer's IJKToRAS{transformText} puts slice corners up to {result.maxCornerDeviationMm:.4g} mm from where "
        f"the DICOM files say they are (worst: {where}; Slicer reports 'maximum error of "
        f"{result.slicerMaxErrorMm:.4g} mm', tolerance {result.toleranceMm:g} mm)."
    ]
    reasons = [
        finding.message
        for finding in (result.dicom.findings if result.dicom is not None else [])
        if finding.kind in _IRREGULAR_KINDS and (finding.kind != "gantryTilt" or finding.slice is None)
    ]
    if reasons:
        messages.append("Why: " + " ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else ""))
    messages.append(
        "What regularization does: with Slicer's 'Acquisition geometry regularization' setting on (the default), "
        "the DICOM plugin adds a grid transform named '<volume> acquisition transform' that moves each slice's "
        "corners onto its IPP; the voxel array and IJKToRAS stay as they are. Harden that transform (or resample) to "
        "get a regular grid that matches the scanner's positions."
    )
    return messages


# --------------------------------------------------------------------------- compare and resample


def compareVolumes(volumeNode, referenceNode) -> crosscheck.GridComparison:
    """Compare a volume's grid with a reference volume's, in world space (linear parent transforms applied)."""
    return crosscheck.compareGrids(
        ijkToWorld(volumeNode),
        volumeNode.GetImageData().GetDimensions(),
        ijkToWorld(referenceNode),
        referenceNode.GetImageData().GetDimensions(),
    )


def voxelToVoxelMatrix(inputNode, referenceNode) -> np.ndarray:
    """inverse(reference IJKToWorld) . input IJKToWorld: input IJK to reference IJK (4x4)."""
    return affines.voxelToVoxel(ijkToWorld(inputNode), ijkToWorld(referenceNode))


def resampleToReference(
    inputNode,
    referenceNode,
    *,
    interpolation: Optional[str] = None,
    outputName: Optional[str] = None,
    labelmap: Optional[bool] = None,
):
    """Resample ``inputNode`` onto ``referenceNode``'s grid into a new node; the input is not modified.

    Correct in world space: each output voxel (reference IJK) is mapped
    through the reference's IJKToRAS and parent transforms to world, then
    through the input's inverse parent transforms and RASToIJK (linear
    transforms only). The output node gets the reference's IJKToRAS and is
    placed under the reference's parent transform, so it overlays the
    reference voxel for voxel. ``interpolation`` defaults to nearest for
    labelmaps (or ``labelmap=True``) and linear otherwise. Voxels outside the
    input are 0.
    """
    isLabel = inputNode.IsA("vtkMRMLLabelMapVolumeNode") if labelmap is None else bool(labelmap)
    interpolation = interpolation or ("nearest" if isLabel else "linear")
    if interpolation not in INTERPOLATIONS:
        raise GeometryError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, not {interpolation!r}")
    if inputNode.GetImageData() is None or referenceNode.GetImageData() is None:
        raise GeometryError("both the input and the reference volume need image data")
    referenceToInputIJK = np.linalg.inv(ijkToWorld(inputNode)) @ ijkToWorld(referenceNode)
    reslice = vtk.vtkImageReslice()
    reslice.SetInputData(inputNode.GetImageData())
    reslice.SetResliceAxes(slicer.util.vtkMatrixFromArray(referenceToInputIJK))
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
    image.DeepCopy(reslice.GetOutput())

    scene = inputNode.GetScene()
    className = "vtkMRMLLabelMapVolumeNode" if isLabel else inputNode.GetClassName()
    name = scene.GenerateUniqueName(outputName or f"{inputNode.GetName()} resampled to {referenceNode.GetName()}")
    output = scene.AddNewNodeByClass(className, name)
    output.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(ijkToRAS(referenceNode)))
    output.SetAndObserveImageData(image)
    parent = referenceNode.GetParentTransformNode()
    if parent is not None:
        output.SetAndObserveTransformNodeID(parent.GetID())
    output.CreateDefaultDisplayNodes()
    return output


# --------------------------------------------------------------------------- the logic object


class VolumeGeometryLogic:
    """One object for the panel, the console and the command line; the Slicer module's logic derives from it.

    ``scene`` defaults to ``slicer.mrmlScene``; ``dicomSource`` to
    ``slicer.dicomDatabase`` (inside Slicer). Standalone, pass the host's.
    """

    def __init__(self, scene=None, dicomSource=None):
        self._scene = scene
        self._dicomSource = dicomSource

    @property
    def scene(self):
        return self._scene if self._scene is not None else slicer.mrmlScene

    @property
    def dicomSource(self):
        if self._dicomSource is not None:
            return self._dicomSource
        database = getattr(slicer, "dicomDatabase", None)
        if database is None:
            raise GeometryError("no DICOM database: open the DICOM module once, or pass a dicomSource")
        return database

    def volumes(self) -> List[VolumeInfo]:
        return [volumeInfo(node) for node in volumeNodes(self.scene)]

    def crossCheck(self, volumeNode, progressCallback: Optional[ProgressCallback] = None, **tolerances) -> CrossCheck:
        limits = Tolerances.fromKeywords(**tolerances)
        return crossCheckVolume(volumeNode, self.dicomSource, progressCallback=progressCallback, limits=limits)

    def dicomGeometry(self, volumeNode, progressCallback: Optional[ProgressCallback] = None) -> SeriesGeometry:
        slices, problems = dicomSlices(volumeNode, self.dicomSource, progressCallback)
        if not slices:
            raise GeometryError("; ".join(problems) or "no DICOM slices found")
        return analyseSeries(slices)

    def compare(self, volumeNode, referenceNode) -> crosscheck.GridComparison:
        return compareVolumes(volumeNode, referenceNode)

    def voxelToVoxel(self, inputNode, referenceNode) -> np.ndarray:
        return voxelToVoxelMatrix(inputNode, referenceNode)

    def resample(self, inputNode, referenceNode, **options):
        return resampleToReference(inputNode, referenceNode, **options)


__all__ = [
    "CrossCheck",
    "GeometryError",
    "INTERPOLATIONS",
    "VolumeGeometryLogic",
    "VolumeInfo",
    "compareVolumes",
    "crossCheckVolume",
    "dicomSlices",
    "resampleToReference",
    "scanOrder",
    "volumeInfo",
    "volumeNodes",
    "voxelToVoxelMatrix",
]
