"""From slice headers to series geometry: grouping, Slicer-order sort, 4D
detection, the ``ijkToLPS`` affine and the per-slice checks.

Entry points: :func:`inspectPaths` (files and folders) and
:func:`analyseSeries` (the slices of one series).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..geometry import affines, checks
from ..geometry.findings import WARNING, Finding, Kind, Tolerances
from ..geometry.mosaic import MosaicFile
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import SliceHeader
from ..geometry.stack import SliceRow, Stack, buildStack, volumeSlices
from .headers import readAll
from .slicersort import sortLikeSlicer
from .walk import findFiles


@dataclasses.dataclass
class SeriesGeometry:
    """The geometry of one series as its DICOM headers imply it.

    ``IJKToLPS`` / ``IJKToRAS`` use Slicer's IJK convention (i = column along
    IOP[0:3], j = row along IOP[3:6], k = sorted slice); ``None`` when no
    slice has usable geometry. ``dimensions`` is ``(columns, rows,
    positions)`` = sizes along (i, j, k); ``spacing`` the length (mm) of
    each index step, with k the IPP step (longer than the distance between
    planes when tilted); ``sliceSpacing`` the distance between planes along
    the normal. ``mosaic`` describes the first mosaic file of a series of
    Siemens MOSAIC or UIH grid files (tile grid, sources, acquisition order),
    else None. ``sopClassUID`` is the SOP class of the first file (a UID
    shared by several SOP classes gives one series per class, each with a
    ``seriesSplit`` finding). ``volumeFiles[v]`` lists the files of volume
    ``v`` in k order, each once (a multi-frame or mosaic file can hold
    several volumes' slices, and then appears in several lists); one list
    for a 3D series. ``seriesTiltDeg`` is the angle (0 to 90 degrees) between
    the first-to-last IPP step and the slice normal, ``signedTiltDeg`` the
    same in dcm2niix's signed convention (what its console report prints
    and its ``_Tilt`` output corrects); ``None`` for one position.
    """

    seriesInstanceUID: str
    sopClassUID: str = ""
    seriesDescription: str = ""
    seriesNumber: Optional[int] = None
    modality: str = ""
    files: List[str] = dataclasses.field(default_factory=list)
    instanceUIDs: List[str] = dataclasses.field(default_factory=list)
    dimensions: Optional[Tuple[int, int, int]] = None
    numberOfVolumes: int = 1
    repeatedBy: Optional[str] = None
    mosaic: Optional[MosaicFile] = None
    volumeFiles: List[List[str]] = dataclasses.field(default_factory=list)
    spacing: Optional[Tuple[float, float, float]] = None
    sliceSpacing: Optional[float] = None
    IJKToLPS: Optional[np.ndarray] = None
    IJKToRAS: Optional[np.ndarray] = None
    axisCodes: Optional[Tuple[str, str, str]] = None
    seriesTiltDeg: Optional[float] = None
    signedTiltDeg: Optional[float] = None
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
    series = [geometry for _, geometry in analyseGroups(slices, limits)]
    if progressCallback is not None and not cancelled["value"]:
        progressCallback("Done", 1.0)
    return InspectionResult(series=series, unreadableFiles=missing + unreadable, cancelled=cancelled["value"])


def analyseGroups(slices: Sequence[SliceHeader], limits: Tolerances) -> List[Tuple[List[SliceHeader], SeriesGeometry]]:
    """Group ``slices`` into series (:func:`groupBySeries`), analyse each and report the splits: what ``inspect``
    and the archive audit both do with slices; ``(each group's slices, its geometry)`` in order of first
    appearance."""
    groups = groupBySeries(slices)
    series = [analyseSeries(group, limits) for group in groups.values()]
    _reportSplits(groups, series)
    return [(list(group), geometry) for group, geometry in zip(groups.values(), series)]


SeriesKey = Tuple[str, str]
"""``(SeriesInstanceUID, SOPClassUID)``; the SOP class is "" unless one UID holds several."""


def groupBySeries(slices: Sequence[SliceHeader]) -> "OrderedDict[SeriesKey, List[SliceHeader]]":
    """Group slices by SeriesInstanceUID, then by SOP Class where one UID holds several; first appearance first.

    Classic and enhanced (multi-frame) copies of one acquisition exported
    under one SeriesInstanceUID are two series: merged, every position would
    repeat and look like a 4D series. A multi-frame file is one unit: its
    frames share the file's series.
    """
    byUID: "OrderedDict[str, OrderedDict[str, List[SliceHeader]]]" = OrderedDict()
    for header in slices:
        byUID.setdefault(header.seriesInstanceUID, OrderedDict()).setdefault(header.sopClassUID, []).append(header)
    groups: "OrderedDict[SeriesKey, List[SliceHeader]]" = OrderedDict()
    for uid, bySOPClass in byUID.items():
        if len(bySOPClass) == 1:
            groups[uid, ""] = next(iter(bySOPClass.values()))
        else:
            for sopClassUID, headers in bySOPClass.items():
                groups[uid, sopClassUID] = headers
    return groups


def _reportSplits(groups: "OrderedDict[SeriesKey, List[SliceHeader]]", series: Sequence[SeriesGeometry]) -> None:
    """Add a ``seriesSplit`` finding to each series that shares its SeriesInstanceUID with another SOP class."""
    parts: Dict[str, List[Tuple[SeriesKey, SeriesGeometry]]] = {}
    for key, geometry in zip(groups, series):
        if key[1]:
            parts.setdefault(key[0], []).append((key, geometry))
    for uid, members in parts.items():
        described = "; ".join(f"{len(geometry.files)} file(s) of {sopClassName(key[1])}" for key, geometry in members)
        for key, geometry in members:
            message = (
                f"SeriesInstanceUID {uid} is shared by objects of {len(members)} SOP classes ({described}): shown as "
                f"{len(members)} series, this one the {sopClassName(key[1])} files. Classic and enhanced copies of "
                f"one acquisition are exported like this; merged, every slice position would repeat and the series "
                f"would look 4D. Slicer's DICOM plugins also choose how to read a file by its SOP class."
            )
            geometry.findings.insert(0, Finding(Kind.seriesSplit, WARNING, message, file=geometry.files[0]))


def sopClassName(uid: str) -> str:
    """The SOP class's name from pydicom's dictionary (``"Enhanced MR Image Storage"``), else the UID itself."""
    if not uid:
        return "no SOP Class UID"
    from pydicom.uid import UID  # pydicom's dictionary, only for a series split by SOP class

    name = UID(uid).name
    return f"{name} ({uid})" if name and name != uid else uid


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
        sopClassUID=first.sopClassUID,
        seriesDescription=first.seriesDescription,
        seriesNumber=first.seriesNumber,
        modality=first.modality,
        slicerSortWarning=_slicerSortWarning(slices, limits),
        mosaic=next((header.mosaic for header in slices if header.mosaic is not None), None),
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
        volumeFiles=[_filesAndInstanceUIDs(volume)[0] for volume in volumeSlices(stack)],
        spacing=tuple(float(value) for value in affines.columnNorms(stack.IJKToLPS)),
        sliceSpacing=float(abs(np.dot(stack.step.vector, stack.unitNormal))),
        IJKToLPS=stack.IJKToLPS,
        IJKToRAS=IJKToRAS,
        axisCodes=affines.axisCodes(IJKToRAS),
        seriesTiltDeg=stack.seriesTiltDeg,
        signedTiltDeg=stack.signedTiltDeg,
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
    asSlicerSeesThem = _filesAsSlicerSeesThem(slices)
    _, _, warning = sortLikeSlicer(
        list(asSlicerSeesThem),
        [header.position for header in asSlicerSeesThem],
        [header.orientation for header in asSlicerSeesThem],
        epsilon=limits.slicerSortEpsilonMm,
        names=[header.label for header in asSlicerSeesThem],
    )
    return warning


def _filesAsSlicerSeesThem(slices: Sequence[SliceHeader]) -> List[SliceHeader]:
    """One header per file with the geometry its top-level attributes give, which is all Slicer's sort reads.

    The tiles of a mosaic file become one header at the file's own IPP (Slicer does not de-mosaic).
    """
    headers: List[SliceHeader] = []
    seen: Set[str] = set()
    for header in slices:
        if header.mosaic is None:
            headers.append(header)
        elif header.file not in seen:
            seen.add(header.file)
            record = header.mosaic
            headers.append(
                dataclasses.replace(
                    header, tile=None, position=record.position, orientation=record.orientation, geometryProblems=[]
                )
            )
    return headers


def _uniqueFiles(slices: Sequence[SliceHeader]) -> List[str]:
    return _filesAndInstanceUIDs(slices)[0]


def _filesAndInstanceUIDs(slices: Sequence[SliceHeader]) -> Tuple[List[str], List[str]]:
    """Each file once, in order of first appearance, and the SOPInstanceUID of each."""
    first: "OrderedDict[str, str]" = OrderedDict()
    for header in slices:
        first.setdefault(header.file, header.sopInstanceUID)
    return list(first), list(first.values())


def seriesByUID(result: InspectionResult) -> Dict[str, SeriesGeometry]:
    """Index an :class:`InspectionResult` by SeriesInstanceUID (of series split by SOP class, the last one)."""
    return {series.seriesInstanceUID: series for series in result.series}
