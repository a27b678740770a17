"""A loaded DICOM volume checked against its own files: Slicer's AcquisitionModeling corner rule, per slice.

Conventions: ``IJKToRAS`` is the node's own matrix (Slicer IJK: i column, j row, k slice; RAS mm) without
parent transforms; corners are compared in world RAS (parent transforms applied, linear or not); DICOM
values are LPS. Where DICOM files come from is the host's business: an object with
``fileForInstance(uid) -> path or ""`` (``slicer.dicomDatabase`` inside Slicer, the standalone host's
UID index outside).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..dicom.headers import UnreadableFileError, readSliceHeaders
from ..dicom.series import SeriesGeometry, analyseSeries
from ..geometry import affines, crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Kind, Tolerances
from ..geometry.progress import Cancelled, ProgressCallback
from ..geometry.sliceheader import SliceHeader, positionOf
from .nodes import ijkToRAS, parentToWorld, pointsToWorld

# --------------------------------------------------------------------------- DICOM source


class DICOMSource(Protocol):
    """Where a loaded volume's DICOM files are: ``slicer.dicomDatabase``, or the standalone host."""

    def fileForInstance(self, uid: str) -> str:
        """Path of the file holding SOPInstanceUID ``uid``, or ``""``."""
        ...


def dicomSlices(
    volumeNode: Any, dicomSource: DICOMSource, progressCallback: Optional[ProgressCallback] = None
) -> Tuple[List[SliceHeader], List[str]]:
    """The DICOM slice headers of a loaded volume, in its k order (from ``DICOM.instanceUIDs``).

    Returns ``(slices, problems)``: one :class:`SliceHeader` per UID whose
    file was found and read, and plain-language problems for the others.
    """
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    if not uids:
        raise GeometryError(
            f"{volumeNode.GetName()} was not loaded from DICOM (no DICOM.instanceUIDs attribute): there are no "
            f"DICOM files to compare with."
        )
    slices: List[SliceHeader] = []
    problems: List[str] = []
    for index, uid in enumerate(uids):
        if progressCallback is not None and index % 32 == 0:
            if progressCallback(f"Reading DICOM headers ({index}/{len(uids)})", index / len(uids)):
                raise Cancelled()
        path = dicomSource.fileForInstance(uid) if uid != "Unknown" else ""
        if not path:
            problems.append(f"k = {index}: instance {uid} has no file in the DICOM database")
            continue
        try:
            headers = readSliceHeaders(path)
        except UnreadableFileError as error:
            problems.append(f"k = {index}: {error}")
            continue
        slices.extend(headers)
    return slices, problems


# --------------------------------------------------------------------------- cross-check


NUMBER_OF_VOLUMES_ATTRIBUTE = "AffineInspector.numberOfVolumes"
"""Node attribute: the number of volumes of the 4D series the node's files belong to (set by the standalone
host; inside Slicer a volume of a sequence has only its own files, whose analysis is 3D)."""
REPEATED_BY_ATTRIBUTE = "AffineInspector.repeatedBy"
"""Node attribute: what tells the volumes of that 4D series apart (a DICOM keyword)."""
VOLUME_ATTRIBUTE = "AffineInspector.volume"
"""Node attribute: which volume (0-based) of that 4D series the node is, when it holds one volume."""

K_FILES = "files in Slicer's sort order"
K_STORED_FRAMES = "frames in stored order"
K_REVERSED_FRAMES = "frames in reversed stored order"
K_MOSAIC = "one mosaic image per file"


