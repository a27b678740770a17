"""The command line, and the affine conventions against nibabel."""

from __future__ import annotations

import json
import os

import hypothesis
import hypothesis.extra.numpy
import hypothesis.strategies
import nibabel
import nibabel.nicom.dicomwrappers as dicomwrappers
import nibabel.orientations
import numpy as np
import pydicom
import pytest

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.geometry import affines
from conftest import case


def test_inspect_json_has_the_documented_keys(dicomRoot, capsys):
    assert main(["inspect", "--json", case("dicom2nifti/failing/sliceincrement/001")]) == 0
    document = json.loads(capsys.readouterr().out)
    series = document["series"][0]
    for key in ("seriesInstanceUID", "files", "dimensions", "spacing", "IJKToLPS", "IJKToRAS", "slices", "findings"):
        assert key in series
    assert np.array(series["IJKToRAS"]).shape == (4, 4)
    assert series["files"][0].startswith(case("dicom2nifti/failing/sliceincrement/001"))
    assert [w["kind"] for w in series["findings"]] == ["missingSlice"]
    assert set(series["findings"][0]) == {"kind", "severity", "slice", "file", "value", "tolerance", "unit", "message"}


def test_inspect_text_and_fail_on(dicomRoot, capsys):
    assert main(["inspect", "--fail-on", "error", case("dicom2nifti/failing/sliceincrement/001")]) == 3
    text = capsys.readouterr().out
    assert "IJKToLPS" in text and "missingSlice" in text and "IM-0001-0010-0001.dcm" in text
    assert "  Findings (1 error):" in text.splitlines()
    assert main(["inspect", "--fail-on", "error", case("dicom2nifti/hitachi_oblique/001")]) == 0


def test_no_dicom_is_a_message(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    assert main(["inspect", str(tmp_path)]) == 1
    assert "no DICOM image found" in capsys.readouterr().err


@pytest.mark.parametrize("arguments", [[], ["inspect"], ["inspect", "--spacing-tolerance", "-1", "x"], ["frobnicate"]])
def test_usage_errors_exit_2(arguments, capsys):
    assert main(arguments) == 2
    assert "usage:" in capsys.readouterr().err


def test_the_sample_counts_its_findings_in_words(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "sample")]) == 0
    assert main(["inspect", str(tmp_path / "sample")]) == 0
    counts = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  Findings (")]
    assert counts == ["  Findings (1 error, 15 warnings):"]


def test_sample_refuses_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["sample", str(tmp_path)]) == 1
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert capsys.readouterr().err.count("\n") == 1


def test_tolerance_option_changes_the_verdict(dicomRoot, capsys):
    folder = case("dicom2nifti/failing/sliceincrement/002")
    main(["inspect", "--json", folder])
    strict = json.loads(capsys.readouterr().out)["series"][0]["findings"]
    main(["inspect", "--json", "--tilt-tolerance", "20", folder])
    loose = json.loads(capsys.readouterr().out)["series"][0]["findings"]
    assert any(w["kind"] == "gantryTilt" for w in strict) and not any(w["kind"] == "gantryTilt" for w in loose)


def test_rcs_order_matches_nibabel_dicom_wrapper(dicomRoot):
    """nibabel's single-slice wrapper gives the (row, column, slice) LPS affine of one file."""
    path = os.path.join(case("dicom2nifti/hitachi_oblique/001"), "001.dcm")
    wrapper = dicomwrappers.wrapper_from_data(pydicom.dcmread(path))
    series = inspectPaths([path]).series[0]
    ours = affines.ijkToRCS(series.IJKToLPS)
    # nibabel's slice axis is Y x X (the opposite sign) and its length is SliceThickness: compare rows, columns, origin.
    np.testing.assert_allclose(ours[:3, :2], wrapper.affine[:3, :2], atol=1e-6)
    np.testing.assert_allclose(ours[:3, 3], wrapper.affine[:3, 3], atol=1e-6)


def test_kji_order_indexes_like_numpy():
    ijkToLPS = affines.IJKToLPSFromDICOM((1, 2, 3), (1, 0, 0, 0, 1, 0), (0.5, 0.25), (0, 0, 2))
    kjiToLPS = affines.ijkToKJI(ijkToLPS)
    np.testing.assert_allclose(kjiToLPS @ [3, 2, 1, 1], ijkToLPS @ [1, 2, 3, 1])


@pytest.mark.parametrize("codes", ["RAS", "LPS", "LPI", "ASL", "SRA", "IPL"])
def test_frames_round_trip_and_axis_codes(codes):
    ijkToLPS = affines.IJKToLPSFromDICOM((1, 2, 3), (0, 1, 0, 0, 0, -1), (1.0, 1.0), (-2, 0, 0))
    inCodes = affines.inFrame(ijkToLPS, codes)
    np.testing.assert_allclose(affines.frameChange(codes, "LPS") @ inCodes, ijkToLPS)
    assert affines.axisCodes(inCodes, codes) == ("P", "I", "R")
    assert affines.axisCodes(ijkToLPS, "LPS") == ("P", "I", "R")


