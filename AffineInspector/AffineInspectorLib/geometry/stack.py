"""One sorted slice stack and everything measured on it, built once; the checks only judge these numbers.

Conventions: slices are :class:`~.sliceheader.SliceHeader` records (LPS mm) in Slicer's sort order
(``ordered``). ``IJKToLPS`` uses Slicer IJK (i = column along IOP[0:3], j = row along IOP[3:6],
k = sorted slice position); ``rows[n]`` is the per-slice table row of ``ordered[n]``. Pure: numpy only.
"""

from __future__ import annotations

import dataclasses
import math
from operator import attrgetter
from typing import Any, Callable, List, Optional, Sequence, Set, Tuple

import numpy as np

from . import affines
from .findings import Tolerances
from .sliceheader import SliceHeader, orientationOf, pixelSpacingOf, positionOf


def _diffusion(header: SliceHeader) -> Tuple[Optional[float], Optional[Tuple[float, float, float]]]:
    return header.diffusionBValue, header.diffusionGradientOrientation


REPEAT_ATTRIBUTES: Tuple[Tuple[str, Callable[[SliceHeader], object]], ...] = (
    ("TemporalPositionIdentifier", attrgetter("temporalPosition")),
    ("ImageType", attrgetter("imageType")),
    ("EchoNumbers", attrgetter("echoNumber")),
    ("EchoTime", attrgetter("echoTime")),
    ("TriggerTime", attrgetter("triggerTime")),
    ("DiffusionBValue", attrgetter("diffusionBValue")),
    ("DiffusionGradientOrientation", attrgetter("diffusionGradientOrientation")),
    ("DiffusionBValue + DiffusionGradientOrientation", _diffusion),
    ("AcquisitionNumber", attrgetter("acquisitionNumber")),
    ("AcquisitionTime", attrgetter("acquisitionTime")),
    ("InstanceNumber", attrgetter("instanceNumber")),
    ("file", attrgetter("file")),
)
"""``(what to call it, how to read it from a SliceHeader)`` for the attributes that may tell apart images at
one position (4D), in the order they are tried when naming what repeats. Enhanced multi-frame values come
from the per-frame functional groups (TemporalPositionIndex, FrameType, MREchoSequence, MRDiffusionSequence).
Slicer's MultiVolumeImporter separates volumes by most of these too (and, as a last resort for GE, by
InstanceNumber at each position)."""


@dataclasses.dataclass(frozen=True)
class SliceRow:
    """One row of the per-slice table, in sorted order.

    ``index`` is the row's position in sorted order (the ``slice`` of the
    findings); ``k`` is the slice index of the 3D grid it belongs to (equal to
    ``index`` unless positions repeat); ``volume`` the volume of a 4D series
    it belongs to, the rank of its ``repeatedBy`` value at that position (0
    for 3D series; 1, 2, ... for duplicates). Positions are LPS mm. ``distance`` is along
    the unit slice normal from the first sorted slice; ``step`` the same from
    the previous position (``None`` for the first); ``tilt`` the angle
    (degrees) between that IPP step and the normal; ``affineError`` the
    distance (mm) between this slice's IPP and where ``IJKToLPS`` puts voxel
    ``(0, 0, k)``; ``flags`` the kinds of the findings on this slice.
    ``frame`` is the 0-based frame of a multi-frame file, ``tile`` the
    0-based tile of a mosaic (row-major from the top-left tile), else None.
    """

    index: int
    k: int
    volume: int
    file: str
    frame: Optional[int]
    instanceNumber: Optional[int]
    position: Tuple[float, float, float]
    distance: float
    step: Optional[float]
    tilt: Optional[float]
    affineError: Optional[float] = None
    flags: Tuple[str, ...] = ()
    tile: Optional[int] = None

    @property
    def part(self) -> str:
        """``"frame N"`` or ``"tile N"`` (1-based) for a slice that is part of a file, else ``""``."""
        if self.tile is not None:
            return f"tile {self.tile + 1}"
        return "" if self.frame is None else f"frame {self.frame + 1}"


@dataclasses.dataclass(frozen=True)
class SliceStep:
    """The k column of ``IJKToLPS`` (LPS mm) and where it came from."""

    vector: np.ndarray
    source: str
    """``"positions"`` ((IPP_last - IPP_first) / (N - 1)), or for one position the attribute the thickness
    came from: ``"SpacingBetweenSlices"``, ``"SliceThickness"`` or a default of 1.0 mm."""
    thicknessMm: Optional[float] = None
    """For one position: the thickness used along the normal."""


