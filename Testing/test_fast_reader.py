"""The raw-bytes header path against pydicom, on files written with unusual encodings.

Every variant must give the same outcome both ways (headers, or the same
error). ``fast`` says whether the raw path is expected to handle the file
itself (True) or hand it to pydicom (False), so a change that silently sends
everything to pydicom, or keeps something it should not, fails here.
"""

from __future__ import annotations

import struct

import pydicom
import pytest
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from AffineInspectorLib.dicom import synthetic
from AffineInspectorLib.dicom.fastreader import readSliceHeaderFast
from AffineInspectorLib.dicom.headers import readSliceHeaders


def outcome(path, fast):
    try:
        return readSliceHeaders(path, fast=fast)
    except Exception as error:
        return type(error).__name__, str(error)


@pytest.fixture()
def slicePath(tmp_path):
    spec = synthetic.SeriesSpec(rows=8, columns=8, numberOfSlices=2)
    return synthetic.writeSeries(spec, str(tmp_path / "series"))[1]


def edit(path, change):
    if getattr(change, "onFile", False):
        change(path)
        return
    dataset = pydicom.dcmread(path)
    change(dataset)
    dataset.save_as(path, enforce_file_format=True)


def rawValue(keyword, vr, value: bytes):
    """Replace an element's VR and value with raw bytes pydicom would refuse or normalize on writing.

    Works on the saved file: the (explicit VR little endian) element is found
    by its tag and dictionary VR, which must occur once. The data set has no
    group lengths, so changing a value's length needs no other edit.
    """

    def change(path):
        tag = pydicom.datadict.tag_for_keyword(keyword)
        dictionaryVR = pydicom.datadict.dictionary_VR(tag).encode()
        data = open(path, "rb").read()
        header = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + dictionaryVR
        assert data.count(header) == 1, keyword
        at = data.index(header)
        length = struct.unpack_from("<H", data, at + 6)[0]
        element = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode() + struct.pack("<H", len(value)) + value
        open(path, "wb").write(data[:at] + element + data[at + 8 + length :])

    change.onFile = True
    return change


def sequenceBefore(undefinedLength: bool):
    def change(dataset):
        item = pydicom.Dataset()
        item.ReferencedSOPInstanceUID = "1.2.3.4"
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        dataset.ReferencedImageSequence = Sequence([item, item])
        dataset["ReferencedImageSequence"].is_undefined_length = undefinedLength

    return change


def bigPrivateBlock(dataset):
    """A 200 kB private value between group 0x0020 and 0x0028: the walk must read past its first buffer."""
    dataset.private_block(0x0027, "AFFINE TEST", create=True).add_new(0x01, "OB", bytes(200_000))


def implicit(dataset):
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian


def bigEndian(path):
    dataset = pydicom.dcmread(path)
    dataset.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    pydicom.dcmwrite(path, dataset, little_endian=False, implicit_vr=False)


bigEndian.onFile = True


VARIANTS = {
    # handled by the raw path
    "plain": (lambda dataset: None, True),
    "implicitVR": (implicit, True),
    "undefinedLengthSequence": (sequenceBefore(True), True),
    "definedLengthSequence": (sequenceBefore(False), True),
    "bigPrivateValue": (bigPrivateBlock, True),
    "paddedNumbers": (rawValue("ImagePositionPatient", "DS", b" -12.5\\-20 \\3.25 "), True),
    "trailingNulUID": (rawValue("SeriesInstanceUID", "UI", b"1.2.3.4\0"), True),
    "emptyOptionalValues": (rawValue("SliceThickness", "DS", b""), True),
    "multiValuedEchoNumbers": (lambda d: setattr(d, "EchoNumbers", [2, 3]), True),
    "numberOfFramesOne": (lambda d: setattr(d, "NumberOfFrames", 1), True),
    "asciiDescription": (lambda d: setattr(d, "SeriesDescription", "Thorax 1.0 B31f"), True),
    "noManufacturer": (lambda d: delattr(d, "Manufacturer"), True),
    # left to pydicom
    "bigEndian": (bigEndian, False),
    "latin1Description": (
        lambda d: (setattr(d, "SpecificCharacterSet", "ISO_IR 100"), setattr(d, "SeriesDescription", "Schädel")),
        False,
    ),
    "utf8Description": (
        lambda d: (setattr(d, "SpecificCharacterSet", "ISO_IR 192"), setattr(d, "SeriesDescription", "頭部")),
        False,
    ),
    "latin1Manufacturer": (
        lambda d: (setattr(d, "SpecificCharacterSet", "ISO_IR 100"), setattr(d, "Manufacturer", "Röntgen AG")),
        False,
    ),
    "multiValuedDescription": (rawValue("SeriesDescription", "LO", b"a\\b "), False),
    "floatInstanceNumber": (rawValue("InstanceNumber", "IS", b"2.0 "), False),
    "badInstanceNumber": (rawValue("InstanceNumber", "IS", b"two "), False),
    "multiValuedThickness": (rawValue("SliceThickness", "DS", b"1\\2 "), False),
    "nanPosition": (rawValue("ImagePositionPatient", "DS", b"nan\\0\\0 "), False),
    "emptyPosition": (rawValue("ImagePositionPatient", "DS", b""), False),
    "leadingNulNumber": (rawValue("SliceThickness", "DS", b"\x001.5"), False),
    "rowsWithOtherVR": (rawValue("Rows", "SS", b"\x08\x00"), False),
    "rowsWrongLength": (rawValue("Rows", "US", b"\x08\x00\x00\x00"), False),
    "twoFrames": (lambda d: setattr(d, "NumberOfFrames", 2), False),
    "noPixelData": (lambda d: delattr(d, "PixelData"), False),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_raw_path_equals_pydicom(slicePath, variant):
    change, handledFast = VARIANTS[variant]
    edit(slicePath, change)
    assert outcome(slicePath, fast=True) == outcome(slicePath, fast=False)
    assert (readSliceHeaderFast(slicePath) is not None) == handledFast


def test_says_implicit_but_written_explicit(slicePath):
    """pydicom notices an explicit-VR data set under an implicit transfer syntax; the raw path defers to it."""
    data = bytearray(open(slicePath, "rb").read())
    explicitUID = b"1.2.840.10008.1.2.1\0"
    at = data.index(explicitUID)
    data[at : at + len(explicitUID)] = b"1.2.840.10008.1.2\0\0\0"  # same length: group length stays right
    open(slicePath, "wb").write(bytes(data))
    assert readSliceHeaderFast(slicePath) is None
    assert outcome(slicePath, fast=True) == outcome(slicePath, fast=False)
    assert not isinstance(outcome(slicePath, fast=True), tuple)  # pydicom still reads it


@pytest.mark.parametrize("cut", [1, 100, 600, 1100])
def test_truncated_anywhere(slicePath, cut):
    data = open(slicePath, "rb").read()
    open(slicePath, "wb").write(data[: len(data) - cut])
    assert readSliceHeaderFast(slicePath) is None
    fastOutcome = outcome(slicePath, fast=True)
    assert fastOutcome == outcome(slicePath, fast=False)
    assert fastOutcome[0] == "UnreadableFileError"


@pytest.mark.parametrize("fast", [True, False])
def test_manufacturer_is_read_both_ways(slicePath, fast):
    """Manufacturer (0008,0070) is collected by both readers (the audit reports findings by manufacturer)."""
    assert readSliceHeaders(slicePath, fast=fast)[0].manufacturer == "AffineInspector synthetic"
