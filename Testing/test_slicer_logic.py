"""MRML logic on slicer-core: Slicer's own reader, the cross-check, resampling, comparison, the self-test scenario."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import slicer
from slicer import util as slicerUtil

from AffineInspectorLib.geometry import affines
from AffineInspectorLib.mrml import scenario
from AffineInspectorLib.mrml.host import addAcquisitionTransformIfNeeded
from AffineInspectorLib.mrml.nodes import ijkToWorld
from conftest import case, treeDigest

# --------------------------------------------------------------------------- shared real cases

REGULAR_CASES = [
    "dicom2nifti/hitachi_oblique",
    "dicom2nifti/ge_anatomical",
    "dicom2nifti/ge_single_slice",
]


@pytest.mark.parametrize("name", REGULAR_CASES)
def test_regular_real_series_match_slicer_reader(dicomRoot, logic, host, name):
    folder = case(name)
    before = treeDigest(folder)
    nodes = host.loadDICOM([folder])
    assert nodes, f"no series loaded from {folder}"
    for node in nodes:
        check = logic.crossCheck(node)
        assert check.withinTolerance, (name, check.maxCornerDeviationMm, check.messages)
        assert check.maxCornerDeviationMm < 1e-3
        # The engine's own affine agrees with what Slicer's reader built (voxel centres, RAS).
        dicomRAS = np.asarray(check.dicom.IJKToRAS)
        assert np.allclose(dicomRAS, np.asarray(check.IJKToRAS), atol=1e-3), name
    assert treeDigest(folder) == before


def test_tilted_ge_ct_is_explained(dicomRoot, logic, host):
    """Without Slicer's regularization the raw reader grid is compared: 22.8 mm off, and the report says why."""
    (node,) = host.loadDICOM([case("dcm_qa_ct_GE")], regularize=False)
    check = logic.crossCheck(node)
    assert not check.withinTolerance
    assert check.maxCornerDeviationMm > 10  # a sheared grid of one mean step vs non-uniform steps
    assert check.deviations[0].deviationMm < 1e-3  # the first slice is where ITK puts the origin
    assert "18.5" in " ".join(check.messages) and "regularization" in " ".join(check.messages)
    assert "negate x and y" in check.originExplanation and "the same point" in check.originExplanation
    assert check.instanceNumberOrder == "ascending"


def test_itk_keeps_the_shear_of_the_tilted_stack(dicomRoot, host):
    """vtkITK's grid is not orthogonal: its k column is (IPP_last - IPP_first) / (N - 1), tilt included (the
    corner deviation comes from the non-uniform steps, not from a dropped shear). IPPs read with pydicom."""
    (node,) = host.loadDICOM([case("dcm_qa_ct_GE")], regularize=False)
    files = [host.fileForInstance(uid) for uid in node.GetAttribute("DICOM.instanceUIDs").split()]
    positions = np.array([[float(v) for v in pydicom.dcmread(path).ImagePositionPatient] for path in files])
    step = affines.lpsToRAS((positions[-1] - positions[0]) / (len(files) - 1))
    kColumn = ijkToWorld(node)[:3, 2]
    np.testing.assert_allclose(kColumn, step, atol=1e-4)
    normal = np.cross(ijkToWorld(node)[:3, 0], ijkToWorld(node)[:3, 1])
    tilt = np.degrees(np.arccos(abs(np.dot(kColumn, normal)) / np.linalg.norm(kColumn) / np.linalg.norm(normal)))
    assert tilt == pytest.approx(18.5, abs=0.01)


def test_default_loading_adds_slicers_acquisition_transform(dicomRoot, logic, host):
    (node,) = host.loadDICOM([case("dcm_qa_ct_GE")])
    transform = node.GetParentTransformNode()
    assert transform is not None and transform.GetName() == node.GetName() + " acquisition transform"
    check = logic.crossCheck(node)
    assert check.withinTolerance and check.maxCornerDeviationWithoutTransformMm > 10


