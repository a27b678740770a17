"""Byte-level view of a little-endian DICOM file: where each top-level element starts and ends, and edits.

The fuzzer mutates real files at the byte level so that everything it does
not touch stays byte-identical to what the scanner wrote, and so that it can
write what pydicom refuses to write (wrong VRs, lying lengths, NaN text,
sequences nested 10,000 deep). pydicom is used for the dictionary VR of a tag
and for the semantic edits in :mod:`mutate`; this module only walks headers.

Offsets are file offsets. An :class:`Element` covers its header and value;
for undefined lengths the value runs to the closing delimiter (found by
counting nested undefined-length sequences, without recursion).
"""

from __future__ import annotations

import dataclasses
import struct
from typing import List, Optional, Tuple

import pydicom

LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS"}
    | {b"ST", b"TM", b"UI", b"UL", b"US"}
)
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
IMPLICIT_LITTLE = "1.2.840.10008.1.2"


class RawError(ValueError):
    """The bytes are not a little-endian DICOM file this walker understands."""


@dataclasses.dataclass
class Element:
    """One top-level element: ``tag`` as (group << 16 | element), ``vr`` (``None`` if implicit)."""

    tag: int
    vr: Optional[bytes]
    start: int
    headerLength: int
    length: int
    end: int

    @property
    def valueStart(self) -> int:
        return self.start + self.headerLength


@dataclasses.dataclass
class RawFile:
    """A parsed file: its bytes, its meta elements and its data set's top-level elements."""

    data: bytes
    meta: List[Element]
    elements: List[Element]
    explicit: bool

    @property
    def boundaries(self) -> List[int]:
        """Every top-level element start (meta and data set) and the end of the file, ascending."""
        starts = [element.start for element in self.meta + self.elements]
        return sorted(set(starts + [len(self.data)]))

    def find(self, tag: int) -> Optional[Element]:
        """The top-level data set element with ``tag``, or ``None``."""
        return next((element for element in self.elements if element.tag == tag), None)

    def insertionOffset(self, tag: int) -> int:
        """Where an element with ``tag`` goes in the data set's ascending tag order."""
        for element in self.elements:
            if element.tag > tag:
                return element.start
        return len(self.data)


