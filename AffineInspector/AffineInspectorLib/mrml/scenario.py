"""The self-test scenario, shared by ``AffineInspectorTest`` (inside Slicer) and the pytest suite.

It writes two small DICOM series with pydicom (a regular oblique MR-like
series with reversed InstanceNumbers, and the built-in tilted CT with a
missing slice), has the host load them (``loadFolder(folder) -> [nodes]``:
inside Slicer the node IDs ``DICOMUtils.loadSeriesByUID`` returns, turned
into nodes; outside, the standalone host's), and checks the logic's results
against the known geometry. Slicer's default settings regularize irregular
acquisitions: a loaded volume then comes with an acquisition (grid)
transform node, which the scenario expects and goes through: the cross-check,
compare and resample must put every voxel where its DICOM file says, within
0.01 mm. ``extraFolders`` (the pytest suite passes the real GE CT) get the
same checks. Each check raises ``AssertionError`` saying what differed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, List, Sequence

import numpy as np
import slicer

from ..dicom import synthetic
from ..geometry import affines
from ..geometry.crosscheck import CORNER_TOLERANCE_MM
from ..geometry.sliceheader import SliceHeader, orientationOf, pixelSpacingOf, positionOf
from .dicomcheck import dicomSlices
from .nodes import ijkToRAS

if TYPE_CHECKING:  # the logic is passed in
    from .logic import VolumeGeometryLogic

REGULAR_SPEC = synthetic.SeriesSpec(
    rows=24,
    columns=20,
    pixelSpacing=(1.1, 0.9),
    numberOfSlices=8,
    spacingMm=3.0,
    rotation=synthetic.rotationFromAngles(12.0, -7.0, 20.0),
    reverseInstanceNumbers=True,
    seriesDescription="Scenario regular oblique",
)

POSITION_TOLERANCE_MM = 0.01
"""How far a voxel resampled through the acquisition transform may be from its DICOM pixel's position."""


def volumeNodesOf(nodes: Sequence[Any]) -> List[Any]:
    """The volume nodes among what a DICOM load returned (Slicer also returns the acquisition transform node)."""
    return [node for node in nodes if node is not None and node.IsA("vtkMRMLVolumeNode")]


def runScenario(
    logic: VolumeGeometryLogic,
    loadFolder: Callable[[str], List[Any]],
    temporaryFolder: str,
    extraFolders: Sequence[str] = (),
) -> List[str]:
    """Run every check; return one line per check passed (raises AssertionError on the first failure)."""
    passed: List[str] = []
    regularFolder = os.path.join(temporaryFolder, "regular")
    tiltedFolder = os.path.join(temporaryFolder, "tilted")
    synthetic.writeSeries(REGULAR_SPEC, regularFolder)
    synthetic.writeSeries(synthetic.builtInSampleSpec(), tiltedFolder)

    regular = _onlyVolume(loadFolder(regularFolder), "regular series")
    _checkRegular(logic, regular, passed)
    tilted = _onlyVolume(loadFolder(tiltedFolder), "tilted CT")
    _checkIrregular(logic, tilted, "tilted CT", passed, expectedKinds={"gantryTilt", "missingSlice"})

    resampled = logic.resample(regular, tilted)
    comparison = logic.compare(resampled, tilted)
    _assert(comparison.sameGrid, str(comparison.messages))
    passed.append("resample: the output lies on the tilted CT's grid (through its transform, if any)")
    _assert(np.allclose(logic.voxelToVoxel(tilted, tilted), np.eye(4)), "voxelToVoxel of a volume with itself")
    passed.append("voxelToVoxel(reference, reference) is the identity")

    for folder in extraFolders:
        for volume in volumeNodesOf(loadFolder(folder)):
            _checkIrregular(logic, volume, os.path.basename(os.path.normpath(folder)), passed, expectedKinds=set())
    return passed


def _onlyVolume(nodes: Sequence[Any], what: str) -> Any:
    volumes = volumeNodesOf(nodes)
    others = [node.GetClassName() for node in nodes if node is not None and node not in volumes]
    _assert(len(volumes) == 1, f"{what}: {len(volumes)} volumes loaded")
    _assert(all(name.endswith("TransformNode") for name in others), f"{what}: also loaded {others}")
    return volumes[0]


def _checkRegular(logic: VolumeGeometryLogic, regular: Any, passed: List[str]) -> None:
    check = logic.crossCheck(regular)
    _assert(check.withinTolerance, f"regular series deviates by {check.maxCornerDeviationMm} mm")
    _assert(regular.GetParentTransformNode() is None, "a regular series got an acquisition transform")
    passed.append(f"regular series: Slicer geometry within {check.maxCornerDeviationMm:.2g} mm of every DICOM slice")
    expected = affines.lpsToRAS(REGULAR_SPEC.IJKToLPS())
    loaded = np.asarray(check.IJKToRAS)
    _assert(np.allclose(loaded, expected, atol=1e-3), f"IJKToRAS\n{loaded}\nexpected\n{expected}")
    passed.append("regular series: IJKToRAS equals the ground truth within 1e-3")
    _assert(check.instanceNumberOrder == "descending", check.instanceNumberOrder)
    passed.append("regular series: InstanceNumber reported descending along k")
    info = next(volume for volume in logic.volumes() if volume.nodeID == regular.GetID())
    _assert(info.fromDICOM and info.numberOfInstances == REGULAR_SPEC.numberOfSlices, str(info))
    passed.append("volume list: node marked as loaded from DICOM with one UID per slice")
    _assert(check.toleranceMm == CORNER_TOLERANCE_MM, "tolerance")


