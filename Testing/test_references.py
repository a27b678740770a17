"""Geometry against independent references: the shared NIfTIs (dicom2nifti, dcm2niix) and dcm2niix run here.

Positions are compared (voxel centres, RAS), never raw matrices: each
converter reorders and flips axes in its own way.
"""

from __future__ import annotations

import glob
import os
import subprocess

import nibabel
import numpy as np
import pytest

from AffineInspectorLib.dicom.series import inspectPaths
from conftest import assertSameVoxelCentres, case, dcm2niixExecutable

NIFTI_REFERENCES = [
    ("dicom2nifti/ge_anatomical/001", "dicom2nifti/ge_anatomical/001_ground_truth.nii.gz"),
    (
        "dicom2nifti/ge_single_slice/001_single_slice",
        "dicom2nifti/ge_single_slice/001_single_slice_ground_truth.nii.gz",
    ),
    ("dicom2nifti/hitachi_oblique/001", "dicom2nifti/hitachi_oblique/001_ground_truth.nii.gz"),
    ("dicom2nifti/philips_enhanced_anatomical/001", "dicom2nifti/philips_enhanced_anatomical/001_ground_truth.nii.gz"),
    (
        "dicom2nifti/philips_enhanced_anatomical/001_implicit",
        "dicom2nifti/philips_enhanced_anatomical/001_implicit_ground_truth.nii.gz",
    ),
    (
        "dicom2nifti/siemens_multiframe_anatomical/001",
        "dicom2nifti/siemens_multiframe_anatomical/001_ground_truth.nii.gz",
    ),
    ("dicom2nifti/failing/slicecount/001", "dicom2nifti/failing/slicecount/001_ground_truth.nii.gz"),
    ("dcm_qa_enh/In/Philips", "dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e1.nii"),
    ("dcm_qa_enh/In/Siemens", "dcm_qa_enh/Ref/Siemens_REST1_w_SMS_PF7-8_6.nii"),
]


def onlySeries(path):
    result = inspectPaths([path])
    assert len(result.series) == 1, [s.seriesInstanceUID for s in result.series]
    return result.series[0]


@pytest.mark.parametrize("dicomFolder,referenceFile", NIFTI_REFERENCES, ids=[r[0] for r in NIFTI_REFERENCES])
def test_voxel_centres_match_reference_nifti(dicomRoot, dicomFolder, referenceFile):
    series = onlySeries(case(dicomFolder))
    reference = nibabel.load(case(referenceFile))
    if series.dimensions[2] == 1:
        # A single slice has no measured k: compare the one plane (the k step is a documented guess).
        shape = reference.shape[:3]
        assert 1 in shape
    assertSameVoxelCentres(series.IJKToRAS, series.dimensions, reference.affine, reference.shape)


def runDcm2niix(folder, outputFolder):
    os.makedirs(outputFolder, exist_ok=True)
    completed = subprocess.run(
        [dcm2niixExecutable(), "-z", "n", "-f", "%s_%d", "-o", outputFolder, folder],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # The plain conversion, not dcm2niix's tilt-corrected (_Tilt) or equalized (_Eq) copies.
    plain = [
        path for path in glob.glob(os.path.join(outputFolder, "*.nii")) if "_Tilt" not in path and "_Eq" not in path
    ]
    return plain, completed.stdout


DCM2NIIX_REGULAR = [
    "dicom2nifti/hitachi_oblique/001",
    "dicom2nifti/ge_anatomical/001",
    "dicom2nifti/siemens_multiframe_anatomical/001",
    "dicom2nifti/failing/slicecount/001",
]


@pytest.mark.parametrize("dicomFolder", DCM2NIIX_REGULAR)
def test_voxel_centres_match_dcm2niix(dicomRoot, tmp_path, dicomFolder):
    series = onlySeries(case(dicomFolder))
    outputs, log = runDcm2niix(case(dicomFolder), str(tmp_path))
    assert len(outputs) == 1, (outputs, log)
    reference = nibabel.load(outputs[0])
    assertSameVoxelCentres(series.IJKToRAS, series.dimensions, reference.affine, reference.shape)


@pytest.mark.parametrize(
    "dicomFolder,tiltDeg", [("dicom2nifti/failing/gantrytilting/001", 14.0), ("dcm_qa_ct_GE", 18.5)]
)
def test_tilted_series_against_dcm2niix(dicomRoot, tmp_path, dicomFolder, tiltDeg):
    """dcm2niix's plain (uncorrected) output keeps the shear with k = cos(tilt) * (IPP_1 - IPP_0).

    That is its documented rule (nii_dicom_batch.cpp; ../shared/docs/ANCHORS.md),
    so it does not put tilted slices at their IPPs. Our grid, with its k
    column replaced by that rule and our measured tilt, must give dcm2niix's
    voxel centres; and dcm2niix's own tilt estimate must equal ours.
    """
    series = onlySeries(case(dicomFolder))
    outputs, log = runDcm2niix(case(dicomFolder), str(tmp_path))
    assert len(outputs) == 1, (outputs, log)
    reference = nibabel.load(outputs[0])

    assert abs(series.seriesTiltDeg - tiltDeg) < 0.01
    assert f"estimated from slice vector {tiltDeg:g}" in log
    firstStepLPS = np.subtract(series.slices[1].position, series.slices[0].position)
    dcm2niixRule = series.IJKToRAS.copy()
    dcm2niixRule[:3, 2] = np.diag([-1.0, -1.0, 1.0]) @ firstStepLPS * np.cos(np.radians(series.seriesTiltDeg))
    assertSameVoxelCentres(dcm2niixRule, series.dimensions, reference.affine, reference.shape)

    # And our own k column is what puts every slice at its IPP (dcm2niix's is shorter by cos(tilt)).
    if not any(f.kind == "nonUniformSpacing" for f in series.findings):
        assert series.maxAffineErrorMm < 1e-3
