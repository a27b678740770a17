"""De-mosaic geometry (Siemens MOSAIC, UIH grid) against dcm2niix, the shared reference NIfTIs, nibabel and known truth.

Each tile is placed from its header (``dicom/csa.py``, ``dicom/uih.py``,
``geometry/mosaic.py``); the tiles, sorted the way Slicer sorts slices, give
an IJK-to-LPS affine that is compared by voxel centres (any axis order and
flip) with:

* the shared dcm2niix references for the three real Siemens series;
* dcm2niix run here on the same files and on synthetic mosaics written below;
* for synthetic files, the slice centres they were written from (the test
  computes the expected tile positions itself, from the Siemens convention
  "a slice centre is voxel (columns / 2, rows / 2)", not from the code).

Slice timing is compared with the references' JSON SliceTiming and NIfTI
slice_code; the CSA parser with nibabel's ``csareader`` and ``ascconv``.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import os
import shutil
import struct
import warnings
from typing import Any, List

import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from AffineInspectorLib.dicom import csa, uih
from AffineInspectorLib.geometry import mosaic
from AffineInspectorLib.geometry.affines import LPS_TO_RAS, IJKToLPSFromDICOM
from conftest import DICOM, assertSameVoxelCentres
from mosaicdata import (
    SIEMENS_SPECS,
    UIH_SPECS,
    MosaicSpec,
    csaHeaderBytes,
    padded,
    runDcm2niix,
    writeSiemensMosaics,
    writeUIHGrids,
)

with warnings.catch_warnings():  # nibabel.nicom announces itself as experimental on import
    warnings.simplefilter("ignore", UserWarning)
    from nibabel.nicom import ascconv, csareader, dicomwrappers

TOLERANCE_MM = 2e-3
SHARED_SERIES = {
    "ax/axdesc36": "ax_desc_36sl_10",
    "cor/corint36": "cor_int_36sl_15",
    "sag/sagasc35": "sag_asc_35sl_22",
}
NIBABEL_DATA = os.path.join(os.path.dirname(csareader.__file__), "tests", "data")


# --------------------------------------------------------------------------- helpers


def seriesFiles(name: str) -> List[str]:
    return sorted(glob.glob(os.path.join(DICOM, "dcm_qa_mosaic", "In", name, "*")))


def referencePaths(name: str):
    stem = os.path.join(DICOM, "dcm_qa_mosaic", "Ref", SHARED_SERIES[name])
    return stem + ".nii", stem + ".json"


def ijkToRASOfTiles(slices: mosaic.MosaicSlices, orientation, pixelSpacing) -> np.ndarray:
    """The IJK-to-RAS matrix the series analysis would build from the tiles as Slicer-sorted slices."""
    ordered = slices.positionsInSliceOrder
    step = (ordered[-1] - ordered[0]) / (len(ordered) - 1)
    return LPS_TO_RAS @ IJKToLPSFromDICOM(ordered[0], orientation, pixelSpacing, step)


def assertTilesOnReference(slices, orientation, pixelSpacing, referenceAffine, referenceShape) -> float:
    """Corner voxels match (conftest), and each tile's four in-plane corners land on distinct reference voxel centres.

    Returns the largest distance (mm) between one of our voxel centres and the nearest reference voxel centre.
    """
    dimensions = (slices.tileColumns, slices.tileRows, slices.numberOfImages)
    ijkToRAS = ijkToRASOfTiles(slices, orientation, pixelSpacing)
    worst = assertSameVoxelCentres(ijkToRAS, dimensions, referenceAffine, referenceShape, toleranceMm=TOLERANCE_MM)
    rowStep = np.asarray(orientation[:3], float) * pixelSpacing[1]
    columnStep = np.asarray(orientation[3:], float) * pixelSpacing[0]
    corners = np.array(
        [
            position + i * rowStep + j * columnStep
            for position in slices.positions
            for i in (0, dimensions[0] - 1)
            for j in (0, dimensions[1] - 1)
        ]
    )
    ras = corners @ LPS_TO_RAS[:3, :3].T
    index = (np.linalg.inv(referenceAffine) @ np.vstack([ras.T, np.ones(len(ras))]))[:3]
    rounded = np.round(index)
    back = (referenceAffine @ np.vstack([rounded, np.ones(len(ras))]))[:3].T
    worst = max(worst, float(np.linalg.norm(back - ras, axis=1).max()))
    assert worst < TOLERANCE_MM, f"tile corners are up to {worst:.3g} mm from the reference voxel centres"
    assert len({tuple(column) for column in rounded.T.astype(int)}) == len(corners), "two tiles share a reference voxel"
    return worst


# --------------------------------------------------------------------------- the three shared Siemens series


def infoOf(path: str) -> csa.MosaicInfo:
    info = csa.mosaicInfo(pydicom.dcmread(path, stop_before_pixels=True), path)
    assert info is not None and info.usable, info.reason if info else "not a mosaic"
    return info


@pytest.fixture(scope="module")
def dcm2niixOfShared(tmp_path_factory):
    results = {}

    def run(name: str):
        if name not in results:
            output = tmp_path_factory.mktemp("dcm2niix_" + name.replace("/", "_"))
            results[name] = runDcm2niix(os.path.join(DICOM, "dcm_qa_mosaic", "In", name), str(output))
        return results[name]

    return run


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_tiles_match_reference_nifti(dicomRoot, name):
    reference = nibabel.load(referencePaths(name)[0])
    files = seriesFiles(name)
    assert len(files) == reference.shape[3] == 2  # one mosaic file per volume: 4D
    for path in files:
        info = infoOf(path)
        assertTilesOnReference(info.slices(), info.orientation, info.pixelSpacing, reference.affine, reference.shape)


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_tiles_match_dcm2niix_run_here(dcm2niixOfShared, name):
    image, sidecar, _ = dcm2niixOfShared(name)
    assert image.shape[3] == len(seriesFiles(name))
    for path in seriesFiles(name):
        info = infoOf(path)
        assertTilesOnReference(info.slices(), info.orientation, info.pixelSpacing, image.affine, image.shape)
    info = infoOf(seriesFiles(name)[0])
    np.testing.assert_allclose(mosaic.sliceTimingSeconds(info.sliceTimesMs), sidecar["SliceTiming"], atol=5e-5)
    assert info.sliceOrder().niftiCode == int(image.header["slice_code"])


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_slice_timing_matches_reference_sidecar(dicomRoot, name):
    niftiPath, sidecarPath = referencePaths(name)
    with open(sidecarPath) as stream:
        sliceTiming = json.load(stream)["SliceTiming"]
    info = infoOf(seriesFiles(name)[0])
    assert info.sliceTimesSource.startswith("CSA")
    # The sidecar holds the first volume's times (each file has its own; here they differ by up to 2.5 ms).
    np.testing.assert_allclose(mosaic.sliceTimingSeconds(info.sliceTimesMs), sliceTiming, atol=1e-6)
    assert mosaic.acquisitionOrder(info.sliceTimesMs).tolist() == np.argsort(sliceTiming, kind="stable").tolist()
    code = info.sliceOrder()
    assert code.niftiCode == int(nibabel.load(niftiPath).header["slice_code"])
    words = {"SEQ_INC": "ascending", "SEQ_DEC": "descending"}.get(code.value, "interleaved")
    assert info.protocolSliceMode == words  # the protocol's sSliceArray.ucMode says the same


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_pixels_sit_where_the_reference_has_them(dicomRoot, name):
    """Every demosaicked voxel, placed by our geometry, finds its own value in the reference NIfTI."""
    reference = nibabel.load(referencePaths(name)[0])
    path = seriesFiles(name)[0]
    dataset = pydicom.dcmread(path)
    info = csa.mosaicInfo(dataset, path)
    slices = info.slices()
    stack = mosaic.demosaicPixels(
        dataset.pixel_array, slices.tileRows, slices.tileColumns, slices.numberOfImages, tileOfSlice=slices.tileOfSlice
    )
    k, j, i = np.indices(stack.shape)
    points = np.vstack([i.ravel(), j.ravel(), k.ravel(), np.ones(k.size)])
    ras = ijkToRASOfTiles(slices, info.orientation, info.pixelSpacing) @ points
    index = np.round(np.linalg.inv(reference.affine) @ ras)[:3].astype(int)
    values = np.asarray(reference.dataobj)[..., 0]
    np.testing.assert_array_equal(values[tuple(index)], stack.ravel())


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_protocol_slice_centres_agree(dicomRoot, name):
    info = infoOf(seriesFiles(name)[0])
    assert len(info.protocolSliceCentres) == info.numberOfImages
    order, deviation = info.protocolCheck()
    assert order == "same" and deviation < 1e-4, (order, deviation)


def realMosaicFiles() -> List[str]:
    files = [path for name in SHARED_SERIES for path in seriesFiles(name)]
    extra = [os.path.join(NIBABEL_DATA, name) for name in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz")]
    return files + [path for path in extra if os.path.exists(path)]


def readAnyDicom(path: str, **options):
    return pydicom.dcmread(gzip.open(path) if path.endswith(".gz") else path, **options)


@pytest.mark.parametrize("path", realMosaicFiles(), ids=os.path.basename)
def test_nibabel_mosaic_wrapper_agrees(path):
    """nibabel's MosaicWrapper, a second implementation: same first tile position and slice direction."""
    dataset = readAnyDicom(path, stop_before_pixels=True)
    info = csa.mosaicInfo(dataset, path)
    wrapper = dicomwrappers.wrapper_from_data(dataset)
    assert isinstance(wrapper, dicomwrappers.MosaicWrapper)
    slices = info.slices()
    # nibabel uses IOP as stored; dcm2niix (and we) normalise it first. The DWI files' IOP has norm 1 - 3e-7,
    # which moves tile 0 by 2e-4 mm on their 896-pixel mosaic: hence 1e-3 mm, not 1e-6.
    np.testing.assert_allclose(slices.positions[0], wrapper.image_position, atol=1e-3)
    np.testing.assert_allclose(slices.sliceDirection, wrapper.slice_normal, atol=1e-6)
    assert (slices.tileRows, slices.tileColumns, slices.numberOfImages) == tuple(wrapper.image_shape)