@dataclasses.dataclass
class CrossCheck:
    """Slicer's loaded volume against its own DICOM files.

    ``deviations[k]`` compares slice k's corners placed by the node's
    IJKToRAS and parent transforms with the corners its file's IPP/IOP/
    PixelSpacing give; ``maxCornerDeviationWithoutTransformMm`` is the same
    from IJKToRAS alone (what the voxel grid itself gets wrong, e.g. before
    Slicer's acquisition transform corrects it). ``dicom`` is the engine's
    analysis of the same files. ``kOrder`` says which DICOM slice each k
    shows, as vtkITK stacks them: files in Slicer's sort order, the frames of
    an enhanced file in stored order (checked against the voxels of real
    files), or one mosaic image per file (Slicer does not de-mosaic; then
    ``deviations`` has one entry per tile, at the k of its file).
    ``numberOfVolumes``, ``repeatedBy`` and ``volumeIndex`` place the node in
    a 4D series (``volumeIndex`` None: the node holds every volume, or the
    series is 3D).
    """

    volumeName: str
    IJKToRAS: List[List[float]]
    parentTransform: Optional[str]
    toleranceMm: float
    maxCornerDeviationMm: Optional[float]
    maxCornerDeviationWithoutTransformMm: Optional[float]
    slicerMaxErrorMm: Optional[float]
    withinTolerance: Optional[bool]
    deviations: List[crosscheck.SliceDeviation]
    originExplanation: str
    instanceNumberOrder: str
    messages: List[str]
    dicom: Optional[SeriesGeometry]
    kOrder: str = K_FILES
    numberOfVolumes: int = 1
    repeatedBy: Optional[str] = None
    volumeIndex: Optional[int] = None


def crossCheckVolume(
    volumeNode: Any,
    dicomSource: DICOMSource,
    *,
    progressCallback: Optional[ProgressCallback] = None,
    limits: Optional[Tolerances] = None,
) -> CrossCheck:
    """Compare a loaded DICOM volume with its files (Slicer's AcquisitionModeling rule, 1e-3 mm).

    Slice k of the node is compared with the DICOM slice the reader put
    there (see :attr:`CrossCheck.kOrder`); a node of a 4D series says which
    volume it is, or how its k axis runs through the volumes.
    """
    slices, problems = dicomSlices(volumeNode, dicomSource, progressCallback)
    matrix = ijkToRAS(volumeNode)
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    parent = volumeNode.GetParentTransformNode()
    messages = list(problems)
    analysis = analyseSeries(slices, limits) if slices else None
    result = CrossCheck(
        volumeName=volumeNode.GetName(),
        IJKToRAS=matrix.tolist(),
        parentTransform=parent.GetName() if parent is not None else None,
        toleranceMm=crosscheck.CORNER_TOLERANCE_MM,
        maxCornerDeviationMm=None,
        maxCornerDeviationWithoutTransformMm=None,
        slicerMaxErrorMm=None,
        withinTolerance=None,
        deviations=[],
        originExplanation="",
        instanceNumberOrder=crosscheck.instanceNumberOrderAlongK(slices),
        messages=messages,
        dicom=analysis,
    )
    _placeInSeries(result, volumeNode, analysis)
    usable = [header for header in slices if header.hasGeometry]
    if any(header.mosaic is not None for header in slices):
        _compareMosaicTiles(result, volumeNode, slices, count)
        messages.extend(_fourDMessages(result, slices, count))
        return result
    if any(header.frame is not None for header in usable):
        # vtkITK stacks the frames of an enhanced file in stored order (slice k holds frame k's voxels:
        # checked on the shared Philips and Siemens files), not in Slicer's sort order; the scalar-volume plugin
        # then reverses the slices when that makes a left-handed IJK (setVolumeNodeProperties), which the
        # node's k axis shows: it runs from the last stored frame towards the first.
        if len(usable) == count and _runsAgainstStoredOrder(matrix, usable):
            usable = usable[::-1]
            result.kOrder = K_REVERSED_FRAMES
            messages.append(
                "Multi-frame file: slice k compared with frame N-1-k in stored order: vtkITK stacks the frames in "
                "stored order and Slicer reversed them into a right-handed IJK (Slicer itself skips this check)."
            )
        else:
            result.kOrder = K_STORED_FRAMES
            messages.append(
                "Multi-frame file: slice k compared with frame k in stored order, the order vtkITK stacks them "
                "(Slicer itself skips this check)."
            )
    if len(slices) != count or len(usable) != len(slices):
        messages.append(
            f"The volume has {count} slices but {len(usable)} of its instances have usable geometry: slice corners "
            f"cannot be compared one to one (several multi-frame files, or missing files)."
        )
        return result
    localCorners = crosscheck.cornersFromIJKToRAS(matrix, (columns, rows, count))
    dicomCorners = crosscheck.cornersFromDICOM(usable, columns, rows)
    loaded = pointsToWorld(volumeNode, localCorners.reshape(-1, 3)).reshape(count, 4, 3)
    _setDeviations(result, crosscheck.sliceDeviations(loaded, dicomCorners, usable), localCorners - dicomCorners)
    result.originExplanation = crosscheck.originExplanation(_worldIJKToRASIfLinear(volumeNode), usable[0])
    messages.extend(_crossCheckMessages(result, parent))
    messages.extend(_fourDMessages(result, usable, count))
    return result


