"""The self-test scenario, shared by ``AffineInspectorTest`` (inside Slicer) and the pytest suite (slicer-core).

It writes two small DICOM series with pydicom (a regular oblique MR-like
series with reversed InstanceNumbers, and the built-in tilted CT with a
missing slice), has the host load them (``loadFolder(folder) -> [volume
nodes]``: Slicer's DICOM database and plugin inside Slicer, the standalone
host outside), and checks the logic's results against the known geometry.
Each check raises ``AssertionError`` with a message saying what differed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, List

import numpy as np

from ..dicom import synthetic
from ..geometry import affines
from ..geometry.crosscheck import CORNER_TOLERANCE_MM

if TYPE_CHECKING:  # the logic imports slicer; the scenario itself does not
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


def runScenario(logic: VolumeGeometryLogic, loadFolder: Callable[[str], List[Any]], temporaryFolder: str) -> List[str]:
    """Run every check; return one line per check passed (raises AssertionError on the first failure)."""
    passed = []
    regularFolder = os.path.join(temporaryFolder, "regular")
    tiltedFolder = os.path.join(temporaryFolder, "tilted")
    synthetic.writeSeries(REGULAR_SPEC, regularFolder)
    tiltedSpec = synthetic.builtInSampleSpec()
    synthetic.writeSeries(tiltedSpec, tiltedFolder)

    (regular,) = loadFolder(regularFolder)
    check = logic.crossCheck(regular)
    _assert(check.withinTolerance, f"regular series deviates by {check.maxCornerDeviationMm} mm")
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

    (tilted,) = loadFolder(tiltedFolder)
    check = logic.crossCheck(tilted)
    # Inside Slicer (regularization on by default) an acquisition transform corrects the corners; standalone
    # there is none. Either way the voxel grid itself is off by millimetres and the report says so.
    gridDeviationMm = check.maxCornerDeviationWithoutTransformMm
    _assert(gridDeviationMm is not None and gridDeviationMm > 1.0, str(gridDeviationMm))
    _assert(check.withinTolerance == (check.parentTransform is not None), str(check.messages))
    if check.dicom is None:
        raise AssertionError(f"tilted CT: its DICOM files were not analysed ({check.messages})")
    kinds = {finding.kind for finding in check.dicom.findings}
    _assert({"gantryTilt", "missingSlice"} <= kinds, str(kinds))
    passed.append(
        f"tilted CT: voxel grid {gridDeviationMm:.3g} mm off its DICOM slices, reported "
        f"with gantryTilt and missingSlice"
    )

    resampled = logic.resample(regular, tilted)
    comparison = logic.compare(resampled, tilted)
    _assert(comparison.sameGrid, str(comparison.messages))
    passed.append("resample: output lies on the reference grid")
    _assert(np.allclose(logic.voxelToVoxel(tilted, tilted), np.eye(4)), "voxelToVoxel of a volume with itself")
    passed.append("voxelToVoxel(reference, reference) is the identity")
    _assert(check.toleranceMm == CORNER_TOLERANCE_MM, "tolerance")
    return passed


def _assert(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)
