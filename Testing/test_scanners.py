"""Real scanner archives through the whole engine (``inspectPaths``): mosaics, 4D series, split series, signed tilt.

References are independent of the code under test: the shared dcm2niix
NIfTIs and JSON sidecars, dcm2niix run here on the same files, and the truth
synthetic files were written from (``mosaicdata.MosaicSpec``).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess

import nibabel
import numpy as np
import pydicom
import pytest

from AffineInspectorLib.dicom.fastreader import readSliceHeaderFast
from AffineInspectorLib.dicom.headers import readSliceHeaders
from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.dicom.synthetic import SeriesSpec, rotationFromAngles, writeSeries
from AffineInspectorLib.geometry import mosaic
from conftest import DICOM, assertSameVoxelCentres, dcm2niixExecutable
from fourddata import FourDSpec, writeClassic, writeEnhanced
from mosaicdata import SIEMENS_SPECS, UIH_SPECS, runDcm2niix, writeSiemensMosaics, writeUIHGrids

TOLERANCE_MM = 2e-3
SHARED_MOSAICS = {
    "ax/axdesc36": "ax_desc_36sl_10",
    "cor/corint36": "cor_int_36sl_15",
    "sag/sagasc35": "sag_asc_35sl_22",
}


def onlySeries(paths):
    result = inspectPaths(paths)
    assert len(result.series) == 1, [series.seriesDescription for series in result.series]
    return result.series[0]


def kinds(series):
    return sorted({finding.kind.value for finding in series.findings})


def slicePositions(series) -> np.ndarray:
    """The IPP (LPS) of every slice of the first volume, in k order."""
    return np.array([row.position for row in series.slices if row.volume == 0])


def assertPositionsAreVoxelCentres(positions, referenceAffine) -> float:
    """Each LPS position is a voxel centre of the reference grid (RAS affine); returns the largest distance."""
    ras = positions * np.array([-1.0, -1.0, 1.0])
    index = (np.linalg.inv(referenceAffine) @ np.vstack([ras.T, np.ones(len(ras))]))[:3]
    back = (referenceAffine @ np.vstack([np.round(index), np.ones(len(ras))]))[:3].T
    worst = float(np.linalg.norm(back - ras, axis=1).max())
    assert worst < TOLERANCE_MM, f"slice positions up to {worst:.3g} mm from the reference's voxel centres"
    return worst


# --------------------------------------------------------------------------- Siemens mosaics: the shared series


@pytest.mark.parametrize("name", SHARED_MOSAICS)
def test_shared_mosaic_series_match_the_reference_nifti(dicomRoot, name):
    series = onlySeries([os.path.join(DICOM, "dcm_qa_mosaic", "In", name)])
    reference = nibabel.load(os.path.join(DICOM, "dcm_qa_mosaic", "Ref", SHARED_MOSAICS[name] + ".nii"))
    assert series.numberOfVolumes == reference.shape[3] == 2
    assert series.repeatedBy == "AcquisitionNumber"  # one volume per mosaic file
    assertSameVoxelCentres(series.IJKToRAS, series.dimensions, reference.affine, reference.shape, TOLERANCE_MM)
    assertPositionsAreVoxelCentres(slicePositions(series), reference.affine)
    assert series.maxAffineErrorMm < 1e-3
    assert kinds(series) == ["mosaic"]  # no singleSlice, notAVolume or missingGeometry any more
    (finding,) = series.findings
    assert finding.severity == "info"
    assert "Siemens MOSAIC" in finding.message and "does not de-mosaic" in finding.message
    # Read as one image, the tiles are hundreds of mm away: the number the finding gives.
    assert 300 < finding.value < 2000


@pytest.mark.parametrize("name", SHARED_MOSAICS)
def test_shared_mosaic_slice_timing_matches_the_sidecar(dicomRoot, name):
    series = onlySeries([os.path.join(DICOM, "dcm_qa_mosaic", "In", name)])
    reference = nibabel.load(os.path.join(DICOM, "dcm_qa_mosaic", "Ref", SHARED_MOSAICS[name] + ".nii"))
    with open(os.path.join(DICOM, "dcm_qa_mosaic", "Ref", SHARED_MOSAICS[name] + ".json")) as stream:
        sidecar = json.load(stream)
    times = np.asarray(series.mosaic.sliceTimesMs) / 1000.0
    np.testing.assert_allclose(times - times.min(), sidecar["SliceTiming"], atol=1e-4)
    expectedCode = list(mosaic.SliceOrderCode)[int(reference.header["slice_code"])].value
    assert series.mosaic.sliceOrder == expectedCode
    assert expectedCode in series.findings[0].message


def test_fast_reader_leaves_mosaics_to_pydicom(dicomRoot, tmp_path):
    path = os.path.join(DICOM, "dcm_qa_mosaic", "In", "ax", "axdesc36")
    files = sorted(os.path.join(path, name) for name in os.listdir(path))
    assert readSliceHeaderFast(files[0]) is None
    tiles = readSliceHeaders(files[0])
    assert [header.tile for header in tiles] == list(range(36))
    assert {(header.columns, header.rows) for header in tiles} == {(64, 64)}
    uihPath = writeUIHGrids(dataclasses.replace(UIH_SPECS[0], volumes=1), str(tmp_path))[0]
    assert readSliceHeaderFast(uihPath) is None


# --------------------------------------------------------------------------- synthetic mosaics of every kind


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    built = {}

    def build(spec, vendor):
        if (vendor, spec.name) not in built:
            root = tmp_path_factory.mktemp(f"{vendor}_{spec.name}".replace("+", "p").replace("-", "m"))
            writer = writeSiemensMosaics if vendor == "siemens" else writeUIHGrids
            writer(spec, str(root / "in"))
            built[vendor, spec.name] = (str(root / "in"),) + runDcm2niix(str(root / "in"), str(root / "out"))
        return built[vendor, spec.name]

    return build


@pytest.mark.parametrize(
    "vendor,spec",
    [("siemens", spec) for spec in SIEMENS_SPECS] + [("uih", spec) for spec in UIH_SPECS],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_synthetic_mosaics_match_dcm2niix_and_the_truth(converted, vendor, spec):
    folder, image, _, _ = converted(spec, vendor)
    series = onlySeries([folder])
    assert series.numberOfVolumes == spec.volumes == image.shape[3]
    assertSameVoxelCentres(series.IJKToRAS, series.dimensions, image.affine, image.shape, TOLERANCE_MM)
    truth = spec.tilePositions  # LPS, written from the spec, tile order
    ours = slicePositions(series)
    assert len(ours) == len(truth)
    # The same set of positions (Slicer's k may run against the tile order).
    distances = np.linalg.norm(ours[:, None, :] - truth[None, :, :], axis=2).min(axis=1)
    assert distances.max() < 1e-5
    assert kinds(series) == ["mosaic"]


def test_uih_grid_without_its_own_position_is_placed_from_the_vframes(tmp_path):
    """UIH "SaveBySlc" archives: no top-level ImagePositionPatient; every tile has one in (0065,1051)."""
    spec = UIH_SPECS[2]
    for path in writeUIHGrids(spec, str(tmp_path)):
        dataset = pydicom.dcmread(path)
        del dataset.ImagePositionPatient
        dataset.save_as(path)
    series = onlySeries([str(tmp_path)])
    assert kinds(series) == ["mosaic"]
    assert "cannot place them" in series.findings[0].message
    truth = spec.tilePositions
    distances = np.linalg.norm(slicePositions(series)[:, None, :] - truth[None, :, :], axis=2).min(axis=1)
    assert distances.max() < 1e-5 and series.numberOfVolumes == spec.volumes


def test_uih_grid_without_vframes_is_one_series_level_finding(tmp_path):
    spec = UIH_SPECS[0]
    writeUIHGrids(spec, str(tmp_path), withFrames=False)
    series = onlySeries([str(tmp_path)])
    assert [(f.kind.value, f.severity.value, f.slice) for f in series.findings] == [
        ("unsupportedMosaic", "error", None)
    ]
    message = series.findings[0].message
    assert "UIH" in message and "(0065,1051)" in message and f"{spec.volumes} file(s)" in message
    assert series.IJKToLPS is None  # left out: no tile can be placed, and the grid is not one slice


def test_siemens_mosaic_without_a_tile_count_is_unsupported(tmp_path):
    spec = dataclasses.replace(SIEMENS_SPECS[0], volumes=1)
    (path,) = writeSiemensMosaics(spec, str(tmp_path))
    dataset = pydicom.dcmread(path)
    for group, creator in ((0x0019, "SIEMENS MR HEADER"), (0x0029, "SIEMENS CSA HEADER")):
        block = dataset.private_block(group, creator)
        for element in list(dataset.group_dataset(group).keys()):
            if element.element >> 8 == block.block_start >> 8:
                del dataset[element]
    del dataset.AcquisitionMatrix
    dataset.save_as(path)
    series = onlySeries([str(tmp_path)])
    assert kinds(series) == ["unsupportedMosaic"]
    assert "NumberOfImagesInMosaic (0019,100A)" in series.findings[0].message


# --------------------------------------------------------------------------- 4D: which slice belongs to which volume


def test_classic_4d_volumes_follow_the_repeating_tag_not_the_file_order(tmp_path):
    spec = FourDSpec(positions=5, volumes=3)
    # Named so that, at each position, the files come in a different temporal order.
    order = [(p, (v + p) % spec.volumes) for p in range(spec.positions) for v in range(spec.volumes)]
    writeClassic(spec, str(tmp_path), order=order)
    series = onlySeries([str(tmp_path)])
    assert (series.numberOfVolumes, series.repeatedBy) == (3, "TemporalPositionIdentifier")
    for row in series.slices:
        assert pydicom.dcmread(row.file, stop_before_pixels=True).TemporalPositionIdentifier == row.volume + 1
    assert len(series.volumeFiles) == 3
    for volume, files in enumerate(series.volumeFiles):
        assert [int(pydicom.dcmread(path).TemporalPositionIdentifier) for path in files] == [volume + 1] * 5
    np.testing.assert_allclose(series.IJKToLPS, spec.IJKToLPS(), atol=1e-5)
    assert series.instanceNumberOrder in ("ascending", "notSpatial", "descending")


def test_enhanced_4d_in_one_file_is_positions_times_volumes(tmp_path):
    spec = FourDSpec(positions=4, volumes=3)
    (path,) = writeEnhanced(spec, str(tmp_path))
    series = onlySeries([str(tmp_path)])
    assert series.dimensions == (spec.columns, spec.rows, 4)
    assert (series.numberOfVolumes, series.repeatedBy) == (3, "TemporalPositionIdentifier")
    assert series.volumeFiles == [[path]] * 3
    np.testing.assert_allclose(series.IJKToLPS, spec.IJKToLPS(), atol=1e-5)


def test_diffusion_volumes_are_named_by_b_value_and_direction(tmp_path):
    """Two volumes share b = 1000, two share a direction: only the pair tells all four apart."""
    spec = FourDSpec(positions=3, volumes=4)
    paths = writeClassic(spec, str(tmp_path))
    bValues = [0.0, 1000.0, 1000.0, 2000.0]
    directions = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    for path in paths:
        dataset = pydicom.dcmread(path)
        volume = int(dataset.TemporalPositionIdentifier) - 1
        del dataset.TemporalPositionIdentifier
        dataset.AcquisitionTime = "120000.000000"
        dataset.DiffusionBValue = bValues[volume]
        dataset.DiffusionGradientOrientation = directions[volume]
        dataset.save_as(path)
    series = onlySeries([str(tmp_path)])
    assert (series.numberOfVolumes, series.repeatedBy) == (4, "DiffusionBValue + DiffusionGradientOrientation")


# --------------------------------------------------------------------------- one SeriesInstanceUID, two SOP classes


@pytest.mark.parametrize("volumes", [1, 2])
def test_classic_and_enhanced_copies_under_one_uid_are_two_series(tmp_path, volumes):
    spec = FourDSpec(positions=6, volumes=volumes)
    classic = writeClassic(spec, str(tmp_path / "classic"))
    (enhanced,) = writeEnhanced(spec, str(tmp_path / "enhanced"))
    result = inspectPaths([str(tmp_path)])
    assert len(result.series) == 2
    bySOPClass = {series.sopClassUID: series for series in result.series}
    assert set(bySOPClass) == {pydicom.uid.MRImageStorage, pydicom.uid.EnhancedMRImageStorage}
    assert sorted(bySOPClass[pydicom.uid.MRImageStorage].files) == sorted(classic)
    assert bySOPClass[pydicom.uid.EnhancedMRImageStorage].files == [enhanced]
    for series in result.series:
        assert series.seriesInstanceUID == spec.seriesUID
        assert series.numberOfVolumes == volumes  # not 2 x volumes: the copies are not repeats
        assert "duplicatePosition" not in kinds(series)
        np.testing.assert_allclose(series.IJKToLPS, spec.IJKToLPS(), atol=1e-5)
        split = [finding for finding in series.findings if finding.kind == "seriesSplit"]
        assert len(split) == 1 and split[0].severity == "warning" and split[0].slice is None
        assert "MR Image Storage" in split[0].message and "Enhanced MR Image Storage" in split[0].message


def test_one_sop_class_is_not_split(tmp_path):
    writeClassic(FourDSpec(volumes=1), str(tmp_path))
    assert "seriesSplit" not in kinds(onlySeries([str(tmp_path)]))


# --------------------------------------------------------------------------- signed tilt, against dcm2niix


def dcm2niixTilt(folder: str, output: str):
    """dcm2niix's console estimate of the tilt (0.0 when it reports none), and its plain (uncorrected) NIfTI."""
    os.makedirs(output, exist_ok=True)
    completed = subprocess.run(
        [dcm2niixExecutable(), "-z", "n", "-f", "plain", "-o", output, folder], capture_output=True, text=True
    )
    match = re.search(r"estimated from slice vector (\S+)", completed.stdout)
    return (float(match.group(1)) if match else 0.0), nibabel.load(os.path.join(output, "plain.nii"))


