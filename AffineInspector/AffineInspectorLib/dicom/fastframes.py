"""Enhanced multi-frame files: the per-frame functional groups read from raw bytes, and one way to turn
functional groups into slice headers (used by both header paths).

An enhanced CT/MR file keeps each frame's geometry in its item of the
PerFrameFunctionalGroupsSequence (5200,9230): thousands of items, each a few
nested sequences. ``pydicom.dcmread`` builds a Dataset for every item and
every nested item and converts values on access: about 90 us per frame for
position, orientation and spacing alone. Here:

* everything before (5200,9230) (the file meta, the image attributes and
  the one shared item) is read from raw bytes: the top-level values by
  :func:`.fastreader.readEnhancedTopLevel` (the single-frame reader's walk
  and decoders), the shared item's groups by the walk below, so that a
  common file is read without importing pydicom. When that reader does not
  take the header (a value it does not decode exactly as pydicom does: a
  character set, a value the pydicom path reports; a mosaic; a UIH file),
  pydicom reads it (``read_partial`` up to (5200,9230)), as it decodes it on
  the pydicom path, and the per-frame items are still read here;
* the per-frame items are walked in one pass over their bytes, keeping
  only the eight functional groups the headers use and, in each, the values
  listed in :data:`_VALUES`, decoded as pydicom decodes them (items whose
  bytes repeat, such as a per-frame copy of the orientation, are decoded
  once);
* the rest of the data set is walked to PixelData, whose length must be the
  frames' (native pixels, defined length, inside the file).

:func:`readFramesFast` returns ``None`` whenever the file is not that case,
and the caller reads it with pydicom: no (5200,9230), big endian or deflated,
a transfer syntax that says implicit VR but is written explicit,
an item count other than NumberOfFrames, compressed (encapsulated) pixel
data, a VR other than the dictionary's for a value read, any value the
fast decoders do not take exactly as pydicom does (empty, multi-valued
where one is expected, non-finite or unusable geometry: the messages come
from one place), or a structure it does not expect.

:func:`framesFromGroups` resolves each frame's groups (per-frame first,
then shared) for every path, with the shared groups looked up once.
``Testing/test_fastframes.py`` checks that the raw header, pydicom's header
with the raw per-frame items, and the pydicom path give identical slice
headers on every shared enhanced file and on generated ones.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import struct
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from ..geometry.sliceheader import (
    GeometryCache,
    SliceHeader,
    checkedFloat,
    checkedInt,
    checkedTriple,
    firstItem,
    joinedValues,
    optionalInt,
    orientationProblem,
    setGeometry,
    spacingProblem,
)
from .fastreader import NotCommon, readEnhancedTopLevel

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

_T = TypeVar("_T")

# --------------------------------------------------------------------------- resolving functional groups

GROUP_KEYWORDS = (
    "PlanePositionSequence",
    "PlaneOrientationSequence",
    "PixelMeasuresSequence",
    "FrameContentSequence",
    "MRImageFrameTypeSequence",
    "CTImageFrameTypeSequence",
    "MREchoSequence",
    "MRDiffusionSequence",
)
"""The functional groups a frame's header is made from."""


