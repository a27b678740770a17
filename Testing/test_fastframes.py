"""The enhanced multi-frame fast path (dicom/fastframes.py) gives exactly what the pydicom path gives.

On every shared enhanced file, on generated files in every encoding the fast path takes, and on files it must
hand over to pydicom (unusual values, structures, pixel data): each time the fast path is checked to have been
taken or not, so that an equality never holds only because both sides were read by pydicom.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, List

import pydicom
import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.sequence import Sequence as DicomSequence

from AffineInspectorLib.dicom import fastframes
from AffineInspectorLib.dicom.headers import UnreadableFileError, readSliceHeaders
from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.dicom.syntheticenhanced import EnhancedSpec, writeEnhanced
from AffineInspectorLib.dicom.walk import findFiles
from AffineInspectorLib.geometry import serialize
from conftest import DICOM


def _both(path: str) -> tuple:
    """(fast path result, pydicom path result); an UnreadableFileError message stands for the result."""

    def read(fast: bool) -> Any:
        try:
            return readSliceHeaders(path, fast=fast)
        except UnreadableFileError as error:
            return str(error)

    return read(True), read(False)


def _assertSame(path: str, *, taken: bool) -> List[Any]:
    assert (fastframes.readFramesFast(path) is not None) == taken
    fast, reference = _both(path)
    assert fast == reference
    return fast


def test_every_shared_enhanced_file(dicomRoot: str) -> None:
    files, _ = findFiles([DICOM])
    enhanced = [path for path in files if fastframes.readFramesFast(path) is not None]
    names = {os.path.relpath(path, DICOM).split(os.sep)[0] for path in enhanced}
    assert len(enhanced) >= 8 and names == {"dicom2nifti", "dcm_qa_enh"}, enhanced
    for path in enhanced:
        headers = _assertSame(path, taken=True)
        assert len(headers) > 1 and all(header.position is not None for header in headers)


def test_shared_enhanced_series_inspect_alike(dicomRoot: str) -> None:
    """Whole inspections (sort, 4D detection, checks) agree too."""
    for case in (
        "dcm_qa_enh/In",
        "dicom2nifti/philips_enhanced_anatomical",
        "dicom2nifti/siemens_multiframe_anatomical",
    ):
        folder = os.path.join(DICOM, case)
        assert serialize.dumps(inspectPaths([folder])) == serialize.dumps(inspectPaths([folder], fast=False))


@pytest.mark.parametrize(
    "orientationPerFrame, undefinedLengths, implicit, modality, extras",
    list(itertools.product([False, True], [False, True], [False, True], ["MR", "CT"], [True]))
    + [(False, False, False, "MR", False), (True, True, True, "CT", False)],
)
def test_generated_encodings(
    tmp_path: Any, orientationPerFrame: bool, undefinedLengths: bool, implicit: bool, modality: str, extras: bool
) -> None:
    spec = EnhancedSpec(
        orientationPerFrame=orientationPerFrame,
        undefinedLengths=undefinedLengths,
        implicit=implicit,
        modality=modality,
        extras=extras,
    )
    headers = _assertSame(writeEnhanced(spec, str(tmp_path / "enhanced.dcm")), taken=True)
    assert len(headers) == spec.frames
    assert headers[spec.positions].temporalPosition == 2
    if extras and modality == "MR":
        assert headers[spec.positions].echoTime == 4.75 and headers[spec.positions].diffusionBValue == 500.0
        assert headers[3].diffusionGradientOrientation == (0.0, 0.70710678, 0.70710678)
        assert headers[0].imageType.startswith("DERIVED") and headers[1].imageType.startswith("ORIGINAL")


# Per-frame values the fast decoders take as pydicom does (taken), and values they leave to pydicom (its messages).
VALUES = {
    "thicknessEmpty": ((2, "SliceThickness", ""), True),
    "thicknessSpaces": ((2, "SliceThickness", " 2.5 "), True),
    "thicknessNaN": ((2, "SliceThickness", "nan"), True),
    "thicknessTwoValues": ((2, "SliceThickness", ["1", "2"]), False),
    "thicknessText": ((2, "SliceThickness", "7.77777"), False),  # written, then made "thick  " (see below)
    "positionTwoValues": ((1, "ImagePositionPatient", ["1", "2"]), False),
    "positionNaN": ((1, "ImagePositionPatient", ["1", "nan", "2"]), False),
    "positionText": ((1, "ImagePositionPatient", ["1", "7.77777", "2"]), False),
    "positionPadded": ((1, "ImagePositionPatient", [" 1.5", "2 ", "3"]), True),
    "spacingZero": ((0, "PixelSpacing", ["0", "1"]), False),
    "temporalIndexLarge": ((3, "TemporalPositionIndex", 4000000000), True),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_unusual_values(tmp_path: Any, name: str) -> None:
    change, taken = VALUES[name]
    spec = EnhancedSpec(orientationPerFrame=True, values=[change])
    path = writeEnhanced(spec, str(tmp_path / "enhanced.dcm"))
    with open(path, "rb") as stream:
        data = stream.read()
    if b"7.77777" in data:  # pydicom writes no invalid DS: the placeholder becomes one, of the same length
        assert data.count(b"7.77777") == 1
        with open(path, "wb") as stream:
            stream.write(data.replace(b"7.77777", b"thick  "))
    _assertSame(path, taken=taken)


def _edited(tmp_path: Any, edit: Callable[[pydicom.Dataset], None], **spec: Any) -> str:
    path = writeEnhanced(EnhancedSpec(**spec), str(tmp_path / "enhanced.dcm"))
    dataset = pydicom.dcmread(path)
    edit(dataset)
    dataset.save_as(path)
    return path


def _emptyGroup(keyword: str) -> Callable[[pydicom.Dataset], None]:
    def edit(dataset: pydicom.Dataset) -> None:
        setattr(dataset.PerFrameFunctionalGroupsSequence[1], keyword, DicomSequence([]))

    return edit


def _emptyFrameTypeItem(dataset: pydicom.Dataset) -> None:
    """An MR frame type group whose item is empty: like pydicom's empty Dataset, it counts as absent."""
    dataset.PerFrameFunctionalGroupsSequence[0].MRImageFrameTypeSequence = DicomSequence([pydicom.Dataset()])
    item = pydicom.Dataset()
    item.FrameType = ["DERIVED", "SECONDARY", "CT"]
    dataset.PerFrameFunctionalGroupsSequence[0].CTImageFrameTypeSequence = DicomSequence([item])