def test_nibabel_dwi_mosaic_matches_dcm2niix(tmp_path):
    """A further real Siemens mosaic (nibabel's test data: 48 slices of 128x128 on a 7x7 grid, b0 and b1000)."""
    sources = [os.path.join(NIBABEL_DATA, name) for name in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz")]
    assert all(os.path.exists(path) for path in sources), "nibabel's test data (a test dependency) is missing"
    folder = tmp_path / "in"
    folder.mkdir()
    for path in sources:
        with gzip.open(path) as stream, open(folder / os.path.basename(path)[:-3], "wb") as out:
            shutil.copyfileobj(stream, out)
    image, _, _ = runDcm2niix(str(folder), str(tmp_path / "out"))
    info = infoOf(str(folder / "siemens_dwi_0.dcm"))
    assert (info.tilesAcross, info.tileRows, info.numberOfImages) == (7, 128, 48)
    assertTilesOnReference(info.slices(), info.orientation, info.pixelSpacing, image.affine, image.shape)


# --------------------------------------------------------------------------- CSA parser


def csaSources() -> List[str]:
    extra = [os.path.join(NIBABEL_DATA, name) for name in ("0.dcm", "1.dcm", "csa_slice_norm.dcm")]
    return realMosaicFiles() + [path for path in extra if os.path.exists(path)]


def assertSameAsNibabel(raw: bytes) -> None:
    ours = csa.readCSA(raw)
    theirs = csareader.read(raw)["tags"]
    assert list(ours) == list(theirs)
    for name, element in ours.items():
        tag = theirs[name]
        assert (element.vr, element.vm, element.syngoDataType) == (tag["vr"], tag["vm"], tag["syngodt"]), name
        assert list(element.values) == list(tag["items"]), name


def csaCases() -> List[Any]:
    """(file, CSA element) pairs to parse. nibabel's own samples were anonymised without some headers: those pairs
    are left out here, by name, instead of being skipped; every shared mosaic file must have both headers."""
    cases = []
    for path in csaSources():
        for element, name in ((0x10, "image"), (0x20, "series")):
            if path.startswith(NIBABEL_DATA) and _csaHeader(path, element) is None:
                continue
            cases.append(pytest.param(path, element, id=f"{os.path.basename(path)}-{name}"))
    return cases


def _csaHeader(path: str, element: int) -> Any:
    return csa.privateValue(readAnyDicom(path, stop_before_pixels=True), 0x0029, csa.SIEMENS_CSA_CREATOR, element)


@pytest.mark.parametrize("path, element", csaCases())
def test_csa_parser_matches_nibabel_on_real_headers(path, element):
    raw = _csaHeader(path, element)
    assert raw, "no CSA header"
    assertSameAsNibabel(raw)


@pytest.mark.parametrize("name", ["csa2_b0.bin", "csa2_b1000.bin", "csa_str_valid.bin"])
def test_csa_parser_matches_nibabel_on_its_samples(name):
    path = os.path.join(NIBABEL_DATA, name)
    assert os.path.exists(path), "nibabel's test data (a test dependency) is missing"
    with open(path, "rb") as stream:
        assertSameAsNibabel(stream.read())


def test_csa_parser_refuses_what_nibabel_refuses():
    path = os.path.join(NIBABEL_DATA, "csa_str_1001n_items.bin")
    assert os.path.exists(path), "nibabel's test data (a test dependency) is missing"
    with open(path, "rb") as stream:
        raw = stream.read()
    with pytest.raises(csareader.CSAReadError):
        csareader.read(raw)
    with pytest.raises(csa.CSAError, match="1001 items"):
        csa.readCSA(raw)


SYNTHETIC_TAGS = [
    ("EchoLinePosition", "IS", 1, padded(["32"])),
    ("NumberOfImagesInMosaic", "US", 1, padded(["36"])),
    ("SliceNormalVector", "FD", 3, padded(["0.0", "0.1079", "0.9941"])),
    ("ImaCoilString", "LO", 1, padded(["T:HEA;HEP"])),
    ("B_value", "IS", 1, []),
    ("MosaicRefAcqTimes", "FD", 0, ["2440.0", "70.0", "0.0"]),
]


@pytest.mark.parametrize("sv10", [True, False], ids=["SV10", "CSA1"])
def test_csa_parser_reads_both_layouts(sv10):
    """Written to the documented layout. nibabel is the oracle for SV10 only: its CSA1 branch reads the item-count
    correction from the second tag and fails on a header whose first tag has items, as this one's does."""
    raw = csaHeaderBytes(SYNTHETIC_TAGS, sv10=sv10)
    ours = csa.readCSA(raw)
    assert ours["NumberOfImagesInMosaic"].values == (36,)
    assert ours["SliceNormalVector"].values == (0.0, 0.1079, 0.9941)
    assert ours["ImaCoilString"].values == ("T:HEA;HEP",)
    assert ours["B_value"].values == ()
    assert ours["MosaicRefAcqTimes"].values == (2440.0, 70.0, 0.0)
    if sv10:
        assertSameAsNibabel(raw)


def test_csa1_item_length_uses_the_first_tags_item_count():
    """The old layout: length = first int32 - item count of the header's first tag (here 2, the second tag has 6)."""
    tags = [("First", "IS", 1, ["7", ""]), ("Second", "DS", 1, padded(["1.5"])), ("Text", "LO", 1, ["abcdef"])]
    ours = csa.readCSA(csaHeaderBytes(tags, sv10=False))
    assert ours["First"].values == (7,) and ours["Second"].values == (1.5,) and ours["Text"].values == ("abcdef",)


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"SV10\x04\x03\x02\x01", "too short"),
        (b"SV10\x04\x03\x02\x01" + struct.pack("<2I", 0, 77), "claims 0 tags"),
        (b"SV10\x04\x03\x02\x01" + struct.pack("<2I", 500, 77), "claims 500 tags"),
        (csaHeaderBytes(SYNTHETIC_TAGS)[:200], "ends inside"),
        (csaHeaderBytes([("X", "LO", 1, ["a" * 40])])[:-8], "runs past the end"),
    ],
    ids=["header only", "no tags", "500 tags", "truncated tag", "truncated item"],
)
def test_csa_parser_names_what_is_wrong(raw, message):
    with pytest.raises(csa.CSAError, match=message):
        csa.readCSA(raw)