def framesFromGroups(
    common: SliceHeader, shared: Any, perFrame: Sequence[Any], classicSource: Any = None
) -> List[SliceHeader]:
    """One header per frame of ``common.numberOfFrames``: per-frame groups first, then shared groups.

    ``shared`` is the first item of the SharedFunctionalGroupsSequence (or None); ``perFrame[f]`` the item of
    frame ``f`` (missing items: shared groups only). Items are pydicom Datasets or :class:`_Item` mappings
    (keyword -> value), whose group values are lists of items. A classic multi-frame file (no per-frame items
    and no plane groups) takes position, orientation and spacing from ``classicSource``, its data set: one
    position for every frame, which the checks report.
    """
    # Shared groups once, not once per frame.
    sharedItems = {
        keyword: firstItem(shared.get(keyword)) if shared is not None else None for keyword in GROUP_KEYWORDS
    }
    # Each frame's header starts as a copy of the common one's attributes (what dataclasses.replace gives,
    # without running __init__ over 33 fields: a third of the cost of a frame).
    state = common.__dict__
    validated: GeometryCache = {}  # the items live as long as this call: shared ones are validated once
    headers = []
    newHeader = object.__new__
    for frameIndex in range(common.numberOfFrames):
        frameGroups = perFrame[frameIndex] if frameIndex < len(perFrame) else None
        if frameGroups is not None:
            groups = {keyword: _firstOr(frameGroups.get(keyword), sharedItems[keyword]) for keyword in GROUP_KEYWORDS}
        else:
            groups = sharedItems
        header: SliceHeader = newHeader(SliceHeader)
        header.__dict__.update(state)
        header.frame = frameIndex
        header.geometryProblems = []
        header.valueProblems = problems = list(common.valueProblems)  # values present but not used, per frame
        position = groups["PlanePositionSequence"]
        orientation = groups["PlaneOrientationSequence"]
        measures = groups["PixelMeasuresSequence"]
        if position is None and orientation is None and not perFrame:
            position = orientation = measures = classicSource  # classic multi-frame
        setGeometry(header, position, orientation, measures, cache=validated)
        if measures is not None:
            header.sliceThickness = (
                checkedFloat(problems, "SliceThickness", measures.get("SliceThickness")) or header.sliceThickness
            )
            header.spacingBetweenSlices = (
                checkedFloat(problems, "SpacingBetweenSlices", measures.get("SpacingBetweenSlices"))
                or header.spacingBetweenSlices
            )
        content = groups["FrameContentSequence"]
        if content is not None:
            header.temporalPosition = (
                checkedInt(problems, "TemporalPositionIndex", content.get("TemporalPositionIndex"))
                or header.temporalPosition
            )
        frameType = groups["MRImageFrameTypeSequence"] or groups["CTImageFrameTypeSequence"]
        if frameType is not None and "FrameType" in frameType:
            header.imageType = joinedValues(frameType.get("FrameType"))
        echo = groups["MREchoSequence"]
        if echo is not None and "EffectiveEchoTime" in echo:
            header.echoTime = checkedFloat(problems, "EffectiveEchoTime", echo.get("EffectiveEchoTime"))
        diffusion = groups["MRDiffusionSequence"]
        if diffusion is not None:
            header.diffusionBValue = checkedFloat(problems, "DiffusionBValue", diffusion.get("DiffusionBValue"))
            direction = firstItem(diffusion.get("DiffusionGradientDirectionSequence"))
            if direction is not None:
                header.diffusionGradientOrientation = checkedTriple(
                    problems, "DiffusionGradientOrientation", direction.get("DiffusionGradientOrientation")
                )
        headers.append(header)
    return headers


def _firstOr(sequence: Any, default: Any) -> Any:
    """The first item of a per-frame group, else the shared one (an empty or absent group counts as absent)."""
    item = firstItem(sequence)
    return item if item is not None else default


# --------------------------------------------------------------------------- the raw per-frame reader


@dataclasses.dataclass
class FastFrames:
    """What :func:`readFramesFast` read: the header before (5200,9230), and the functional group items.

    The header either from raw bytes (``common``, ``shared``; ``dataset`` None) or, when the raw path does not
    take it, by pydicom (``dataset``, which then holds the shared groups too; ``common`` None).
    """

    perFrame: List[Dict[str, List[_Item]]]
    dataset: Optional[Dataset] = None
    common: Optional[SliceHeader] = None
    """The common header from raw bytes (:func:`.fastreader.readEnhancedTopLevel`)."""
    shared: Optional[Dict[str, List[_Item]]] = None
    """The first SharedFunctionalGroupsSequence item's groups, from raw bytes (None: no item)."""

    def sliceHeaders(self) -> List[SliceHeader]:
        """One header per frame, for a file whose header was read from raw bytes (``common`` set)."""
        if self.common is None:
            raise ValueError("the header was read by pydicom: use headers.slicesFromDataset")
        return framesFromGroups(self.common, self.shared, self.perFrame)


