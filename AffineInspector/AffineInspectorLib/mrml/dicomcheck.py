"""A loaded DICOM volume checked against its own files: Slicer's AcquisitionModeling corner rule, per slice.

Conventions: ``IJKToRAS`` is the node's own matrix (Slicer IJK: i column, j row, k slice; RAS mm) without
parent transforms; corners are compared in world RAS (parent transforms applied, linear or not); DICOM
values are LPS. Where DICOM files come from is the host's business: an object with
``fileForInstance(uid) -> path or ""`` (``slicer.dicomDatabase`` inside Slicer, the standalone host's
UID index outside).
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Protocol, Tuple

import numpy as np

from ..dicom.headers import UnreadableFileError, readSliceHeaders
from ..dicom.series import SeriesGeometry, analyseSeries
from ..dicom.slicersort import sortLikeSlicer
from ..geometry import crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Kind, Tolerances
from ..geometry.progress import Cancelled, ProgressCallback
from ..geometry.sliceheader import SliceHeader, orientationOf, positionOf
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


@dataclasses.dataclass
class CrossCheck:
    """Slicer's loaded volume against its own DICOM files.

    ``deviations[k]`` compares slice k's corners placed by the node's
    IJKToRAS and parent transforms with the corners its file's IPP/IOP/
    PixelSpacing give; ``maxCornerDeviationWithoutTransformMm`` is the same
    from IJKToRAS alone (what the voxel grid itself gets wrong, e.g. before
    Slicer's acquisition transform corrects it). ``dicom`` is the engine's
    analysis of the same files.
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


def crossCheckVolume(
    volumeNode: Any,
    dicomSource: DICOMSource,
    *,
    progressCallback: Optional[ProgressCallback] = None,
    limits: Optional[Tolerances] = None,
) -> CrossCheck:
    """Compare a loaded DICOM volume with its files (Slicer's AcquisitionModeling rule, 1e-3 mm)."""
    slices, problems = dicomSlices(volumeNode, dicomSource, progressCallback)
    matrix = ijkToRAS(volumeNode)
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    parent = volumeNode.GetParentTransformNode()
    messages = list(problems)
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
        dicom=analyseSeries(slices, limits) if slices else None,
    )
    usable = [header for header in slices if header.hasGeometry]
    if any(header.frame is not None for header in usable) and len(usable) == count:
        # Frames of multi-frame files: Slicer's own check skips these (one UID per slice); we compare them
        # in Slicer's sort order, which is how the reader stacks them.
        usable, _, _ = sortLikeSlicer(usable, [positionOf(h) for h in usable], [orientationOf(h) for h in usable])
        messages.append("Multi-frame file: frames compared in Slicer's sort order (Slicer itself skips this check).")
    if len(slices) != count or len(usable) != len(slices):
        messages.append(
            f"The volume has {count} slices but {len(usable)} of its instances have usable geometry: slice corners "
            f"cannot be compared one to one (multi-frame file, or missing files)."
        )
        return result
    localCorners = crosscheck.cornersFromIJKToRAS(matrix, (columns, rows, count))
    dicomCorners = crosscheck.cornersFromDICOM(usable, columns, rows)
    loaded = pointsToWorld(volumeNode, localCorners.reshape(-1, 3)).reshape(count, 4, 3)
    deviations = crosscheck.sliceDeviations(loaded, dicomCorners, usable)
    result.maxCornerDeviationWithoutTransformMm = float(np.linalg.norm(localCorners - dicomCorners, axis=2).max())
    result.deviations = deviations
    result.maxCornerDeviationMm = max(deviation.deviationMm for deviation in deviations)
    result.slicerMaxErrorMm = max(deviation.slicerErrorMm for deviation in deviations)
    result.withinTolerance = result.slicerMaxErrorMm <= crosscheck.CORNER_TOLERANCE_MM
    result.originExplanation = crosscheck.originExplanation(_worldIJKToRASIfLinear(volumeNode), usable[0])
    messages.extend(_crossCheckMessages(result, parent))
    return result


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
    where = f"slice k = {worst.k} ({worst.file}" + (
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