def flattenASCCONV(value, prefix=""):
    """nibabel's nested ASCCONV dict as ``{"a.b[0].c": value}``, the keys dicom/csa.py keeps."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flattenASCCONV(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if item is not None:
                yield from flattenASCCONV(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_ascconv_parser_matches_nibabel(dicomRoot, name):
    dataset = pydicom.dcmread(seriesFiles(name)[0], stop_before_pixels=True)
    text = csa.readCSA(csa.privateValue(dataset, 0x0029, csa.SIEMENS_CSA_CREATOR, 0x20))["MrPhoenixProtocol"].value
    ours = csa.parseASCCONV(text)
    block = text[text.index("### ASCCONV BEGIN") : text.index("### ASCCONV END ###") + len("### ASCCONV END ###")]
    theirs = dict(flattenASCCONV(ascconv.parse_ascconv(block, '""')[0]))
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value) if isinstance(value, float) else ours[key] == value, key
    info = infoOf(seriesFiles(name)[0])
    for index, centre in enumerate(info.protocolSliceCentres):
        position = ascconv.parse_ascconv(block, '""')[0]["sSliceArray"]["asSlice"][index]["sPosition"]
        assert centre == tuple(position.get(axis, 0.0) for axis in ("dSag", "dCor", "dTra"))


# --------------------------------------------------------------------------- synthetic mosaics against dcm2niix


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    built = {}

    def build(spec: MosaicSpec, vendor: str):
        key = (vendor, spec.name)
        if key not in built:
            root = tmp_path_factory.mktemp(f"{vendor}_{spec.name}".replace("+", "p").replace("-", "m"))
            writer = writeSiemensMosaics if vendor == "siemens" else writeUIHGrids
            paths = writer(spec, str(root / "in"))
            built[key] = (paths,) + runDcm2niix(str(root / "in"), str(root / "out"))
        return built[key]

    return build


@pytest.mark.parametrize("spec", SIEMENS_SPECS, ids=lambda spec: spec.name)
def test_synthetic_siemens_mosaic(synthetic, spec):
    paths, image, sidecar, _ = synthetic(spec, "siemens")
    info = csa.mosaicInfo(pydicom.dcmread(paths[0], stop_before_pixels=True), paths[0])
    assert info.usable, info.reason
    assert info.notes == []
    slices = info.slices()
    np.testing.assert_allclose(slices.positions, spec.tilePositions, atol=1e-5)  # truth
    assert image.shape[3] == spec.volumes
    assertTilesOnReference(slices, info.orientation, info.pixelSpacing, image.affine, image.shape)  # dcm2niix
    np.testing.assert_allclose(mosaic.sliceTimingSeconds(info.sliceTimesMs), sidecar["SliceTiming"], atol=1e-6)
    assert mosaic.acquisitionOrder(info.sliceTimesMs).tolist() == spec.acquisition
    assert info.sliceOrder().value == spec.expectedCode
    assert info.sliceOrder().niftiCode == int(image.header["slice_code"])
    assert info.protocolSliceMode == spec.order
    order, deviation = info.protocolCheck()
    assert order == "same" and deviation < 1e-6


@pytest.mark.parametrize("spec", SIEMENS_SPECS[:6], ids=lambda spec: spec.name)
def test_synthetic_siemens_pixels(synthetic, spec):
    """Each voxel's value names its tile and (j, i): demosaicPixels puts it at the right [k, j, i]."""
    paths, image, _, _ = synthetic(spec, "siemens")
    dataset = pydicom.dcmread(paths[0])
    slices = csa.mosaicInfo(dataset, paths[0]).slices()
    stack = mosaic.demosaicPixels(
        dataset.pixel_array, slices.tileRows, slices.tileColumns, slices.numberOfImages, tileOfSlice=slices.tileOfSlice
    )
    k, j, i = np.indices(stack.shape)
    expectedTile = slices.tileOfSlice[k]
    np.testing.assert_array_equal(stack, 256 * (expectedTile + 1) + 16 * j + i)
    ras = ijkToRASOfTiles(slices, spec.orientation, spec.pixelSpacing) @ np.vstack(
        [i.ravel(), j.ravel(), k.ravel(), np.ones(k.size)]
    )
    index = np.round(np.linalg.inv(image.affine) @ ras)[:3].astype(int)
    np.testing.assert_array_equal(np.asarray(image.dataobj)[..., 0][tuple(index)], stack.ravel())