def parse(data: bytes) -> RawFile:
    """Walk the preamble, meta group and top-level data set of ``data``; raise :class:`RawError` if unusual."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise RawError("no DICM prefix")
    meta, offset = _walk(data, 132, explicit=True, metaOnly=True)
    syntax = _metaText(data, meta, 0x00020010)
    if syntax in ("1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"):
        raise RawError(f"transfer syntax {syntax} is not handled")
    explicit = syntax != IMPLICIT_LITTLE
    elements, _ = _walk(data, offset, explicit=explicit, metaOnly=False)
    return RawFile(data=data, meta=meta, elements=elements, explicit=explicit)


def _metaText(data: bytes, meta: List[Element], tag: int) -> str:
    element = next((item for item in meta if item.tag == tag), None)
    if element is None:
        return ""
    return data[element.valueStart : element.end].decode("latin-1").rstrip("\0 ")


def _walk(data: bytes, offset: int, *, explicit: bool, metaOnly: bool) -> Tuple[List[Element], int]:
    elements: List[Element] = []
    while offset + 8 <= len(data):
        if metaOnly and struct.unpack_from("<H", data, offset)[0] != 0x0002:
            break  # the data set starts here, maybe in implicit VR
        tag, vr, headerLength, length = readHeader(data, offset, explicit)
        if length == UNDEFINED:
            end = skipUndefined(data, offset + headerLength, explicit)
        else:
            end = offset + headerLength + length
        if end > len(data):
            raise RawError(f"element {tag:08X} at {offset} runs past the end of the file")
        elements.append(Element(tag, vr, offset, headerLength, length, end))
        offset = end
    return elements, offset


def readHeader(data: bytes, offset: int, explicit: bool) -> Tuple[int, Optional[bytes], int, int]:
    """``(tag, vr, header length, value length)`` of the element header at ``offset``."""
    group, number = struct.unpack_from("<HH", data, offset)
    tag = group << 16 | number
    if tag in (ITEM, ITEM_END, SEQUENCE_END):
        return tag, None, 8, struct.unpack_from("<I", data, offset + 4)[0]
    if not explicit:
        return tag, None, 8, struct.unpack_from("<I", data, offset + 4)[0]
    vr = data[offset + 4 : offset + 6]
    if vr in LONG_VRS:
        return tag, vr, 12, struct.unpack_from("<I", data, offset + 8)[0]
    if vr in SHORT_VRS:
        return tag, vr, 8, struct.unpack_from("<H", data, offset + 6)[0]
    raise RawError(f"unknown VR {vr!r} at {offset}")


def skipUndefined(data: bytes, offset: int, explicit: bool) -> int:
    """Offset just after the sequence delimiter closing the undefined-length value that starts at ``offset``.

    Counts the open undefined-length sequences instead of recursing, so
    nesting depth costs no stack. Items of undefined length end with an item
    delimiter, which closes nothing that is counted.
    """
    depth = 1
    while depth:
        if offset + 8 > len(data):
            raise RawError("undefined-length value runs past the end of the file")
        tag, _, headerLength, length = readHeader(data, offset, explicit)
        offset += headerLength
        if tag == SEQUENCE_END:
            depth -= 1
        elif tag == ITEM_END:
            continue
        elif tag == ITEM:
            offset += 0 if length == UNDEFINED else length
        elif length == UNDEFINED:
            depth += 1
        else:
            offset += length
    return offset


# --------------------------------------------------------------------------- encoding


def elementHeader(tag: int, vr: Optional[bytes], length: int, *, explicit: bool) -> bytes:
    """An element header; a short-VR length that does not fit 16 bits is truncated to 16 bits (a lie on purpose)."""
    prefix = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit or vr is None:
        return prefix + struct.pack("<I", length & UNDEFINED)
    if vr in SHORT_VRS:
        return prefix + vr + struct.pack("<H", length & 0xFFFF)
    return prefix + vr + b"\0\0" + struct.pack("<I", length & UNDEFINED)


def itemHeader(tag: int, length: int) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, length)


def padded(value: bytes, vr: Optional[bytes]) -> bytes:
    """Even length, padded as DICOM pads: NUL for UI and binary VRs, space for text."""
    if len(value) % 2 == 0:
        return value
    return value + (b"\0" if vr in (b"UI", b"OB", b"UN") else b" ")


def dictionaryVR(tag: int) -> bytes:
    """The VR pydicom's dictionary gives ``tag`` (the first of 'OB or OW'), ``UN`` for unknown tags."""
    try:
        return pydicom.datadict.dictionary_VR(tag).split(" ")[0].encode()
    except KeyError:
        return b"UN"


def setValue(
    raw: RawFile,
    tag: int,
    value: bytes,
    *,
    vr: Optional[bytes] = None,
    claimedLength: Optional[int] = None,
    pad: bool = True,
) -> bytes:
    """The file's bytes with top-level ``tag`` replaced (or inserted in tag order) by ``value``.

    ``vr`` defaults to the element's VR in the file, else the dictionary VR;
    ``claimedLength`` writes a length that differs from the value's (a lie);
    ``pad=False`` keeps an odd length.
    """
    existing = raw.find(tag)
    if raw.explicit:
        vr = vr or (existing.vr if existing is not None else None) or dictionaryVR(tag)
    value = padded(value, vr) if pad else value
    length = len(value) if claimedLength is None else claimedLength
    element = elementHeader(tag, vr, length, explicit=raw.explicit) + value
    if existing is not None:
        return raw.data[: existing.start] + element + raw.data[existing.end :]
    at = raw.insertionOffset(tag)
    return raw.data[:at] + element + raw.data[at:]


def removeElement(raw: RawFile, tag: int) -> bytes:
    """The file's bytes without top-level ``tag`` (unchanged if absent)."""
    existing = raw.find(tag)
    if existing is None:
        return raw.data
    return raw.data[: existing.start] + raw.data[existing.end :]


def insertAt(raw: RawFile, offset: int, payload: bytes) -> bytes:
    return raw.data[:offset] + payload + raw.data[offset:]


def fixMetaGroupLength(data: bytes) -> bytes:
    """``data`` with (0002,0000) FileMetaInformationGroupLength set to the meta group's actual length."""
    meta, _ = _walk(data, 132, explicit=True, metaOnly=True)  # the data set may no longer match the syntax
    if not meta or meta[0].tag != 0x00020000:
        return data
    first = meta[0]
    length = meta[-1].end - first.end
    return data[: first.valueStart] + struct.pack("<I", length) + data[first.end :]
