"""Volumes under Slicer's acquisition (grid) transform: compare and resample go through it, correct to 0.01 mm.

The reference is the DICOM files themselves: pixel (c, r) of slice k is at
IPP_k + c * PixelSpacing[1] * IOP[0:3] + r * PixelSpacing[0] * IOP[3:6] (LPS),
read here with pydicom. The probe: three float volumes on the loaded grid,
under the same transform, holding each voxel's own i, j and k. Resampling
them (linear interpolation, exact on a linear ramp) onto a grid whose voxels
sit on a DICOM slice's pixels gives, at each voxel, the input IJK that the
world point maps to; it must be that pixel's (c, r, k), within 0.01 mm.
Both ways are checked: sampling through the transform (what ``resample``
does) and hardening it first (Slicer's ``HardenTransform``, what the
cross-check message advises).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import slicer

from AffineInspectorLib.geometry import affines
from AffineInspectorLib.mrml.host import StandaloneHost
from AffineInspectorLib.mrml.logic import VolumeGeometryLogic
from AffineInspectorLib.mrml.nodes import ijkToRAS
from conftest import case

TOLERANCE_MM = 0.01
STRIDE = 32  # DICOM pixels between probe points along a row or column


@pytest.fixture(scope="module")
def loaded(dicomRoot):
    host = StandaloneHost(setGlobalScene=False)
    (ct,) = host.loadDICOM([case("dcm_qa_ct_GE")])  # Slicer's default: the acquisition transform is added
    transform = ct.GetParentTransformNode()
    assert transform is not None and transform.IsA("vtkMRMLGridTransformNode")
    files = [host.fileForInstance(uid) for uid in ct.GetAttribute("DICOM.instanceUIDs").split()]
    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in files]
    return host, VolumeGeometryLogic(host.scene, host), ct, headers


def rampVolumes(scene, node, step=1):
    """Float volumes under ``node``'s parent transform holding, at each voxel, the IJK of ``node`` it is at.

    With ``step`` > 1 the ramps have every ``step``-th column and row of ``node``'s grid (same extent, same
    slices): the transform is defined in world space, so a coarser grid probes it as well, much faster.
    """
    columns, rows, slices = node.GetImageData().GetDimensions()
    k, j, i = np.mgrid[0:slices, 0 : (rows - 1) // step + 1, 0 : (columns - 1) // step + 1].astype(np.float64)
    matrix = ijkToRAS(node) @ np.diag([step, step, 1.0, 1.0])
    ramps = []
    for name, values in (("i", i * step), ("j", j * step), ("k", k)):
        ramp = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"ramp {name}")
        ramp.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(matrix))
        slicer.util.updateVolumeFromArray(ramp, values)
        if node.GetParentTransformNode() is not None:
            ramp.SetAndObserveTransformNodeID(node.GetParentTransformNode().GetID())
        ramps.append(ramp)
    return ramps


def sliceProbe(scene, header, name):
    """A one-slice volume (no transform) whose voxels sit on every STRIDE-th pixel of one DICOM slice."""
    position = np.array([float(v) for v in header.ImagePositionPatient])
    orientation = np.array([float(v) for v in header.ImageOrientationPatient])
    rowSpacing, columnSpacing = (float(v) for v in header.PixelSpacing)
    matrixLPS = np.eye(4)
    matrixLPS[:3, 0] = orientation[:3] * columnSpacing * STRIDE
    matrixLPS[:3, 1] = orientation[3:] * rowSpacing * STRIDE
    matrixLPS[:3, 2] = np.cross(orientation[:3], orientation[3:])
    matrixLPS[:3, 3] = position
    probe = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    probe.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(affines.LPS_TO_RAS @ matrixLPS))
    count = (int(header.Columns) - 1) // STRIDE + 1, (int(header.Rows) - 1) // STRIDE + 1
    slicer.util.updateVolumeFromArray(probe, np.zeros((1, count[1], count[0])))
    return probe, (columnSpacing, rowSpacing)


def probeErrorsMm(logic, ramps, header, k, spacingK):
    """Largest error (mm) along i, j, k between where the ramps say each probe point is and the DICOM pixel."""
    probe, (columnSpacing, rowSpacing) = sliceProbe(logic.scene, header, f"probe k={k}")
    found = [slicer.util.arrayFromVolume(logic.resample(ramp, probe, interpolation="linear"))[0] for ramp in ramps]
    r, c = np.mgrid[0 : found[0].shape[0], 0 : found[0].shape[1]] * STRIDE
    return (
        float(np.abs(found[0] - c).max() * columnSpacing),
        float(np.abs(found[1] - r).max() * rowSpacing),
        float(np.abs(found[2] - k).max() * spacingK),
    )


def kSpacing(headers, k):
    """The smaller distance from slice k to a neighbour (mm): converts a k error to mm conservatively."""
    positions = [np.array([float(v) for v in header.ImagePositionPatient]) for header in headers]
    gaps = [np.linalg.norm(positions[n] - positions[m]) for n, m in ((k, k - 1), (k, k + 1)) if 0 <= m < len(headers)]
    return max(gaps)


def test_resampling_samples_through_the_acquisition_transform(loaded):
    host, logic, ct, headers = loaded
    ramps = rampVolumes(host.scene, ct)
    worst = np.zeros(3)
    for k, header in enumerate(headers):
        worst = np.maximum(worst, probeErrorsMm(logic, ramps, header, k, kSpacing(headers, k)))
    assert worst.max() <= TOLERANCE_MM, worst
    print(f"sampled through: largest error along i, j, k {worst} mm")


def test_without_the_transform_the_same_probe_is_millimetres_off(loaded):
    """The probe has teeth: ignoring the acquisition transform puts the DICOM pixels mm away."""
    host, logic, ct, headers = loaded
    ramps = rampVolumes(host.scene, ct)
    for ramp in ramps:
        ramp.SetAndObserveTransformNodeID(None)
    worst = max(max(probeErrorsMm(logic, ramps, headers[k], k, kSpacing(headers, k))) for k in (14, 27))
    assert worst > 1.0


def dicomPositionsRAS(headers, ijk):
    """World (RAS) positions of continuous IJK points (N, 3) by the DICOM files: in a slice, the pixel position
    IPP + i * PixelSpacing[1] * IOP[0:3] + j * PixelSpacing[0] * IOP[3:6]; between slices k and k + 1, linear
    in k (what the acquisition transform's grid does: it regularizes between the DICOM slices)."""
    positions = np.array([[float(v) for v in h.ImagePositionPatient] for h in headers])
    rowDirections = np.array([[float(v) for v in h.ImageOrientationPatient[:3]] for h in headers])
    columnDirections = np.array([[float(v) for v in h.ImageOrientationPatient[3:]] for h in headers])
    spacings = np.array([[float(v) for v in h.PixelSpacing] for h in headers])
    lower = np.clip(np.floor(ijk[:, 2]).astype(int), 0, len(headers) - 2)
    fraction = (ijk[:, 2] - lower)[:, np.newaxis]

    def onSlice(k):
        return (
            positions[k]
            + (ijk[:, 0] * spacings[k, 1])[:, np.newaxis] * rowDirections[k]
            + (ijk[:, 1] * spacings[k, 0])[:, np.newaxis] * columnDirections[k]
        )

    return affines.lpsToRAS((1 - fraction) * onSlice(lower) + fraction * onSlice(lower + 1))


def test_hardening_the_transform_also_puts_voxels_on_the_dicom_positions(loaded):
    """Slicer's HardenTransform resamples a volume under a non-linear transform onto a new regular grid: each
    hardened voxel's ramp values name the original IJK it holds, whose DICOM position must be the voxel's own."""
    host, logic, ct, headers = loaded
    ramps = rampVolumes(host.scene, ct, step=8)
    for ramp in ramps:
        ramp.HardenTransform()
        assert ramp.GetParentTransformNode() is None
    values = np.stack([slicer.util.arrayFromVolume(ramp) for ramp in ramps], axis=-1)  # [k, j, i, (i, j, k)]
    dimensions = np.array(ct.GetImageData().GetDimensions(), dtype=float)
    inside = np.all((values >= 0.5) & (values <= dimensions - 1.5), axis=-1)  # away from the background (0)
    kji = np.argwhere(inside)
    assert len(kji) > 0.2 * inside.size
    hardenedIJK = np.hstack([kji[:, ::-1], np.ones((len(kji), 1))])
    world = (hardenedIJK @ ijkToRAS(ramps[0]).T)[:, :3]
    errors = np.linalg.norm(dicomPositionsRAS(headers, values[inside]) - world, axis=1)
    assert errors.max() <= TOLERANCE_MM, errors.max()
    print(f"hardened: {len(errors)} voxels, largest distance from their DICOM position {errors.max():.2g} mm")


def test_compare_and_voxel_to_voxel_through_the_transform(loaded):
    host, logic, ct, _ = loaded
    resampled = logic.resample(ct, ct)
    assert resampled.GetParentTransformNode().GetID() == ct.GetParentTransformNode().GetID()
    comparison = logic.compare(resampled, ct)
    assert comparison.sameGrid and comparison.maxVoxelCentreDistanceMm == pytest.approx(0.0, abs=1e-9)
    assert "non-linear transform" in comparison.messages[-1]
    np.testing.assert_allclose(logic.voxelToVoxel(resampled, ct), np.eye(4), atol=1e-9)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(resampled), slicer.util.arrayFromVolume(ct))
    # The raw grid without the transform: same matrix, but up to 22.8 mm from the world positions.
    raw = logic.resample(ct, ct)
    raw.SetAndObserveTransformNodeID(None)
    comparison = logic.compare(raw, ct)
    assert not comparison.sameGrid and comparison.maxVoxelCentreDistanceMm > 10