class _Item(Dict[str, Any]):
    """One item of a functional group: keyword -> value as pydicom gives it (values read), nested items in lists.

    Truth as a pydicom Dataset's: true when the item holds any element, read or not.
    """

    __slots__ = ("elementCount",)

    def __init__(self) -> None:
        super().__init__()
        self.elementCount = 0

    def __bool__(self) -> bool:
        return self.elementCount > 0


class _NotCommon(Exception):
    """Something the fast path leaves to pydicom."""


class _Short(Exception):
    """The bytes read so far end before the structure does: read more."""


def readFramesFast(path: str, *, rawHeader: bool = True) -> Optional[FastFrames]:
    """The headers part of an enhanced multi-frame file, or ``None`` (read it with pydicom instead).

    Only for files with a PerFrameFunctionalGroupsSequence (found by its tag bytes before PixelData's, so that
    other files cost one bounded read, not a second parse). The header before the functional groups is read
    from raw bytes when :func:`.fastreader.readEnhancedTopLevel` takes it (then no pydicom import), else
    (or with ``rawHeader`` False) by pydicom's ``read_partial``.
    """
    try:
        # Without blocking, and regular files only: a FIFO or device is left to the checked pydicom path,
        # which names it (filechecks.readHead); opened plainly, a FIFO nobody writes to would block here.
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
    except OSError:
        os.close(descriptor)
        return None
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        return None
    try:
        with os.fdopen(descriptor, "rb") as stream:  # closes the descriptor
            if not _mayHavePerFrameGroups(stream, status.st_size):
                return None
            frames = _readRaw(stream, status.st_size, path) if rawHeader else None
            return frames if frames is not None else _read(stream, status.st_size)
    except _NOT_TAKEN:
        return None


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)

_PER_FRAME_BYTES = b"\x00\x52\x30\x92"  # (5200,9230) little endian
_PIXEL_DATA_BYTES = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian
_SCAN_CHUNK = 256 * 1024
_SCAN_LIMIT = 64 * 1024 * 1024  # a header larger than this is left to pydicom
_FIRST_READ = 1024 * 1024  # the per-frame items of 2,000 frames take about 0.5-4 MiB


def _mayHavePerFrameGroups(stream: Any, fileSize: int) -> bool:
    """Whether (5200,9230)'s tag bytes come before PixelData's (a chance match only costs the parse below)."""
    head = stream.read(132)
    if head[128:132] != b"DICM":
        return False
    offset, tail = 132, b""
    while offset < min(fileSize, _SCAN_LIMIT):
        chunk = tail + stream.read(_SCAN_CHUNK)
        perFrame, pixelData = chunk.find(_PER_FRAME_BYTES), chunk.find(_PIXEL_DATA_BYTES)
        if perFrame >= 0 and (pixelData < 0 or perFrame < pixelData):
            return True
        if pixelData >= 0:
            return False
        offset += _SCAN_CHUNK
        tail = chunk[-3:]  # a tag split between two chunks
    return False


def _readRaw(stream: Any, fileSize: int, path: str) -> Optional[FastFrames]:
    """The whole header from raw bytes, or ``None`` (then :func:`_read` tries with pydicom's header)."""

    def readAt(offset: int, count: int) -> bytes:
        stream.seek(offset)
        return stream.read(count)

    try:
        top = readEnhancedTopLevel(readAt, fileSize, path)
        frames = top.common.numberOfFrames
        walker = _Walker(stream, top.groupsOffset, fileSize, top.explicit)
        shared, perFrame, pixelDataStart, pixelDataLength = walker.groupsAndPixelData(frames, sharedFirst=True)
    except _NOT_TAKEN:
        return None
    sizes = (top.common.rows, top.common.columns, top.samplesPerPixel, top.bitsAllocated)
    if not _pixelDataFits(top.groupsOffset + pixelDataStart, pixelDataLength, fileSize, sizes, frames):
        return None
    return FastFrames(perFrame, common=top.common, shared=shared)