def test_ras_is_lps_flipped():
    matrix = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_allclose(affines.inFrame(matrix, "RAS"), affines.lpsToRAS(matrix))
    np.testing.assert_allclose(affines.rasToLPS(affines.lpsToRAS(matrix)), matrix)


@pytest.mark.parametrize("bad", ["RA", "RAR", "XYZ", "LPSS"])
def test_bad_axis_codes_are_value_errors(bad):
    with pytest.raises(ValueError, match="toCodes"):
        affines.frameChange("LPS", bad)


def test_voxel_to_voxel():
    a = affines.IJKToLPSFromDICOM((0, 0, 0), (1, 0, 0, 0, 1, 0), (1.0, 1.0), (0, 0, 1))
    b = affines.IJKToLPSFromDICOM((10, 0, 0), (1, 0, 0, 0, 1, 0), (2.0, 2.0), (0, 0, 2))
    mapping = affines.voxelToVoxel(a, b)
    np.testing.assert_allclose(b @ mapping @ [4, 6, 8, 1], a @ [4, 6, 8, 1])


# --------------------------------------------------------------------------- nibabel as the oracle of the numpy ports

ALL_CODES = [a + b + c for a in "LR" for b in "PA" for c in "IS"]
ALL_FRAMES = [
    "".join(order)
    for codes in ALL_CODES
    for order in {(codes[p], codes[q], codes[r]) for p, q, r in __import__("itertools").permutations(range(3))}
]


def hasExactTies(matrix) -> bool:
    """Two directions equally close to one axis: which one wins is rounding noise, in nibabel as here."""
    left, _, right = np.linalg.svd(matrix / np.linalg.norm(matrix, axis=0))
    magnitudes = np.sort(np.abs(left @ right), axis=None)
    return bool(np.any(np.diff(magnitudes) < 1e-9))


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    matrix=hypothesis.extra.numpy.arrays(
        float, (3, 3), elements=hypothesis.strategies.floats(-100, 100, allow_nan=False, width=64)
    )
)
def test_axis_codes_equal_nibabels_aff2axcodes(matrix):
    hypothesis.assume(abs(np.linalg.det(matrix)) > 1e-3 * max(1.0, np.abs(matrix).max()) ** 3)
    hypothesis.assume(not hasExactTies(matrix))
    affine = np.eye(4)
    affine[:3, :3] = matrix
    assert affines.axisCodes(affine) == tuple(nibabel.orientations.aff2axcodes(affine))


@pytest.mark.parametrize("frame", ALL_FRAMES)
def test_frame_change_equals_nibabels_ornt_transform(frame):
    transform = nibabel.orientations.ornt_transform(
        nibabel.orientations.axcodes2ornt(tuple("LPS")), nibabel.orientations.axcodes2ornt(tuple(frame))
    )
    expected = np.zeros((4, 4))
    expected[3, 3] = 1.0
    for source, (target, flip) in enumerate(transform):
        expected[int(target), source] = flip
    np.testing.assert_array_equal(affines.frameChange("LPS", frame), expected)


@pytest.mark.parametrize(
    "matrix", [np.zeros((4, 4)), np.diag([1.0, 0.0, 1.0, 1.0]), np.diag([np.nan, 1, 1, 1]), np.full((4, 4), np.inf)]
)
def test_axis_codes_of_degenerate_matrices_are_none(matrix):
    assert affines.axisCodes(matrix) is None


def test_flip_of_points_and_matrices_agree():
    matrix = affines.IJKToLPSFromDICOM((1, 2, 3), (0, 1, 0, 0, 0, -1), (1.0, 1.0), (-2, 0, 0))
    point = matrix @ [3, 4, 5, 1]
    np.testing.assert_allclose(affines.lpsToRAS(matrix) @ [3, 4, 5, 1], np.append(affines.lpsToRAS(point[:3]), 1))
    with pytest.raises(ValueError, match='"values"'):
        affines.lpsToRAS(np.zeros((2, 2)))


def test_sample_needs_mkdir_for_a_missing_parent_and_says_what_it_created(tmp_path, capsys):
    target = tmp_path / "new" / "deeper" / "sample"
    assert main(["sample", str(target)]) == 1
    assert "add --mkdir" in capsys.readouterr().err and not (tmp_path / "new").exists()
    assert main(["sample", "--mkdir", str(target)]) == 0
    assert f"created the folder {tmp_path / 'new'}" in capsys.readouterr().err
    assert len(os.listdir(target)) > 10
