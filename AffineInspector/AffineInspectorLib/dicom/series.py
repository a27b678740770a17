"""From slice headers to series geometry: grouping, Slicer-order sort, 4D
detection, the ``ijkToLPS`` affine and the per-slice checks.

Entry points: :func:`inspectPaths` (files and folders) and
:func:`analyseSeries` (the slices of one series).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import affines, checks
from ..geometry.findings import Finding, Tolerances
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import SliceHeader
from ..geometry.stack import SliceRow, Stack, buildStack
from .headers import findFiles, readAll
from .slicersort import sortLikeSlicer


@dataclasses.dataclass
class SeriesGeometry:
    """The geometry of one series as its DICOM headers imply it.

    ``IJKToLPS`` / ``IJKToRAS`` use Slicer's IJK convention (i = column along
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
    IJKToLPS: Optional[np.ndarray] = None
    IJKToRAS: Optional[np.ndarray] = None
    axisCodes: Optional[Tuple[str, str, str]] = None
    seriesTiltDeg: Optional[float] = None
    maxAffineErrorMm: Optional[float] = None
    instanceNumberOrder: str = "unknown"
    slicerSortWarning: str = ""
    slices: List[SliceRow] = dataclasses.field(default_factory=list)
    findings: List[Finding] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class InspectionResult:
    """Every series found under the inspected paths, and the files that gave no slice."""

    series: List[SeriesGeometry]
    unreadableFiles: List[Finding]
    cancelled: bool = False


def inspectPaths(
    paths: Sequence[str],
    *,
    progressCallback: Optional[ProgressCallback] = None,
    fast: bool = True,
    **tolerances: float,
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

    def reading(label: str, fraction: float) -> bool:
        if progressCallback is None:
            return False
        cancelled["value"] = bool(progressCallback(label, 0.9 * fraction))
        return cancelled["value"]

    slices, unreadable = readAll(files, fast=fast, progressCallback=reading)
    series = [analyseSeries(group, limits) for group in groupBySeries(slices).values()]
    if progressCallback is not None and not cancelled["value"]:
        progressCallback("Done", 1.0)
    return InspectionResult(series=series, unreadableFiles=missing + unreadable, cancelled=cancelled["value"])


def groupBySeries(slices: Sequence[SliceHeader]) -> "OrderedDict[str, List[SliceHeader]]":
    """Group slices by SeriesInstanceUID, series in order of first appearance.

    A multi-frame file is one unit: its frames share the file's series.
    """
    groups: "OrderedDict[str, List[SliceHeader]]" = OrderedDict()
    for header in slices:
        groups.setdefault(header.seriesInstanceUID, []).append(header)
    return groups


def analyseSeries(slices: Sequence[SliceHeader], limits: Optional[Tolerances] = None) -> SeriesGeometry:
    """Sort one series as Slicer does, build its affine and run every registered check.

    ``slices`` are the headers of one series in the order the files were
    found. The admission rules (:data:`~..geometry.checks.ADMISSION_RULES`)
    report and leave out slices that cannot be stacked; the rest is sorted,
    measured once (:class:`~..geometry.stack.Stack`) and judged by the
    stack checks (:data:`~..geometry.checks.STACK_CHECKS`).
    """
    limits = limits or Tolerances()
    first = slices[0]
    findings: List[Finding] = []
    kept = list(slices)
    for rule in checks.ADMISSION_RULES:
        admission = rule(kept, limits)
        findings.extend(admission.findings)
        kept = admission.kept
    identity: Dict[str, Any] = dict(  # SeriesGeometry keyword arguments
        seriesInstanceUID=first.seriesInstanceUID,
        seriesDescription=first.seriesDescription,
        seriesNumber=first.seriesNumber,
        modality=first.modality,
        slicerSortWarning=_slicerSortWarning(slices, limits),
    )
    if not kept:
        files, instanceUIDs = _filesAndInstanceUIDs(slices)
        return SeriesGeometry(**identity, files=files, instanceUIDs=instanceUIDs, findings=findings)
    ordered, _, _ = sortLikeSlicer(
        kept, [h.position for h in kept], [h.orientation for h in kept], epsilon=limits.slicerSortEpsilonMm
    )
    stack = buildStack(ordered, kept[0], limits)
    for check in checks.STACK_CHECKS:
        findings.extend(check(stack, limits))
    findings.sort(key=lambda finding: (finding.slice is not None, finding.slice or 0))
    files, instanceUIDs = _filesAndInstanceUIDs(ordered)
    return SeriesGeometry(
        **identity,
        files=files,
        instanceUIDs=instanceUIDs,
        findings=findings,
        slices=_flaggedRows(stack.rows, findings),
        **_geometryOf(stack),
    )


def _geometryOf(stack: Stack) -> Dict[str, Any]:
    """The :class:`SeriesGeometry` fields measured on the stack (keyword arguments)."""
    IJKToRAS = affines.lpsToRAS(stack.IJKToLPS)
    return dict(
        dimensions=(int(stack.reference.columns or 0), int(stack.reference.rows or 0), len(stack.positions)),
        numberOfVolumes=stack.numberOfVolumes,
        repeatedBy=stack.repeatedBy,
        spacing=tuple(float(value) for value in affines.columnNorms(stack.IJKToLPS)),
        sliceSpacing=float(abs(np.dot(stack.step.vector, stack.unitNormal))),
        IJKToLPS=stack.IJKToLPS,
        IJKToRAS=IJKToRAS,
        axisCodes=affines.axisCodes(IJKToRAS),
        seriesTiltDeg=stack.seriesTiltDeg,
        maxAffineErrorMm=stack.maxAffineErrorMm,
        instanceNumberOrder=stack.instanceOrder.order,
    )


def _flaggedRows(rows: Sequence[SliceRow], findings: Sequence[Finding]) -> List[SliceRow]:
    """The rows with ``flags``: the kinds of the findings on each slice, in the order first found."""
    flags: Dict[int, List[str]] = {}
    for finding in findings:
        if finding.slice is not None and finding.kind.value not in flags.setdefault(finding.slice, []):
            flags[finding.slice].append(finding.kind.value)
    return [dataclasses.replace(row, flags=tuple(flags[row.index])) if row.index in flags else row for row in rows]


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


def seriesByUID(result: InspectionResult) -> Dict[str, SeriesGeometry]:
    """Index an :class:`InspectionResult` by SeriesInstanceUID."""
    return {series.seriesInstanceUID: series for series in result.series}