def _read(stream: Any, fileSize: int) -> Optional[FastFrames]:
    """The header before (5200,9230) read by pydicom, the per-frame items from raw bytes; or ``None``."""
    from pydicom.filereader import read_partial

    stream.seek(0)
    try:
        dataset = read_partial(stream, stop_when=lambda tag, vr, length: tag >= _PER_FRAME_TAG)
    except Exception:  # noqa: BLE001  whatever pydicom cannot read, its own path (the caller's) reports
        return None
    start = stream.tell()
    try:
        explicit = _explicitLittleEndian(dataset)
        if explicit is None or "Rows" not in dataset or "Columns" not in dataset:
            return None
        frames = max(1, optionalInt(dataset.get("NumberOfFrames")) or 1)
        sizes = tuple(
            optionalInt(dataset.get(keyword)) for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated")
        )
    except Exception:  # noqa: BLE001  a value pydicom cannot decode (e.g. Rows of 3 bytes): its own path reports it
        return None
    walker = _Walker(stream, start, fileSize, explicit)
    _, perFrame, pixelDataStart, pixelDataLength = walker.groupsAndPixelData(frames, sharedFirst=False)
    if not _pixelDataFits(start + pixelDataStart, pixelDataLength, fileSize, sizes, frames):
        return None
    return FastFrames(perFrame, dataset=dataset)


_NOT_TAKEN = (OSError, NotCommon, _NotCommon, struct.error, ValueError, UnicodeDecodeError, OverflowError)
"""What the raw readers raise for a file they leave to pydicom."""


def _pixelDataFits(valueOffset: int, length: int, fileSize: int, sizes: Sequence[Optional[int]], frames: int) -> bool:
    """Whether PixelData lies inside the file (else truncated: pydicom's path reports it) and holds exactly the
    frames' native pixels (else pydicom's path decides)."""
    if valueOffset + length > fileSize:
        return False
    expected = _pixelDataLength(sizes, frames)
    return expected is not None and length in (expected, expected + 1)


_PER_FRAME_TAG = 0x52009230
_IMPLICIT_LITTLE = "1.2.840.10008.1.2"
_NOT_EXPLICIT_LITTLE = ("1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")


def _explicitLittleEndian(dataset: Dataset) -> Optional[bool]:
    """True for explicit, False for implicit VR little endian (as read), None for anything else."""
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", "") or "")
    if not syntax.startswith(_IMPLICIT_LITTLE) or syntax in _NOT_EXPLICIT_LITTLE:
        return None
    explicit = syntax != _IMPLICIT_LITTLE
    if getattr(dataset, "original_encoding", None) != (not explicit, True):
        return None  # pydicom found another encoding than the transfer syntax says
    return explicit


def _pixelDataLength(sizes: Sequence[Optional[int]], frames: int) -> Optional[int]:
    """Bytes of ``frames`` native frames of ``sizes`` (Rows, Columns, SamplesPerPixel, BitsAllocated), None if
    one is unknown or not positive."""
    if any(value is None or value <= 0 for value in sizes):
        return None
    rows, columns, samples, bits = sizes
    return (frames * rows * columns * samples * bits + 7) // 8  # type: ignore[operator]


def _key(tag: int) -> int:
    """A tag as the walker sees it: the little-endian uint32 of (group, element), i.e. element << 16 | group."""
    return ((tag & 0xFFFF) << 16) | (tag >> 16)


_ITEM, _ITEM_END, _SEQUENCE_END = _key(0xFFFEE000), _key(0xFFFEE00D), _key(0xFFFEE0DD)
_DELIMITERS = frozenset({_ITEM, _ITEM_END, _SEQUENCE_END})
_PIXEL_DATA = _key(0x7FE00010)
_SHARED, _PER_FRAME = _key(0x52009229), _key(_PER_FRAME_TAG)
UNDEFINED_LENGTH = 0xFFFFFFFF
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS"}
    | {b"ST", b"TM", b"UI", b"UL", b"US"}
)
_HEADER_LENGTHS = {**{vr: 12 for vr in _LONG_VRS}, **{vr: 8 for vr in _SHORT_VRS}}
_HEADER = struct.Struct("<I2sH")  # key, explicit VR, short length
_UINT32 = struct.Struct("<I")
_FLOAT64 = struct.Struct("<d")
_MAX_DEPTH = 16  # nested sequences deeper than this are left to pydicom