@pytest.mark.parametrize("spec", UIH_SPECS, ids=lambda spec: spec.name)
def test_synthetic_uih_grid(synthetic, spec):
    paths, image, _, _ = synthetic(spec, "uih")
    dataset = pydicom.dcmread(paths[0], stop_before_pixels=True)
    assert csa.mosaicInfo(dataset) is None  # not a Siemens mosaic
    info = uih.uihGridInfo(dataset, paths[0])
    assert info.usable, info.reason
    across = int(np.ceil(np.sqrt(spec.numberOfImages)))
    assert (info.tilesAcross, info.tilesDown) == (across, int(np.ceil(spec.numberOfImages / across)))
    slices = info.slices()
    np.testing.assert_allclose(slices.positions, spec.tilePositions, atol=1e-6)  # truth
    assert image.shape[3] == spec.volumes
    assertTilesOnReference(slices, info.orientation, info.pixelSpacing, image.affine, image.shape)  # dcm2niix


def test_uih_grid_without_frame_positions_gives_one_reason(tmp_path):
    spec = UIH_SPECS[0]
    path = writeUIHGrids(spec, str(tmp_path), withFrames=False)[0]
    info = uih.uihGridInfo(pydicom.dcmread(path, stop_before_pixels=True), path)
    assert not info.usable
    assert info.reason.startswith("UIH grid:") and "(0065,1051)" in info.reason and "(0020,0032)" in info.reason
    with pytest.raises(ValueError, match="0065,1051"):
        info.slices()