def test_regularization_puts_every_corner_on_its_ipp(dicomRoot, logic, host):
    """What Slicer's acquisition transform does, reproduced: after it, world corners match DICOM."""
    (node,) = host.loadDICOM([case("dcm_qa_ct_GE")], regularize=False)
    transform = addAcquisitionTransformIfNeeded(node, host)
    assert transform is not None and transform.GetName().endswith("acquisition transform")
    check = logic.crossCheck(node)
    assert check.withinTolerance, check.maxCornerDeviationMm
    assert check.parentTransform == transform.GetName()
    assert check.maxCornerDeviationWithoutTransformMm > 10
    assert "the transform corrects it" in check.messages[-1]


def test_duplicate_positions_series_is_flagged(dicomRoot, logic, host):
    nodes = host.loadDICOM([case("tcia_kits_duplicate_positions")], regularize=False)
    checks = [logic.crossCheck(node) for node in nodes]
    assert any(not check.withinTolerance for check in checks)


def test_volume_list(dicomRoot, logic, host):
    host.loadDICOM([case("dicom2nifti/hitachi_oblique")])
    (info,) = logic.volumes()
    assert info.fromDICOM and info.className == "vtkMRMLScalarVolumeNode"
    assert np.allclose(np.asarray(info.IJKToRAS) @ np.asarray(info.RASToIJK), np.eye(4))
    assert len(info.axisCodes) == 3 and info.scanOrder in {"IS", "SI", "LR", "RL", "PA", "AP"}


# --------------------------------------------------------------------------- resampling

SHAPE_KJI = (30, 36, 40)


def addVolume(scene, arrayKJI, matrixIJKToRAS, name, className="vtkMRMLScalarVolumeNode"):
    node = scene.AddNewNodeByClass(className, name)
    node.SetIJKToRASMatrix(slicerUtil.vtkMatrixFromArray(np.asarray(matrixIJKToRAS, dtype=float)))
    slicerUtil.updateVolumeFromArray(node, arrayKJI)
    return node


def blobVolume(centreIJK):
    """A smooth Gaussian blob (float) centred at an IJK point."""
    k, j, i = np.mgrid[0 : SHAPE_KJI[0], 0 : SHAPE_KJI[1], 0 : SHAPE_KJI[2]].astype(float)
    return np.exp(-((i - centreIJK[0]) ** 2 + (j - centreIJK[1]) ** 2 + (k - centreIJK[2]) ** 2) / (2 * 2.0**2))


def inputMatrix():
    matrix = np.diag([1.2, 1.0, 1.5, 1.0])
    matrix[:3, 3] = (-20.0, -15.0, 10.0)
    return matrix


def rotatedReferenceMatrix():
    rotation = affines.frameChange("LPS", "RAS")[:3, :3] @ np.eye(3)
    angle = np.radians(25.0)
    turn = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    matrix = np.eye(4)
    matrix[:3, :3] = turn @ rotation @ np.diag([1.5, 1.4, 1.6])
    # Centred near the input's blob, so that it stays inside the grid under the test transforms.
    centreIJK = np.array([SHAPE_KJI[2], SHAPE_KJI[1], SHAPE_KJI[0]]) / 2.0
    matrix[:3, 3] = np.array([8.0, 0.0, 31.0]) - matrix[:3, :3] @ centreIJK
    return matrix


def weightedCentroidWorld(node):
    array = slicerUtil.arrayFromVolume(node).astype(float)
    k, j, i = np.indices(array.shape)
    weights = array / array.sum()
    centre = np.array([(i * weights).sum(), (j * weights).sum(), (k * weights).sum(), 1.0])
    return (ijkToWorld(node) @ centre)[:3]


def test_identity_reference_gives_identical_voxels(host, logic):
    array = (np.random.default_rng(1).random(SHAPE_KJI) * 1000).astype(np.int16)
    node = addVolume(host.scene, array, inputMatrix(), "input")
    for interpolation in ("nearest", "linear", "cubic"):
        output = logic.resample(node, node, interpolation=interpolation)
        assert np.array_equal(slicerUtil.arrayFromVolume(output), array), interpolation
        assert output.GetID() != node.GetID()


