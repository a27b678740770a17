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


def _noProblem(values: Sequence[float]) -> Optional[str]:
    return None


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


def orientationProblem(values: Sequence[float]) -> Optional[str]:
    rowNorm = math.sqrt(sum(value * value for value in values[:3]))
    columnNorm = math.sqrt(sum(value * value for value in values[3:]))
    if rowNorm < 1e-6 or columnNorm < 1e-6:
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
    return None


_GEOMETRY = (
    ("ImagePositionPatient", 3, _noProblem),
    ("ImageOrientationPatient", 6, orientationProblem),
    ("PixelSpacing", 2, spacingProblem),
)
"""The three attributes :func:`setGeometry` reads, in order: keyword, number of values, extra check."""


def _shown(raw: Any) -> str:
    text = "\\".join(str(value) for value in raw) if isinstance(raw, (list, tuple)) else str(raw)
    return text if len(text) <= 80 else text[:77] + "..."


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
