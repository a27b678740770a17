"""From slice headers to series geometry: grouping, Slicer-order sort, 4D
detection, the ``ijkToLPS`` affine and the per-slice checks.

Entry points: :func:`inspectPaths` (files and folders) and
:func:`analyseSeries` (the slices of one series).
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import affines, checks
from ..geometry.findings import ERROR, INFO, WARNING, Finding, Tolerances
from .headers import SliceHeader, findFiles, readAll
from .slicersort import sortLikeSlicer

# Attributes that tell apart images at one position, in the order they are named
# when describing a 4D series.
_REPEAT_ATTRIBUTES = (
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


@dataclasses.dataclass
class SliceRow:
    """One row of the per-slice table, in sorted order.

    ``index`` is the row's position in sorted order (the ``slice`` of the
    findings); ``k`` is the slice index of the 3D grid it belongs to (equal to
    ``index`` unless positions repeat); ``volume`` which repeat it is at that
    position (0 for 3D series). Positions are LPS mm. ``distance`` is along
    the unit slice normal from the first sorted slice; ``step`` the same from
    the previous position (``None`` for the first); ``tilt`` the angle
    (degrees) between that IPP step and the normal; ``affineError`` the
    distance (mm) between this slice's IPP and where ``ijkToLPS`` puts voxel
    ``(0, 0, k)``.
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
    flags: List[str] = dataclasses.field(default_factory=list)

    def toDict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class SeriesGeometry:
    """The geometry of one series as its DICOM headers imply it.

    ``ijkToLPS`` / ``ijkToRAS`` use Slicer's IJK convention (i = column along
    IOP[0:3], j = row along IOP[3:6], k = sorted slice); ``None`` when no
    slice has usable geometry. ``dimensions`` is ``(columns, rows,
    positions)`` = sizes along (i, j, k); ``spacing`` the length (mm) of
    each index step, with k the IPP step (longer than the distance between
    planes when tilted); ``sliceSpacing`` the distance between planes along
    the normal.
    """

    seriesInstanceUID: str
    seriesDescription: str = ""
    seriesNumber: Optional[int] = None
    modality: str = ""
    files: List[str] = dataclasses.field(default_factory=list)
    instanceUIDs: List[str] = dataclasses.field(default_factory=list)
    dimensions: Optional[Tuple[int, int, int]] = None
    numberOfVolumes: int = 1
    repeatedBy: Optional[str] = None
    spacing: Optional[Tuple[float, float, float]] = None
    sliceSpacing: Optional[float] = None
    ijkToLPS: Optional[np.ndarray] = None
    ijkToRAS: Optional[np.ndarray] = None
    axisCodes: Optional[Tuple[str, str, str]] = None
    seriesTiltDeg: Optional[float] = None
    maxAffineErrorMm: Optional[float] = None
    instanceNumberOrder: str = "unknown"
    slicerSortWarning: str = ""
    slices: List[SliceRow] = dataclasses.field(default_factory=list)
    warnings: List[Finding] = dataclasses.field(default_factory=list)

    @property
    def findings(self) -> List[Finding]:
        """Alias of ``warnings`` (the JSON key the issue names)."""
        return self.warnings

    def toDict(self) -> dict:
        """JSON-ready dict: matrices as 4x4 nested lists."""
        result = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif field.name == "slices":
                value = [row.toDict() for row in value]
            elif field.name == "warnings":
                value = [finding.toDict() for finding in value]
            elif isinstance(value, tuple):
                value = list(value)
            result[field.name] = value
        return result


@dataclasses.dataclass
class InspectionResult:
    """Every series found under the inspected paths, and the files that gave no slice."""

    series: List[SeriesGeometry]
    unreadable: List[Finding]
    cancelled: bool = False

    def toDict(self) -> dict:
        return {
            "series": [series.toDict() for series in self.series],
            "unreadableFiles": [finding.toDict() for finding in self.unreadable],
            "cancelled": self.cancelled,
        }


ProgressCallback = Callable[[str, float], bool]


def inspectPaths(
    paths: Sequence[str],
    *,
    progressCallback: Optional[ProgressCallback] = None,
    fast: bool = True,
    **tolerances,
) -> InspectionResult:
    """Read every DICOM file under ``paths`` (files, folders, mixtures) and analyse each series.

    Headers only: pixel data is never read, and no file is written.
    Tolerances are the fields of :class:`~AffineInspectorLib.findings.Tolerances`
    given as keywords. ``progressCallback(label, fraction) -> cancelled``
    may stop the reading; the result then says ``cancelled``.
    """
    limits = Tolerances.fromKeywords(**tolerances)
    files, missing = findFiles(paths)
    cancelled = {"value": False}

    def reading(label, fraction):
        if progressCallback is None:
            return False
        cancelled["value"] = bool(progressCallback(label, 0.9 * fraction))
        return cancelled["value"]

    slices, unreadable = readAll(files, fast=fast, progressCallback=reading)
    series = [analyseSeries(group, limits) for group in groupBySeries(slices).values()]
    if progressCallback is not None and not cancelled["value"]:
        progressCallback("Done", 1.0)
    return InspectionResult(series=series, unreadable=missing + unreadable, cancelled=cancelled["value"])


