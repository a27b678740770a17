"""The fast header path: one common single-frame DICOM file -> one SliceHeader, from raw bytes.

Scanning a 1,000-slice series with ``pydicom.dcmread`` costs about 1 ms per
file, most of it in pydicom's generic element reader and value conversion.
This module handles the common case (128-byte preamble, ``DICM``, explicit
or implicit VR little endian, single frame, clean values) with one ``open``,
one bounded read, a walk over the element headers (values are skipped by
length) to the PixelData element (whose end must lie within the file), and a
direct decoding of the 27 values it needs, following pydicom's rules for each
VR (see ``_DECODERS_BY_TAG``). About 60 us per file instead of 1 ms.

It returns ``None`` whenever the file is not that common case, and the
caller then reads the file with pydicom: big endian, deflated or private
transfer syntaxes, multi-frame, functional groups, mosaics (Siemens MOSAIC, UIH grids), a VR in the file other
than the dictionary VR, non-ASCII text (character sets), multi-valued or
non-numeric values where one number is expected, missing or unusable
geometry (so that every message about a bad value comes from one place), no
PixelData, a truncated file, or any structure it does not expect. The test suite checks that both
paths give identical results on every file available and on generated files
with unusual values.

The same walk (:meth:`_Reader.walk`, told by a :class:`WalkPlan` what to
collect and where to stop) reads the top level of an enhanced multi-frame
file for :mod:`.fastframes` (:func:`readEnhancedTopLevel`): the attributes
before its functional groups, decoded by the same rules (its top-level
geometry is not read: frames take theirs from their groups; NumberOfFrames is
any count the pydicom path takes without a value problem), and the offset
where the groups start. It raises :class:`NotCommon` for the same cases, and
for a mosaic or any UIH file, so that :mod:`.fastframes` lets pydicom read
that header instead.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import struct
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from ..geometry.sliceheader import (
    SliceHeader,
    checkedFloat,
    checkedTriple,
    orientationProblem,
    positionProblem,
    spacingProblem,
)

_FIRST_READ = 16 * 1024  # a typical CT/MR header (with private groups) is 2-10 KiB
MAX_SEQUENCE_DEPTH = 64
"""Deepest nesting of undefined-length sequences the fast path walks (real headers nest fewer than 10)."""
_MAX_VALUE_READ = 1024 * 1024  # a wanted value larger than this is left to pydicom

_IMPLICIT_LITTLE = "1.2.840.10008.1.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
_EXPLICIT_BIG = "1.2.840.10008.1.2.2"

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS"}
    | {b"ST", b"TM", b"UI", b"UL", b"US"}
)
# Explicit VR element header length: 12 for VRs with a 4-byte length, else 8.
_HEADER_LENGTHS = {**{vr: 12 for vr in _LONG_VRS}, **{vr: 8 for vr in _SHORT_VRS}}
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED_LENGTH = 0xFFFFFFFF
NO_EXTENT = -1
"""PixelData of undefined length (encapsulated): its end is not checked (trailing elements may follow)."""
_PIXEL_DATA = 0x7FE00010
_TRANSFER_SYNTAX = 0x00020010
# ImageType values of mosaics (Siemens MOSAIC, UIH VFRAME), matched as dicom/mosaics.py matches them.
_MOSAIC_MARKERS = re.compile("MOSAIC|VFRAME", re.IGNORECASE)

_HEADER = struct.Struct("<I2sH")  # (group, element) as one key, explicit VR, short length
_UINT32 = struct.Struct("<I")
_UINT16 = struct.Struct("<H")
_FLOAT64 = struct.Struct("<d")

_Elements = Dict[int, Tuple[Optional[bytes], bytes]]
"""Elements found by :meth:`_Reader.walk`: key (see :func:`_key`) -> (explicit VR or ``None``, value bytes)."""


class NotCommon(Exception):
    """Something the fast path leaves to pydicom (raised inside the raw-byte readers, never out of them)."""


def readSliceHeaderFast(path: str) -> Optional[SliceHeader]:
    """Return the header of a common single-frame file, or ``None`` (read it with pydicom instead)."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        return _read(descriptor, path)
    except (OSError, NotCommon, struct.error, UnicodeDecodeError, ValueError):
        return None
    finally:
        os.close(descriptor)