def test_uih_grid_with_too_few_frames_says_so(tmp_path):
    spec = UIH_SPECS[0]
    path = writeUIHGrids(spec, str(tmp_path), frameCount=spec.numberOfImages - 1)[0]
    info = uih.uihGridInfo(pydicom.dcmread(path, stop_before_pixels=True), path)
    assert info.reason == (
        f"UIH grid: (0065,1051) MR VFrame Sequence has {spec.numberOfImages - 1} items "
        f"for {spec.numberOfImages} tiles ((0065,1050))"
    )


def test_a_siemens_mosaic_is_not_a_uih_grid(dicomRoot):
    dataset = pydicom.dcmread(seriesFiles("ax/axdesc36")[0], stop_before_pixels=True)
    assert uih.uihGridInfo(dataset) is None and not uih.isUIHGrid(dataset)


# --------------------------------------------------------------------------- mosaicInfo: sources and reasons


def siemensDataset(spec: MosaicSpec, tmp_path) -> Dataset:
    return pydicom.dcmread(writeSiemensMosaics(dataclasses.replace(spec, volumes=1), str(tmp_path))[0])


def test_a_plain_image_is_not_a_mosaic(dicomRoot):
    path = os.path.join(DICOM, "dicom2nifti", "ge_anatomical", "001")
    first = sorted(glob.glob(os.path.join(path, "*")))[0]
    assert csa.mosaicInfo(pydicom.dcmread(first, stop_before_pixels=True)) is None


