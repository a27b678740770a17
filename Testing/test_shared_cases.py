"""Every case in ../shared/data/dicom: the right kinds on the right slices, and nothing else.

Expectations come from the case README (measured there with pydicom) and are
stated as {kind: [slice indices in sorted order, None for the series]}.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from AffineInspectorLib.dicom.series import inspectPaths
from conftest import case

GE_TILT_SLICES = list(range(1, 28))
GE_SPACING_SLICES = list(range(14, 28))

CASES = {
    "dcm_qa_ct_GE": {
        "gantryTilt": [None] + GE_TILT_SLICES,
        "nonUniformSpacing": GE_SPACING_SLICES,
    },
    "dicom2nifti/failing/gantrytilting/001": {"gantryTilt": [None, 1, 2, 3]},
    "dicom2nifti/failing/sliceincrement/001": {"missingSlice": [3]},
    "dicom2nifti/failing/sliceincrement/002": {"missingSlice": [3], "gantryTilt": [None, 1, 2, 3]},
    "dicom2nifti/failing/notavolume/001": {"notAVolume": [None]},
    "dicom2nifti/failing/sliceorientation/001": {"orientationMismatch": [None, None]},
    "dicom2nifti/failing/slicecount/001": {},
    "dicom2nifti/ge_anatomical/001": {},
    "dicom2nifti/ge_single_slice/001_single_slice": {"singleSlice": [None]},
    "dicom2nifti/hitachi_oblique/001": {},
    "dicom2nifti/philips_enhanced_anatomical/001": {"multiFrame": [None]},
    "dicom2nifti/philips_enhanced_anatomical/001_implicit": {"multiFrame": [None]},
    "dicom2nifti/siemens_multiframe_anatomical/001": {"multiFrame": [None]},
    "dcm_qa_enh/In/Siemens/XA10": {"multiFrame": [None] * 4},
    "dcm_qa_enh/In/Philips": {"multiFrame": [None]},
    "tcia_kits_duplicate_positions": {
        "duplicatePosition": [9],
        "nonUniformSpacing": [1, 2, 3, 4, 5, 6, 7, 10],
    },
}


def findingsBySlice(series):
    found = defaultdict(list)
    for finding in series.findings:
        found[finding.kind].append(finding.slice)
    return {kind: sorted(slices, key=lambda s: -1 if s is None else s) for kind, slices in found.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_kinds_on_slices(dicomRoot, name):
    result = inspectPaths([case(name)])
    assert len(result.series) == 1
    expected = {kind: sorted(slices, key=lambda s: -1 if s is None else s) for kind, slices in CASES[name].items()}
    assert findingsBySlice(result.series[0]) == expected
    # Only the reference NIfTIs beside the DICOM files are skipped, as non-DICOM (info).
    assert all(f.severity == "info" and f.file.endswith((".nii", ".nii.gz")) for f in result.unreadableFiles)


def test_ge_ct_measurements(dicomRoot):
    """The README's facts: 28 slices, tilt 18.5 deg (tag +18.5), gaps 1.081 to 6.999 mm, median 4.002."""
    series = inspectPaths([case("dcm_qa_ct_GE")]).series[0]
    assert series.dimensions == (512, 512, 28)
    steps = [row.step for row in series.slices[1:]]
    assert min(steps) == pytest.approx(1.081, abs=1e-3)
    assert max(steps) == pytest.approx(6.999, abs=1e-3)
    seriesTilt = next(f for f in series.findings if f.kind == "gantryTilt" and f.slice is None)
    assert seriesTilt.value == pytest.approx(18.5, abs=0.01)
    assert "GantryDetectorTilt (0018,1120) = 18.5 deg, the tag agrees" in seriesTilt.message
    assert "4.002" in next(f for f in series.findings if f.kind == "nonUniformSpacing").message
    # InstanceNumber rises strictly with position here (dcm2niix's "not spatial" message notwithstanding).
    assert [row.instanceNumber for row in series.slices] == list(range(1, 29))
    assert series.instanceNumberOrder == "ascending"
    assert "Image slices are not equally spaced (4.00193 spacing was expected, 1.08109" in series.slicerSortWarning


def test_missing_slice_message_says_how_many_and_where(dicomRoot):
    series = inspectPaths([case("dicom2nifti/failing/sliceincrement/001")]).series[0]
    finding = next(f for f in series.findings if f.kind == "missingSlice")
    assert finding.value == 1 and finding.unit == "slices"
    assert "1 slice(s) missing between slice 2" in finding.message and "IM-0001-0009-0001.dcm" in finding.message
    assert series.maxAffineErrorMm == pytest.approx(10 / 3, abs=1e-3)


def test_two_series_in_one_folder_are_separated(dicomRoot):
    result = inspectPaths([case("dicom2nifti/failing/sliceincrement")])
    assert sorted(len(s.files) for s in result.series) == [4, 4]


def test_duplicates_are_reported_not_stacked(dicomRoot):
    series = inspectPaths([case("tcia_kits_duplicate_positions")]).series[0]
    duplicate = next(f for f in series.findings if f.kind == "duplicatePosition")
    assert duplicate.file.endswith("CT28.dcm") and "CT26.dcm" in duplicate.message
    assert series.dimensions[2] == 10  # 11 files, 10 positions
    assert series.instanceNumberOrder == "descending"


def test_orientation_mismatch_leaves_other_plane_out(dicomRoot):
    series = inspectPaths([case("dicom2nifti/failing/sliceorientation/001")]).series[0]
    assert series.dimensions[2] == 2
    mismatches = [f for f in series.findings if f.kind == "orientationMismatch"]
    assert all(f.value > 90 for f in mismatches)


@pytest.mark.parametrize(
    "name,positions,volumes,repeatedBy",
    [("dcm_qa_enh/In/Siemens/XA10", 6, 4, "TemporalPositionIdentifier"), ("dcm_qa_enh/In/Philips", 32, 2, "ImageType")],
)
def test_4d_series_are_positions_times_volumes(dicomRoot, name, positions, volumes, repeatedBy):
    series = inspectPaths([case(name)]).series[0]
    assert series.dimensions[2] == positions
    assert series.numberOfVolumes == volumes
    assert series.repeatedBy == repeatedBy
    assert not any(f.kind == "duplicatePosition" for f in series.findings)
    assert "does not contain geometry information" in series.slicerSortWarning


def test_single_slice_says_which_thickness_was_used(dicomRoot):
    series = inspectPaths([case("dicom2nifti/ge_single_slice/001_single_slice")]).series[0]
    finding = next(f for f in series.findings if f.kind == "singleSlice")
    assert "default of 1.0 mm" in finding.message
    assert series.spacing[2] == pytest.approx(1.0)