def groupBySeries(slices: Sequence[SliceHeader]) -> "OrderedDict[str, List[SliceHeader]]":
    """Group slices by SeriesInstanceUID, series in order of first appearance.

    A multi-frame file is one unit: its frames share the file's series.
    """
    groups: "OrderedDict[str, List[SliceHeader]]" = OrderedDict()
    for header in slices:
        groups.setdefault(header.seriesInstanceUID, []).append(header)
    return groups


def analyseSeries(slices: Sequence[SliceHeader], limits: Optional[Tolerances] = None) -> SeriesGeometry:
    """Sort one series as Slicer does, build its affine and run every check.

    ``slices`` are the headers of one series in the order the files were
    found. Slices without usable geometry are reported and left out of the
    stack; everything else is measured on the rest.
    """
    limits = limits or Tolerances()
    first = slices[0]
    result = SeriesGeometry(
        seriesInstanceUID=first.seriesInstanceUID,
        seriesDescription=first.seriesDescription,
        seriesNumber=first.seriesNumber,
        modality=first.modality,
    )
    findings = result.warnings
    findings.extend(checks.multiFrame(slices))
    findings.extend(checks.missingGeometry(slices))
    usable = [header for header in slices if header.hasGeometry]

    result.slicerSortWarning = _slicerSortWarning(slices, limits)
    if not usable:
        result.files, result.instanceUIDs = _filesAndInstanceUIDs(slices)
        return result

    reference = usable[0]
    mismatchFindings = checks.orientationMismatch(usable, reference, limits)
    findings.extend(mismatchFindings)
    mismatched = {id(usable[index]) for index in (f.slice for f in mismatchFindings)}
    for finding in mismatchFindings:
        finding.slice = None  # left out of the stack: it has no sorted index
    usable = [header for header in usable if id(header) not in mismatched]
    ordered, _, _ = sortLikeSlicer(
        usable, [h.position for h in usable], [h.orientation for h in usable], epsilon=limits.slicerSortEpsilonMm
    )
    unitNormal = affines.sliceNormal(reference.orientation)
    unitNormal = unitNormal / np.linalg.norm(unitNormal)
    result.files, result.instanceUIDs = _filesAndInstanceUIDs(ordered)

    groups = _positionGroups(ordered, limits.duplicateToleranceMm)
    stack, result.numberOfVolumes, result.repeatedBy = _stackAndRepeats(ordered, groups)
    rows = _rows(ordered, groups, unitNormal)
    result.slices = rows
    stackRows = [rows[group[0]] for group in groups]

    findings.extend(checks.nonOrthonormalOrientation(ordered, limits))
    findings.extend(checks.mixedAttributes(ordered, reference, limits))
    findings.extend(checks.positionRepeats(ordered, groups, result.numberOfVolumes, result.repeatedBy, limits))

    stepVector, stepFinding = _sliceStep(stack, unitNormal, isSingleSlice=len(ordered) == 1)
    if stepFinding is not None:
        findings.append(stepFinding)
    result.ijkToLPS = affines.ijkToLPSFromDICOM(
        stack[0].position, reference.orientation, reference.pixelSpacing, stepVector
    )
    result.ijkToRAS = affines.lpsToRAS(result.ijkToLPS)
    result.axisCodes = affines.axisCodes(result.ijkToRAS)
    result.dimensions = (int(reference.columns or 0), int(reference.rows or 0), len(stack))
    result.spacing = tuple(float(value) for value in affines.columnNorms(result.ijkToLPS))
    result.sliceSpacing = float(abs(np.dot(stepVector, unitNormal)))

    predicted = result.ijkToLPS[:3, 3] + np.outer([row.k for row in rows], stepVector)
    errors = np.linalg.norm(np.asarray([row.position for row in rows]) - predicted, axis=1).tolist()
    for row, error in zip(rows, errors):
        row.affineError = error
    result.maxAffineErrorMm = max(errors)

    if len(stack) >= 2:
        findings.extend(checks.spacing(stackRows, limits, result.maxAffineErrorMm))
        tiltFindings, result.seriesTiltDeg = checks.gantryTilt(stack, stackRows, unitNormal, limits)
        findings.extend(tiltFindings)
    orderFindings, result.instanceNumberOrder = checks.instanceOrder(rows, groups, result.numberOfVolumes)
    findings.extend(orderFindings)

    for finding in findings:
        if finding.slice is not None and finding.kind not in rows[finding.slice].flags:
            rows[finding.slice].flags.append(finding.kind)
    findings.sort(key=lambda finding: (finding.slice is not None, finding.slice or 0))
    return result


def _slicerSortWarning(slices: Sequence[SliceHeader], limits: Tolerances) -> str:
    """What Slicer's ``getSortedImageFiles`` would say, given the files as Slicer gets them.

    Slicer reads top-level IPP/IOP from its database: an enhanced multi-frame
    file has none there (its geometry is in functional groups), so its files
    are passed without geometry.
    """
    if any(header.frame is not None for header in slices):
        files = _uniqueFiles(slices)
        _, _, warning = sortLikeSlicer(
            files, [None] * len(files), [None] * len(files), firstIsMultiFrame=slices[0].numberOfFrames > 1
        )
        return warning
    _, _, warning = sortLikeSlicer(
        list(slices),
        [header.position for header in slices],
        [header.orientation for header in slices],
        epsilon=limits.slicerSortEpsilonMm,
        names=[header.label for header in slices],
    )
    return warning