def test_rotation_and_translation_match_simpleitk_and_keep_positions(host, logic):
    blob = blobVolume((20.0, 17.0, 14.0)) * 1000
    node = addVolume(host.scene, blob, inputMatrix(), "input")
    reference = addVolume(host.scene, np.zeros(SHAPE_KJI), rotatedReferenceMatrix(), "reference")
    before = slicerUtil.arrayFromVolume(node).copy()
    output = logic.resample(node, reference, interpolation="linear")
    # Position: the blob's centroid stays where it was in world space, within a tenth of a voxel.
    assert np.linalg.norm(weightedCentroidWorld(output) - weightedCentroidWorld(node)) < 0.1 * 0.9
    # Independent resampler: SimpleITK in LPS.
    expected = sitkResample(blob, inputMatrix(), rotatedReferenceMatrix(), SHAPE_KJI)
    ours = slicerUtil.arrayFromVolume(output)
    inside = expected > 1e-3
    assert np.max(np.abs(ours[inside] - expected[inside])) < 1.0  # of a 1000 peak
    assert np.array_equal(slicerUtil.arrayFromVolume(node), before)  # input untouched


def sitkImage(arrayKJI, matrixIJKToRAS):
    image = sitk.GetImageFromArray(np.asarray(arrayKJI, dtype=float))
    matrixLPS = affines.frameChange("RAS", "LPS") @ matrixIJKToRAS
    spacing = np.linalg.norm(matrixLPS[:3, :3], axis=0)
    image.SetSpacing(spacing.tolist())
    image.SetDirection((matrixLPS[:3, :3] / spacing).flatten().tolist())
    image.SetOrigin(matrixLPS[:3, 3].tolist())
    return image


def sitkResample(arrayKJI, inputIJKToRAS, referenceIJKToRAS, shapeKJI):
    reference = sitkImage(np.zeros(shapeKJI), referenceIJKToRAS)
    return sitk.GetArrayFromImage(
        sitk.Resample(sitkImage(arrayKJI, inputIJKToRAS), reference, sitk.Transform(), sitk.sitkLinear, 0.0)
    )


def test_labels_stay_labels_with_nearest(host, logic):
    labels = (blobVolume((20.0, 17.0, 14.0)) > 0.5).astype(np.int16) * 3
    labels[:5, :5, :5] = 7
    node = addVolume(host.scene, labels, inputMatrix(), "labels", "vtkMRMLLabelMapVolumeNode")
    reference = addVolume(host.scene, np.zeros(SHAPE_KJI), rotatedReferenceMatrix(), "reference")
    output = logic.resample(node, reference)  # labelmap: nearest by default
    assert output.IsA("vtkMRMLLabelMapVolumeNode")
    assert set(np.unique(slicerUtil.arrayFromVolume(output))) <= {0, 3, 7}


@pytest.mark.parametrize("transformed", ["input", "reference", "both"])
def test_parent_transforms_are_respected(host, logic, transformed):
    blob = blobVolume((20.0, 17.0, 14.0)) * 1000
    node = addVolume(host.scene, blob, inputMatrix(), "input")
    reference = addVolume(host.scene, np.zeros(SHAPE_KJI), rotatedReferenceMatrix(), "reference")
    if transformed in ("input", "both"):
        addLinearTransform(host.scene, node, angleDeg=10.0, translation=(3.0, -4.0, 2.0))
    if transformed in ("reference", "both"):
        addLinearTransform(host.scene, reference, angleDeg=-15.0, translation=(-2.0, 5.0, 1.0))
    output = logic.resample(node, reference)
    assert logic.compare(output, reference).sameGrid
    assert np.linalg.norm(weightedCentroidWorld(output) - weightedCentroidWorld(node)) < 0.1 * 0.9


def addLinearTransform(scene, node, *, angleDeg, translation):
    angle = np.radians(angleDeg)
    matrix = np.eye(4)
    matrix[:3, :3] = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    matrix[:3, 3] = translation
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", node.GetName() + " transform")
    transform.SetMatrixTransformToParent(slicerUtil.vtkMatrixFromArray(matrix))
    node.SetAndObserveTransformNodeID(transform.GetID())
    return transform


def test_slicer_resample_function_agrees_without_transforms(host, logic):
    blob = blobVolume((20.0, 17.0, 14.0)) * 1000
    node = addVolume(host.scene, blob, inputMatrix(), "input")
    reference = addVolume(host.scene, np.zeros(SHAPE_KJI), rotatedReferenceMatrix(), "reference")
    ours = slicerUtil.arrayFromVolume(logic.resample(node, reference))
    theirs = slicerUtil.arrayFromVolume(slicer.vtkSlicerVolumesLogic.ResampleVolumeToReferenceVolume(node, reference))
    assert np.allclose(ours, theirs, atol=1e-3)


