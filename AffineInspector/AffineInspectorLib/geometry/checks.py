"""The geometry checks, in two registered families (as Slicer's DICOMPatcher rules and SegmentStatistics plugins).

* **Admission rules** run on a series' slices as found, before sorting:
  ``rule(slices, limits) -> Admission`` (the findings, and the slices kept
  for the stack). Registered in :data:`ADMISSION_RULES`, applied in order.
* **Stack checks** judge the measurements of the sorted
  :class:`~.stack.Stack`: ``check(stack, limits) -> List[Finding]``;
  ``slice`` in a finding is the row in sorted order. Registered in
  :data:`STACK_CHECKS` with :func:`stackCheck`.

A check never edits another check's findings (findings are immutable). What
each check corresponds to in Slicer, dcm2niix, dicom2nifti, dicom-numpy,
nibabel, highdicom and GDCM is listed in README ("What each finding means").
"""

from __future__ import annotations

import statistics
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy as np
import numpy.typing as npt

from . import affines
from .findings import ERROR, INFO, WARNING, Finding, Kind, Tolerances
from .sliceheader import SliceHeader, orientationOf, pixelSpacingOf, positionOf
from .stack import Stack, stepOf, tiltOf


class Admission(NamedTuple):
    """An admission rule's verdict: its findings, and the slices it keeps for the stack."""

    findings: List[Finding]
    kept: List[SliceHeader]


AdmissionRule = Callable[[Sequence[SliceHeader], Tolerances], Admission]
StackCheck = Callable[[Stack, Tolerances], List[Finding]]

STACK_CHECKS: List[StackCheck] = []
"""Every stack check, in the order their findings are listed."""


def stackCheck(check: StackCheck) -> StackCheck:
    """Register a stack check (decorator)."""
    STACK_CHECKS.append(check)
    return check


def _where(index: int, header: SliceHeader) -> str:
    number = "" if header.instanceNumber is None else f", InstanceNumber {header.instanceNumber}"
    return f"slice {index} ({header.label}{number})"


def mosaics(slices: Sequence[SliceHeader], limits: Tolerances) -> Admission:
    """What was de-mosaicked (``mosaic``, info; warning where its sources disagree), and ``unsupportedMosaic``.

    Tiles of a mosaic file (Siemens MOSAIC, UIH grid) are slices like any
    other and are kept. A mosaic whose tiles cannot be placed is one
    series-level ``unsupportedMosaic`` error per reason, naming the vendor
    and the tags, and is left out: as one image it would be a single slice
    far from every tile, and a ``missingGeometry`` per file would not say why.
    """
    findings: List[Finding] = []
    placed: Dict[str, List[SliceHeader]] = {}
    unplaced: Dict[str, List[SliceHeader]] = {}
    for header in slices:
        if header.mosaic is not None:
            target = unplaced if header.mosaic.problem else placed
            target.setdefault(header.mosaic.problem or header.mosaic.vendor, []).append(header)
    for vendor, tiles in placed.items():
        findings.extend(_mosaicFindings(vendor, tiles, limits))
    for problem, headers in unplaced.items():
        files = sorted({header.file for header in headers})
        findings.append(
            Finding(
                Kind.unsupportedMosaic,
                ERROR,
                f"{len(files)} file(s) are mosaics whose tiles cannot be placed: {problem}. They are left out "
                f"(read as one image each, a mosaic is one slice far from every tile it holds); first: {files[0]}.",
                file=files[0],
                value=float(len(files)),
                unit="files",
            )
        )
    kept = [header for header in slices if header.mosaic is None or not header.mosaic.problem]
    return Admission(findings, kept)


