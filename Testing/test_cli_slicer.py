"""``inspect --slicer``, ``compare`` and ``resample`` on real data, checked with nibabel (independent reader)."""

from __future__ import annotations

import json
import os

import nibabel
import numpy as np

from AffineInspectorLib.cli.main import main
from conftest import case, treeDigest

HITACHI = "dicom2nifti/hitachi_oblique"


def run(capsys, *arguments):
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_inspect_with_slicer_adds_the_cross_check(dicomRoot, capsys):
    """Slicer's default: the tilted CT gets the acquisition transform, which puts every corner on its IPP; the
    voxel grid alone is 22.8 mm off."""
    status, out, err = run(capsys, "inspect", "--slicer", "--json", case("dcm_qa_ct_GE"))
    assert status == 0, err
    (series,) = json.loads(out)["series"]
    slicerPart = series["slicer"]
    assert slicerPart["parentTransform"].endswith("acquisition transform")
    assert slicerPart["withinTolerance"] is True and slicerPart["maxCornerDeviationMm"] < 1e-3
    assert slicerPart["maxCornerDeviationWithoutTransformMm"] > 10
    assert len(slicerPart["deviations"]) == 28 and len(slicerPart["IJKToRAS"]) == 4
    assert "ERR" not in err


def test_inspect_with_slicer_without_regularization(dicomRoot, capsys):
    status, out, err = run(capsys, "inspect", "--slicer", "--no-regularization", "--json", case("dcm_qa_ct_GE"))
    assert status == 0, err
    (series,) = json.loads(out)["series"]
    slicerPart = series["slicer"]
    assert slicerPart["parentTransform"] is None
    assert slicerPart["maxCornerDeviationMm"] > 10 and slicerPart["withinTolerance"] is False


def test_inspect_with_slicer_text(dicomRoot, capsys):
    status, out, _ = run(capsys, "inspect", "--slicer", os.path.join(case(HITACHI), "001"))
    assert status == 0
    assert "Slicer's reader on series" in out and "matches every DICOM slice" in out


def test_compare_dicom_with_its_reference_nifti(dicomRoot, capsys):
    folder = case(HITACHI)
    status, out, _ = run(
        capsys, "compare", "--json", os.path.join(folder, "001"), os.path.join(folder, "001_ground_truth.nii.gz")
    )
    assert status == 0
    comparison = json.loads(out)
    assert comparison["sameGrid"] and comparison["maxVoxelCentreDistanceMm"] < 1e-3


def test_compare_with_reoriented_reference_names_the_axes(dicomRoot, capsys):
    folder = case("dicom2nifti/failing/slicecount")
    status, out, _ = run(
        capsys,
        "compare",
        "--json",
        os.path.join(folder, "001_ground_truth.nii.gz"),
        os.path.join(folder, "001_ground_truth_reoriented.nii.gz"),
    )
    assert status == 0
    comparison = json.loads(out)
    reference = nibabel.load(os.path.join(folder, "001_ground_truth_reoriented.nii.gz"))
    original = nibabel.load(os.path.join(folder, "001_ground_truth.nii.gz"))
    # Independent: nibabel's axis codes say how the axes were permuted/flipped.
    expectedSame = nibabel.aff2axcodes(original.affine) == nibabel.aff2axcodes(reference.affine)
    assert comparison["sameGrid"] == (expectedSame and np.allclose(original.affine, reference.affine, atol=1e-3))
    assert comparison["axisMapping"] is not None


def test_resample_dicom_onto_reference_nifti(dicomRoot, capsys, tmp_path):
    folder = case(HITACHI)
    before = treeDigest(folder)
    output = str(tmp_path / "resampled.nii.gz")
    reference = os.path.join(folder, "001_ground_truth.nii.gz")
    status, out, err = run(
        capsys, "resample", os.path.join(folder, "001"), "--reference", reference, "--output", output
    )
    assert status == 0, err
    # Compare in nibabel's canonical (RAS+) orientation: ITK and nibabel may order the axes of this sform-only,
    # qfac -1 file differently, but the voxels must sit at the same world positions with the same values.
    written = nibabel.as_closest_canonical(nibabel.load(output))
    expected = nibabel.as_closest_canonical(nibabel.load(reference))
    assert np.allclose(written.affine, expected.affine, atol=1e-3)
    assert written.shape == expected.shape
    # Same grid, so resampling reproduces the DICOM pixels: they correlate with dicom2nifti's data.
    correlation = np.corrcoef(np.asarray(written.dataobj, float).ravel(), np.asarray(expected.dataobj, float).ravel())
    assert correlation[0, 1] > 0.999
    assert treeDigest(folder) == before


def test_resample_refuses_to_overwrite(dicomRoot, capsys, tmp_path):
    folder = case(HITACHI)
    reference = os.path.join(folder, "001_ground_truth.nii.gz")
    status, _, err = run(capsys, "resample", reference, "--reference", reference, "--output", reference)
    assert status == 1 and "is an input" in err
    existing = tmp_path / "there.nrrd"
    existing.write_bytes(b"keep me")
    status, _, err = run(capsys, "resample", reference, "--reference", reference, "--output", str(existing))
    assert status == 1 and existing.read_bytes() == b"keep me"
    status, _, err = run(capsys, "resample", reference, "--reference", reference, "--output", str(tmp_path / "x.txt"))
    assert status == 1 and "--output must end with" in err


def test_compare_reports_unreadable_input(capsys, tmp_path):
    bogus = tmp_path / "nothing.nrrd"
    bogus.write_bytes(b"not a volume")
    status, _, err = run(capsys, "compare", str(bogus), str(bogus))
    assert status == 1 and "nothing.nrrd" in err
