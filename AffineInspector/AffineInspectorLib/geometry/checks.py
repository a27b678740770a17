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
from typing import Callable, List, NamedTuple, Sequence, Set, Tuple

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


ADMISSION_RULES: Tuple[AdmissionRule, ...] = (multiFrame, missingGeometry, orientationMismatch)
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
    normal. GantryDetectorTilt (0018,1120) is compared when present; its
    sign convention is the vendor's, so magnitudes are compared.
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
    agrees = tag is not None and abs(abs(tag) - seriesTilt) <= limits.tiltTagToleranceDeg
    seriesLateral = float(_lateralMm(np.subtract(positionOf(positions[-1]), positionOf(positions[0])), unitNormal))
    if seriesTilt > limits.tiltToleranceDeg and seriesLateral > limits.tiltLateralToleranceMm:
        comparison = "the tag agrees" if agrees else "the tag does not agree: trust the positions"
        if tag is None:
            comparison = "the tilt is measured from positions only"
        findings.append(
            Finding(
                Kind.gantryTilt,
                WARNING,
                f"The stack is sheared: slice positions advance {seriesTilt:.3f} deg off the slice normal "
                f"(measured from IPP); {tagText}, {comparison}. The affine keeps the shear (as Slicer's reader and "
                f"dcm2niix's sform do); tools that assume orthogonal voxels place slices up to "
                f"{_lateralShiftMm(positions):.3g} mm off.",
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