@dataclasses.dataclass(frozen=True)
class InstanceOrder:
    """How InstanceNumber runs along k: ``ascending``, ``descending``, ``notSpatial`` (neither), ``mixed``
    (volumes of a 4D series disagree) or ``unknown`` (fewer than two numbers). For ``notSpatial``,
    ``breakingRow`` is the first row whose number breaks the majority trend (``rising`` True or False)."""

    order: str
    breakingRow: Optional[SliceRow] = None
    rising: Optional[bool] = None


@dataclasses.dataclass(frozen=True)
class Stack:
    """A series' usable slices, sorted, and every measurement the checks judge.

    ``groups`` lists, per position, the indices into ``ordered`` of the
    slices at that position (within ``duplicateToleranceMm``);
    ``positions`` is the first slice of each group (the 3D stack).
    ``seriesTiltDeg`` is the angle (0 to 90 degrees) between ``IPP_last -
    IPP_first`` and the slice normal; ``signedTiltDeg`` the same vectors in
    dcm2niix's signed convention (:func:`.affines.signedTiltDegrees`).
    """

    ordered: Tuple[SliceHeader, ...]
    reference: SliceHeader
    groups: Tuple[Tuple[int, ...], ...]
    positions: Tuple[SliceHeader, ...]
    numberOfVolumes: int
    repeatedBy: Optional[str]
    unitNormal: np.ndarray
    step: SliceStep
    IJKToLPS: np.ndarray
    rows: Tuple[SliceRow, ...]
    maxAffineErrorMm: float
    seriesTiltDeg: Optional[float]
    signedTiltDeg: Optional[float]
    instanceOrder: InstanceOrder

    @property
    def positionRows(self) -> List[SliceRow]:
        """The row of the first slice at each position (the rows that have a step and a tilt)."""
        return [self.rows[group[0]] for group in self.groups]

    @property
    def isSingleSlice(self) -> bool:
        return len(self.ordered) == 1


def stepOf(row: SliceRow) -> float:
    """``row.step`` of a row that has one, as each of :attr:`Stack.positionRows` but the first; else AssertionError."""
    assert row.step is not None, f"slice {row.index} has no step (it is the first position)"
    return row.step


def tiltOf(row: SliceRow) -> float:
    """``row.tilt`` of a row that has one, as each of :attr:`Stack.positionRows` but the first; else AssertionError."""
    assert row.tilt is not None, f"slice {row.index} has no tilt (the first position, or a repeat at a position)"
    return row.tilt


def buildStack(ordered: Sequence[SliceHeader], reference: SliceHeader, limits: Tolerances) -> Stack:
    """Measure a sorted stack: positions, repeats (4D), step, ``IJKToLPS``, rows, tilt and InstanceNumber order.

    ``ordered`` are usable slices (geometry present, orientation of ``reference``) in Slicer's sort order;
    ``reference`` is the slice whose IOP and PixelSpacing the affine uses (the first file as found).
    """
    sortedSlices = tuple(ordered)
    unitNormal = affines.sliceNormal(orientationOf(reference))
    unitNormal = unitNormal / np.linalg.norm(unitNormal)
    groups = positionGroups(sortedSlices, limits.duplicateToleranceMm)
    positions = tuple(sortedSlices[group[0]] for group in groups)
    numberOfVolumes, repeatedBy = repeats(sortedSlices, groups)
    volumeOf = volumeIndices(sortedSlices, groups, repeatedBy)
    step = sliceStep(positions, unitNormal)
    IJKToLPS = affines.IJKToLPSFromDICOM(
        positionOf(positions[0]), orientationOf(reference), pixelSpacingOf(reference), step.vector
    )
    rows, maxAffineErrorMm = _rows(sortedSlices, groups, volumeOf, unitNormal, IJKToLPS)
    span = np.subtract(positionOf(positions[-1]), positionOf(positions[0])) if len(positions) >= 2 else None
    seriesTilt = affines.lineAngleDegrees(span, unitNormal) if span is not None else None
    signedTilt = affines.signedTiltDegrees(span, orientationOf(reference)) if span is not None else None
    return Stack(
        ordered=sortedSlices,
        reference=reference,
        groups=groups,
        positions=positions,
        numberOfVolumes=numberOfVolumes,
        repeatedBy=repeatedBy,
        unitNormal=unitNormal,
        step=step,
        IJKToLPS=IJKToLPS,
        rows=rows,
        maxAffineErrorMm=maxAffineErrorMm,
        seriesTiltDeg=seriesTilt,
        signedTiltDeg=signedTilt,
        instanceOrder=instanceOrderAlongK(rows, numberOfVolumes),
    )