# O_NONBLOCK: a FIFO opens without waiting for a writer (it is then refused as not regular); O_BINARY: Windows.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read(descriptor: int, path: str) -> Optional[SliceHeader]:
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        return None  # a FIFO, device or socket: pydicom's path says so without reading it
    reader, offset, explicit = openDataSet(_descriptorReader(descriptor), status.st_size)
    elements, stop = reader.walk(offset, explicit=explicit, plan=_SINGLE_FRAME)
    if stop is None:
        return None  # no PixelData: pydicom's path reports it
    _, _, valueOffset, length = stop
    pixelDataEnd = NO_EXTENT if length == UNDEFINED_LENGTH else valueOffset + length
    if pixelDataEnd > reader.fileSize:  # NO_EXTENT (-1) is never past the end
        return None  # truncated: pydicom's path reports it
    return _sliceHeader(elements, path, explicit)


ReadAt = Callable[[int, int], bytes]
"""``readAt(offset, count)``: up to ``count`` bytes of the file from ``offset`` (fewer at its end)."""


def _descriptorReader(descriptor: int) -> ReadAt:
    def readAt(offset: int, count: int) -> bytes:
        os.lseek(descriptor, offset, os.SEEK_SET)
        return os.read(descriptor, count)

    return readAt


def openDataSet(readAt: ReadAt, fileSize: int) -> Tuple[_Reader, int, bool]:
    """A reader of a little-endian file, the offset of its data set's first element, and whether it is explicit VR.

    Raises :class:`NotCommon` for a file without the 128-byte preamble and ``DICM``, or whose transfer syntax
    is big endian, deflated, private or missing, or says implicit VR but is written explicit (pydicom's path
    detects and handles that).
    """
    buffer = readAt(0, _FIRST_READ)
    if buffer[128:132] != b"DICM":
        raise NotCommon("no DICM prefix")
    reader = _Reader(readAt, buffer, fileSize)
    meta, stop = reader.walk(132, explicit=True, plan=_META_ONLY)
    if stop is None:
        raise NotCommon("the file ends in its meta group")
    transferSyntax = _text(meta.get(_key(_TRANSFER_SYNTAX), (b"UI", b""))[1])
    standard = transferSyntax == _IMPLICIT_LITTLE or transferSyntax.startswith(_IMPLICIT_LITTLE + ".")
    if transferSyntax == _EXPLICIT_BIG or transferSyntax in _DEFLATED or not standard:
        raise NotCommon("big endian, deflated, private or missing transfer syntax")
    # Every other standard syntax (compressed ones included) encodes the data set as explicit VR little endian.
    explicit = transferSyntax != _IMPLICIT_LITTLE
    offset = stop[1]
    if not explicit and reader.bytesAt(offset + 4, 2) in _HEADER_LENGTHS:
        raise NotCommon("says implicit VR but is written explicit")
    return reader, offset, explicit


def _key(tag: int) -> int:
    """A tag as the walker sees it: the little-endian uint32 of (group, element), i.e. element << 16 | group."""
    return ((tag & 0xFFFF) << 16) | (tag >> 16)


Stop = Tuple[int, int, int, int]
"""Where a walk ended: ``(key, offset, valueOffset, length)`` of the element it stopped at (its value not read):
its tag as :func:`_key` gives it, the file offsets of its first byte and of its value, its length field
(``UNDEFINED_LENGTH`` for undefined length). At the end of the meta group, whose next element's header is not
read, ``valueOffset`` is ``offset`` and ``length`` 0. A plain tuple: made once per file on the hot path."""