def _uniqueFiles(slices: Sequence[SliceHeader]) -> List[str]:
    return _filesAndInstanceUIDs(slices)[0]


def _filesAndInstanceUIDs(slices: Sequence[SliceHeader]) -> Tuple[List[str], List[str]]:
    """Each file once, in order of first appearance, and the SOPInstanceUID of each."""
    first: "OrderedDict[str, str]" = OrderedDict()
    for header in slices:
        first.setdefault(header.file, header.sopInstanceUID)
    return list(first), list(first.values())


def _positionGroups(ordered: Sequence[SliceHeader], toleranceMm: float) -> List[List[int]]:
    """Group consecutive sorted slices whose IPPs lie within ``toleranceMm`` of the group's first."""
    groups: List[List[int]] = []
    for index, header in enumerate(ordered):
        if groups and math.dist(header.position, ordered[groups[-1][0]].position) <= toleranceMm:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _stackAndRepeats(ordered, groups) -> Tuple[List[SliceHeader], int, Optional[str]]:
    """Return the slices that make the 3D stack, the number of volumes and what varies between them.

    Positions that all repeat the same number of times M >= 2 (and there are
    at least two positions) make a 4D series of M volumes; otherwise every
    position contributes its first slice and repeats are duplicates.
    """
    counts = {len(group) for group in groups}
    stack = [ordered[group[0]] for group in groups]
    if len(groups) < 2 or len(counts) != 1 or counts == {1}:
        return stack, 1, None
    volumes = counts.pop()
    atFirstPosition = [ordered[index] for index in groups[0]]
    for attribute, name in _REPEAT_ATTRIBUTES:
        values = [getattr(header, attribute) for header in atFirstPosition]
        if len(set(values)) == volumes:
            return stack, volumes, name
    return stack, volumes, "unknown"


def _rows(ordered, groups, unitNormal) -> List[SliceRow]:
    positions = np.asarray([header.position for header in ordered], dtype=float)
    distances = ((positions - positions[0]) @ unitNormal).tolist()
    stackPositions = positions[[group[0] for group in groups]]
    stackSteps = np.diff(stackPositions, axis=0)
    steps = [None] + (stackSteps @ unitNormal).tolist()
    tilts = [None] + affines.lineAnglesDegrees(stackSteps, unitNormal).tolist()
    rows: List[SliceRow] = [None] * len(ordered)  # type: ignore[list-item]
    for k, group in enumerate(groups):
        for volume, index in enumerate(group):
            header = ordered[index]
            rows[index] = SliceRow(
                index=index,
                k=k,
                volume=volume,
                file=header.file,
                frame=header.frame,
                instanceNumber=header.instanceNumber,
                position=tuple(header.position),
                distance=distances[index],
                step=steps[k] if volume == 0 else 0.0,
                tilt=tilts[k] if volume == 0 else None,
            )
    return rows


def _sliceStep(
    stack: Sequence[SliceHeader], unitNormal: np.ndarray, *, isSingleSlice: bool
) -> Tuple[np.ndarray, Optional[Finding]]:
    """Return the k column of ``ijkToLPS`` (LPS mm) and, for a single slice, the finding that says how it was chosen.

    With one position but several slices (``notAVolume``, reported by the
    checks) the k column is chosen the same way, without a second finding.
    """
    if len(stack) >= 2:
        first = np.asarray(stack[0].position)
        last = np.asarray(stack[-1].position)
        return (last - first) / (len(stack) - 1), None
    header = stack[0]
    if header.spacingBetweenSlices and header.spacingBetweenSlices > 0:
        thickness, source = header.spacingBetweenSlices, "SpacingBetweenSlices"
    elif header.sliceThickness and header.sliceThickness > 0:
        thickness, source = header.sliceThickness, "SliceThickness"
    else:
        thickness, source = 1.0, "a default of 1.0 mm (neither SpacingBetweenSlices nor SliceThickness is set)"
    if not isSingleSlice:
        return unitNormal * thickness, None
    finding = Finding(
        "singleSlice",
        WARNING,
        f"Only one slice position: there is no step to measure, so the k axis of the affine is the slice normal "
        f"times {thickness:g} mm taken from {source}. The volume is one voxel thick.",
        value=float(thickness),
        unit="mm",
    )
    return unitNormal * thickness, finding


__all__ = [
    "InspectionResult",
    "SeriesGeometry",
    "SliceRow",
    "analyseSeries",
    "groupBySeries",
    "inspectPaths",
    "ERROR",
    "INFO",
    "WARNING",
]


def seriesByUID(result: InspectionResult) -> Dict[str, SeriesGeometry]:
    """Index an :class:`InspectionResult` by SeriesInstanceUID."""
    return {series.seriesInstanceUID: series for series in result.series}