TILT_ORIENTATIONS = [(0, 0, 0), (0, 90, 0), (90, 0, 0), (30, 20, 10), (120, -30, 45), (200, 15, -60), (-40, 10, 70)]


@pytest.mark.parametrize("tiltDeg", [12.0, -12.0, 25.0, -7.5])
@pytest.mark.parametrize("angles", TILT_ORIENTATIONS, ids=str)
def test_signed_tilt_is_dcm2niix_estimate(tmp_path, angles, tiltDeg):
    """Both signs of the same shear, in many orientations: ours equals the number dcm2niix prints (even its
    155 deg for a 25 deg tilt of one orientation, which its sign rule gives)."""
    spec = SeriesSpec(rows=8, columns=8, numberOfSlices=6, tiltDeg=tiltDeg, rotation=rotationFromAngles(*angles))
    writeSeries(spec, str(tmp_path / "in"))
    estimate, _ = dcm2niixTilt(str(tmp_path / "in"), str(tmp_path / "out"))
    series = onlySeries([str(tmp_path / "in")])
    assert series.signedTiltDeg == pytest.approx(estimate, abs=0.01)
    assert series.seriesTiltDeg == pytest.approx(abs(tiltDeg), abs=0.01)
    assert abs(estimate) in (pytest.approx(abs(tiltDeg), abs=0.01), pytest.approx(180 - abs(tiltDeg), abs=0.01))


