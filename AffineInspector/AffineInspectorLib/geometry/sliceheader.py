"""One slice's geometry attributes, and the rules that decide whether they are usable.

Shared by both header readers (:mod:`.headers`, pydicom; :mod:`.fastreader`,
raw bytes) so that both apply exactly the same validation and messages.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

from .mosaic import MosaicFile


@dataclasses.dataclass
class SliceHeader:
    """Geometry attributes of one slice: one file, one frame of a multi-frame file, or one tile of a mosaic.

    Vectors are in the DICOM patient frame (LPS), in mm. ``geometryProblems``
    lists, in plain words, why position, orientation or spacing is unusable;
    the corresponding attribute is then ``None``. A de-mosaicked slice has
    ``tile`` (its 0-based tile index, row-major from the top-left tile) and
    ``mosaic`` (the file's :class:`~.mosaic.MosaicFile`, shared by its
    tiles); its position is the tile's own and ``rows``/``columns`` the tile
    size. A mosaic whose tiles cannot be placed gives one header with
    ``mosaic.problem`` set and ``tile`` None.
    """

    file: str
    frame: Optional[int] = None
    tile: Optional[int] = None
    mosaic: Optional[MosaicFile] = None
    seriesInstanceUID: str = ""
    sopInstanceUID: str = ""
    sopClassUID: str = ""
    manufacturer: str = ""
    seriesDescription: str = ""
    seriesNumber: Optional[int] = None
    modality: str = ""
    instanceNumber: Optional[int] = None
    position: Optional[Tuple[float, float, float]] = None
    orientation: Optional[Tuple[float, ...]] = None
    pixelSpacing: Optional[Tuple[float, float]] = None
    rows: Optional[int] = None
    columns: Optional[int] = None
    frameOfReferenceUID: str = ""
    sliceThickness: Optional[float] = None
    spacingBetweenSlices: Optional[float] = None
    gantryDetectorTilt: Optional[float] = None
    numberOfFrames: int = 1
    # Attributes that tell apart images at the same position (4D series).
    imageType: str = ""
    acquisitionNumber: Optional[int] = None
    echoNumber: Optional[int] = None
    temporalPosition: Optional[int] = None
    triggerTime: Optional[float] = None
    echoTime: Optional[float] = None
    acquisitionTime: str = ""
    diffusionBValue: Optional[float] = None
    diffusionGradientOrientation: Optional[Tuple[float, float, float]] = None
    geometryProblems: List[str] = dataclasses.field(default_factory=list)
    valueProblems: List[str] = dataclasses.field(default_factory=list)
    """Other values present but not used (not a number, not finite, out of :data:`VALUE_RANGES`), in plain
    words naming the attribute and its tag; the slice is kept (``invalidValue`` findings)."""

    @property
    def label(self) -> str:
        """The file name, with ``[frame N]`` (1-based, as DICOM counts frames) for a frame, ``[tile N]`` for a tile."""
        if self.tile is not None:
            return f"{self.file} [tile {self.tile + 1}]"
        return self.file if self.frame is None else f"{self.file} [frame {self.frame + 1}]"

    @property
    def hasGeometry(self) -> bool:
        return self.position is not None and self.orientation is not None and self.pixelSpacing is not None


# The geometry of a usable slice. Admission rules (``missingGeometry``) leave every slice without IPP, IOP or
# PixelSpacing out of the stack, so what comes after them (the sorted Stack, the checks, a loaded volume's slices
# once ``hasGeometry`` was tested) sees only usable slices: these narrow the Optional fields there, in one place.


def positionOf(header: SliceHeader) -> Tuple[float, float, float]:
    """``header.position`` of a usable slice (``hasGeometry``); AssertionError for one without."""
    assert header.position is not None, f"{header.label}: no ImagePositionPatient (not a usable slice)"
    return header.position


def orientationOf(header: SliceHeader) -> Tuple[float, ...]:
    """``header.orientation`` of a usable slice (``hasGeometry``); AssertionError for one without."""
    assert header.orientation is not None, f"{header.label}: no ImageOrientationPatient (not a usable slice)"
    return header.orientation


def pixelSpacingOf(header: SliceHeader) -> Tuple[float, float]:
    """``header.pixelSpacing`` of a usable slice (``hasGeometry``); AssertionError for one without."""
    assert header.pixelSpacing is not None, f"{header.label}: no PixelSpacing (not a usable slice)"
    return header.pixelSpacing


GeometryCache = Dict[Tuple[int, str], Tuple[Optional[Tuple[float, ...]], Optional[str]]]
"""(id of a source, keyword) -> (value, problem): see :func:`setGeometry`."""


def setGeometry(
    header: SliceHeader,
    positionSource: Any,
    orientationSource: Any,
    measuresSource: Any,
    *,
    cache: Optional[GeometryCache] = None,
) -> None:
    """Validate and store IPP, IOP and PixelSpacing, recording each problem in plain words.

    Each source is a pydicom Dataset (or functional-group item) holding the attribute, or ``None``.
    ``cache``: a dict the caller keeps only while every source it passed lives (keys are object ids): each
    (source, attribute) is validated once. The frames of a multi-frame file share their shared groups' items.
    """
    found: List[Optional[Tuple[float, ...]]] = []
    for source, (keyword, count, extraCheck) in zip((positionSource, orientationSource, measuresSource), _GEOMETRY):
        key = (id(source), keyword)
        result = cache.get(key) if cache is not None else None
        if result is None:
            result = _validVector(source, keyword, count, extraCheck)
            if cache is not None:
                cache[key] = result
        value, problem = result
        if problem:
            header.geometryProblems.append(problem)
        found.append(value)
    # _validVector returns exactly ``count`` values or None; the casts say so to the type checker.
    header.position = cast(Optional[Tuple[float, float, float]], found[0])
    header.orientation = found[1]
    header.pixelSpacing = cast(Optional[Tuple[float, float]], found[2])


def _validVector(
    source: Any, keyword: str, count: int, extraCheck: Callable[[Sequence[float]], Optional[str]]
) -> Tuple[Optional[Tuple[float, ...]], Optional[str]]:
    """``(count numbers, None)``, or ``(None, why not)``."""
    raw = source.get(keyword) if source is not None else None
    if raw is None or raw == "" or (hasattr(raw, "__len__") and len(raw) == 0):
        return None, f"{keyword} is missing"
    values = raw if isinstance(raw, (list, tuple)) or hasattr(raw, "__iter__") and not isinstance(raw, str) else [raw]
    try:
        numbers = tuple(float(value) for value in values)
    except (TypeError, ValueError):
        return None, f"{keyword} is not numeric ({_shown(raw)})"
    if len(numbers) != count:
        return None, f"{keyword} has {len(numbers)} values instead of {count} ({_shown(raw)})"
    if not all(math.isfinite(number) for number in numbers):
        return None, f"{keyword} is not finite ({_shown(raw)})"
    problem = extraCheck(numbers)
    if problem:
        return None, f"{keyword} {problem}"
    return numbers, None


POSITION_LIMIT_MM = 1e7
"""Largest |coordinate| of ImagePositionPatient accepted (10 km): beyond it a position is not a patient's, and
differences or squares of values near 1e154 overflow to infinity in the geometry."""
DIRECTION_LENGTH_RANGE = (1e-6, 1e3)
"""Lengths of IOP's row and column vectors accepted (they should be 1; ``nonOrthonormalOrientation`` says how
far they are): outside, a cross product or a matrix inverse leaves the floating-point range."""
PIXEL_SPACING_RANGE_MM = (1e-6, 1e5)
"""PixelSpacing values accepted (mm): from 1 nm to 100 m."""


def positionProblem(values: Sequence[float]) -> Optional[str]:
    if max(abs(value) for value in values) > POSITION_LIMIT_MM:
        return f"is out of range (a coordinate beyond {POSITION_LIMIT_MM:g} mm: {_shown(values)})"
    return None


def orientationProblem(values: Sequence[float]) -> Optional[str]:
    if max(abs(value) for value in values) > DIRECTION_LENGTH_RANGE[1]:  # before squaring: 1e300 ** 2 is inf
        return f"is out of range (a direction far longer than 1: {_shown(values)})"
    rowNorm = math.sqrt(sum(value * value for value in values[:3]))
    columnNorm = math.sqrt(sum(value * value for value in values[3:]))
    if rowNorm < DIRECTION_LENGTH_RANGE[0] or columnNorm < DIRECTION_LENGTH_RANGE[0]:
        return f"has a zero direction ({_shown(values)})"
    cross = (
        values[1] * values[5] - values[2] * values[4],
        values[2] * values[3] - values[0] * values[5],
        values[0] * values[4] - values[1] * values[3],
    )
    if math.sqrt(sum(value * value for value in cross)) < 1e-6:
        return f"has parallel row and column directions ({_shown(values)})"
    return None


def spacingProblem(values: Sequence[float]) -> Optional[str]:
    if min(values) <= 0:
        return f"must be positive ({_shown(values)})"
    low, high = PIXEL_SPACING_RANGE_MM
    if min(values) < low or max(values) > high:
        return f"is out of range ({_shown(values)}; accepted: {low:g} to {high:g} mm)"
    return None


_GEOMETRY = (
    ("ImagePositionPatient", 3, positionProblem),
    ("ImageOrientationPatient", 6, orientationProblem),
    ("PixelSpacing", 2, spacingProblem),
)
"""The three attributes :func:`setGeometry` reads, in order: keyword, number of values, extra check."""


def frameCountProblem(
    numberOfFrames: int,
    *,
    rows: int,
    columns: int,
    samplesPerPixel: Optional[int],
    bitsAllocated: Optional[int],
    pixelDataBytes: int,
    encapsulated: bool,
) -> Optional[str]:
    """Why NumberOfFrames cannot be true of a file's pixel data (plain words), or ``None``.

    Checked before any per-frame work, by every reader of multi-frame headers, so that work and memory follow
    the file's size, not a claimed count. Native pixel data must hold ``rows * columns * samples * bits``
    bits per frame (bits packed across frames for BitsAllocated 1); with a SamplesPerPixel or BitsAllocated
    that gives no frame size, each frame needs at least one byte. Encapsulated (compressed) pixel data needs
    an 8-byte item header per frame after the basic offset table's.
    """
    if encapsulated:
        most = max(0, (pixelDataBytes - 8) // 8)
        where = f"the compressed pixel data ({pixelDataBytes} bytes) can hold at most {most}"
    else:
        samples = samplesPerPixel if samplesPerPixel is not None else 1
        bits = bitsAllocated if bitsAllocated is not None else 16
        frameBits = rows * columns * samples * bits if samples > 0 and bits in (1, 8, 16, 32, 64) else 8
        most = (max(0, pixelDataBytes) * 8) // max(1, frameBits)
        where = f"the pixel data ({pixelDataBytes} bytes) holds at most {most}"
    if numberOfFrames <= most:
        return None
    return f"NumberOfFrames (0028,0008) is {numberOfFrames} but {where} frames of {rows} x {columns}"


def _shown(raw: Any) -> str:
    text = "\\".join(str(value) for value in raw) if isinstance(raw, (list, tuple)) else str(raw)
    return text if len(text) <= 80 else text[:77] + "..."


VALUE_RANGES = {
    "SliceThickness": ("0018,0050", 0.0, 1e5),
    "SpacingBetweenSlices": ("0018,0088", -1e5, 1e5),
    "GantryDetectorTilt": ("0018,1120", -360.0, 360.0),
    "TriggerTime": ("0018,1060", -1e9, 1e9),
    "EchoTime": ("0018,0081", -1e9, 1e9),
    "EffectiveEchoTime": ("0018,9082", -1e9, 1e9),
    "DiffusionBValue": ("0018,9087", -1e6, 1e6),
    "DiffusionGradientOrientation": ("0018,9089", -1e3, 1e3),
    "SeriesNumber": ("0020,0011", -(2**31), 2**31 - 1),
    "InstanceNumber": ("0020,0013", -(2**31), 2**31 - 1),
    "AcquisitionNumber": ("0020,0012", -(2**31), 2**31 - 1),
    "EchoNumbers": ("0018,0086", -(2**31), 2**31 - 1),
    "TemporalPositionIdentifier": ("0020,0100", -(2**31), 2**31 - 1),
    "TemporalPositionIndex": ("0020,9128", 0, 2**32 - 1),
    "NumberOfFrames": ("0028,0008", 1, 2**31 - 1),
}
"""Keyword -> (tag, lowest, highest) of the numbers read besides geometry: a value outside (or not a finite
number) is not used, and an ``invalidValue`` finding names it. Integer ranges are the VR's (IS: 32-bit
signed); the others are generous bounds that only absurd values leave."""


def checkedFloat(problems: List[str], keyword: str, value: Any) -> Optional[float]:
    """:func:`optionalFloat` that records, in ``problems``, why a present value is not used."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{_named(keyword)} is not a number ({_shown(value)})")
        return None
    return _inRange(problems, keyword, number, value)