def _runsAgainstStoredOrder(IJKToRAS: np.ndarray, frames: Sequence[SliceHeader]) -> bool:
    """Whether the node's k axis (RAS) points from the last stored frame towards the first (the plugin reversed
    the slices), judged by the sign of k . (IPP_last - IPP_first) with the IPPs turned into RAS."""
    first, last = (affines.lpsToRAS(np.asarray(positionOf(header), dtype=float)) for header in (frames[0], frames[-1]))
    return bool(np.dot(np.asarray(IJKToRAS, dtype=float)[:3, 2], last - first) < 0)


@dataclasses.dataclass
class SeriesCrossCheck:
    """A 4D series as Slicer's multi-volume / volume-sequence loadable gives it: one node per volume, each checked.

    ``volumes[v]`` is the :class:`CrossCheck` of volume ``v``'s node;
    ``maxCornerDeviationMm`` the largest over them (at ``worstVolume``);
    ``messages`` say what the series is and how it was loaded.
    """

    numberOfVolumes: int
    repeatedBy: Optional[str]
    maxCornerDeviationMm: Optional[float]
    worstVolume: Optional[int]
    withinTolerance: Optional[bool]
    messages: List[str]
    volumes: List[CrossCheck]


def summarizeVolumes(checks: Sequence[CrossCheck]) -> SeriesCrossCheck:
    """The series-level view of the per-volume cross-checks of one 4D series (in volume order)."""
    measured = [(index, check) for index, check in enumerate(checks) if check.maxCornerDeviationMm is not None]
    worstIndex, worst = max(measured, key=lambda item: item[1].maxCornerDeviationMm or 0.0, default=(None, None))
    first = checks[0]
    tag = first.repeatedBy or "unknown"
    messages = [
        f"4D series: {len(checks)} volumes told apart by {tag}, loaded as Slicer's multi-volume / volume-sequence "
        f"loadable loads them, one volume per value of {tag} from its own files, and each compared with its own "
        f"slices ({first.kOrder})."
    ]
    if worst is not None and worstIndex is not None:
        inside = all(check.withinTolerance for _, check in measured) and len(measured) == len(checks)
        messages.append(
            f"Largest corner deviation over the volumes: {worst.maxCornerDeviationMm:.4g} mm, in volume "
            f"{worstIndex + 1} ({worst.volumeName})"
            + (f"; every volume is within {first.toleranceMm:g} mm." if inside else ".")
        )
    return SeriesCrossCheck(
        numberOfVolumes=len(checks),
        repeatedBy=first.repeatedBy,
        maxCornerDeviationMm=worst.maxCornerDeviationMm if worst is not None else None,
        worstVolume=worstIndex,
        withinTolerance=all(check.withinTolerance for check in checks) if len(measured) == len(checks) else None,
        messages=messages,
        volumes=list(checks),
    )


def _setDeviations(
    result: CrossCheck, deviations: List[crosscheck.SliceDeviation], withoutTransform: np.ndarray
) -> None:
    """Store the per-slice (or per-tile) deviations and their maxima on ``result``."""
    result.deviations = deviations
    result.maxCornerDeviationWithoutTransformMm = float(np.linalg.norm(withoutTransform, axis=2).max())
    result.maxCornerDeviationMm = max(deviation.deviationMm for deviation in deviations)
    result.slicerMaxErrorMm = max(deviation.slicerErrorMm for deviation in deviations)
    result.withinTolerance = result.slicerMaxErrorMm <= crosscheck.CORNER_TOLERANCE_MM