def seriesTiltFinding(series):
    return next(f for f in series.findings if f.kind == "gantryTilt" and f.slice is None)


@pytest.mark.parametrize("tagSign", [1, -1])
def test_tag_of_opposite_sign_is_never_just_said_to_agree(tmp_path, tagSign):
    spec = SeriesSpec(rows=8, columns=8, numberOfSlices=6, tiltDeg=15.0)
    for path in writeSeries(spec, str(tmp_path)):
        dataset = pydicom.dcmread(path)
        dataset.Manufacturer = "ACME"
        dataset.GantryDetectorTilt = f"{tagSign * 15.0:.1f}"
        dataset.save_as(path)
    series = onlySeries([str(tmp_path)])
    message = seriesTiltFinding(series).message
    sameSign = (tagSign > 0) == (series.signedTiltDeg > 0)
    assert "the magnitude agrees" in message
    if sameSign:
        assert "ACME writes it with the sign of dcm2niix's estimate" in message
    else:
        assert "the sign is the opposite of dcm2niix's estimate; the tag's sign is ACME's convention" in message
        assert "with the sign of dcm2niix's estimate" not in message


def test_tag_of_another_magnitude_is_said_to_be_wrong(tmp_path):
    spec = SeriesSpec(rows=8, columns=8, numberOfSlices=6, tiltDeg=15.0)
    for path in writeSeries(spec, str(tmp_path)):
        dataset = pydicom.dcmread(path)
        dataset.GantryDetectorTilt = "10.0"
        dataset.save_as(path)
    message = seriesTiltFinding(onlySeries([str(tmp_path)])).message
    assert "magnitude differs" in message and "agrees" not in message