@dataclasses.dataclass(frozen=True)
class WalkPlan:
    """What a walk over top-level elements collects, and where it ends (keys as :func:`_key` gives them)."""

    collected: FrozenSet[int]
    """Elements whose values are kept."""
    stops: FrozenSet[int]
    """Elements at which the walk ends (their value is not read)."""
    refused: FrozenSet[int] = frozenset()
    """Elements whose presence means the file is not the case the plan reads (:class:`NotCommon`)."""
    metaOnly: bool = False
    """Collect every element of group 0x0002 and stop at the first element of a later group."""
    watched: FrozenSet[int] = dataclasses.field(init=False)
    """Every key the walk looks at: the others are skipped by length."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "watched", self.collected | self.stops | self.refused)


class _Reader:
    """Walks top-level element headers of a little-endian data set, reading more of the file as needed.

    Offsets are file offsets; ``buffer`` holds the file's bytes from ``base``
    (padded with zeros at the end of the file, so a header read never fails).
    """

    def __init__(self, readAt: ReadAt, buffer: bytes, fileSize: int) -> None:
        self.readAt, self.fileSize = readAt, fileSize
        self._setBuffer(buffer, 0)

    def _setBuffer(self, buffer: bytes, base: int) -> None:
        self.base = base
        self.buffer = buffer + bytes(12) if base + len(buffer) >= self.fileSize else buffer
        # Last buffer offset where an element header may start (8 bytes must lie in the file).
        self.lastHeader = min(len(self.buffer) - 12, self.fileSize - base - 8)

    def _readAt(self, offset: int, count: int) -> None:
        self._setBuffer(self.readAt(offset, count), offset)

    def bytesAt(self, offset: int, count: int) -> bytes:
        """The ``count`` bytes at file ``offset`` (fewer at the end of the file)."""
        start = offset - self.base
        if start < 0 or start + count > len(self.buffer):
            if count > _MAX_VALUE_READ:
                raise NotCommon("value too large")
            self._readAt(offset, max(count, _FIRST_READ))
            start = 0
        return self.buffer[start : min(start + count, self.fileSize - self.base)]

    def walk(self, offset: int, *, explicit: bool, plan: WalkPlan) -> Tuple[_Elements, Optional[Stop]]:
        """Collect the elements of ``plan`` from file ``offset``, keyed by :func:`_key`, until one of its stops.

        Returns ``(elements, stop)``, ``stop`` None when the file ends first. Values are ``(VR bytes or None,
        value bytes)``. Undefined-length sequences are skipped item by item; a refused element, an element
        of undefined length that is collected, or a value running past the end of the file raise
        :class:`NotCommon`.
        """
        found: _Elements = {}
        metaOnly = plan.metaOnly
        watched, stops, refused = plan.watched, plan.stops, plan.refused
        unpackHeader = _HEADER.unpack_from
        unpackLong = _UINT32.unpack_from
        headerLengths, undefined = _HEADER_LENGTHS, UNDEFINED_LENGTH
        while offset + 8 <= self.fileSize:
            local = offset - self.base
            if local < 0 or local > self.lastHeader:
                self._readAt(offset, _FIRST_READ)
                local = 0
            buffer, base, lastHeader = self.buffer, self.base, self.lastHeader
            # The hot loop: about 0.3 us per element.
            while local <= lastHeader:
                key, vr, length = unpackHeader(buffer, local)
                if metaOnly and key & 0xFFFF != 0x0002:
                    return found, (key, base + local, base + local, 0)
                if explicit:
                    headerLength = headerLengths.get(vr)
                    if headerLength == 8:
                        local += 8
                    elif headerLength == 12:
                        length = unpackLong(buffer, local + 8)[0]
                        local += 12
                    else:
                        raise NotCommon("unknown explicit VR")
                else:
                    vr, headerLength = None, 8
                    length = unpackLong(buffer, local + 4)[0]
                    local += 8
                    if key & 0xFFFF == 0xFFFE:
                        raise NotCommon("item at top level")
                if metaOnly or key in watched:
                    if key in stops:
                        return found, (key, base + local - headerLength, base + local, length)
                    if key in refused:
                        raise NotCommon("an element the plan leaves to pydicom")
                    if length == undefined:
                        raise NotCommon("undefined length")
                    end = local + length
                    value = buffer[local:end] if end <= len(buffer) else self.bytesAt(base + local, length)
                    if len(value) != length:
                        raise NotCommon("value runs past the end of the file")
                    found[key] = (vr, value)
                    if end > len(buffer):
                        local = end
                        break  # bytesAt replaced the buffer
                elif length == undefined:
                    if vr not in (None, b"SQ"):
                        raise NotCommon("undefined length outside a sequence")
                    local = self._skipUndefinedSequence(base + local, explicit) - base
                    break  # the skip may have replaced the buffer
                local += length
            offset = base + local
        return found, None

    def _skipUndefinedSequence(self, offset: int, explicit: bool) -> int:
        """Offset just after the sequence delimitation item that closes the undefined-length sequence whose
        value starts at ``offset``.

        Iterative: a stack holds, per open level, whether it is an item (elements until the item
        delimitation) or a sequence (items until the sequence delimitation), so nesting costs no Python
        stack (a private sequence nested 500 deep in one file raised RecursionError and lost the whole run).
        Deeper than :data:`MAX_SEQUENCE_DEPTH` is left to pydicom's path, which reports what it cannot read.
        """
        inItem = [False]  # the open levels, innermost last: True for an item, False for a sequence
        while inItem:
            if len(inItem) > 2 * MAX_SEQUENCE_DEPTH:
                raise NotCommon("sequences nested too deeply")
            tag, length = self._itemHeader(offset)
            if not inItem[-1]:  # in a sequence: an item, or the sequence's end
                offset += 8
                if tag == _SEQUENCE_END:
                    inItem.pop()
                elif tag != _ITEM:
                    raise NotCommon("unexpected tag in a sequence")
                elif length == UNDEFINED_LENGTH:
                    inItem.append(True)
                else:
                    offset += length
                continue
            if tag == _ITEM_END:  # in an item: an element, or the item's end
                offset += 8
                inItem.pop()
                continue
            header = self.bytesAt(offset, 12)
            vr = header[4:6] if explicit else None
            headerLength = _HEADER_LENGTHS.get(vr) if vr is not None else 8  # vr is None exactly when implicit
            if headerLength is None:
                raise NotCommon("unknown explicit VR")
            if explicit:
                length = _UINT32.unpack_from(header, 8)[0] if headerLength == 12 else _UINT16.unpack_from(header, 6)[0]
            offset += headerLength
            if length == UNDEFINED_LENGTH:
                if vr not in (None, b"SQ"):
                    raise NotCommon("undefined length outside a sequence")
                inItem.append(False)
            else:
                offset += length
        return offset

    def _itemHeader(self, offset: int) -> Tuple[int, int]:
        if offset + 8 > self.fileSize:
            raise NotCommon("sequence runs past the end of the file")
        group, element, length = struct.unpack("<HHI", self.bytesAt(offset, 8))
        return (group << 16) | element, length


# --------------------------------------------------------------------------- values, as pydicom decodes them


def _text(value: bytes) -> str:
    """A string VR value as pydicom gives it (latin-1, trailing NULs/spaces removed); one value only."""
    text = value.decode("latin-1").rstrip("\0 ")
    if "\\" in text:
        raise NotCommon("multi-valued where one value is expected")
    return text


def _textVM(value: bytes) -> str:
    """A multi-valued CS value (e.g. ImageType) joined with backslashes, as the pydicom path joins it."""
    return value.decode("latin-1").rstrip("\0 ")


def _charsetText(value: bytes) -> str:
    """LO/SH: ASCII needs no character set; anything else is left to pydicom (SpecificCharacterSet)."""
    if not value.isascii() or b"\x1b" in value:
        raise NotCommon("non-ASCII text")
    return _text(value)


def _dsText(value: bytes) -> str:
    """pydicom: strip whitespace, then trailing NULs/spaces."""
    return value.decode("latin-1").strip().rstrip(" \0")


def _isText(value: bytes) -> str:
    """pydicom: trailing NULs/spaces removed; ``int`` accepts surrounding whitespace."""
    return value.decode("latin-1").rstrip(" \0")


def _ds(value: bytes) -> Optional[float]:
    text = _dsText(value)
    if not text:
        return None
    if "\\" in text:
        raise NotCommon("multi-valued where one value is expected")
    return float(text)  # checked by _checked: a value the pydicom path reports is left to it


def _dsVector(value: bytes, count: int) -> Tuple[float, ...]:
    """A DS vector of ``count`` finite numbers; anything else is left to pydicom's path for its message."""
    text = _dsText(value)
    if not text:
        raise NotCommon("empty geometry value")
    numbers = tuple(float(item) for item in text.split("\\"))
    if len(numbers) != count or not all(map(math.isfinite, numbers)):
        raise NotCommon("unusable geometry value")
    return numbers