# --------------------------------------------------------------------------- comparing grids


def test_compare_names_permutation_flip_and_offset(host, logic):
    base = inputMatrix()
    node = addVolume(host.scene, np.zeros(SHAPE_KJI), base, "a")
    permuted = base[:, [1, 0, 2, 3]].copy()
    permuted[:3, 2] *= -1
    permuted[:3, 3] += (1.0, 2.0, 2.0)
    other = addVolume(host.scene, np.zeros(SHAPE_KJI[::-1]), permuted, "b")
    comparison = logic.compare(other, node)
    assert not comparison.sameGrid
    assert comparison.axisMapping == (1, 0, 2) and comparison.flipped == (False, False, True)
    assert np.allclose(comparison.originOffsetMm, (1.0, 2.0, 2.0))
    assert comparison.resamplingFixes
    same = logic.compare(node, node)
    assert same.sameGrid and same.maxVoxelCentreDistanceMm == 0


# --------------------------------------------------------------------------- the self-test scenario


def test_self_test_scenario_on_slicer_core(dicomRoot, tmp_path, host, logic):
    """The standalone host regularizes by default, as Slicer: the tilted series are checked through their
    acquisition transforms (the self-test itself runs with Slicer's DICOM code in test_module.py)."""
    passed = scenario.runScenario(
        logic, lambda folder: host.loadDICOM([folder]), str(tmp_path), extraFolders=[case("dcm_qa_ct_GE")]
    )
    assert any(line.startswith("tilted CT: resampled through the transform") for line in passed), passed
    assert any(line.startswith("dcm_qa_ct_GE: resampled through the transform") for line in passed), passed
    assert len(passed) == 14, passed


def test_self_test_scenario_without_regularization(tmp_path, host, logic):
    passed = scenario.runScenario(logic, lambda folder: host.loadDICOM([folder], regularize=False), str(tmp_path))
    assert any("regularization is off" in line for line in passed), passed


def test_cross_check_can_be_cancelled(dicomRoot, logic, host):
    from AffineInspectorLib.geometry.progress import Cancelled

    (node,) = host.loadDICOM([case("dcm_qa_ct_GE")])
    calls = []

    def cancelAtOnce(label, fraction):
        calls.append((label, fraction))
        return True

    with pytest.raises(Cancelled):
        logic.crossCheck(node, progressCallback=cancelAtOnce)
    assert calls and calls[0][1] == 0.0


def test_not_from_dicom_is_a_clear_error(host, logic):
    from AffineInspectorLib.geometry.errors import GeometryError

    node = addVolume(host.scene, np.zeros(SHAPE_KJI), inputMatrix(), "plain")
    with pytest.raises(GeometryError, match="not loaded from DICOM"):
        logic.crossCheck(node)


SHARED_FOLDERS = [
    "dcm_qa_ct_GE",
    "tcia_kits_duplicate_positions",
    "dcm_qa_enh/In/Philips",
    "dcm_qa_enh/In/Siemens/XA10",
    "dicom2nifti/failing/gantrytilting",
    "dicom2nifti/failing/notavolume",
    "dicom2nifti/failing/slicecount",
    "dicom2nifti/failing/sliceincrement",
    "dicom2nifti/failing/sliceorientation",
    "dicom2nifti/philips_enhanced_anatomical/001",
    "dicom2nifti/philips_enhanced_anatomical/001_implicit",
    "dicom2nifti/siemens_multiframe_anatomical/001",
] + REGULAR_CASES


@pytest.mark.parametrize("name", SHARED_FOLDERS)
def test_every_shared_case_loads_or_says_why(dicomRoot, logic, host, name):
    """Each series is either loaded and cross-checked with a message, or its load error is recorded."""
    nodes = host.loadDICOM([case(name)])
    series = {node.GetAttribute("DICOM.seriesInstanceUID") for node in nodes}
    assert nodes or host.loadErrors, name
    assert not series & set(host.loadErrors)
    for node in nodes:
        check = logic.crossCheck(node)
        assert check.messages, name
        if check.withinTolerance is not None:
            assert check.withinTolerance == (check.slicerMaxErrorMm <= 1e-3)
