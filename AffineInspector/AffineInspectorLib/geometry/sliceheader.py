"""One slice's geometry attributes, and the rules that decide whether they are usable.

Shared by both header readers (:mod:`.headers`, pydicom; :mod:`.fastreader`,
raw bytes) so that both apply exactly the same validation and messages.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple


@dataclasses.dataclass
class SliceHeader:
    """Geometry attributes of one slice: one file, or one frame of a multi-frame file.

    Vectors are in the DICOM patient frame (LPS), in mm. ``geometryProblems``
    lists, in plain words, why position, orientation or spacing is unusable;
    the corresponding attribute is then ``None``.
    """

    file: str
    frame: Optional[int] = None
    seriesInstanceUID: str = ""
    sopInstanceUID: str = ""
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
    geometryProblems: List[str] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        """The file name, with ``[frame N]`` (1-based, as DICOM counts frames) for a frame."""
        return self.file if self.frame is None else f"{self.file} [frame {self.frame + 1}]"

    @property
    def hasGeometry(self) -> bool:
        return self.position is not None and self.orientation is not None and self.pixelSpacing is not None


def setGeometry(header: SliceHeader, positionSource, orientationSource, measuresSource) -> None:
    """Validate and store IPP, IOP and PixelSpacing, recording each problem in plain words."""
    header.position = _validVector(header, positionSource, "ImagePositionPatient", 3, lambda values: None)
    header.orientation = _validVector(header, orientationSource, "ImageOrientationPatient", 6, orientationProblem)
    header.pixelSpacing = _validVector(header, measuresSource, "PixelSpacing", 2, spacingProblem)


def _validVector(header, source, keyword, count, extraCheck):
    raw = source.get(keyword) if source is not None else None
    if raw is None or raw == "" or (hasattr(raw, "__len__") and len(raw) == 0):
        header.geometryProblems.append(f"{keyword} is missing")
        return None
    values = raw if isinstance(raw, (list, tuple)) or hasattr(raw, "__iter__") and not isinstance(raw, str) else [raw]
    try:
        numbers = tuple(float(value) for value in values)
    except (TypeError, ValueError):
        header.geometryProblems.append(f"{keyword} is not numeric ({_shown(raw)})")
        return None
    if len(numbers) != count:
        header.geometryProblems.append(f"{keyword} has {len(numbers)} values instead of {count} ({_shown(raw)})")
        return None
    if not all(math.isfinite(number) for number in numbers):
        header.geometryProblems.append(f"{keyword} is not finite ({_shown(raw)})")
        return None
    problem = extraCheck(numbers)
    if problem:
        header.geometryProblems.append(f"{keyword} {problem}")
        return None
    return numbers


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


def _shown(raw) -> str:
    text = "\\".join(str(value) for value in raw) if isinstance(raw, (list, tuple)) else str(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def firstItem(sequence):
    try:
        return sequence[0] if sequence else None
    except (TypeError, IndexError):
        return None


def firstValue(value):
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (str, bytes))):
        values = list(value)
        return values[0] if values else None
    return value


def joinedValues(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return "\\".join(str(item) for item in value)
    except TypeError:
        return str(value)


def optionalInt(value) -> Optional[int]:
    try:
        if value is None or value == "":
            return None
        return int(float(value))
    except (TypeError, ValueError):
        return None


def optionalFloat(value) -> Optional[float]:
    try:
        if value is None or value == "":
            return None
        number = float(value)
        return number if math.isfinite(number) else None
    except (TypeError, ValueError):
        return None
