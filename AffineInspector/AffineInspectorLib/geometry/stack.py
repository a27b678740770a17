"""One sorted slice stack and everything measured on it, built once; the checks only judge these numbers.

Conventions: slices are :class:`~.sliceheader.SliceHeader` records (LPS mm) in Slicer's sort order
(``ordered``). ``IJKToLPS`` uses Slicer IJK (i = column along IOP[0:3], j = row along IOP[3:6],
k = sorted slice position); ``rows[n]`` is the per-slice table row of ``ordered[n]``. Pure: numpy only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Set, Tuple

import numpy as np

from . import affines
from .findings import Tolerances
from .sliceheader import SliceHeader, orientationOf, pixelSpacingOf, positionOf

REPEAT_ATTRIBUTES = (
    ("temporalPosition", "TemporalPositionIdentifier"),
    ("imageType", "ImageType"),
    ("echoNumber", "EchoNumbers"),
    ("echoTime", "EchoTime"),
    ("triggerTime", "TriggerTime"),
    ("diffusionBValue", "DiffusionBValue"),
    ("acquisitionNumber", "AcquisitionNumber"),
    ("acquisitionTime", "AcquisitionTime"),
    ("file", "file"),
)
"""``(SliceHeader attribute, DICOM keyword)`` that may tell apart images at one position (4D), in the order
they are tried when naming what repeats."""


@dataclasses.dataclass(frozen=True)
class SliceRow:
    """One row of the per-slice table, in sorted order.

    ``index`` is the row's position in sorted order (the ``slice`` of the
    findings); ``k`` is the slice index of the 3D grid it belongs to (equal to
    ``index`` unless positions repeat); ``volume`` which repeat it is at that
    position (0 for 3D series). Positions are LPS mm. ``distance`` is along
    the unit slice normal from the first sorted slice; ``step`` the same from
    the previous position (``None`` for the first); ``tilt`` the angle
    (degrees) between that IPP step and the normal; ``affineError`` the
    distance (mm) between this slice's IPP and where ``IJKToLPS`` puts voxel
    ``(0, 0, k)``; ``flags`` the kinds of the findings on this slice.
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
    step = sliceStep(positions, unitNormal)
    IJKToLPS = affines.IJKToLPSFromDICOM(
        positionOf(positions[0]), orientationOf(reference), pixelSpacingOf(reference), step.vector
    )
    rows, maxAffineErrorMm = _rows(sortedSlices, groups, unitNormal, IJKToLPS)
    seriesTilt = (
        affines.lineAngleDegrees(np.subtract(positionOf(positions[-1]), positionOf(positions[0])), unitNormal)
        if len(positions) >= 2
        else None
    )
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
        instanceOrder=instanceOrderAlongK(rows, groups, numberOfVolumes),
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
    for attribute, keyword in REPEAT_ATTRIBUTES:
        if len({getattr(header, attribute) for header in atFirstPosition}) == volumes:
            return volumes, keyword
    return volumes, "unknown"


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
    ordered: Sequence[SliceHeader], groups: Sequence[Sequence[int]], unitNormal: np.ndarray, IJKToLPS: np.ndarray
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
        volume = groups[k].index(index)
        rows.append(
            SliceRow(
                index=index,
                k=k,
                volume=volume,
                file=header.file,
                frame=header.frame,
                instanceNumber=header.instanceNumber,
                position=positionOf(header),
                distance=distances[index],
                step=steps[k] if volume == 0 else 0.0,
                tilt=tilts[k] if volume == 0 else None,
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


def instanceOrderAlongK(
    rows: Sequence[SliceRow], groups: Sequence[Sequence[int]], numberOfVolumes: int
) -> InstanceOrder:
    """:func:`instanceNumberTrend` for each volume of the stack on its own; the first non-spatial one wins."""
    trends: Set[str] = set()
    for volume in range(numberOfVolumes):
        sequence = [rows[group[volume]] for group in groups if volume < len(group)]
        order, breaking, rising = instanceNumberTrend([row.instanceNumber for row in sequence])
        if order == "notSpatial":
            assert breaking is not None  # instanceNumberTrend names the breaking position whenever it says notSpatial
            return InstanceOrder("notSpatial", sequence[breaking], rising)
        if order != "unknown" or len([row for row in sequence if row.instanceNumber is not None]) >= 2:
            trends.add(order)
    if len(trends) == 1:
        return InstanceOrder(trends.pop())
    return InstanceOrder("mixed" if {"ascending", "descending"} <= trends else "unknown")