def checkedInt(problems: List[str], keyword: str, value: Any) -> Optional[int]:
    """:func:`optionalInt` that records, in ``problems``, why a present value is not used."""
    checked = checkedFloat(problems, keyword, value)
    if checked is not None and not checked.is_integer():
        problems.append(f"{_named(keyword)} is not a whole number ({_shown(value)})")
        return None
    return None if checked is None else int(checked)


def checkedTriple(problems: List[str], keyword: str, value: Any) -> Optional[Tuple[float, float, float]]:
    """:func:`optionalTriple` that records, in ``problems``, why a present value is not used."""
    if value is None or (hasattr(value, "__len__") and len(value) == 0):
        return None
    triple = optionalTriple(value)
    if triple is None:
        problems.append(f"{_named(keyword)} is not three finite numbers ({_shown(value)})")
        return None
    if any(_inRange([], keyword, number, value) is None for number in triple):
        problems.append(f"{_named(keyword)} is out of range ({_shown(value)})")
        return None
    return triple


def _inRange(problems: List[str], keyword: str, number: float, shown: Any) -> Optional[float]:
    if not math.isfinite(number):
        problems.append(f"{_named(keyword)} is not finite ({_shown(shown)})")
        return None
    _, low, high = VALUE_RANGES[keyword]
    if not low <= number <= high:
        problems.append(f"{_named(keyword)} is out of range ({_shown(shown)}; accepted: {low:g} to {high:g})")
        return None
    return number


def _named(keyword: str) -> str:
    return f"{keyword} ({VALUE_RANGES[keyword][0]})"


def firstItem(sequence: Any) -> Any:
    try:
        return sequence[0] if sequence else None
    except (TypeError, IndexError):
        return None


def firstValue(value: Any) -> Any:
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (str, bytes))):
        values = list(value)
        return values[0] if values else None
    return value


def joinedValues(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return "\\".join(str(item) for item in value)
    except TypeError:
        return str(value)


def optionalInt(value: Any) -> Optional[int]:
    try:
        if value is None or value == "":
            return None
        return int(float(value))
    except (TypeError, ValueError):
        return None


def optionalFloat(value: Any) -> Optional[float]:
    try:
        if value is None or value == "":
            return None
        number = float(value)
        return number if math.isfinite(number) else None
    except (TypeError, ValueError):
        return None


def optionalTriple(value: Any) -> Optional[Tuple[float, float, float]]:
    """Three finite numbers (e.g. DiffusionGradientOrientation) as a tuple, else ``None``."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        numbers = [float(item) for item in value]
    except (TypeError, ValueError):
        return None
    if len(numbers) != 3 or not all(math.isfinite(number) for number in numbers):
        return None
    return numbers[0], numbers[1], numbers[2]