def _placeInSeries(result: CrossCheck, volumeNode: Any, analysis: Optional[SeriesGeometry]) -> None:
    """The node's place in a 4D series: from the host's attributes, else from the analysis of its own files."""
    volumes = volumeNode.GetAttribute(NUMBER_OF_VOLUMES_ATTRIBUTE)
    if volumes:
        result.numberOfVolumes = int(volumes)
        result.repeatedBy = volumeNode.GetAttribute(REPEATED_BY_ATTRIBUTE) or None
        index = volumeNode.GetAttribute(VOLUME_ATTRIBUTE)
        result.volumeIndex = int(index) if index else None
    elif analysis is not None:
        result.numberOfVolumes, result.repeatedBy = analysis.numberOfVolumes, analysis.repeatedBy


def _compareMosaicTiles(result: CrossCheck, volumeNode: Any, slices: Sequence[SliceHeader], count: int) -> None:
    """Slicer does not de-mosaic: each mosaic file is one slice. Compare every tile where that puts it."""
    result.kOrder = K_MOSAIC
    files = list(dict.fromkeys(header.file for header in slices))
    tiles = [header for header in slices if header.tile is not None and header.hasGeometry]
    record = next(header.mosaic for header in slices if header.mosaic is not None)
    assert record is not None  # the caller found a mosaic header
    if len(files) != count or not tiles:
        reason = record.problem or f"{len(files)} mosaic file(s) but {count} slices"
        result.messages.append(
            f"{record.vendor}: Slicer's scalar-volume plugin does not de-mosaic, and these tiles cannot be compared "
            f"with what it loaded ({reason})."
        )
        return
    fileK = [files.index(header.file) for header in tiles]
    local = crosscheck.tileCornersFromIJKToRAS(ijkToRAS(volumeNode), tiles, fileK)
    loaded = pointsToWorld(volumeNode, local.reshape(-1, 3)).reshape(len(tiles), 4, 3)
    dicomCorners = crosscheck.cornersFromDICOM(tiles, record.tileColumns, record.tileRows)
    deviations = [
        dataclasses.replace(deviation, k=k)
        for deviation, k in zip(crosscheck.sliceDeviations(loaded, dicomCorners, tiles), fileK)
    ]
    _setDeviations(result, deviations, local - dicomCorners)
    worst = max(deviations, key=lambda deviation: deviation.deviationMm)
    columns, rows, _ = volumeNode.GetImageData().GetDimensions()
    result.messages.append(
        f"{record.vendor}: Slicer's scalar-volume plugin does not de-mosaic. This node is {count} image(s) of "
        f"{columns}x{rows}, one per mosaic file (k = file), so each of the {record.numberOfTiles} tiles of a file is "
        f"drawn up to {result.maxCornerDeviationMm:.4g} mm from where its slice is (worst: {worst.label}; Slicer "
        f"reports 'maximum error of {result.slicerMaxErrorMm:.4g} mm'). The de-mosaicked volume is "
        f"{record.tileColumns}x{record.tileRows}x{record.numberOfTiles} per file, on the engine's IJKToLPS (the "
        f"grid dcm2niix writes); a converter that de-mosaics, such as dcm2niix, gives it."
    )


def _fourDMessages(result: CrossCheck, slices: Sequence[SliceHeader], count: int) -> List[str]:
    """Say that the node belongs to a 4D series, which volume it is, or how its k axis runs through the volumes."""
    volumes, tag = result.numberOfVolumes, result.repeatedBy or "unknown"
    if volumes <= 1:
        return []
    if result.volumeIndex is not None:
        return [
            f"4D series, {volumes} volumes told apart by {tag}: this node is volume {result.volumeIndex + 1}, "
            f"loaded from its own files as Slicer's multi-volume / volume-sequence loadable loads each value of "
            f"{tag}, and compared with its own slices."
        ]
    analysis = result.dicom
    positions = analysis.dimensions[2] if analysis is not None and analysis.dimensions else count // volumes
    text = (
        f"4D series, {volumes} volumes of {positions} positions told apart by {tag}: this node holds all {count} "
        f"slices as one volume ({result.kOrder}), so its k axis runs through the volumes one after another and it "
        f"is not one 3D volume."
    )
    if result.kOrder == K_STORED_FRAMES and len({header.file for header in slices}) == 1:
        text += (
            " Slicer's multi-volume / volume-sequence loadable splits a 4D series by files, so one enhanced file "
            "holding every frame has no per-volume loadable: the scalar-volume plugin loads it like this."
        )
    elif result.kOrder == K_FILES:
        text += f" Load it as a multi-volume / volume sequence (one volume per value of {tag}) instead."
    perVolume = _deviationsByVolume(result, slices)
    if perVolume:
        text += " Largest corner deviation per volume: " + "; ".join(perVolume) + "."
    return [text]