def _mosaicFindings(vendor: str, tiles: Sequence[SliceHeader], limits: Tolerances) -> List[Finding]:
    """The ``mosaic`` findings of one vendor's placed tiles: what was done, then anything doubtful."""
    records = list({header.file: header.mosaic for header in tiles if header.mosaic is not None}.values())
    first = records[0]
    offsets = []  # how far each tile is from where a reader that does not de-mosaic puts it
    for header in tiles:
        assert header.mosaic is not None and header.tile is not None  # a placed tile has both
        position = header.mosaic.positionAsOneImage(header.tile)
        if position is not None:
            offsets.append(float(np.linalg.norm(position - np.asarray(positionOf(header)))))
    grid = f"{first.tilesAcross}x{first.tilesDown}"
    text = (
        f"{len(records)} {vendor} file(s): each {first.mosaicColumns}x{first.mosaicRows} (columns x rows) image "
        f"holds {first.numberOfTiles} slices as {first.tileColumns}x{first.tileRows} tiles in a {grid} grid, "
        f"de-mosaicked as dcm2niix does ({'; '.join(first.sources)}"
    )
    if vendor.startswith("Siemens"):
        text += (
            "; the stored IPP, which is the top-left voxel of the whole mosaic centred on the first slice, moved to "
            "the first tile's by half the size difference along each in-plane axis"
        )
    text += "). Each file is one volume" + (" (a 4D series of one volume per file)." if len(records) > 1 else ".")
    if first.sliceOrder:
        text += f" Slice acquisition order from the slice times: {first.sliceOrder} (NIfTI slice_code, tile order)."
    if offsets:
        text += (
            f" Slicer's scalar-volume plugin does not de-mosaic: it loads each file as one "
            f"{first.mosaicColumns}x{first.mosaicRows} image at the file's IPP, which puts the tiles up to "
            f"{max(offsets):.4g} mm from their positions (and stacks the files of a 4D series as slices)."
        )
    else:
        text += " The files have no ImagePositionPatient of their own: Slicer's scalar-volume plugin cannot place them."
    findings = [Finding(Kind.mosaic, INFO, text, file=first.file, value=max(offsets) if offsets else None, unit="mm")]
    notes: Dict[str, List[str]] = {}
    for record in records:
        for note in record.notes:
            notes.setdefault(note, []).append(record.file)
    for note, files in notes.items():
        findings.append(
            Finding(Kind.mosaic, WARNING, f"{vendor}: {note} ({len(files)} file(s); first: {files[0]}).", file=files[0])
        )
    deviations = [record for record in records if record.protocolDeviationMm is not None]
    worst = max(deviations, key=lambda record: record.protocolDeviationMm or 0.0, default=None)
    if worst is not None and (worst.protocolDeviationMm or 0.0) > limits.mosaicProtocolToleranceMm:
        findings.append(
            Finding(
                Kind.mosaic,
                WARNING,
                f"{vendor}: the tile positions differ by up to {worst.protocolDeviationMm:.4g} mm from the slice "
                f"centres of the protocol (ASCCONV sSliceArray, compared in {worst.protocolOrder} order) in "
                f"{worst.file}: the CSA header and the protocol disagree about where the slices are.",
                file=worst.file,
                value=worst.protocolDeviationMm,
                tolerance=limits.mosaicProtocolToleranceMm,
                unit="mm",
            )
        )
    return findings


def multiFrame(slices: Sequence[SliceHeader], limits: Tolerances) -> Admission:
    """One ``multiFrame`` info finding per multi-frame file; every slice is kept."""
    findings: List[Finding] = []
    seen: Set[str] = set()
    for header in slices:
        if header.frame is not None and header.file not in seen:
            seen.add(header.file)
            findings.append(
                Finding(
                    Kind.multiFrame,
                    INFO,
                    f"{header.file} is a multi-frame file with {header.numberOfFrames} frame(s); each frame is "
                    f"treated as a slice, with its position and orientation taken from the per-frame (else shared) "
                    f"functional groups. Slicer's sort only warns for such files.",
                    file=header.file,
                    value=float(header.numberOfFrames),
                    unit="frames",
                )
            )
    return Admission(findings, list(slices))