def test_number_of_images_falls_back_in_dcm2niix_order(tmp_path):
    spec = SIEMENS_SPECS[0]  # 7 slices on a 3x3 grid
    dataset = siemensDataset(spec, tmp_path)
    assert csa.mosaicInfo(dataset).numberOfImagesSource.startswith("CSA")
    del dataset[dataset.private_block(0x0029, csa.SIEMENS_CSA_CREATOR).get_tag(0x10)]
    info = csa.mosaicInfo(dataset)
    assert (info.numberOfImages, info.numberOfImagesSource) == (7, "count of MosaicRefAcqTimes (0019,1029)")
    assert info.sliceNormalVector is None and "(0, 0, 1)" in info.sliceNormalSource
    del dataset[dataset.private_block(0x0019, csa.SIEMENS_MR_CREATOR).get_tag(0x29)]
    info = csa.mosaicInfo(dataset)
    assert (info.numberOfImages, info.numberOfImagesSource) == (7, "NumberOfImagesInMosaic (0019,100A)")
    del dataset[dataset.private_block(0x0019, csa.SIEMENS_MR_CREATOR).get_tag(0x0A)]
    info = csa.mosaicInfo(dataset)  # AcquisitionMatrix 16x12 in a 48x36 mosaic: up to 9 tiles
    assert info.numberOfImages == 9 and info.numberOfImagesSource.startswith("guess")
    assert any("guessed" in note for note in info.notes)
    dataset.AcquisitionMatrix = [0, 0, 0, 0]
    info = csa.mosaicInfo(dataset)
    assert not info.usable and "number of tiles is not given" in info.reason and info.reason.startswith("Siemens")


def test_disagreeing_counts_are_noted(tmp_path):
    dataset = siemensDataset(SIEMENS_SPECS[0], tmp_path)
    dataset.private_block(0x0019, csa.SIEMENS_MR_CREATOR)[0x0A].value = 8
    info = csa.mosaicInfo(dataset)
    assert info.numberOfImages == 7 and any("(0019,100A) = 8" in note for note in info.notes)