def _deviationsByVolume(result: CrossCheck, slices: Sequence[SliceHeader]) -> List[str]:
    """``"volume v (k a-b): x mm"`` for a node holding every volume, from the analysis' volume of each slice,
    in k order."""
    if result.dicom is None or not result.deviations or len(result.deviations) != len(slices):
        return []
    volumeOf = {(row.file, row.frame, row.tile): row.volume for row in result.dicom.slices}
    byVolume: Dict[int, List[crosscheck.SliceDeviation]] = {}
    for deviation, header in zip(result.deviations, slices):
        volume = volumeOf.get((header.file, header.frame, header.tile))
        if volume is not None:
            byVolume.setdefault(volume, []).append(deviation)
    return [
        f"volume {volume + 1} (k {min(d.k for d in items)}-{max(d.k for d in items)}): "
        f"{max(d.deviationMm for d in items):.4g} mm"
        for volume, items in sorted(byVolume.items(), key=lambda item: min(d.k for d in item[1]))
    ]


def _worldIJKToRASIfLinear(volumeNode: Any) -> np.ndarray:
    toWorld = parentToWorld(volumeNode)
    matrix = ijkToRAS(volumeNode)
    return matrix if toWorld is None else toWorld @ matrix


# Findings that explain a corner deviation (gantryTilt: the series-level one only).
_IRREGULAR_KINDS = (Kind.gantryTilt, Kind.missingSlice, Kind.nonUniformSpacing, Kind.duplicatePosition)


def _crossCheckMessages(result: CrossCheck, parent: Any) -> List[str]:
    """The messages of a cross-check whose corners were compared (every measurement set); ``parent`` is the
    volume's parent transform node or None."""
    withoutTransformMm = result.maxCornerDeviationWithoutTransformMm
    assert withoutTransformMm is not None  # crossCheckVolume sets the measurements before it asks for messages
    worst = max(result.deviations, key=lambda deviation: deviation.deviationMm)
    where = f"slice k = {worst.k} ({worst.label}" + (
        f", InstanceNumber {worst.instanceNumber})" if worst.instanceNumber is not None else ")"
    )
    transformText = f" through its parent transform {parent.GetName()}" if parent is not None else ""
    if result.withinTolerance:
        text = (
            f"Slicer's geometry{transformText} matches every DICOM slice: largest corner deviation "
            f"{result.maxCornerDeviationMm:.3g} mm (tolerance {result.toleranceMm:g} mm)."
        )
        if parent is not None and withoutTransformMm > result.toleranceMm:
            text += (
                f" The voxel grid alone (IJKToRAS) is up to {withoutTransformMm:.4g} mm off; "
                f"the transform corrects it. Harden it or resample to get a grid that is right by itself."
            )
        return [text]
    messages = [
        f"Slicer's IJKToRAS{transformText} puts slice corners up to {result.maxCornerDeviationMm:.4g} mm from where "
        f"the DICOM files say they are (worst: {where}; Slicer reports 'maximum error of "
        f"{result.slicerMaxErrorMm:.4g} mm', tolerance {result.toleranceMm:g} mm)."
    ]
    reasons = [
        finding.message
        for finding in (result.dicom.findings if result.dicom is not None else [])
        if finding.kind in _IRREGULAR_KINDS and (finding.kind != Kind.gantryTilt or finding.slice is None)
    ]
    if reasons:
        messages.append("Why: " + " ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else ""))
    messages.append(
        "What regularization does: with Slicer's 'Acquisition geometry regularization' setting on (the default), "
        "the DICOM plugin adds a grid transform named '<volume> acquisition transform' that moves each slice's "
        "corners onto its IPP; the voxel array and IJKToRAS stay as they are. Harden that transform (or resample) to "
        "get a regular grid that matches the scanner's positions."
    )
    return messages