def positionGroups(ordered: Sequence[SliceHeader], toleranceMm: float) -> Tuple[Tuple[int, ...], ...]:
    """Group consecutive sorted slices whose IPPs lie within ``toleranceMm`` of the group's first."""
    groups: List[List[int]] = []
    for index, header in enumerate(ordered):
        if groups and math.dist(positionOf(header), positionOf(ordered[groups[-1][0]])) <= toleranceMm:
            groups[-1].append(index)
        else:
            groups.append([index])
    return tuple(tuple(group) for group in groups)


def repeats(ordered: Sequence[SliceHeader], groups: Sequence[Sequence[int]]) -> Tuple[int, Optional[str]]:
    """Return the number of volumes and the DICOM keyword that differs between them (``None`` for 3D).

    Positions that all repeat the same number of times M >= 2 (and there are
    at least two positions) make a 4D series of M volumes; otherwise every
    position contributes its first slice and repeats are duplicates.
    """
    counts = {len(group) for group in groups}
    if len(groups) < 2 or len(counts) != 1 or counts == {1}:
        return 1, None
    volumes = counts.pop()
    atFirstPosition = [ordered[index] for index in groups[0]]
    for keyword, value in REPEAT_ATTRIBUTES:
        if len({value(header) for header in atFirstPosition}) == volumes:
            return volumes, keyword
    return volumes, "unknown"


def volumeIndices(
    ordered: Sequence[SliceHeader], groups: Sequence[Sequence[int]], repeatedBy: Optional[str]
) -> List[int]:
    """Which volume each sorted slice belongs to: at each position, the rank of its ``repeatedBy`` value.

    As Slicer's MultiVolumeImporter orders the frames of a 4D series (by the
    value of the tag that tells them apart), so that volume ``v`` holds the
    same time point (echo, b-value, ...) at every position whatever order the
    files were found in. Ties, and a series whose repeats have no known tag,
    keep the sorted order. 0 for every slice of a 3D series.
    """
    volumeOf = [0] * len(ordered)
    read = dict(REPEAT_ATTRIBUTES).get(repeatedBy or "")
    for group in groups:
        members = sorted(group, key=lambda index: _orderKey(read(ordered[index])) if read else ())
        for volume, index in enumerate(members):
            volumeOf[index] = volume
    return volumeOf


def _orderKey(value: object) -> Tuple[Any, ...]:
    """A sort key for a repeat value: numbers by value, text as text, tuples element-wise, ``None`` last."""
    if value is None:
        return (1,)
    if isinstance(value, tuple):
        return (0, tuple(_orderKey(item) for item in value))
    if isinstance(value, (int, float)):
        return (0, float(value))
    return (0, str(value))


def volumeSlices(stack: Stack) -> List[List[SliceHeader]]:
    """The slices of each volume of the stack, in k order (one list for a 3D stack)."""
    volumes: List[List[SliceHeader]] = [[] for _ in range(stack.numberOfVolumes)]
    for row, header in zip(stack.rows, stack.ordered):
        if row.volume < len(volumes):
            volumes[row.volume].append(header)
    return volumes


def sliceStep(positions: Sequence[SliceHeader], unitNormal: np.ndarray) -> SliceStep:
    """The k column of ``IJKToLPS``: ``(IPP_last - IPP_first) / (N - 1)`` over the positions (shear kept).

    With one position there is no step to measure: the normal times
    SpacingBetweenSlices, else SliceThickness, else 1.0 mm.
    """
    if len(positions) >= 2:
        vector = (np.asarray(positionOf(positions[-1])) - np.asarray(positionOf(positions[0]))) / (len(positions) - 1)
        return SliceStep(vector, "positions")
    header = positions[0]
    if header.spacingBetweenSlices and header.spacingBetweenSlices > 0:
        thickness, source = header.spacingBetweenSlices, "SpacingBetweenSlices"
    elif header.sliceThickness and header.sliceThickness > 0:
        thickness, source = header.sliceThickness, "SliceThickness"
    else:
        thickness, source = 1.0, "a default of 1.0 mm (neither SpacingBetweenSlices nor SliceThickness is set)"
    return SliceStep(unitNormal * thickness, source, float(thickness))