def test_a_mosaic_that_does_not_divide_into_tiles_is_refused():
    """nibabel's 0.dcm: a 256x256 mosaic said to hold 48 tiles (7x7 grid): 256 is not a multiple of 7."""
    path = os.path.join(NIBABEL_DATA, "0.dcm")
    assert os.path.exists(path), "nibabel's test data (a test dependency) is missing"
    info = csa.mosaicInfo(pydicom.dcmread(path, stop_before_pixels=True), path)
    assert not info.usable and "does not divide into 7x7 whole tiles" in info.reason


@pytest.mark.parametrize(
    "keyword,count", [("ImagePositionPatient", 3), ("ImageOrientationPatient", 6), ("PixelSpacing", 2)]
)
def test_missing_geometry_is_the_reason(tmp_path, keyword, count):
    dataset = siemensDataset(SIEMENS_SPECS[0], tmp_path)
    delattr(dataset, keyword)
    info = csa.mosaicInfo(dataset)
    assert info.reason == f"Siemens MOSAIC (SIEMENS): {keyword} is missing or does not have {count} values"


def test_spacing_falls_back_to_slice_thickness(tmp_path):
    dataset = siemensDataset(SIEMENS_SPECS[0], tmp_path)
    del dataset.SpacingBetweenSlices
    info = csa.mosaicInfo(dataset)
    assert (info.sliceSpacing, info.sliceSpacingSource) == (3.0, "SliceThickness")


# --------------------------------------------------------------------------- pure geometry, table by table


@pytest.mark.parametrize(
    "rows,columns,count,square,expected",
    [
        (384, 384, 36, True, (6, 64, 64)),
        (384, 384, 35, True, (6, 64, 64)),
        (896, 896, 48, True, (7, 128, 128)),
        (36, 48, 7, True, (3, 12, 16)),
        (1, 1, 1, True, (1, 1, 1)),
        (24, 48, 6, False, (3, 12, 16)),
        (36, 48, 7, False, (3, 12, 16)),
        (256, 320, 20, False, (5, 64, 64)),
    ],
)
def test_tile_grid(rows, columns, count, square, expected):
    assert mosaic.mosaicTileGrid(rows, columns, count, squareGrid=square) == expected


@pytest.mark.parametrize(
    "arguments,error,message",
    [
        ((256, 256, 48), mosaic.MosaicError, "does not divide into 7x7"),
        ((25, 48, 6), mosaic.MosaicError, "does not divide into 3x3"),
        ((384, 384, 36.0), TypeError, "numberOfImages"),
        ((384, 384, 0), ValueError, "numberOfImages"),
        ((0, 384, 36), ValueError, "mosaicRows"),
    ],
)
def test_tile_grid_refuses(arguments, error, message):
    with pytest.raises(error, match=message):
        mosaic.mosaicTileGrid(*arguments)


def test_first_slice_position_by_hand():
    # 2 x 2 tiles of 3 rows x 4 columns; spacing 2 mm between rows, 0.5 mm between columns; axial.
    position = mosaic.firstSlicePosition([10, 20, 30], [1, 0, 0, 0, 1, 0], [2.0, 0.5], 6, 8, 3, 4)
    assert position.tolist() == [10 + 0.5 * (8 - 4) / 2, 20 + 2.0 * (6 - 3) / 2, 30]


@pytest.mark.parametrize(
    "orientation,normal,expected",
    [
        ([1, 0, 0, 0, 1, 0], [0, 0, 1], [0, 0, 1]),
        ([1, 0, 0, 0, 1, 0], [0, 0, -1], [0, 0, -1]),
        ([1, 0, 0, 0, 1, 0], None, [0, 0, 1]),
        ([0, 1, 0, 0, 0, -1], [1, 0, 0], [1, 0, 0]),  # sagittal: the CSA normal is against cross(row, column)
        ([2, 0, 0, 0, 0, -3], [0, 1, 0], [0, 1, 0]),  # IOP not unit: normalised as dcm2niix does
    ],
)
def test_slice_direction(orientation, normal, expected):
    assert mosaic.sliceDirection(orientation, normal).tolist() == pytest.approx(expected)


