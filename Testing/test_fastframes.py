"""The enhanced multi-frame fast path (dicom/fastframes.py) gives exactly what the pydicom path gives.

On every shared enhanced file, on generated files in every encoding the fast path takes, and on files it must
hand over to pydicom (unusual values, structures, pixel data): each time the fast path is checked to have been
taken or not, and the header before the functional groups to have been read from raw bytes or by pydicom, so
that an equality never holds only because both sides were read by pydicom. Where the fast path is taken, its
variant with pydicom's header (``readFramesFast(rawHeader=False)``, what a file whose header the raw reader
refuses gets) is checked to give the same too.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Any, Callable, List, Optional

import pydicom
import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.sequence import Sequence as DicomSequence

from AffineInspectorLib.dicom import fastframes
from AffineInspectorLib.dicom.headers import UnreadableFileError, readSliceHeaders, slicesFromDataset
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


def _assertSame(path: str, *, taken: bool, rawHeader: Optional[bool] = None) -> List[Any]:
    """The fast path is taken (per-frame items from raw bytes) or not, its header read from raw bytes or not
    (``rawHeader``, by default ``taken``), and every path gives the same headers (or the same message)."""
    frames = fastframes.readFramesFast(path)
    assert (frames is not None) == taken
    assert (frames is not None and frames.common is not None) == (taken if rawHeader is None else rawHeader)
    fast, reference = _both(path)
    assert fast == reference
    if taken:
        assert _withPydicomHeader(path) == reference
    return fast


def _withPydicomHeader(path: str) -> List[Any]:
    """The fast path with the header before the functional groups read by pydicom (the raw header refused)."""
    frames = fastframes.readFramesFast(path, rawHeader=False)
    assert frames is not None and frames.dataset is not None and frames.common is None
    return slicesFromDataset(frames.dataset, path, perFrame=frames.perFrame)


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


# --------------------------------------------------------------------------- the header before the groups


def _onFile(edit: Callable[[str], None]) -> Callable[[str], None]:
    """Marks an edit of the written file's bytes (the others edit the data set pydicom reads from it)."""
    edit.onFile = True  # type: ignore[attr-defined]
    return edit


def _rawTopLevel(keyword: str, vr: str, value: bytes) -> Callable[[str], None]:
    """Rewrite a top-level element (explicit VR, short length, found once by its tag and dictionary VR) with a VR
    and value pydicom would refuse or normalize on writing."""

    def change(path: str) -> None:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        header = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + dictionary_VR(tag).encode()
        with open(path, "rb") as stream:
            data = stream.read()
        assert data.count(header) == 1, keyword
        at = data.index(header)
        length = struct.unpack_from("<H", data, at + 6)[0]
        element = header[:4] + vr.encode() + struct.pack("<H", len(value)) + value
        with open(path, "wb") as stream:
            stream.write(data[:at] + element + data[at + 8 + length :])

    return _onFile(change)


def _setting(**values: Any) -> Callable[[pydicom.Dataset], None]:
    def edit(dataset: pydicom.Dataset) -> None:
        for keyword, value in values.items():
            setattr(dataset, keyword, value)

    return edit


def _withoutShared(dataset: pydicom.Dataset) -> None:
    del dataset.SharedFunctionalGroupsSequence


def _privateBefore(undefinedLength: bool, size: int) -> Callable[[pydicom.Dataset], None]:
    """A private sequence (undefined or defined length) and an OB value of ``size`` bytes before the groups."""

    def edit(dataset: pydicom.Dataset) -> None:
        block = dataset.private_block(0x0027, "AFFINE TEST", create=True)
        item = pydicom.Dataset()
        item.ReferencedSOPInstanceUID = "1.2.3.4"
        block.add_new(0x01, "SQ", DicomSequence([item, item]))
        dataset[block.get_tag(0x01)].is_undefined_length = undefinedLength
        block.add_new(0x02, "OB", bytes(size))

    return edit


@_onFile
def _bigEndian(path: str) -> None:
    dataset = pydicom.dcmread(path)
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRBigEndian
    pydicom.dcmwrite(path, dataset, little_endian=False, implicit_vr=False)