def invalidValues(slices: Sequence[SliceHeader], limits: Tolerances) -> Admission:
    """``invalidValue`` (warning) once per file and value that is present but unusable; every slice is kept.

    Not a number, not finite, or outside :data:`~.sliceheader.VALUE_RANGES` (e.g. SliceThickness ``nan``,
    InstanceNumber ``1e23``): the value is treated as absent, and this says so instead of dropping it
    silently.
    """
    findings: List[Finding] = []
    seen: Set[Tuple[str, str]] = set()
    for header in slices:
        for problem in header.valueProblems:
            if (header.file, problem) not in seen:
                seen.add((header.file, problem))
                findings.append(
                    Finding(Kind.invalidValue, WARNING, f"{header.file}: {problem}; not used.", file=header.file)
                )
    return Admission(findings, list(slices))


def missingGeometry(slices: Sequence[SliceHeader], limits: Tolerances) -> Admission:
    """``missingGeometry`` (error) for each slice whose IPP, IOP or PixelSpacing is missing or invalid; left out."""
    findings = [
        Finding(
            Kind.missingGeometry,
            ERROR,
            f"{header.label}: {'; '.join(header.geometryProblems)}. This slice is left out of the stack; "
            f"Slicer's sort returns such a series unsorted.",
            file=header.file,
        )
        for header in slices
        if not header.hasGeometry
    ]
    return Admission(findings, [header for header in slices if header.hasGeometry])


def orientationMismatch(slices: Sequence[SliceHeader], limits: Tolerances) -> Admission:
    """``orientationMismatch`` (error) where a slice's IOP turns away from the first slice's; those are left out.

    As Slicer's scalar-volume plugin splits a series by orientation. The
    findings have no ``slice``: a slice left out has no sorted index.
    """
    if not slices:
        return Admission([], [])
    reference = slices[0]
    findings: List[Finding] = []
    referenceOrientation = np.asarray(orientationOf(reference))
    orientations = np.asarray([orientationOf(header) for header in slices], dtype=float)
    angles = np.maximum(
        affines.anglesDegrees(orientations[:, :3], referenceOrientation[:3]),
        affines.anglesDegrees(orientations[:, 3:], referenceOrientation[3:]),
    )
    for index in np.flatnonzero(angles > limits.orientationToleranceDeg).tolist():
        header, angle = slices[index], float(angles[index])
        findings.append(
            Finding(
                Kind.orientationMismatch,
                ERROR,
                f"{header.label}: ImageOrientationPatient differs from the first file's ({reference.label}) by "
                f"{angle:.4g} deg. Left out of this volume: Slicer's scalar-volume plugin loads slices of another "
                f"orientation as a separate volume, and one affine cannot place both.",
                file=header.file,
                value=angle,
                tolerance=limits.orientationToleranceDeg,
                unit="deg",
            )
        )
    mismatched = set(np.flatnonzero(angles > limits.orientationToleranceDeg).tolist())
    return Admission(findings, [header for index, header in enumerate(slices) if index not in mismatched])


ADMISSION_RULES: Tuple[AdmissionRule, ...] = (
    mosaics,
    multiFrame,
    invalidValues,
    missingGeometry,
    orientationMismatch,
)
"""Applied in this order; each sees the slices the previous one kept."""


