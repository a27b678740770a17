"""Seeded, structure-aware mutations of the shared real DICOM series, one case folder per (seed, index).

Each case copies one real series from the shared corpus (never modified) into
``ROOT/case-NNNNNN/input`` and applies one family of mutations (sometimes a
second, header-level one), then writes ``ROOT/case-NNNNNN/manifest.json``
saying what was done, which paths the command line should be given
(``targets``, relative to the case folder) and what the harness should
expect. The same (seed, index, options) always gives a byte-identical
folder: every choice comes from ``random.Random(f"{seed}:{index}")``.

Families are registered with :func:`mutator` (name, weight, which base series
they accept). Header edits are byte-level (:mod:`rawdicom`) so that the rest
of each file stays as the scanner wrote it; enhanced multi-frame edits go
through pydicom.

Run ``python Testing/fuzz/mutate.py --seed 7 --index 12 --out /tmp/cases``
to regenerate one case (``--count N`` for cases 0..N-1).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import random
import shutil
import struct
import sys
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import pydicom
import rawdicom
from pydicom.dataelem import RawDataElement
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

GENERATOR_VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("AFFINE_INSPECTOR_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
DICOM = os.path.join(SHARED, "data", "dicom")

GIB = 1 << 30
SECONDARY_PROBABILITY = 0.25

# Tags the geometry code reads (group << 16 | element).
IPP, IOP, PIXEL_SPACING = 0x00200032, 0x00200037, 0x00280030
SLICE_THICKNESS, SPACING_BETWEEN = 0x00180050, 0x00180088
ROWS, COLUMNS, NUMBER_OF_FRAMES = 0x00280010, 0x00280011, 0x00280008
SERIES_UID, SOP_UID, INSTANCE_NUMBER = 0x0020000E, 0x00080018, 0x00200013
TRANSFER_SYNTAX, META_LENGTH = 0x00020010, 0x00020000
WATCHED = (
    IPP, IOP, PIXEL_SPACING, SLICE_THICKNESS, SPACING_BETWEEN, ROWS, COLUMNS, NUMBER_OF_FRAMES,
    SERIES_UID, SOP_UID, INSTANCE_NUMBER, 0x00080008, 0x00080060, 0x0008103E, 0x00181120,
    0x00200011, 0x00200052, 0x00189087, rawdicom.PIXEL_DATA,
)  # fmt: skip

# --------------------------------------------------------------------------- value tables

GEOMETRY_VALUES = {
    IPP: (
        "1e300\\1e300\\1e300", "1e154\\1e154\\1e154", "-1e300\\1e300\\0", "1e309\\0\\0", "nan\\0\\0",
        "NaN\\NaN\\NaN", "inf\\0\\0", "-inf\\0\\0", "Infinity\\0\\0", "0\\0", "0\\0\\0\\0", "", "abc\\def\\ghi",
        "1,5\\2\\3", "1e-320\\0\\0", " \\ \\ ", "0x10\\0\\0", "1_000\\0\\0", "  1 \\ 2 \\ 3 ", "1\\2\\3\\",
        "9" * 64 + "\\0\\0", "-0\\-0\\-0", "1e154\\-1e154\\1e154", "\\\\",
    ),
    IOP: (
        "1e300\\0\\0\\0\\1e300\\0", "1e154\\0\\0\\0\\1e154\\0", "1e154\\1e154\\1e154\\1e154\\-1e154\\0",
        "1e-160\\0\\0\\0\\1e-160\\0", "nan\\0\\0\\0\\1\\0", "inf\\0\\0\\0\\1\\0", "1\\0\\0\\0\\1",
        "1\\0\\0\\0\\1\\0\\0", "1\\0\\0\\1\\0\\0", "1\\0\\0\\0\\0.5\\0", "1\\1\\0\\0\\1\\0", "0\\0\\0\\0\\0\\0",
        "", "a\\b\\c\\d\\e\\f", "1e-7\\0\\0\\0\\1e-7\\0", "2\\0\\0\\0\\2\\0", "-1\\0\\0\\0\\-1\\0",
        "1e308\\1e308\\0\\0\\1\\0", "0.7071\\0.7071\\0\\-0.7071\\0.7071\\0",
    ),
    PIXEL_SPACING: (
        "1e300\\1e300", "1e154\\1e154", "1e-300\\1e-300", "nan\\1", "inf\\1", "0\\0", "-1\\1", "1", "1\\1\\1",
        "", "x\\y", "5e-324\\5e-324", "1e308\\1e-308", "0.5\\", "  \\  ",
    ),
    SLICE_THICKNESS: ("1e300", "nan", "inf", "-1", "0", "1e-320", "abc", "1\\2", ""),
    SPACING_BETWEEN: ("1e300", "nan", "-inf", "-5", "0", "1e-320", "x", ""),
}  # fmt: skip
NUMBER_OF_FRAMES_LIES = (
    "2147483647", "0", "-1", "-2147483648", "abc", "1.5", "", "4294967296", "99999999999999999999",
    "1\\2", " 8 ", "1e9", "65536",
)  # fmt: skip
IDENTITY_VALUES = {
    SERIES_UID: ("", "1.2\\3.4", "1." + "9" * 200, "\x00" * 8, "é.1"),
    SOP_UID: ("", "1.2\\3.4"),
    INSTANCE_NUMBER: ("99999999999999999999999", "-1", "1.5", "abc", "", "1e3", "1\\2", "-0"),
    ROWS: (struct.pack("<H", 0), struct.pack("<H", 1), struct.pack("<H", 65535), b"", b"\x01"),
    COLUMNS: (struct.pack("<H", 0), struct.pack("<H", 65535), b""),
    0x00181120: ("1e300", "nan", "-inf", "90", "abc"),  # GantryDetectorTilt
    0x00189087: (struct.pack("<d", float("nan")), struct.pack("<d", float("inf")), b"\0\0\0\0"),  # DiffusionBValue
    0x0008103E: (b"\xff\xfe\x00\x01", b"caf\xe9", b"\x1b$B", "x" * 70000),  # SeriesDescription
    0x00080008: ("ORIGINAL\\PRIMARY\\" + "\\" * 40, "\\", ""),  # ImageType
    0x00200052: ("", "1.2\\3"),  # FrameOfReferenceUID
    0x00180086: ("1\\2\\x", "x", "99999999999999"),  # EchoNumbers
}  # fmt: skip
PIXEL_MODULE_VALUES = {
    0x00280100: (0, 1, 7, 64, 65535),  # BitsAllocated
    0x00280101: (0, 17, 65535),  # BitsStored
    0x00280102: (255, 0),  # HighBit
    0x00280002: (0, 3, 4, 65535),  # SamplesPerPixel
    0x00280103: (2, 65535),  # PixelRepresentation
    0x00280004: ("RGB", "YBR_FULL", "PALETTE COLOR", "", "XYZ"),  # PhotometricInterpretation
    0x00281053: ("nan", "inf", "1e300", "0", "-1", "abc"),  # RescaleSlope
    0x00281052: ("nan", "1e308", "-1e308"),  # RescaleIntercept
    ROWS: (0, 1, 65535),
    COLUMNS: (0, 1, 65535),
}
NEW_VRS = (b"UN", b"OB", b"SQ", b"UT", b"FD", b"US", b"DS", b"LO", b"XX", b"\0\0", b"ds", b"OW", b"UL")
LENGTH_DELTAS = (1, -1, 2, -2, 8, -8, 1000, -1000)
LENGTH_ABSOLUTES = (0, 0xFFFF, 0xFFFFFFF0, 0xFFFFFFFE, rawdicom.UNDEFINED)
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5", "", "1.2.3.4", "1.2.840.10008.1.2\\1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2." + "1" * 80,
)  # fmt: skip
ODD_NAMES = (
    b"new\nline.dcm", b"\xff\xfe.dcm", "\u00e9t\u00e9.dcm".encode(), b" leading space.dcm", b"x" * 250 + b".dcm",
    b"-dash.dcm", b"back\\slash.dcm", b"tab\t.dcm", b'quote".dcm', b"\x1b[31mred.dcm", b"percent%s.dcm",
)  # fmt: skip


# --------------------------------------------------------------------------- base series


@dataclasses.dataclass(frozen=True)
class Base:
    """One real series folder of the shared corpus: ``name`` is its path under the corpus root."""

    name: str
    files: tuple
    explicit: bool
    multiFrame: bool
    totalBytes: int

    @property
    def small(self) -> bool:
        return self.totalBytes < 2 * 1024 * 1024


@functools.cache
def findBases(dicomRoot: str = DICOM) -> tuple:
    """Every folder of the corpus holding DICOM files (DICM prefix), sorted by name; multi-frame flagged."""
    bases = []
    for folder, directories, names in os.walk(dicomRoot):
        directories.sort()
        files = tuple(
            os.path.join(folder, name) for name in sorted(names) if _hasDICMPrefix(os.path.join(folder, name))
        )
        if not files:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = pydicom.dcmread(files[0], stop_before_pixels=True)
        frames = int(first.get("NumberOfFrames", 1) or 1)
        bases.append(
            Base(
                name=os.path.relpath(folder, dicomRoot),
                files=files,
                explicit=not first.file_meta.TransferSyntaxUID == rawdicom.IMPLICIT_LITTLE,
                multiFrame=frames > 1 or "PerFrameFunctionalGroupsSequence" in first,
                totalBytes=sum(os.path.getsize(path) for path in files),
            )
        )
    if not bases:
        raise FileNotFoundError(f"no DICOM series under {dicomRoot} (set AFFINE_INSPECTOR_SHARED)")
    return tuple(sorted(bases, key=lambda base: base.name))


def _hasDICMPrefix(path: str) -> bool:
    with open(path, "rb") as stream:
        return stream.read(132)[128:132] == b"DICM"


# --------------------------------------------------------------------------- registry


@dataclasses.dataclass
class Options:
    """Knobs that change what is generated (so they are part of a case's identity, with seed and index)."""

    bigFileBytes: int = GIB

    def toDict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Case:
    """What a mutator works on and reports: the case folder, its input folder, the choices and expectations."""

    seed: int
    index: int
    rng: random.Random
    caseFolder: str
    base: Base
    options: Options
    family: str = ""
    mutations: List[dict] = dataclasses.field(default_factory=list)
    targets: List[str] = dataclasses.field(default_factory=lambda: ["input"])
    mustMention: List[str] = dataclasses.field(default_factory=list)
    unprivileged: bool = False
    preferSlicer: bool = False

    @property
    def input(self) -> str:
        return os.path.join(self.caseFolder, "input")

    def dicomFiles(self) -> List[str]:
        """The regular files directly in ``input``, sorted (absolute paths)."""
        names = sorted(os.listdir(self.input))
        return [os.path.join(self.input, name) for name in names if os.path.isfile(os.path.join(self.input, name))]

    def pickFiles(self, allProbability: float = 0.3) -> List[str]:
        """All files of the series, or one chosen file."""
        files = self.dicomFiles()
        if not files:
            return []
        return files if self.rng.random() < allProbability else [self.rng.choice(files)]

    def record(self, what: str, **details) -> None:
        details = {key: _jsonable(value) for key, value in details.items()}
        self.mutations.append({"family": self.family, "what": what, **details})

    def relative(self, path: str) -> str:
        return os.path.relpath(path, self.caseFolder)

    def manifest(self) -> dict:
        return {
            "generator": GENERATOR_VERSION,
            "seed": self.seed,
            "index": self.index,
            "family": self.mutations[0]["family"] if self.mutations else self.family,
            "base": self.base.name,
            "mutations": self.mutations,
            "targets": self.targets,
            "mustMention": self.mustMention,
            "unprivileged": self.unprivileged,
            "preferSlicer": self.preferSlicer,
            "options": self.options.toDict(),
        }


@dataclasses.dataclass(frozen=True)
class Mutator:
    """A family of mutations: ``apply(case)`` edits ``case.input`` and records what it did."""

    name: str
    weight: float
    apply: Callable[[Case], None]
    accepts: Callable[[Base], bool]
    secondary: bool


MUTATORS: List[Mutator] = []


def mutator(name: str, *, weight: float = 1.0, accepts: Optional[Callable[[Base], bool]] = None, secondary=False):
    """Register a mutation family (decorator). ``secondary`` families may also follow another family."""

    def register(function: Callable[[Case], None]) -> Callable[[Case], None]:
        MUTATORS.append(Mutator(name, weight, function, accepts or (lambda base: True), secondary))
        return function

    return register


def mutatorsByName() -> Dict[str, Mutator]:
    return {item.name: item for item in MUTATORS}


# --------------------------------------------------------------------------- helpers


def _jsonable(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _encode(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return struct.pack("<H", value & 0xFFFF)
    return value.encode("utf-8", "surrogateescape") if not value.isascii() else value.encode("ascii")


def _readRaw(path: str) -> Optional[rawdicom.RawFile]:
    with open(path, "rb") as stream:
        data = stream.read()
    try:
        return rawdicom.parse(data)
    except (rawdicom.RawError, struct.error):
        return None


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)


def _editValue(case: Case, path: str, tag: int, value, **keywords) -> bool:
    """Set top-level ``tag`` of ``path`` to ``value`` (str, bytes or US int); False if the file does not parse."""
    raw = _readRaw(path)
    if raw is None:
        case.record("skipped: file no longer parses", file=case.relative(path))
        return False
    _write(path, rawdicom.setValue(raw, tag, _encode(value), **keywords))
    return True


def _newUID(rng: random.Random) -> str:
    return "1.2.826.0.1.3680043.8.498." + str(rng.randrange(10**20, 10**21))


def _choiceKey(rng: random.Random, table: dict):
    return rng.choice(sorted(table))


# --------------------------------------------------------------------------- header value families


@mutator("geometryValue", weight=3.0, accepts=lambda base: not base.multiFrame, secondary=True)
def geometryValue(case: Case) -> None:
    """IPP / IOP / PixelSpacing / SliceThickness / SpacingBetweenSlices extremes on one file or all."""
    tag = _choiceKey(case.rng, GEOMETRY_VALUES)
    value = case.rng.choice(GEOMETRY_VALUES[tag])
    files = case.pickFiles()
    for path in files:
        _editValue(case, path, tag, value)
    case.record("set value", tag=f"{tag:08X}", value=value, files=[case.relative(path) for path in files])


@mutator("numberOfFrames", weight=1.5, secondary=True)
def numberOfFrames(case: Case) -> None:
    """NumberOfFrames lies: huge, zero, negative, text; on single-frame (small) and multi-frame files."""
    value = case.rng.choice(NUMBER_OF_FRAMES_LIES)
    files = case.pickFiles(allProbability=0.2)
    for path in files:
        _editValue(case, path, NUMBER_OF_FRAMES, value)
    case.record("set NumberOfFrames", value=value, files=[case.relative(path) for path in files])


@mutator("identityValue", weight=1.5, secondary=True)
def identityValue(case: Case) -> None:
    """UIDs, InstanceNumber, Rows/Columns, tilt, b-value, description: empty, multi-valued, huge, non-ASCII."""
    tag = _choiceKey(case.rng, IDENTITY_VALUES)
    value = case.rng.choice(IDENTITY_VALUES[tag])
    files = case.pickFiles()
    for path in files:
        _editValue(case, path, tag, value)
    shown = value if not isinstance(value, str) or len(value) < 100 else f"{value[:20]}... ({len(value)} chars)"
    case.record("set value", tag=f"{tag:08X}", value=shown, files=[case.relative(path) for path in files])


@mutator("shiftSeries", weight=1.0, accepts=lambda base: not base.multiFrame)
def shiftSeries(case: Case) -> None:
    """Move every slice consistently (far away, by 1e150, mirrored): grids that no longer overlap a reference."""
    offset = case.rng.choice((1e5, -1e6, 1e150, 3e305))
    for path in case.dicomFiles():
        raw = _readRaw(path)
        element = raw.find(IPP) if raw is not None else None
        if element is None:
            continue
        text = raw.data[element.valueStart : element.end].decode("latin-1").strip(" \0")
        try:
            position = [float(item) + offset for item in text.split("\\")]
        except ValueError:
            continue
        _write(path, rawdicom.setValue(raw, IPP, "\\".join(f"{value:.10g}"[:16] for value in position).encode()))
    case.record("shift every IPP", offsetMm=offset)
    case.preferSlicer = True


@mutator("pixelModule", weight=1.5, accepts=lambda base: not base.multiFrame or base.small)
def pixelModule(case: Case) -> None:
    """Pixel description lies (bits, samples, photometric, rescale, size) or pixel data zeroed/cut/removed."""
    variant = case.rng.choice(("value", "value", "value", "zeroPixels", "halfPixels", "noPixels"))
    files = case.dicomFiles()
    if variant == "value":
        tag = _choiceKey(case.rng, PIXEL_MODULE_VALUES)
        value = case.rng.choice(PIXEL_MODULE_VALUES[tag])
        for path in files:
            _editValue(case, path, tag, value)
        case.record("set value on every file", tag=f"{tag:08X}", value=value)
    else:
        for path in files:
            raw = _readRaw(path)
            element = raw.find(rawdicom.PIXEL_DATA) if raw is not None else None
            if element is None or element.length == rawdicom.UNDEFINED:
                continue
            if variant == "zeroPixels":
                data = raw.data[: element.valueStart] + bytes(element.length) + raw.data[element.end :]
            elif variant == "halfPixels":
                half = (element.length // 2) & ~1
                data = rawdicom.setValue(
                    raw, rawdicom.PIXEL_DATA, raw.data[element.valueStart : element.valueStart + half]
                )
            else:
                data = rawdicom.removeElement(raw, rawdicom.PIXEL_DATA)
            _write(path, data)
        case.record(variant)
    case.preferSlicer = True


# --------------------------------------------------------------------------- structure families


def nestedSequence(depth: int, *, undefined: bool, explicit: bool, group: int, unterminated: int = 0) -> bytes:
    """A private creator plus a private SQ nested ``depth`` levels (each level: SQ element, one item).

    Built without recursion and in linear time: with defined lengths the
    length at each level is known in closed form. ``unterminated`` drops that
    many closing delimiter pairs (undefined lengths only).
    """
    creatorTag, sequenceTag, leafTag = group << 16 | 0x0010, group << 16 | 0x1010, group << 16 | 0x1011
    creator = rawdicom.elementHeader(creatorTag, b"LO", 12, explicit=explicit) + b"AFFINE FUZZ "
    leaf = rawdicom.elementHeader(leafTag, b"LO", 4, explicit=explicit) + b"leaf"
    headerLength = 12 if explicit else 8
    if undefined:
        opening = rawdicom.elementHeader(sequenceTag, b"SQ", rawdicom.UNDEFINED, explicit=explicit)
        opening += rawdicom.itemHeader(rawdicom.ITEM, rawdicom.UNDEFINED)
        closing = rawdicom.itemHeader(rawdicom.ITEM_END, 0) + rawdicom.itemHeader(rawdicom.SEQUENCE_END, 0)
        return creator + opening * depth + leaf + closing * max(0, depth - unterminated)
    levelBytes = headerLength + 8

    def size(level: int) -> int:  # bytes of the SQ element at ``level`` (level == depth: the leaf)
        return (depth - level) * levelBytes + len(leaf)

    parts = [
        rawdicom.elementHeader(sequenceTag, b"SQ", size(level) - headerLength, explicit=explicit)
        + rawdicom.itemHeader(rawdicom.ITEM, size(level + 1))
        for level in range(depth)
    ]
    return creator + b"".join(parts) + leaf


def _freePrivateGroup(raw: rawdicom.RawFile, high: bool) -> int:
    used = {element.tag >> 16 for element in raw.elements}
    candidates = range(0x7FDF, 0x0009, -2) if high else range(0x0009, 0x7FE0, 2)
    return next(group for group in candidates if group not in used)


@mutator("deepSequence", weight=1.5)
def deepSequence(case: Case) -> None:
    """A private SQ nested ~500 deep (undefined lengths) or 10,000 deep (defined lengths), and variants."""
    depth, undefined = case.rng.choice(((500, True), (10000, False), (500, False), (10000, True), (999, True)))
    unterminated = case.rng.choice((0, 0, 0, 1, depth))
    unterminated = unterminated if undefined else 0
    high = case.rng.random() < 0.5  # just before PixelData, or early in the header
    files = case.pickFiles(allProbability=0.5)
    for path in files:
        raw = _readRaw(path)
        if raw is None:
            continue
        group = _freePrivateGroup(raw, high)
        payload = nestedSequence(
            depth, undefined=undefined, explicit=raw.explicit, group=group, unterminated=unterminated
        )
        _write(path, rawdicom.insertAt(raw, raw.insertionOffset(group << 16), payload))
    case.record(
        "nested private sequence",
        depth=depth,
        undefinedLength=undefined,
        unterminatedLevels=unterminated,
        nearPixelData=high,
        files=[case.relative(path) for path in files],
    )


def truncationOffsets(raw: rawdicom.RawFile) -> List[int]:
    """Every top-level element boundary, plus offsets in and around the preamble and PixelData."""
    offsets = set(raw.boundaries[:-1]) | {0, 1, 64, 128, 131, 132}
    pixel = raw.find(rawdicom.PIXEL_DATA)
    if pixel is not None:
        offsets |= {pixel.start - 1, pixel.start + 4, pixel.start + 8, pixel.valueStart, pixel.valueStart + 1}
        offsets |= {(pixel.valueStart + pixel.end) // 2, pixel.end - 1}
    return sorted(offset for offset in offsets if 0 <= offset < len(raw.data))


@mutator("truncateOne", weight=2.0)
def truncateOne(case: Case) -> None:
    """Cut one file at an element boundary (or a few bytes off one), before, at or inside PixelData."""
    path = case.rng.choice(case.dicomFiles())
    raw = _readRaw(path)
    offsets = truncationOffsets(raw)
    offset = case.rng.choice(offsets)
    if case.rng.random() < 0.3:
        offset = max(0, offset + case.rng.choice((-7, -3, -1, 1, 2, 5)))
    _write(path, raw.data[:offset])
    case.record("truncate", file=case.relative(path), at=offset, of=len(raw.data))


@mutator("truncateEveryBoundary", weight=0.7)
def truncateEveryBoundary(case: Case) -> None:
    """Next to the intact series, one copy of a file cut at each of its element boundaries and PixelData offsets."""
    path = case.rng.choice(case.dicomFiles())
    raw = _readRaw(path)
    offsets = truncationOffsets(raw)
    for offset in offsets:
        _write(os.path.join(case.input, f"trunc-{offset:08d}.dcm"), raw.data[:offset])
    case.record("truncated copies", file=case.relative(path), count=len(offsets), of=len(raw.data))


def _pickElement(case: Case, raw: rawdicom.RawFile) -> rawdicom.Element:
    watched = [element for element in raw.elements if element.tag in WATCHED]
    if watched and case.rng.random() < 0.7:
        return case.rng.choice(watched)
    return case.rng.choice(raw.elements)


@mutator("vrLie", weight=1.5, accepts=lambda base: base.explicit)
def vrLie(case: Case) -> None:
    """An element written with another VR (its value unchanged): other header size, unknown VR, SQ."""
    path = case.rng.choice(case.dicomFiles())
    raw = _readRaw(path)
    element = _pickElement(case, raw)
    newVR = case.rng.choice(NEW_VRS)
    value = raw.data[element.valueStart : element.end]  # for an undefined length: up to its delimiter
    _write(path, rawdicom.setValue(raw, element.tag, value, vr=newVR, pad=False))
    case.record("VR changed", file=case.relative(path), tag=f"{element.tag:08X}", old=element.vr, new=newVR)


@mutator("lengthLie", weight=1.5, secondary=True)
def lengthLie(case: Case) -> None:
    """An element whose length field lies (off by a few, zero, 0xFFFF, huge, undefined), an odd or empty value."""
    path = case.rng.choice(case.dicomFiles())
    raw = _readRaw(path)
    if raw is None:
        case.record("skipped: file no longer parses", file=case.relative(path))
        return
    if not raw.elements:
        case.record("skipped: no data set elements", file=case.relative(path))
        return
    element = _pickElement(case, raw)
    value = raw.data[element.valueStart : element.end]
    variant = case.rng.choice(("delta", "absolute", "absolute", "empty", "odd"))
    if variant == "delta":
        claimed = max(0, len(value) + case.rng.choice(LENGTH_DELTAS))
        data = rawdicom.setValue(raw, element.tag, value, vr=element.vr, claimedLength=claimed, pad=False)
    elif variant == "absolute":
        claimed = case.rng.choice(LENGTH_ABSOLUTES)
        data = rawdicom.setValue(raw, element.tag, value, vr=element.vr, claimedLength=claimed, pad=False)
    elif variant == "empty":
        claimed = 0
        data = rawdicom.setValue(raw, element.tag, b"", vr=element.vr)
    else:
        claimed = len(value) + 1
        data = rawdicom.setValue(raw, element.tag, value + b"7", vr=element.vr, pad=False)
    _write(path, data)
    case.record(variant, file=case.relative(path), tag=f"{element.tag:08X}", actual=len(value), claimed=claimed)


@mutator("metaLie", weight=1.0)
def metaLie(case: Case) -> None:
    """File meta lies: transfer syntax, group length, missing meta, damaged preamble or DICM."""
    files = case.pickFiles(allProbability=0.5)
    variant = case.rng.choice(("transferSyntax", "transferSyntax", "groupLength", "noMeta", "prefix"))
    syntax = case.rng.choice(TRANSFER_SYNTAXES)
    delta = case.rng.choice((-4, 4, 1000, -1000))
    for path in files:
        raw = _readRaw(path)
        if raw is None:
            continue
        metaEnd = raw.meta[-1].end if raw.meta else 132
        if variant == "transferSyntax":
            meta = rawdicom.RawFile(raw.data, [], raw.meta, explicit=True)  # edit the meta group as a data set
            data = rawdicom.fixMetaGroupLength(rawdicom.setValue(meta, TRANSFER_SYNTAX, syntax.encode(), vr=b"UI"))
        elif variant == "groupLength" and raw.meta and raw.meta[0].tag == META_LENGTH:
            value = struct.unpack_from("<I", raw.data, raw.meta[0].valueStart)[0]
            data = (
                raw.data[: raw.meta[0].valueStart]
                + struct.pack("<I", max(0, value + delta))
                + raw.data[raw.meta[0].end :]
            )
        elif variant == "noMeta":
            data = raw.data[:132] + raw.data[metaEnd:]
        else:
            data = raw.data[:128] + b"DICN" + raw.data[132:]
        _write(path, data)
    case.record(variant, transferSyntax=syntax if variant == "transferSyntax" else None, files=len(files))


# --------------------------------------------------------------------------- enhanced multi-frame (pydicom)

ENHANCED_VARIANTS = (
    "emptyPlanePositionFrame1", "noPositionInFrame1Item", "noPlanePositionFrame1", "fewerPerFrameItems",
    "emptyPerFrame", "moreFramesThanItems", "hugeNumberOfFrames", "noSharedGroups", "twoPositionItems",
    "badPositionText", "zeroPixelSpacing", "mixedOrientation",
)  # fmt: skip


@mutator("enhancedFrames", weight=1.5, accepts=lambda base: base.multiFrame)
def enhancedFrames(case: Case) -> None:
    """Enhanced multi-frame functional group damage, e.g. an empty PlanePositionSequence in frame 1."""
    variant = case.rng.choice(ENHANCED_VARIANTS)
    path = case.rng.choice(case.dicomFiles())
    with warnings.catch_warnings(), pydicom.config.disable_value_validation():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
        perFrame = dataset.get("PerFrameFunctionalGroupsSequence")
        if perFrame is None or len(perFrame) == 0:
            case.record("skipped: no per-frame groups", file=case.relative(path))
            return
        _damageFrames(case, dataset, perFrame, variant)
        dataset.save_as(path, enforce_file_format=False)
    case.record(variant, file=case.relative(path), frames=len(perFrame))


def _setRawText(item, tag: int, text: str) -> None:
    """Put ``text`` in ``item`` as a raw element: pydicom writes it verbatim (it would refuse '0x10' as DS)."""
    value = rawdicom.padded(text.encode("latin-1"), b"DS")
    item._dict[Tag(tag)] = RawDataElement(Tag(tag), "DS", len(value), value, 0, False, True)


def _damageFrames(case: Case, dataset, perFrame, variant: str) -> None:
    first = perFrame[0]
    if variant == "emptyPlanePositionFrame1":
        first.PlanePositionSequence = DicomSequence([])
    elif variant == "noPositionInFrame1Item" and "PlanePositionSequence" in first:
        del first.PlanePositionSequence[0].ImagePositionPatient
    elif variant == "noPlanePositionFrame1" and "PlanePositionSequence" in first:
        del first.PlanePositionSequence
    elif variant == "fewerPerFrameItems":
        dataset.PerFrameFunctionalGroupsSequence = DicomSequence(list(perFrame)[: max(1, len(perFrame) // 2)])
    elif variant == "emptyPerFrame":
        dataset.PerFrameFunctionalGroupsSequence = DicomSequence([])
    elif variant == "moreFramesThanItems":
        dataset.NumberOfFrames = len(perFrame) + 1000
    elif variant == "hugeNumberOfFrames":
        dataset.NumberOfFrames = 2**31 - 1
    elif variant == "noSharedGroups" and "SharedFunctionalGroupsSequence" in dataset:
        del dataset.SharedFunctionalGroupsSequence
    elif variant == "twoPositionItems" and "PlanePositionSequence" in first:
        first.PlanePositionSequence.append(first.PlanePositionSequence[0])
    elif variant == "badPositionText":
        frame = case.rng.randrange(len(perFrame))
        if "PlanePositionSequence" in perFrame[frame]:
            _setRawText(perFrame[frame].PlanePositionSequence[0], IPP, case.rng.choice(GEOMETRY_VALUES[IPP]))
    elif variant == "zeroPixelSpacing":
        shared = dataset.get("SharedFunctionalGroupsSequence")
        for groups in ([shared[0]] if shared else []) + list(perFrame):
            if "PixelMeasuresSequence" in groups:
                groups.PixelMeasuresSequence[0].PixelSpacing = [0, 0]
    elif variant == "mixedOrientation":
        orientation = [0, 1, 0, 0, 0, -1]
        for groups in list(perFrame)[1::2]:
            if "PlaneOrientationSequence" in groups:
                groups.PlaneOrientationSequence[0].ImageOrientationPatient = orientation


# --------------------------------------------------------------------------- file sets and the file system


@mutator("fileSet", weight=1.5)
def fileSet(case: Case) -> None:
    """Duplicated, missing or mixed files: copies, new UIDs, hard links, removals, a second series, deep folders."""
    variant = case.rng.choice(
        ("copyInSubfolder", "copyNewName", "copyNewUID", "hardLink", "removeOne", "keepOne", "removeAll",
         "secondSeries", "deepFolders", "sameFolderTwice")
    )  # fmt: skip
    files = case.dicomFiles()
    chosen = case.rng.choice(files)
    if variant == "copyInSubfolder":
        os.makedirs(os.path.join(case.input, "sub"))
        shutil.copyfile(chosen, os.path.join(case.input, "sub", os.path.basename(chosen)))
    elif variant == "copyNewName":
        shutil.copyfile(chosen, os.path.join(case.input, "copy of " + os.path.basename(chosen)))
    elif variant == "copyNewUID":
        copy = os.path.join(case.input, "zz-" + os.path.basename(chosen))
        shutil.copyfile(chosen, copy)
        _editValue(case, copy, SOP_UID, _newUID(case.rng), vr=None)
    elif variant == "hardLink":
        os.link(chosen, os.path.join(case.input, "linked-" + os.path.basename(chosen)))
    elif variant == "removeOne":
        os.remove(chosen)
    elif variant == "keepOne":
        for path in files:
            if path != chosen:
                os.remove(path)
    elif variant == "removeAll":
        for path in files:
            os.remove(path)
    elif variant == "secondSeries":
        other = case.rng.choice(findBases())
        os.makedirs(os.path.join(case.input, "other"))
        for path in other.files:
            shutil.copyfile(path, os.path.join(case.input, "other", os.path.basename(path)))
        case.record("second series", other=other.name)
    elif variant == "deepFolders":
        depth = case.rng.choice((100, 300, 1200))
        folder = case.input
        for _ in range(depth):  # os.makedirs recurses once per level
            folder = os.path.join(folder, "d")
            os.mkdir(folder)
        os.rename(chosen, os.path.join(folder, os.path.basename(chosen)))
        case.record("moved into nested folders", depth=depth)
    else:
        case.targets = ["input", "input"]
    case.record(variant, file=case.relative(chosen))


@mutator("fifo", weight=0.3)
def fifo(case: Case) -> None:
    """A FIFO named x.dcm in the series folder (nobody ever writes to it); sometimes given as the path itself."""
    path = os.path.join(case.input, "x.dcm")
    os.mkfifo(path)
    if case.rng.random() < 0.3:
        case.targets = ["input/x.dcm"]
    case.mustMention.append("x.dcm")
    case.record("FIFO", path=case.relative(path), targets=case.targets)


@mutator("symlinks", weight=1.0)
def symlinks(case: Case) -> None:
    """Directory symlinks (to a sibling, loops), dangling and self-referencing file links, links to devices."""
    variant = case.rng.choice(
        ("dirToSibling", "dirLoop", "dirLoopUp", "dangling", "selfLoop", "devZero", "devNull", "fileAlias",
         "targetIsLink")
    )  # fmt: skip
    input = case.input
    if variant == "dirToSibling":
        outside = os.path.join(case.caseFolder, "outside")
        os.makedirs(outside)
        for path in case.dicomFiles()[:1]:
            shutil.copyfile(path, os.path.join(outside, os.path.basename(path)))
        os.symlink("../outside", os.path.join(input, "linked"))
    elif variant == "dirLoop":
        os.symlink(".", os.path.join(input, "loop"))
    elif variant == "dirLoopUp":
        os.makedirs(os.path.join(input, "a"))
        os.symlink("../..", os.path.join(input, "a", "up"))
    elif variant == "dangling":
        os.symlink("does-not-exist.dcm", os.path.join(input, "gone.dcm"))
    elif variant == "selfLoop":
        os.symlink("self.dcm", os.path.join(input, "self.dcm"))
    elif variant == "devZero":
        os.symlink("/dev/zero", os.path.join(input, "zero.dcm"))
    elif variant == "devNull":
        os.symlink("/dev/null", os.path.join(input, "null.dcm"))
    elif variant == "fileAlias":
        os.symlink(os.path.basename(case.dicomFiles()[0]), os.path.join(input, "alias.dcm"))
    else:
        os.symlink("input", os.path.join(case.caseFolder, "link"))
        case.targets = ["link"]
    case.record(variant)


@mutator("hiddenEntries", weight=0.5)
def hiddenEntries(case: Case) -> None:
    """Hidden files and folders (skipped by design), and a hidden folder given as the path itself."""
    chosen = case.rng.choice(case.dicomFiles())
    variant = case.rng.choice(("hiddenFile", "hiddenFolder", "hiddenTarget"))
    if variant == "hiddenFile":
        shutil.copyfile(chosen, os.path.join(case.input, ".hidden.dcm"))
        _write(os.path.join(case.input, "._" + os.path.basename(chosen)), b"\0" * 4096)  # macOS resource fork
    elif variant == "hiddenFolder":
        os.makedirs(os.path.join(case.input, ".git", "objects"))
        shutil.copyfile(chosen, os.path.join(case.input, ".git", "objects", "x.dcm"))
    else:
        hidden = os.path.join(case.input, ".series")
        os.makedirs(hidden)
        for path in case.dicomFiles():
            shutil.move(path, os.path.join(hidden, os.path.basename(path)))
        case.targets = ["input/.series"]
    case.record(variant)


@mutator("unreadable", weight=0.7)
def unreadable(case: Case) -> None:
    """Mode 000 sub-folder, file or the given folder itself.

    Root ignores permission bits, so the harness runs these cases without
    CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (``unprivileged``); the modes are
    part of the generated folder.
    """
    variant = case.rng.choice(("subFolder", "file", "target", "listOnly"))
    files = case.dicomFiles()
    if variant in ("subFolder", "listOnly"):
        locked = os.path.join(case.input, "locked")
        os.makedirs(locked)
        for path in files[: max(1, len(files) // 2)]:
            shutil.move(path, os.path.join(locked, os.path.basename(path)))
        os.chmod(locked, 0 if variant == "subFolder" else 0o111)
        case.mustMention.append("locked")
    elif variant == "file":
        chosen = case.rng.choice(files)
        os.chmod(chosen, 0)
        case.mustMention.append(os.path.basename(chosen))
    else:
        os.chmod(case.input, 0)
        case.mustMention.append("input")
    case.unprivileged = True
    case.record(variant)


@mutator("bigZeroFile", weight=0.3)
def bigZeroFile(case: Case) -> None:
    """A large all-zero file (sparse) named big.dcm, or a real header whose PixelData claims the whole size."""
    size = case.options.bigFileBytes
    path = os.path.join(case.input, "big.dcm")
    variant = case.rng.choice(("zeros", "headerThenZeros"))
    if variant == "zeros":
        _write(path, b"")
    else:
        raw = _readRaw(case.rng.choice(case.dicomFiles()))
        pixel = raw.find(rawdicom.PIXEL_DATA)
        header = raw.data[: pixel.start]
        vr = b"OW" if raw.explicit else None
        length = size - len(header) - (12 if raw.explicit else 8)
        header += rawdicom.elementHeader(rawdicom.PIXEL_DATA, vr, length & ~1, explicit=raw.explicit)
        _write(path, header)
    os.truncate(path, size)
    case.record(variant, bytes=size)


@mutator("emptyFiles", weight=0.7)
def emptyFiles(case: Case) -> None:
    """0-byte files, a lone preamble, a meta group without data set; sometimes nothing else in the folder."""
    first = case.dicomFiles()[0]
    raw = _readRaw(first)
    _write(os.path.join(case.input, "empty.dcm"), b"")
    _write(os.path.join(case.input, "DICOMDIR"), b"")
    _write(os.path.join(case.input, "preamble.dcm"), bytes(128) + b"DICM")
    _write(os.path.join(case.input, "meta-only.dcm"), raw.data[: raw.meta[-1].end])
    os.makedirs(os.path.join(case.input, "empty-folder"))
    onlyEmpty = case.rng.random() < 0.4
    if onlyEmpty:
        for path in case.dicomFiles():
            if os.path.getsize(path) > 200 and os.path.basename(path) != "meta-only.dcm":
                os.remove(path)
    case.record("empty files", nothingElse=onlyEmpty)


@mutator("oddNames", weight=0.7)
def oddNames(case: Case) -> None:
    """File and folder names with newlines, non-UTF-8 bytes, escapes, 250 characters, a leading dash."""
    name = case.rng.choice(ODD_NAMES)
    chosen = case.rng.choice(case.dicomFiles())
    if case.rng.random() < 0.3:
        folder = os.path.join(os.fsencode(case.input), name.replace(b".dcm", b""))
        os.makedirs(folder)
        os.rename(os.fsencode(chosen), os.path.join(folder, b"slice.dcm"))
        case.record("odd folder name", name=name)
    else:
        os.rename(os.fsencode(chosen), os.path.join(os.fsencode(case.input), name))
        case.record("odd file name", name=name)


@mutator("missingTarget", weight=0.4)
def missingTarget(case: Case) -> None:
    """The path given does not exist, is empty, is a non-DICOM file, or names a child of a file."""
    variant = case.rng.choice(("missing", "emptyString", "textFile", "childOfFile"))
    if variant == "textFile":
        _write(os.path.join(case.input, "notes.txt"), b"not DICOM\n")
    case.targets = {
        "missing": ["input/does-not-exist"],
        "emptyString": [""],
        "textFile": ["input/notes.txt"],
        "childOfFile": [case.relative(case.dicomFiles()[0]) + "/child"],
    }[variant]
    case.record(variant, targets=case.targets)


# --------------------------------------------------------------------------- cases


def caseFolderName(index: int) -> str:
    return f"case-{index:06d}"


def chooseMutator(rng: random.Random, index: int) -> Mutator:
    """The first len(MUTATORS) indices take every family once; later ones draw by weight."""
    if index < len(MUTATORS):
        return MUTATORS[index]
    return rng.choices(MUTATORS, weights=[item.weight for item in MUTATORS])[0]


def generateCase(seed: int, index: int, root: str, options: Optional[Options] = None, dicomRoot: str = DICOM) -> dict:
    """Write case ``index`` of ``seed`` under ``root`` (replacing an earlier copy); return its manifest."""
    options = options or Options()
    rng = random.Random(f"{seed}:{index}")
    family = chooseMutator(rng, index)
    bases = [base for base in findBases(dicomRoot) if family.accepts(base)]
    base = rng.choice(bases)
    caseFolder = os.path.join(root, caseFolderName(index))
    removeTree(caseFolder)
    os.makedirs(os.path.join(caseFolder, "input"))
    for path in base.files:
        shutil.copyfile(path, os.path.join(caseFolder, "input", os.path.basename(path)))
    case = Case(seed, index, rng, caseFolder, base, options)
    case.family = family.name
    family.apply(case)
    if rng.random() < SECONDARY_PROBABILITY:
        second = rng.choice([item for item in MUTATORS if item.secondary and item is not family])
        if case.dicomFiles() and second.accepts(base):
            case.family = second.name
            second.apply(case)
    manifest = case.manifest()
    with open(os.path.join(caseFolder, "manifest.json"), "w") as stream:
        json.dump(manifest, stream, indent=1)
    return manifest


def removeTree(path: str) -> None:
    """Remove a case folder whatever it holds (modes 000, FIFOs, symlink loops, 1,200 nested folders).

    Iterative and by descriptor-free relative walking of absolute paths, so
    neither recursion depth nor symlinks matter; never follows a symlink.
    """
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        os.remove(path)
        return
    folders, stack = [], [path]
    while stack:
        folder = stack.pop()
        os.chmod(folder, 0o700)
        folders.append(folder)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.remove(entry.path)
    for folder in reversed(folders):
        os.rmdir(folder)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Write fuzz case folders (see the module docstring).")
    parser.add_argument("--seed", type=int, required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--index", type=int, help="write this one case")
    group.add_argument("--count", type=int, help="write cases 0..COUNT-1")
    parser.add_argument("--out", required=True, help="folder to write case-NNNNNN folders into")
    parser.add_argument("--big-file-bytes", type=int, default=GIB, help="size of the zero-filled file (default 1 GiB)")
    arguments = parser.parse_args(argv)
    options = Options(bigFileBytes=arguments.big_file_bytes)
    indices = [arguments.index] if arguments.index is not None else range(arguments.count)
    for index in indices:
        manifest = generateCase(arguments.seed, index, arguments.out, options)
        print(f"{caseFolderName(index)}: {manifest['family']} on {manifest['base']}: {manifest['mutations']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