@pytest.mark.parametrize("folder", ["dcm_qa_ct_GE", "dicom2nifti/failing/gantrytilting/001"])
def test_dcm2niix_plain_output_offset_is_what_the_message_says(dicomRoot, tmp_path, folder):
    """The message says how far dcm2niix's plain NIfTI puts slices from their IPPs: measured on that NIfTI."""
    series = onlySeries([os.path.join(DICOM, folder)])
    estimate, plain = dcm2niixTilt(os.path.join(DICOM, folder), str(tmp_path))
    assert series.signedTiltDeg == pytest.approx(estimate, abs=0.01)
    message = seriesTiltFinding(series).message
    said = float(re.search(r"puts slices up to ([\d.]+) mm from their IPPs", message).group(1))
    # Every voxel centre at an in-plane corner of a dcm2niix slice (RAS), against every IPP (LPS -> RAS).
    ni, nj, nk = plain.shape[:3]
    corners = np.array([[i, j, k, 1.0] for i in (0, ni - 1) for j in (0, nj - 1) for k in range(nk)])
    theirs = (corners @ plain.affine.T)[:, :3]
    ipps = np.array([row.position for row in series.slices]) * np.array([-1.0, -1.0, 1.0])
    offsets = np.linalg.norm(ipps[:, None, :] - theirs[None, :, :], axis=2).min(axis=1)
    assert offsets.max() == pytest.approx(said, rel=0.01)