def _rows(
    ordered: Sequence[SliceHeader],
    groups: Sequence[Sequence[int]],
    volumeOf: Sequence[int],
    unitNormal: np.ndarray,
    IJKToLPS: np.ndarray,
) -> Tuple[Tuple[SliceRow, ...], float]:
    """The per-slice rows, and the largest ``affineError`` among them (mm)."""
    positions = np.asarray([positionOf(header) for header in ordered], dtype=float)
    distances = ((positions - positions[0]) @ unitNormal).tolist()
    stackSteps = np.diff(positions[[group[0] for group in groups]], axis=0)
    steps: List[Optional[float]] = [None, *(stackSteps @ unitNormal).tolist()]
    tilts: List[Optional[float]] = [None, *affines.lineAnglesDegrees(stackSteps, unitNormal).tolist()]
    kOfRow: np.ndarray = np.empty(len(ordered), dtype=int)
    for k, group in enumerate(groups):
        kOfRow[list(group)] = k
    predicted = IJKToLPS[:3, 3] + np.outer(kOfRow, IJKToLPS[:3, 2])
    errors = np.linalg.norm(positions - predicted, axis=1).tolist()
    rows: List[SliceRow] = []
    for index, header in enumerate(ordered):
        k = int(kOfRow[index])
        volume = volumeOf[index]
        firstAtPosition = index == groups[k][0]  # the row that carries the position's step and tilt
        rows.append(
            SliceRow(
                index=index,
                k=k,
                volume=volume,
                file=header.file,
                frame=header.frame,
                tile=header.tile,
                instanceNumber=header.instanceNumber,
                position=positionOf(header),
                distance=distances[index],
                step=steps[k] if firstAtPosition else 0.0,
                tilt=tilts[k] if firstAtPosition else None,
                affineError=errors[index],
            )
        )
    return tuple(rows), max(errors)


def instanceNumberTrend(numbers: Sequence[Optional[int]]) -> Tuple[str, Optional[int], Optional[bool]]:
    """How InstanceNumber runs along a sequence of slices: the one rule every report uses.

    Returns ``(order, breaking, rising)``: ``order`` is ``"ascending"``,
    ``"descending"``, ``"notSpatial"`` or ``"unknown"`` (fewer than two
    numbers, or all equal); for ``notSpatial``, ``breaking`` is the position
    in ``numbers`` of the first number that breaks the majority trend and
    ``rising`` that trend. ``None`` entries (no InstanceNumber) are skipped.

    Examples
    --------
    >>> instanceNumberTrend([3, 2, 1])
    ('descending', None, None)
    >>> instanceNumberTrend([1, 2, 4, 3, 5])
    ('notSpatial', 3, True)
    """
    numbered = [(position, number) for position, number in enumerate(numbers) if number is not None]
    if len(numbered) < 2:
        return "unknown", None, None
    differences = [b - a for (_, a), (_, b) in zip(numbered[:-1], numbered[1:])]
    rising = all(d >= 0 for d in differences)
    falling = all(d <= 0 for d in differences)
    if rising and falling:
        return "unknown", None, None
    if rising:
        return "ascending", None, None
    if falling:
        return "descending", None, None
    trend = 1 if sum(d > 0 for d in differences) >= sum(d < 0 for d in differences) else -1
    breaking = next(numbered[n + 1][0] for n, d in enumerate(differences) if d * trend < 0)
    return "notSpatial", breaking, trend > 0


def instanceOrderAlongK(rows: Sequence[SliceRow], numberOfVolumes: int) -> InstanceOrder:
    """:func:`instanceNumberTrend` for each volume of the stack on its own; the first non-spatial one wins."""
    trends: Set[str] = set()
    for volume in range(numberOfVolumes):
        sequence = [row for row in rows if row.volume == volume]
        order, breaking, rising = instanceNumberTrend([row.instanceNumber for row in sequence])
        if order == "notSpatial":
            assert breaking is not None  # instanceNumberTrend names the breaking position whenever it says notSpatial
            return InstanceOrder("notSpatial", sequence[breaking], rising)
        if order != "unknown" or len([row for row in sequence if row.instanceNumber is not None]) >= 2:
            trends.add(order)
    if len(trends) == 1:
        return InstanceOrder(trends.pop())
    return InstanceOrder("mixed" if {"ascending", "descending"} <= trends else "unknown")