def _frameTypeWithoutFrameType(dataset: pydicom.Dataset) -> None:
    """An MR frame type item with other elements: it is used, and has no FrameType (the image type stays)."""
    del dataset.PerFrameFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0].FrameType


def _lessItems(dataset: pydicom.Dataset) -> None:
    del dataset.PerFrameFunctionalGroupsSequence[-1]


def _shortPixelData(dataset: pydicom.Dataset) -> None:
    dataset.PixelData = dataset.PixelData[:-2]


STRUCTURES = {
    "emptyPerFrameGroup": (_emptyGroup("PlaneOrientationSequence"), True),  # the shared group counts
    "emptyPositionGroup": (_emptyGroup("PlanePositionSequence"), True),  # no position: a geometry problem
    "emptyFrameTypeItem": (_emptyFrameTypeItem, True),
    "frameTypeWithoutFrameType": (_frameTypeWithoutFrameType, True),
    "fewerItemsThanFrames": (_lessItems, False),
    "pixelDataShorterThanFrames": (_shortPixelData, False),
}


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_structures(tmp_path: Any, name: str) -> None:
    edit, taken = STRUCTURES[name]
    _assertSame(_edited(tmp_path, edit, orientationPerFrame=False), taken=taken)


def test_truncated_file_is_left_to_pydicom(tmp_path: Any) -> None:
    path = writeEnhanced(EnhancedSpec(positions=40, volumes=1, rows=32, columns=32), str(tmp_path / "enhanced.dcm"))
    with open(path, "r+b") as stream:
        stream.truncate(os.path.getsize(path) - 100)
    fast, reference = _both(path)
    assert fastframes.readFramesFast(path) is None
    assert fast == reference and "truncated" in fast


def test_encapsulated_pixel_data_is_left_to_pydicom(tmp_path: Any) -> None:
    path = writeEnhanced(EnhancedSpec(), str(tmp_path / "enhanced.dcm"))
    dataset = pydicom.dcmread(path)
    dataset.PixelData = pydicom.encaps.encapsulate([b"\0\0"] * dataset.NumberOfFrames)
    dataset["PixelData"].VR = "OB"
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.RLELossless
    dataset.save_as(path)
    _assertSame(path, taken=False)


def test_large_items_are_read_in_several_reads(tmp_path: Any) -> None:
    """More than the first read (1 MiB) of per-frame items, undefined lengths: frames cut between reads."""
    spec = EnhancedSpec(positions=800, volumes=4, rows=2, columns=2, undefinedLengths=True, orientationPerFrame=True)
    path = writeEnhanced(spec, str(tmp_path / "enhanced.dcm"))
    assert os.path.getsize(path) > 2 * fastframes._FIRST_READ
    assert len(_assertSame(path, taken=True)) == 3200


def test_single_frame_files_cost_no_parse(tmp_path: Any) -> None:
    """A classic file (what the fast single-frame reader hands over) is refused from its bytes, before pydicom."""
    from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries

    (path,) = writeSeries(SeriesSpec(numberOfSlices=1), str(tmp_path))
    with open(path, "rb") as stream:
        assert not fastframes._mayHavePerFrameGroups(stream, os.path.getsize(path))


def test_tag_tables_follow_the_dictionary() -> None:
    def tag(key: int) -> int:
        return ((key & 0xFFFF) << 16) | (key >> 16)

    for key, keyword in fastframes._GROUPS.items():
        assert keyword_for_tag(tag(key)) == keyword and dictionary_VR(tag(key)) == "SQ"
        assert keyword in fastframes.GROUP_KEYWORDS
    for key, (keyword, vr, _) in fastframes._VALUES.items():
        assert keyword_for_tag(tag(key)) == keyword and dictionary_VR(tag(key)) == vr.decode()
    assert keyword_for_tag(tag(fastframes._DIRECTION)) == fastframes._DIRECTION_KEYWORD