def test_a_further_real_mosaic_series_matches_dcm2niix(tmp_path):
    """nibabel's Siemens DWI mosaics (48 slices of 128x128 on a 7x7 grid, b0 and b1000), not seen while writing
    the de-mosaic code, through the whole engine."""
    folder = os.path.join(os.path.dirname(nibabel.__file__), "nicom", "tests", "data")
    sources = [os.path.join(folder, name) for name in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz")]
    assert all(os.path.exists(path) for path in sources), "nibabel's test data (a test dependency) is missing"
    for path in sources:
        with gzip.open(path) as stream, open(tmp_path / os.path.basename(path)[:-3], "wb") as out:
            shutil.copyfileobj(stream, out)
    series = onlySeries([str(tmp_path)])
    image, _, _ = runDcm2niix(str(tmp_path), str(tmp_path / "out"))
    assert series.dimensions == (128, 128, 48) and series.numberOfVolumes == image.shape[3] == 2
    assertSameVoxelCentres(series.IJKToRAS, series.dimensions, image.affine, image.shape, TOLERANCE_MM)
    assertPositionsAreVoxelCentres(slicePositions(series), image.affine)
    assert "mosaic" in kinds(series)


def test_signed_tilt_doctests():
    """The docstring examples of affines.signedTiltDegrees (the GE CT's geometry, and its mirror) run."""
    import doctest

    from AffineInspectorLib.geometry import affines

    failures, attempted = doctest.testmod(affines)
    assert failures == 0 and attempted > 0