# --------------------------------------------------------------------------- values, as pydicom decodes them


def _dsText(value: bytes) -> str:
    """pydicom (``convert_DS_string``): latin-1, whitespace stripped, then trailing spaces and NULs."""
    return value.decode("latin-1").strip().rstrip(" \0")


def _dsVector(value: bytes, count: int, problem: Callable[[Sequence[float]], Optional[str]]) -> Tuple[float, ...]:
    """``count`` finite numbers without ``problem``; anything else is left to pydicom's path for its message."""
    numbers = tuple(float(item) for item in _dsText(value).split("\\"))  # "" -> ValueError: pydicom's path
    if len(numbers) != count or not all(map(math.isfinite, numbers)) or problem(numbers):
        raise _NotCommon("unusable geometry value")
    return numbers


def _noProblem(values: Sequence[float]) -> Optional[str]:
    return None


def _position(value: bytes) -> Tuple[float, ...]:
    return _dsVector(value, 3, _noProblem)


def _orientation(value: bytes) -> Tuple[float, ...]:
    return _dsVector(value, 6, orientationProblem)


def _pixelSpacing(value: bytes) -> Tuple[float, ...]:
    return _dsVector(value, 2, spacingProblem)


def _ds(value: bytes) -> Optional[float]:
    """One DS number (non-finite kept: optionalFloat drops it, as it drops pydicom's); empty: None."""
    text = _dsText(value)
    if not text:
        return None
    if "\\" in text:
        raise _NotCommon("multi-valued where one value is expected")
    return float(text)


def _ul(value: bytes) -> int:
    if len(value) != 4:
        raise _NotCommon("UL value of unexpected length")
    return int(_UINT32.unpack(value)[0])


def _cs(value: bytes) -> str:
    """pydicom (``convert_string``): latin-1, trailing spaces and NULs removed; values stay joined by ``\\``."""
    return value.decode("latin-1").rstrip(" \0")


def _fd(value: bytes) -> float:
    if len(value) != 8:
        raise _NotCommon("FD value of unexpected length")
    return float(_FLOAT64.unpack(value)[0])


def _fdTriple(value: bytes) -> Tuple[float, float, float]:
    if len(value) != 24:
        raise _NotCommon("FD triple of unexpected length")
    x, y, z = struct.unpack("<3d", value)
    return x, y, z


_GROUPS = {
    _key(0x00209113): "PlanePositionSequence",
    _key(0x00209116): "PlaneOrientationSequence",
    _key(0x00289110): "PixelMeasuresSequence",
    _key(0x00209111): "FrameContentSequence",
    _key(0x00189226): "MRImageFrameTypeSequence",
    _key(0x00189329): "CTImageFrameTypeSequence",
    _key(0x00189114): "MREchoSequence",
    _key(0x00189117): "MRDiffusionSequence",
}
# Values read inside a group's item: key -> (keyword, dictionary VR, decoder).
_VALUES: Dict[int, Tuple[str, bytes, Callable[[bytes], Any]]] = {
    _key(0x00200032): ("ImagePositionPatient", b"DS", _position),
    _key(0x00200037): ("ImageOrientationPatient", b"DS", _orientation),
    _key(0x00280030): ("PixelSpacing", b"DS", _pixelSpacing),
    _key(0x00180050): ("SliceThickness", b"DS", _ds),
    _key(0x00180088): ("SpacingBetweenSlices", b"DS", _ds),
    _key(0x00209128): ("TemporalPositionIndex", b"UL", _ul),
    _key(0x00089007): ("FrameType", b"CS", _cs),
    _key(0x00189082): ("EffectiveEchoTime", b"FD", _fd),
    _key(0x00189087): ("DiffusionBValue", b"FD", _fd),
    _key(0x00189089): ("DiffusionGradientOrientation", b"FD", _fdTriple),
}
_NOT_DECODED = object()
_DIRECTION = _key(0x00189076)
_DIRECTION_KEYWORD = "DiffusionGradientDirectionSequence"
"""Nested in MRDiffusionSequence's item: its first item holds DiffusionGradientOrientation."""