def _position(value: bytes) -> Tuple[float, ...]:
    numbers = _dsVector(value, 3)
    if positionProblem(numbers):
        raise NotCommon("unusable position")
    return numbers


def _orientation(value: bytes) -> Tuple[float, ...]:
    numbers = _dsVector(value, 6)
    if orientationProblem(numbers):
        raise NotCommon("unusable orientation")
    return numbers


def _pixelSpacing(value: bytes) -> Tuple[float, ...]:
    numbers = _dsVector(value, 2)
    if spacingProblem(numbers):
        raise NotCommon("unusable pixel spacing")
    return numbers


def _is(value: bytes) -> Optional[int]:
    text = _isText(value)
    if not text.strip():
        return None
    if "\\" in text:
        raise NotCommon("multi-valued where one value is expected")
    return int(text)


def _isFirst(value: bytes) -> Optional[int]:
    text = _isText(value)
    if not text.strip():
        return None
    return [int(item) for item in text.split("\\")][0]


def _oneFrame(value: bytes) -> int:
    """NumberOfFrames: only an explicit 1 is the single-frame case (pydicom's path handles the rest)."""
    if _is(value) != 1:
        raise NotCommon("multi-frame")
    return 1


def _us(value: bytes) -> Optional[int]:
    if len(value) != 2:
        raise NotCommon("US value of unexpected length")
    return _UINT16.unpack(value)[0]