def _checkIrregular(logic: VolumeGeometryLogic, volume: Any, what: str, passed: List[str], expectedKinds: set) -> None:
    """A series whose slices leave a regular grid: reported, and, under Slicer's acquisition transform, every
    voxel where its DICOM file puts it (cross-check, resample and compare go through the transform)."""
    check = logic.crossCheck(volume)
    gridDeviationMm = check.maxCornerDeviationWithoutTransformMm
    _assert(gridDeviationMm is not None and gridDeviationMm > 1.0, f"{what}: {gridDeviationMm}")
    if check.dicom is None:
        raise AssertionError(f"{what}: its DICOM files were not analysed ({check.messages})")
    kinds = {finding.kind.value for finding in check.dicom.findings}
    _assert(expectedKinds <= kinds, f"{what}: {kinds}")
    transform = volume.GetParentTransformNode()
    passed.append(
        f"{what}: voxel grid {gridDeviationMm:.3g} mm off its DICOM slices, reported with {', '.join(sorted(kinds))}"
    )
    if transform is None:
        _assert(not check.withinTolerance, f"{what}: no transform, yet within tolerance")
        passed.append(f"{what}: no acquisition transform (regularization is off); the report says what it would do")
        return
    _assert(check.withinTolerance, f"{what}: through {transform.GetName()}: {check.messages}")
    passed.append(f"{what}: through {transform.GetName()} every slice corner is on its DICOM position")
    errorMm = resampledPositionErrorMm(logic, volume)
    _assert(errorMm <= POSITION_TOLERANCE_MM, f"{what}: resampled through the transform, {errorMm:.3g} mm off")
    passed.append(f"{what}: resampled through the transform, voxels within {errorMm:.2g} mm of their DICOM pixels")
    copy = logic.resample(volume, volume)
    comparison = logic.compare(copy, volume)
    _assert(comparison.sameGrid, f"{what}: {comparison.messages}")
    passed.append(f"{what}: compare through the transform: a copy resampled onto it has the same grid")
    logic.scene.RemoveNode(copy)


def resampledPositionErrorMm(logic: VolumeGeometryLogic, volume: Any, stride: int = 8) -> float:
    """Largest distance (mm) between where resampling through ``volume``'s transforms puts DICOM pixels and
    where the DICOM files put them.

    Three float volumes on ``volume``'s grid, under its transform, hold each voxel's own i, j, k; resampling them
    (linear: exact on a ramp) onto a one-slice grid whose voxels sit on every ``stride``-th pixel of a DICOM
    slice gives the IJK each pixel's position maps to; it must be that pixel's (column, row, k).
    """
    slices, problems = dicomSlices(volume, logic.dicomSource)
    columns, rows, count = volume.GetImageData().GetDimensions()
    _assert(len(slices) == count and not problems, f"{volume.GetName()}: {problems}")
    ramps = _rampVolumes(logic.scene, volume)
    worst = 0.0
    try:
        for k, header in enumerate(slices):
            probe = _sliceProbe(logic.scene, header, columns, rows, stride)
            found = []
            for ramp in ramps:
                output = logic.resample(ramp, probe, interpolation="linear")
                found.append(slicer.util.arrayFromVolume(output)[0].astype(float))
                logic.scene.RemoveNode(output)
            logic.scene.RemoveNode(probe)
            r, c = np.mgrid[0 : found[0].shape[0], 0 : found[0].shape[1]] * stride
            rowSpacing, columnSpacing = pixelSpacingOf(header)
            step = _nearestStepMm(slices, k)
            errors = (
                np.abs(found[0] - c) * columnSpacing,
                np.abs(found[1] - r) * rowSpacing,
                np.abs(found[2] - k) * step,
            )
            worst = max(worst, *(float(error.max()) for error in errors))
    finally:
        for ramp in ramps:
            logic.scene.RemoveNode(ramp)
    return worst


def _rampVolumes(scene: Any, volume: Any) -> List[Any]:
    columns, rows, count = volume.GetImageData().GetDimensions()
    k, j, i = np.mgrid[0:count, 0:rows, 0:columns].astype(np.float64)
    parent = volume.GetParentTransformNode()
    ramps = []
    for name, values in (("i", i), ("j", j), ("k", k)):
        ramp = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(f"self-test ramp {name}"))
        ramp.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(ijkToRAS(volume)))
        slicer.util.updateVolumeFromArray(ramp, values)
        if parent is not None:
            ramp.SetAndObserveTransformNodeID(parent.GetID())
        ramps.append(ramp)
    return ramps


def _sliceProbe(scene: Any, header: SliceHeader, columns: int, rows: int, stride: int) -> Any:
    """A one-slice volume without transform whose voxels are every ``stride``-th pixel of one DICOM slice."""
    orientation = np.asarray(orientationOf(header), dtype=float)
    rowSpacing, columnSpacing = pixelSpacingOf(header)
    matrix = np.eye(4)
    matrix[:3, 0] = orientation[:3] * columnSpacing * stride
    matrix[:3, 1] = orientation[3:] * rowSpacing * stride
    matrix[:3, 2] = affines.sliceNormal(orientation)
    matrix[:3, 3] = positionOf(header)
    probe = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName("self-test probe"))
    probe.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(affines.LPS_TO_RAS @ matrix))
    slicer.util.updateVolumeFromArray(probe, np.zeros((1, (rows - 1) // stride + 1, (columns - 1) // stride + 1)))
    return probe


def _nearestStepMm(slices: Sequence[SliceHeader], k: int) -> float:
    """The larger distance from slice k to a neighbour: converts an error in k to mm without understating it."""
    position = np.asarray(positionOf(slices[k]), dtype=float)
    neighbours = [slices[m] for m in (k - 1, k + 1) if 0 <= m < len(slices)]
    return max((float(np.linalg.norm(np.asarray(positionOf(h)) - position)) for h in neighbours), default=1.0)


def _assert(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)