# --------------------------------------------------------------------------- the walk


class _Walker:
    """One pass over the bytes from the functional groups' first element ((5200,9229) shared or (5200,9230)
    per-frame) to PixelData's header.

    Offsets are relative to ``start`` (the file offset of that element); ``data`` holds the bytes read so far
    and grows (:meth:`more`) when an element runs past them: a frame's item is then walked again, nothing else.
    """

    def __init__(self, stream: Any, start: int, fileSize: int, explicit: bool) -> None:
        self.stream, self.start, self.fileSize, self.explicit = stream, start, fileSize, explicit
        stream.seek(start)
        self.data = stream.read(min(fileSize - start, _FIRST_READ))
        # Groups of defined length by (key, bytes of the sequence's value): a group that repeats in every frame
        # (orientation, spacing, frame type) is decoded once, and its item shared by those frames (they only
        # read it).
        self.memo: Dict[Tuple[int, bytes], List[_Item]] = {}
        # Values by (key, bytes), for groups of undefined length (not memoized whole): decoding is pure, and
        # orientation and spacing repeat in every frame.
        self.decodedValues: Dict[Tuple[int, bytes], Any] = {}

    def more(self) -> None:
        """Read as much again (at least 1 MiB) after what was read; _NotCommon at the end of the file or limit."""
        have = len(self.data)
        if self.start + have >= self.fileSize or have >= _SCAN_LIMIT:
            raise _NotCommon("the data set ends before PixelData, or is too large")
        self.stream.seek(self.start + have)
        self.data += self.stream.read(min(max(have, _FIRST_READ), self.fileSize - self.start - have))

    def header(self, offset: int) -> Tuple[int, Optional[bytes], int, int]:
        """``(key, VR or None, length, value offset)`` of the element (or item) at ``offset``."""
        data = self.data
        if offset + 12 > len(data):
            raise _Short()
        key, vr, length = _HEADER.unpack_from(data, offset)
        if not self.explicit or key in _DELIMITERS:
            return key, None, _UINT32.unpack_from(data, offset + 4)[0], offset + 8
        headerLength = _HEADER_LENGTHS.get(vr)
        if headerLength == 8:
            return key, vr, length, offset + 8
        if headerLength == 12:
            return key, vr, _UINT32.unpack_from(data, offset + 8)[0], offset + 12
        raise _NotCommon("unknown explicit VR")

    def skip(self, vr: Optional[bytes], length: int, offset: int, depth: int) -> int:
        """Where a value starting at ``offset`` ends (after the delimiter of an undefined-length sequence)."""
        if length != UNDEFINED_LENGTH:
            return offset + length
        if vr not in (None, b"SQ"):
            raise _NotCommon("undefined length outside a sequence")
        return self.sequence(offset, None, depth + 1, None)[1]

    def sequence(
        self, offset: int, end: Optional[int], depth: int, read: Optional[Callable[[int, Optional[int], int], Any]]
    ) -> Tuple[Any, int]:
        """Walk a sequence whose items start at ``offset`` (to ``end``, or to its delimiter when None).

        ``read(offset, end, depth)`` reads the first item (its elements from ``offset`` to ``end`` or its
        delimiter) and returns ``(value, offset after the item)``; every other item is skipped. Returns
        ``(value or None if no item or no read, offset after the sequence)``.
        """
        if depth > _MAX_DEPTH:
            raise _NotCommon("sequences nested too deep")
        value, first = None, True
        header = self.header
        while end is None or offset < end:
            key, _, length, offset = header(offset)
            if key == _SEQUENCE_END and end is None:
                return value, offset
            if key != _ITEM:
                raise _NotCommon("unexpected tag in a sequence")
            itemEnd = None if length == UNDEFINED_LENGTH else offset + length
            if first and read is not None:
                value, offset = read(offset, itemEnd, depth + 1)
            elif itemEnd is None:
                offset = self.elements(offset, None, depth + 1)
            else:
                offset = itemEnd
            first = False
        if offset != end:
            raise _NotCommon("items run past their sequence")
        return value, offset

    def elements(self, offset: int, end: Optional[int], depth: int) -> int:
        """Skip an item's elements from ``offset`` to ``end`` (or its delimiter); the offset after the item."""
        header, skip = self.header, self.skip
        while end is None or offset < end:
            key, vr, length, offset = header(offset)
            if key == _ITEM_END and end is None:
                return offset
            if key in _DELIMITERS:
                raise _NotCommon("unexpected delimiter in an item")
            offset = skip(vr, length, offset, depth)
        if offset != end:
            raise _NotCommon("elements run past their item")
        return offset

    def groupsAndPixelData(
        self, frames: int, *, sharedFirst: bool
    ) -> Tuple[Optional[Dict[str, List[_Item]]], List[Dict[str, List[_Item]]], int, int]:
        """The shared item's groups (``sharedFirst``: the walk starts at the data set's first functional groups
        element, else at (5200,9230)), the per-frame items' groups, then PixelData's value offset and length
        (native pixels only). The shared groups are None without a shared item."""
        shared, offset = self.retrying(self.sharedGroups, 0) if sharedFirst else (None, 0)
        key, vr, length, offset = self.retrying(self.header, offset)
        if key != _PER_FRAME or vr not in (None, b"SQ"):
            raise _NotCommon("no PerFrameFunctionalGroupsSequence")
        perFrame, offset = self.perFrameItems(offset, length, frames)
        while True:  # the top-level elements after the sequence, up to PixelData
            key, vr, length, valueOffset = self.retrying(self.header, offset)
            if key == _PIXEL_DATA:
                if length == UNDEFINED_LENGTH:
                    raise _NotCommon("encapsulated pixel data")
                return shared, perFrame, valueOffset, length
            if key in _DELIMITERS or key == _SHARED:
                raise _NotCommon("delimiter at top level, or shared groups after the per-frame ones")
            offset = self.retrying(self.skip, vr, length, valueOffset, 1)

    def sharedGroups(self, offset: int) -> Tuple[Optional[Dict[str, List[_Item]]], int]:
        """If the element at ``offset`` is the SharedFunctionalGroupsSequence: its first item's groups (None
        without an item) and the offset of (5200,9230)'s element, the top-level elements between skipped.
        Otherwise ``(None, offset)``."""
        key, vr, length, valueOffset = self.header(offset)
        if key != _SHARED:
            return None, offset
        if vr not in (None, b"SQ"):
            raise _NotCommon("SharedFunctionalGroupsSequence that is not a sequence")
        end = None if length == UNDEFINED_LENGTH else valueOffset + length
        shared, offset = self.sequence(valueOffset, end, 1, self.itemGroups)
        while True:
            key, vr, length, valueOffset = self.header(offset)
            if key == _PER_FRAME:
                return shared, offset
            if key in _DELIMITERS or key == _PIXEL_DATA:
                raise _NotCommon("no PerFrameFunctionalGroupsSequence after the shared one")
            offset = self.skip(vr, length, valueOffset, 1)

    def perFrameItems(self, offset: int, length: int, frames: int) -> Tuple[List[Dict[str, List[_Item]]], int]:
        """The groups of each item of the per-frame sequence whose value (of ``length``) starts at ``offset``,
        and the offset after the sequence; exactly ``frames`` items, else :class:`_NotCommon`."""
        end = offset + length if length != UNDEFINED_LENGTH else None
        perFrame: List[Dict[str, List[_Item]]] = []
        while True:  # the items, each walked again only if it runs past the bytes read
            key, _, length, itemOffset = self.retrying(self.header, offset)
            if end is None and key == _SEQUENCE_END:
                offset = itemOffset
                break
            if key != _ITEM or len(perFrame) == frames:
                raise _NotCommon("unexpected tag in the sequence, or more items than frames")
            itemEnd = None if length == UNDEFINED_LENGTH else itemOffset + length
            groups, offset = self.retrying(self.frameGroups, itemOffset, itemEnd)
            perFrame.append(groups)
            if end is not None and offset >= end:
                if offset != end:
                    raise _NotCommon("items run past their sequence")
                break
        if len(perFrame) != frames:
            raise _NotCommon("item count differs from NumberOfFrames")
        return perFrame, offset

    def retrying(self, step: Callable[..., _T], *arguments: Any) -> _T:
        """``step(*arguments)``, again with more bytes read each time it runs past them."""
        while True:
            try:
                return step(*arguments)
            except _Short:
                self.more()

    def itemGroups(self, offset: int, end: Optional[int], depth: int) -> Tuple[Dict[str, List[_Item]], int]:
        """:meth:`frameGroups` as :meth:`sequence` calls an item reader (the shared item; its depth is 2)."""
        return self.frameGroups(offset, end)

    def frameGroups(self, offset: int, end: Optional[int]) -> Tuple[Dict[str, List[_Item]], int]:
        """One per-frame item: group keyword -> [its first item] (``[]`` for an empty group); the offset after."""
        groups: Dict[str, List[_Item]] = {}
        header, skip, groupKeywords = self.header, self.skip, _GROUPS
        while end is None or offset < end:
            key, vr, length, offset = header(offset)
            if key == _ITEM_END and end is None:
                return groups, offset
            if key in _DELIMITERS:
                raise _NotCommon("unexpected delimiter in an item")
            keyword = groupKeywords.get(key)
            if keyword is None:
                offset = skip(vr, length, offset, 2)
                continue
            if vr not in (None, b"SQ"):
                raise _NotCommon("functional group that is not a sequence")
            if length == UNDEFINED_LENGTH:
                item, offset = self.sequence(offset, None, 3, self.valuesItem)
            else:
                if offset + length > len(self.data):
                    raise _Short()
                raw = self.data[offset : offset + length]
                memoKey = (key, raw)
                cached = self.memo.get(memoKey)
                if cached is None:
                    item, _ = self.sequence(offset, offset + length, 3, self.valuesItem)
                    cached = self.memo[memoKey] = [] if item is None else [item]
                groups[keyword] = cached
                offset += length
                continue
            groups[keyword] = [] if item is None else [item]
        if offset != end:
            raise _NotCommon("elements run past their item")
        return groups, offset

    def valuesItem(self, offset: int, end: Optional[int], depth: int) -> Tuple[_Item, int]:
        """A group's first item: the values of :data:`_VALUES` decoded, the direction sequence's first item."""
        item = _Item()
        count = 0
        header, skip, explicit, data, values = self.header, self.skip, self.explicit, self.data, _VALUES
        decodedValues = self.decodedValues
        while end is None or offset < end:
            key, vr, length, offset = header(offset)
            if key == _ITEM_END and end is None:
                break
            if key in _DELIMITERS:
                raise _NotCommon("unexpected delimiter in an item")
            count += 1
            value = values.get(key)
            if value is not None:
                keyword, expectedVR, decode = value
                if (explicit and vr != expectedVR) or length == UNDEFINED_LENGTH:
                    raise _NotCommon("VR differs from the dictionary")
                if offset + length > len(data):
                    raise _Short()
                raw = data[offset : offset + length]
                decoded = decodedValues.get((key, raw), _NOT_DECODED)
                if decoded is _NOT_DECODED:
                    decoded = decodedValues[(key, raw)] = decode(raw)
                item[keyword] = decoded
                offset += length
            elif key == _DIRECTION:
                if vr not in (None, b"SQ"):
                    raise _NotCommon("DiffusionGradientDirectionSequence that is not a sequence")
                sequenceEnd = None if length == UNDEFINED_LENGTH else offset + length
                direction, offset = self.sequence(offset, sequenceEnd, depth + 1, self.valuesItem)
                item[_DIRECTION_KEYWORD] = [] if direction is None else [direction]
            else:
                offset = skip(vr, length, offset, depth)
        else:
            if offset != end:
                raise _NotCommon("elements run past their item")
        item.elementCount = count
        return item, offset