@_onFile
def _sharedAfterPerFrame(path: str) -> None:
    """The SharedFunctionalGroupsSequence element (defined length) moved after the per-frame one."""

    def element(data: bytes, tag: bytes) -> tuple:
        start = data.index(tag + b"SQ\0\0")
        return start, start + 12 + struct.unpack_from("<I", data, start + 8)[0]

    with open(path, "rb") as stream:
        data = stream.read()
    start, end = element(data, b"\x00\x52\x29\x92")
    shared, rest = data[start:end], data[:start] + data[end:]
    _, perFrameEnd = element(rest, b"\x00\x52\x30\x92")
    with open(path, "wb") as stream:
        stream.write(rest[:perFrameEnd] + shared + rest[perFrameEnd:])


# name -> (edit of the data set or of the file, per-frame items from raw bytes, header from raw bytes)
HEADERS = {
    "withoutSharedGroups": (_withoutShared, True, True),
    "emptySharedGroups": (_setting(SharedFunctionalGroupsSequence=DicomSequence([])), True, True),
    "privateUndefinedLengthBefore": (_privateBefore(True, 16), True, True),
    "privateBigValueBefore": (_privateBefore(False, 200_000), True, True),  # past the first read of the walk
    "asciiDescription": (_setting(SeriesDescription="Kopf 1.0 T1"), True, True),
    "latin1Description": (_setting(SpecificCharacterSet="ISO_IR 100", SeriesDescription="Schädel"), True, False),
    "utf8Manufacturer": (_setting(SpecificCharacterSet="ISO_IR 192", Manufacturer="頭部 AG"), True, False),
    "uihManufacturer": (_setting(Manufacturer="UIH"), True, False),
    "mosaicImageType": (_setting(ImageType=["ORIGINAL", "PRIMARY", "M", "MOSAIC"]), True, False),
    "instanceNumberOutOfRange": (_setting(InstanceNumber="99999999999"), True, False),
    "nanThickness": (_setting(SliceThickness="nan"), True, False),
    "multiValuedDescription": (_rawTopLevel("SeriesDescription", "LO", b"a\\b "), True, False),
    "floatInstanceNumber": (_rawTopLevel("InstanceNumber", "IS", b"2.0 "), True, False),
    "rowsWithOtherVR": (_rawTopLevel("Rows", "SS", b"\x08\x00"), True, False),
    "rowsWrongLength": (_rawTopLevel("Rows", "US", b"\x08\x00\x00\x00"), False, False),
    "numberOfFramesText": (_rawTopLevel("NumberOfFrames", "IS", b"20.0"), True, False),
    "noNumberOfFrames": (lambda dataset: delattr(dataset, "NumberOfFrames"), False, False),
    "bigEndian": (_bigEndian, False, False),
    "sharedAfterPerFrame": (_sharedAfterPerFrame, False, False),  # pydicom reads it anyway: read_partial would not
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_before_the_groups(tmp_path: Any, name: str) -> None:
    edit, taken, rawHeader = HEADERS[name]
    spec = EnhancedSpec(orientationPerFrame=name == "withoutSharedGroups")
    path = writeEnhanced(spec, str(tmp_path / "enhanced.dcm"))
    if getattr(edit, "onFile", False):
        edit(path)
    else:
        dataset = pydicom.dcmread(path)
        edit(dataset)
        dataset.save_as(path)
    headers = _assertSame(path, taken=taken, rawHeader=rawHeader)
    if taken and name != "mosaicImageType":  # a mosaic is one image of tiles (here one header: no CSA to place them)
        assert len(headers) == spec.frames


def test_enhanced_header_table_follows_the_dictionary() -> None:
    """The raw header's decoders: each tag's dictionary VR, and no top-level geometry (frames take theirs from
    their groups)."""
    from pydicom.datadict import keyword_for_tag

    from AffineInspectorLib.dicom import fastreader

    for tag, (vr, _, field) in fastreader._ENHANCED_DECODERS_BY_TAG.items():
        assert dictionary_VR(tag) == vr.decode(), keyword_for_tag(tag)
        assert field not in ("position", "orientation", "pixelSpacing")