@stackCheck
def nonOrthonormalOrientation(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``nonOrthonormalOrientation`` (warning) once per distinct IOP that is not unit or not perpendicular."""
    findings: List[Finding] = []
    reported: Set[Tuple[float, ...]] = set()
    for index, header in enumerate(stack.ordered):
        orientation = orientationOf(header)
        if orientation in reported:
            continue
        reported.add(orientation)
        row = np.asarray(orientation[:3])
        column = np.asarray(orientation[3:])
        deviations = {
            "|row direction| - 1": abs(np.linalg.norm(row) - 1.0),
            "|column direction| - 1": abs(np.linalg.norm(column) - 1.0),
            "row . column": abs(float(np.dot(row, column))),
        }
        name, worst = max(deviations.items(), key=lambda item: item[1])
        if worst > limits.orthonormalTolerance:
            angle = affines.angleDegrees(row, column)
            findings.append(
                Finding(
                    Kind.nonOrthonormalOrientation,
                    WARNING,
                    f"{_where(index, header)}: ImageOrientationPatient is not orthonormal ({name} = {worst:.3g}; "
                    f"angle between row and column directions {angle:.4f} deg). The affine uses the cosines as given, "
                    f"so voxels are skewed or scaled; tools that normalize (dcm2niix) will differ.",
                    slice=index,
                    file=header.file,
                    value=float(worst),
                    tolerance=limits.orthonormalTolerance,
                    unit="",
                )
            )
    return findings


@stackCheck
def mixedAttributes(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``mixedImageSize``, ``mixedPixelSpacing`` and ``mixedFrameOfReference`` (errors) against the reference slice."""
    ordered, reference = stack.ordered, stack.reference
    findings: List[Finding] = []
    spacingDifferences = np.max(
        np.abs(np.asarray([pixelSpacingOf(header) for header in ordered]) - np.asarray(pixelSpacingOf(reference))),
        axis=1,
    ).tolist()
    for index, header in enumerate(ordered):
        if (
            (header.rows, header.columns) == (reference.rows, reference.columns)
            and spacingDifferences[index] <= limits.pixelSpacingToleranceMm
            and header.frameOfReferenceUID == reference.frameOfReferenceUID
        ):
            continue  # the common case, decided without building messages
        where = _where(index, header)
        if (header.rows, header.columns) != (reference.rows, reference.columns):
            findings.append(
                Finding(
                    Kind.mixedImageSize,
                    ERROR,
                    f"{where}: image is {header.columns}x{header.rows} (columns x rows) but the first slice is "
                    f"{reference.columns}x{reference.rows}; these slices cannot be stacked into one volume.",
                    slice=index,
                    file=header.file,
                )
            )
        difference = spacingDifferences[index]
        if difference > limits.pixelSpacingToleranceMm:
            findings.append(
                Finding(
                    Kind.mixedPixelSpacing,
                    ERROR,
                    f"{where}: PixelSpacing {list(pixelSpacingOf(header))} differs from the first slice's "
                    f"{list(pixelSpacingOf(reference))} by {difference:.4g} mm; one affine would misplace its voxels "
                    f"by up to {difference * max(header.rows or 0, header.columns or 0):.3g} mm at the image edge.",
                    slice=index,
                    file=header.file,
                    value=difference,
                    tolerance=limits.pixelSpacingToleranceMm,
                    unit="mm",
                )
            )
        if header.frameOfReferenceUID != reference.frameOfReferenceUID:
            findings.append(
                Finding(
                    Kind.mixedFrameOfReference,
                    ERROR,
                    f"{where}: FrameOfReferenceUID {header.frameOfReferenceUID or '(none)'} differs from the first "
                    f"slice's {reference.frameOfReferenceUID or '(none)'}: positions are in different patient "
                    f"coordinate systems and cannot be compared.",
                    slice=index,
                    file=header.file,
                )
            )
    return findings


@stackCheck
def positionRepeats(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``notAVolume`` (all slices at one position) or ``duplicatePosition`` (irregular repeats).

    Repeats that follow a regular pattern (every position M times) are a 4D
    series and not called duplicates.
    """
    ordered, groups = stack.ordered, stack.groups
    if len(groups) == 1 and len(ordered) > 1:
        return [
            Finding(
                Kind.notAVolume,
                ERROR,
                f"All {len(ordered)} slices are at the same position (within {limits.duplicateToleranceMm:g} mm): "
                f"this is not a volume (a time series of one slice, or copies). The affine's k axis is a guess.",
                value=0.0,
                tolerance=limits.duplicateToleranceMm,
                unit="mm",
            )
        ]
    if stack.numberOfVolumes > 1:
        return []
    findings: List[Finding] = []
    for group in groups:
        for index in group[1:]:
            header = ordered[index]
            original = ordered[group[0]]
            distance = float(np.linalg.norm(np.subtract(positionOf(header), positionOf(original))))
            findings.append(
                Finding(
                    Kind.duplicatePosition,
                    ERROR,
                    f"{_where(index, header)} is at the same position as {_where(group[0], original)} "
                    f"({distance:.3g} mm apart). Slicer stacks both, so every slice after it is off by one step; "
                    f"drop one copy.",
                    slice=index,
                    file=header.file,
                    value=distance,
                    tolerance=limits.duplicateToleranceMm,
                    unit="mm",
                )
            )
    return findings


_LOCAL_WINDOW = 3
"""Gaps on each side of a gap that define the local regular gap for ``missingSlice``."""


@stackCheck
def singleSlice(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``singleSlice`` (warning): one slice, so the k axis is a guess; says which attribute it came from."""
    if not stack.isSingleSlice:
        return []
    thicknessMm = stack.step.thicknessMm
    assert thicknessMm is not None  # one slice is one position, and sliceStep sets the thickness for one position
    return [
        Finding(
            Kind.singleSlice,
            WARNING,
            f"Only one slice position: there is no step to measure, so the k axis of the affine is the slice normal "
            f"times {thicknessMm:g} mm taken from {stack.step.source}. The volume is one voxel thick.",
            value=float(thicknessMm),
            unit="mm",
        )
    ]


@stackCheck
def spacing(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``missingSlice`` and ``nonUniformSpacing`` (errors) for each gap that is not the regular one.

    A gap within ``n * spacingToleranceMm`` of ``n`` local gaps (n >= 2; the
    local gap is the median of up to 3 gaps on each side, so a series whose
    spacing changes part-way is judged by its neighbourhood) is ``n - 1``
    missing slices. Any other gap further than ``spacingToleranceMm`` from the
    series' regular gap (the median of all gaps) is non-uniform spacing.
    """
    stackRows = stack.positionRows
    if len(stackRows) < 2:
        return []
    maxAffineErrorMm = stack.maxAffineErrorMm
    steps = [stepOf(row) for row in stackRows[1:]]
    regular = float(np.median(steps))
    findings: List[Finding] = []
    if abs(regular) <= limits.duplicateToleranceMm:
        return findings
    for position, (previous, row) in enumerate(zip(stackRows[:-1], stackRows[1:])):
        step = steps[position]
        between = f"between slice {previous.index} ({previous.file}) and slice {row.index} ({row.file})"
        neighbours = (
            steps[max(0, position - _LOCAL_WINDOW) : position] + steps[position + 1 : position + 1 + _LOCAL_WINDOW]
        )
        local = statistics.median(neighbours) if neighbours else regular
        multiple = int(round(step / local)) if abs(local) > limits.duplicateToleranceMm else 0
        if multiple >= 2 and abs(step - multiple * local) <= multiple * limits.spacingToleranceMm:
            findings.append(
                Finding(
                    Kind.missingSlice,
                    ERROR,
                    f"{multiple - 1} slice(s) missing {between}: the gap is {step:.4g} mm = {multiple} x the "
                    f"neighbouring {local:.4g} mm. A single affine misplaces slices by up to "
                    f"{maxAffineErrorMm:.3g} mm; Slicer warns and (by default) regularizes with a transform.",
                    slice=row.index,
                    file=row.file,
                    value=float(multiple - 1),
                    tolerance=None,
                    unit="slices",
                )
            )
            continue
        deviation = abs(step - regular)
        if deviation > limits.spacingToleranceMm:
            findings.append(
                Finding(
                    Kind.nonUniformSpacing,
                    ERROR,
                    f"Gap of {step:.4g} mm {between} differs from the regular {regular:.4g} mm (median gap) by "
                    f"{deviation:.4g} mm. A single affine misplaces slices by up to {maxAffineErrorMm:.3g} mm.",
                    slice=row.index,
                    file=row.file,
                    value=float(step),
                    tolerance=limits.spacingToleranceMm,
                    unit="mm",
                )
            )
    return findings


@stackCheck
def gantryTilt(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``gantryTilt`` (warning) per slice whose IPP step leaves the normal, and once for the series.

    The series tilt is the angle between ``IPP_last - IPP_first`` and the
    normal, also given signed in dcm2niix's convention. GantryDetectorTilt
    (0018,1120) is compared when present: its sign convention is the
    vendor's, so magnitudes decide agreement and the sign relation is said
    with the vendor named.
    """
    if stack.seriesTiltDeg is None:
        return []
    stackRows, unitNormal, seriesTilt = stack.positionRows, stack.unitNormal, stack.seriesTiltDeg
    positions = stack.positions
    findings: List[Finding] = []
    laterals = _lateralMm(np.diff([row.position for row in stackRows], axis=0), unitNormal)
    for row, lateral in zip(stackRows[1:], laterals.tolist()):
        tilt = tiltOf(row)
        if tilt > limits.tiltToleranceDeg and lateral > limits.tiltLateralToleranceMm:
            findings.append(
                Finding(
                    Kind.gantryTilt,
                    WARNING,
                    f"slice {row.index} ({row.file}): the step from the previous slice is {tilt:.3f} deg off the "
                    f"slice normal ({lateral:.3g} mm sideways).",
                    slice=row.index,
                    file=row.file,
                    value=float(tilt),
                    tolerance=limits.tiltToleranceDeg,
                    unit="deg",
                )
            )
    tag = next((header.gantryDetectorTilt for header in positions if header.gantryDetectorTilt is not None), None)
    tagText = (
        "no GantryDetectorTilt (0018,1120) tag" if tag is None else f"GantryDetectorTilt (0018,1120) = {tag:g} deg"
    )
    seriesLateral = float(_lateralMm(np.subtract(positionOf(positions[-1]), positionOf(positions[0])), unitNormal))
    if seriesTilt > limits.tiltToleranceDeg and seriesLateral > limits.tiltLateralToleranceMm:
        signed = stack.signedTiltDeg
        assert signed is not None  # measured whenever seriesTiltDeg is (two positions or more)
        quirk = (
            f", which dcm2niix prints although the lines meet at {seriesTilt:.3f} deg: its rule makes the step and the "
            f"normal 'positive' one by one"
            if abs(signed) > 90
            else ""
        )
        findings.append(
            Finding(
                Kind.gantryTilt,
                WARNING,
                f"The stack is sheared: slice positions advance {seriesTilt:.3f} deg off the slice normal (measured "
                f"from IPP and IOP; {signed:+.3f} deg in dcm2niix's sign convention{quirk}); {tagText}"
                f"{_tagRelation(tag, signed, seriesTilt, positions[0].manufacturer, limits)}. The affine keeps the "
                f"shear, as Slicer's reader does, so every slice sits at its IPP. dcm2niix's plain NIfTI does not: "
                f"its k axis is cos(tilt) x the first IPP step, which puts slices up to "
                f"{_dcm2niixPlainOffsetMm(positions, seriesTilt):.3g} mm from their IPPs (only its _Tilt output, "
                f"resampled onto an unsheared grid, places them right); tools that assume orthogonal voxels place "
                f"slices up to {_lateralShiftMm(positions):.3g} mm off.",
                value=float(seriesTilt),
                tolerance=limits.tiltToleranceDeg,
                unit="deg",
            )
        )
    elif tag is not None and abs(tag) > limits.tiltTagToleranceDeg:
        findings.append(
            Finding(
                Kind.gantryTilt,
                INFO,
                f"{tagText}, but slice positions run along the normal ({seriesTilt:.3f} deg): the images were "
                f"already resampled to an untilted grid, nothing to correct.",
                value=float(seriesTilt),
                tolerance=limits.tiltToleranceDeg,
                unit="deg",
            )
        )
    return findings


def _tagRelation(tag: Optional[float], signed: float, tiltDeg: float, manufacturer: str, limits: Tolerances) -> str:
    """How GantryDetectorTilt compares with the measured tilt: magnitudes, then the vendor's sign relation.

    The tag's sign is the manufacturer's convention (it describes the gantry,
    not the patient frame): the same geometry carries +18.5 from one vendor
    and -18.5 from another. So the magnitudes decide agreement, and the sign
    relation is stated with the vendor named, never hidden in "agrees".
    """
    if tag is None:
        return ": the tilt is measured from the positions only"
    if abs(abs(tag) - tiltDeg) > limits.tiltTagToleranceDeg:
        return f": its magnitude differs from the measured {tiltDeg:.3f} deg, so the tag is wrong: trust the positions"
    vendor = manufacturer.strip() or "the manufacturer (no Manufacturer tag)"
    if abs(tag) <= limits.tiltTagToleranceDeg or (tag > 0) == (signed > 0):
        return f": the magnitude agrees, and {vendor} writes it with the sign of dcm2niix's estimate"
    return (
        f": the magnitude agrees, but the sign is the opposite of dcm2niix's estimate; the tag's sign is {vendor}'s "
        f"convention (it describes the gantry, not the patient frame), so only the magnitudes can be compared"
    )


def _dcm2niixPlainOffsetMm(positions: Sequence[SliceHeader], tiltDeg: float) -> float:
    """Largest distance (mm) between a slice's IPP and where dcm2niix's plain (uncorrected) sform puts it.

    dcm2niix's k axis is ``cos(tilt) * (IPP_1 - IPP_0)`` (``intersliceDistance``),
    so slice k sits at ``IPP_0 + k * cos(tilt) * (IPP_1 - IPP_0)``.
    """
    points = np.asarray([positionOf(header) for header in positions], dtype=float)
    step = (points[1] - points[0]) * np.cos(np.radians(tiltDeg))
    planned = points[0] + np.outer(np.arange(len(points)), step)
    return float(np.linalg.norm(points - planned, axis=1).max())


def _lateralMm(steps: npt.ArrayLike, unitNormal: np.ndarray) -> np.ndarray:
    """Length (mm) of the part of each step (3-vector or rows of an (N, 3) array) perpendicular to ``unitNormal``.

    Shape ``(N,)``, or ``()`` for one 3-vector.
    """
    vectors = np.asarray(steps, dtype=float)
    along = (vectors @ unitNormal)[..., np.newaxis] * unitNormal
    return np.linalg.norm(vectors - along, axis=-1)


def _lateralShiftMm(positions: Sequence[SliceHeader]) -> float:
    """Largest in-plane offset (mm) of a slice from the first slice's origin projected along the normal."""
    first = np.asarray(positionOf(positions[0]))
    orientation = np.asarray(orientationOf(positions[0]))
    normal = affines.sliceNormal(orientation)
    normal = normal / np.linalg.norm(normal)
    offsets = np.asarray([positionOf(header) for header in positions], dtype=float) - first
    return float(np.max(_lateralMm(offsets, normal)))


@stackCheck
def instanceOrder(stack: Stack, limits: Tolerances) -> List[Finding]:
    """``instanceOrderNotSpatial`` (warning) when InstanceNumber neither rises nor falls along k.

    The order itself is measured by :func:`.stack.instanceNumberTrend`, for
    each volume of a 4D series on its own.
    """
    order = stack.instanceOrder
    if order.order != "notSpatial":
        return []
    breaking = order.breakingRow
    assert breaking is not None  # instanceOrderAlongK sets breakingRow whenever the order is notSpatial
    return [
        Finding(
            Kind.instanceOrderNotSpatial,
            WARNING,
            f"InstanceNumber does not follow slice position: at slice {breaking.index} ({breaking.file}) "
            f"InstanceNumber {breaking.instanceNumber} breaks the {'rising' if order.rising else 'falling'} "
            f"order. Slicer sorts by position, but a viewer or script that stacks by InstanceNumber (or by "
            f"file name) builds a different volume.",
            slice=breaking.index,
            file=breaking.file,
        )
    ]