def _fd(value: bytes) -> Optional[float]:
    if not value:
        return None
    if len(value) != 8:
        raise NotCommon("FD value of unexpected length")
    return _FLOAT64.unpack(value)[0]


def _fdTriple(value: bytes) -> Optional[Tuple[float, float, float]]:
    """Three FD values (DiffusionGradientOrientation), checked by :func:`_checked`."""
    if not value:
        return None
    if len(value) != 24:
        raise NotCommon("FD triple of unexpected length")
    x, y, z = struct.unpack("<3d", value)
    return x, y, z


_GEOMETRY_FIELDS = frozenset({"position", "orientation", "pixelSpacing"})


def _checked(keyword: str, decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """``decode``, then the pydicom path's check of ``keyword`` (:data:`..geometry.sliceheader.VALUE_RANGES`):
    a value it would report (not finite, out of range) is left to it, so that one place words the finding."""
    check = checkedTriple if keyword == "DiffusionGradientOrientation" else checkedFloat

    def decodeChecked(value: bytes) -> Any:
        decoded = decode(value)
        problems: List[str] = []
        checked = check(problems, keyword, decoded)
        if problems:
            raise NotCommon(f"{keyword}: a value the pydicom path reports")
        return decoded if checked is not None else None

    return decodeChecked


# tag -> (dictionary VR, decoder, SliceHeader field).
_DECODERS_BY_TAG: Dict[int, Tuple[bytes, Callable[[bytes], object], str]] = {
    0x00080008: (b"CS", _textVM, "imageType"),
    0x00080016: (b"UI", _text, "sopClassUID"),
    0x00080018: (b"UI", _text, "sopInstanceUID"),
    0x00080032: (b"TM", _text, "acquisitionTime"),
    0x00080060: (b"CS", _text, "modality"),
    0x00080070: (b"LO", _charsetText, "manufacturer"),
    0x0008103E: (b"LO", _charsetText, "seriesDescription"),
    0x00180050: (b"DS", _checked("SliceThickness", _ds), "sliceThickness"),
    0x00180081: (b"DS", _checked("EchoTime", _ds), "echoTime"),
    0x00180086: (b"IS", _checked("EchoNumbers", _isFirst), "echoNumber"),
    0x00180088: (b"DS", _checked("SpacingBetweenSlices", _ds), "spacingBetweenSlices"),
    0x00181060: (b"DS", _checked("TriggerTime", _ds), "triggerTime"),
    0x00181120: (b"DS", _checked("GantryDetectorTilt", _ds), "gantryDetectorTilt"),
    0x00189087: (b"FD", _checked("DiffusionBValue", _fd), "diffusionBValue"),
    0x00189089: (b"FD", _checked("DiffusionGradientOrientation", _fdTriple), "diffusionGradientOrientation"),
    0x0020000E: (b"UI", _text, "seriesInstanceUID"),
    0x00200011: (b"IS", _checked("SeriesNumber", _is), "seriesNumber"),
    0x00200012: (b"IS", _checked("AcquisitionNumber", _is), "acquisitionNumber"),
    0x00200013: (b"IS", _checked("InstanceNumber", _is), "instanceNumber"),
    0x00200032: (b"DS", _position, "position"),
    0x00200037: (b"DS", _orientation, "orientation"),
    0x00200052: (b"UI", _text, "frameOfReferenceUID"),
    0x00200100: (b"IS", _checked("TemporalPositionIdentifier", _is), "temporalPosition"),
    0x00280008: (b"IS", _oneFrame, "numberOfFrames"),
    0x00280010: (b"US", _us, "rows"),
    0x00280011: (b"US", _us, "columns"),
    0x00280030: (b"DS", _pixelSpacing, "pixelSpacing"),
}
_DECODERS = {_key(tag): decoder for tag, decoder in _DECODERS_BY_TAG.items()}
_PIXEL_DATA_KEY = _key(_PIXEL_DATA)
_SHARED_GROUPS_KEY, _PER_FRAME_GROUPS_KEY = _key(0x52009229), _key(0x52009230)
_UIH_TILES_KEY = _key(0x00651050)  # UIH's number of tiles of a grid: a mosaic even without VFRAME
_META_ONLY = WalkPlan(collected=frozenset(), stops=frozenset(), metaOnly=True)
# The single-frame case: its values, up to PixelData; functional groups and UIH grids are left to pydicom.
_SINGLE_FRAME = WalkPlan(
    collected=frozenset(_DECODERS),
    stops=frozenset({_PIXEL_DATA_KEY}),
    refused=frozenset({_SHARED_GROUPS_KEY, _PER_FRAME_GROUPS_KEY, _UIH_TILES_KEY}),
)


def _sliceHeader(elements: _Elements, path: str, explicit: bool) -> Optional[SliceHeader]:
    fields = _decodedFields(elements, _DECODERS, _DECODED_VALUES, explicit, {"file": path})
    if not fields.get("rows") or not fields.get("columns") or "position" not in fields:
        return None  # not an image (or 0 rows), or geometry possibly elsewhere: pydicom's path decides
    if "orientation" not in fields or "pixelSpacing" not in fields:
        return None  # the message about missing geometry comes from pydicom's path (setGeometry)
    if _MOSAIC_MARKERS.search(fields.get("imageType", "")):
        return None  # one image holding many slices: pydicom's path de-mosaics it (dicom/mosaics.py)
    return SliceHeader(**fields)


_Decoders = Dict[int, Tuple[bytes, Callable[[bytes], object], str]]


def _decodedFields(
    elements: _Elements,
    decoders: _Decoders,
    decodedValues: Dict[Tuple[int, bytes], object],
    explicit: bool,
    fields: Dict[str, Any],
) -> Dict[str, Any]:
    """``fields`` with field name -> decoded value of every element found added (``decodedValues``: this
    table's memo). Fields are SliceHeader keyword arguments, each of its field's type."""
    for key, (vr, value) in elements.items():
        expectedVR, decode, field = decoders[key]
        if explicit and vr != expectedVR:
            raise NotCommon("VR differs from the dictionary")
        decoded = decodedValues.get((key, value), _NOT_DECODED)
        if decoded is _NOT_DECODED:
            decoded = decode(value)
            if len(decodedValues) >= _DECODED_VALUES_LIMIT:
                decodedValues.clear()
            decodedValues[(key, value)] = decoded
        fields[field] = decoded
    return fields


# Decoded values by (tag key, raw bytes), one memo per decoder table: most values (UIDs, orientation, spacing,
# sizes) repeat in every file of a series, and decoding is a pure function.
_DECODED_VALUES: Dict[Tuple[int, bytes], object] = {}
_DECODED_VALUES_LIMIT = 4096
_NOT_DECODED = object()


# --------------------------------------------------------------------------- the top level of an enhanced file


@dataclasses.dataclass(frozen=True)
class EnhancedTopLevel:
    """The attributes of an enhanced multi-frame file before its functional groups, read from raw bytes."""

    common: SliceHeader
    """The file's header without geometry (each frame's comes from its functional groups), as the pydicom path
    (``headers.slicesFromDataset``) makes it before resolving the groups."""
    samplesPerPixel: Optional[int]
    bitsAllocated: Optional[int]
    groupsOffset: int
    """File offset of the first functional groups element: (5200,9229) shared, else (5200,9230) per-frame."""
    explicit: bool


# The top-level geometry of an enhanced file is not used (its frames take theirs from their groups), and
# NumberOfFrames is any count the pydicom path takes without a value problem.
_ENHANCED_DECODERS_BY_TAG: Dict[int, Tuple[bytes, Callable[[bytes], object], str]] = {
    **{tag: decoder for tag, decoder in _DECODERS_BY_TAG.items() if decoder[2] not in _GEOMETRY_FIELDS},
    0x00280002: (b"US", _us, "samplesPerPixel"),
    0x00280008: (b"IS", _checked("NumberOfFrames", _is), "numberOfFrames"),
    0x00280100: (b"US", _us, "bitsAllocated"),
}
_ENHANCED_DECODERS = {_key(tag): decoder for tag, decoder in _ENHANCED_DECODERS_BY_TAG.items()}
_ENHANCED_DECODED_VALUES: Dict[Tuple[int, bytes], object] = {}
# Up to the functional groups; PixelData first means none (the caller finds no groups at the stop).
_ENHANCED = WalkPlan(
    collected=frozenset(_ENHANCED_DECODERS),
    stops=frozenset({_SHARED_GROUPS_KEY, _PER_FRAME_GROUPS_KEY, _PIXEL_DATA_KEY}),
    refused=frozenset({_UIH_TILES_KEY}),
)


def readEnhancedTopLevel(readAt: ReadAt, fileSize: int, path: str) -> EnhancedTopLevel:
    """The common header of an enhanced multi-frame file, and where its functional groups start.

    Raises :class:`NotCommon` whenever the pydicom path could read it otherwise: the cases
    :func:`openDataSet` refuses, PixelData before any functional groups, a VR other than the dictionary's, a
    value the decoders do not take as pydicom does (non-ASCII text, multi-valued, a value the pydicom path
    reports), a mosaic (MOSAIC or VFRAME in ImageType, (0065,1050)) or any UIH file (its grids are read by
    ``uih.py`` from pydicom's data set).
    """
    reader, offset, explicit = openDataSet(readAt, fileSize)
    elements, stop = reader.walk(offset, explicit=explicit, plan=_ENHANCED)
    if stop is None or stop[0] == _PIXEL_DATA_KEY:
        raise NotCommon("no functional groups before PixelData")
    fields = _decodedFields(elements, _ENHANCED_DECODERS, _ENHANCED_DECODED_VALUES, explicit, {"file": path})
    samplesPerPixel, bitsAllocated = fields.pop("samplesPerPixel", None), fields.pop("bitsAllocated", None)
    fields["numberOfFrames"] = fields.get("numberOfFrames") or 1
    if _MOSAIC_MARKERS.search(fields.get("imageType", "")):
        raise NotCommon("a mosaic: pydicom's path de-mosaics it")
    if fields.get("manufacturer", "").strip().upper().startswith("UI"):
        raise NotCommon("a UIH file: uih.py decides from pydicom's data set whether it is a grid")
    return EnhancedTopLevel(SliceHeader(**fields), samplesPerPixel, bitsAllocated, stop[1], explicit)