@pytest.mark.parametrize(
    "times,expected",
    [
        ([0, 1, 2, 3], "SEQ_INC"),
        ([3, 2, 1, 0], "SEQ_DEC"),
        ([0, 2, 1, 3], "ALT_INC"),  # dcm2niix: "1,3,2,4"
        ([3, 1, 2, 0], "ALT_DEC"),  # "4,2,3,1"
        ([2, 0, 3, 1], "ALT_INC2"),  # "3,1,4,2"
        ([1, 3, 0, 2], "ALT_DEC2"),  # "2,4,1,3"
        ([4, 1, 3, 0, 2], "ALT_DEC2"),  # "5,2,4,1,3"
        ([0, 10, 0, 10], "UNKNOWN"),  # multiband: two tiles at time 0
        ([0, 0, 0, 0], "UNKNOWN"),  # 3D
        ([5, 5, 5, 5], "UNKNOWN"),
        ([-20, -10, 0, 10], "SEQ_INC"),  # negative times are shifted first
        ([0, 1], "UNKNOWN"),
        ([2, 3, 0, 1, 4], "UNKNOWN"),
    ],
)
def test_slice_order_code(times, expected):
    assert mosaic.sliceOrderCode(times).value == expected


def test_slice_order_codes_are_niftis():
    codes = {code.value: code.niftiCode for code in mosaic.SliceOrderCode}
    assert codes == {"UNKNOWN": 0, "SEQ_INC": 1, "SEQ_DEC": 2, "ALT_INC": 3, "ALT_DEC": 4, "ALT_INC2": 5, "ALT_DEC2": 6}


def test_acquisition_order_keeps_simultaneous_tiles_in_tile_order():
    assert mosaic.acquisitionOrder([10, 0, 10, 0]).tolist() == [1, 3, 0, 2]


def test_slicer_index_and_tile_table():
    positions = [[0, 0, 9], [0, 0, 6], [0, 0, 3], [0, 0, 0], [0, 0, -3]]
    index = mosaic.slicerSliceIndex(positions, [1, 0, 0, 0, 1, 0])
    assert index.tolist() == [4, 3, 2, 1, 0]
    assert mosaic.tileToSliceIndex(index, 3, 3).tolist() == [[4, 3, 2], [1, 0, -1], [-1, -1, -1]]
    with pytest.raises(ValueError, match="sliceIndex"):
        mosaic.tileToSliceIndex(index, 2, 2)


def test_demosaic_pixels_tile_order_and_slicer_order():
    image = np.arange(36).reshape(6, 6)  # 3x3 tiles of 2x2
    stack = mosaic.demosaicPixels(image, 2, 2, 5)
    assert stack.shape == (5, 2, 2)
    assert stack[4].tolist() == [[14, 15], [20, 21]]  # tile 4: tile row 1, tile column 1
    reordered = mosaic.demosaicPixels(image, 2, 2, 5, tileOfSlice=[4, 3, 2, 1, 0])
    assert np.array_equal(reordered, stack[::-1])
    with pytest.raises(mosaic.MosaicError):
        mosaic.demosaicPixels(image, 4, 4, 2)
    with pytest.raises(ValueError, match="count"):
        mosaic.demosaicPixels(image, 2, 2, 10)


def test_compare_tile_positions_finds_a_reversed_protocol():
    tiles = np.array([[0, 0, 0], [0, 0, 3.0], [0, 0, 6.0]])
    assert mosaic.compareTilePositions(tiles, tiles) == ("same", 0.0)
    assert mosaic.compareTilePositions(tiles, tiles[::-1] + [0, 0, 1e-3]) == ("reversed", pytest.approx(1e-3))
    with pytest.raises(ValueError):
        mosaic.compareTilePositions(tiles, tiles[:2])


def test_protocol_tile_positions_by_hand():
    # Slice centre at voxel (columns / 2, rows / 2): 4 columns of 0.5 mm, 3 rows of 2 mm, axial.
    positions = mosaic.protocolTilePositions([[10, 20, 30]], [1, 0, 0, 0, 1, 0], [2.0, 0.5], 3, 4)
    assert positions.tolist() == [[10 - 0.5 * 4 / 2, 20 - 2.0 * 3 / 2, 30]]


def test_geometry_doctests():
    import doctest

    failures, _ = doctest.testmod(mosaic)
    assert failures == 0
    failures, _ = doctest.testmod(csa)
    assert failures == 0
