"""The per-slice and per-series geometry checks.

Each function takes slices (and the tolerances) and returns a list of
:class:`~AffineInspectorLib.findings.Finding`; ``slice`` in a finding is the
index in sorted order. What each check corresponds to in Slicer, dcm2niix,
dicom2nifti, dicom-numpy, nibabel, highdicom and GDCM is listed in README
("What each finding means").
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from . import affines
from .findings import ERROR, INFO, WARNING, Finding, Tolerances


def _where(index: int, header) -> str:
    number = "" if header.instanceNumber is None else f", InstanceNumber {header.instanceNumber}"
    return f"slice {index} ({header.label}{number})"


def multiFrame(slices) -> List[Finding]:
    """One ``multiFrame`` info finding per multi-frame file."""
    findings = []
    seen = set()
    for header in slices:
        if header.frame is not None and header.file not in seen:
            seen.add(header.file)
            findings.append(
                Finding(
                    "multiFrame",
                    INFO,
                    f"{header.file} is a multi-frame file with {header.numberOfFrames} frame(s); each frame is "
                    f"treated as a slice, with its position and orientation taken from the per-frame (else shared) "
                    f"functional groups. Slicer's sort only warns for such files.",
                    file=header.file,
                    value=float(header.numberOfFrames),
                    unit="frames",
                )
            )
    return findings


def missingGeometry(slices) -> List[Finding]:
    """``missingGeometry`` (error) for each slice whose IPP, IOP or PixelSpacing is missing or invalid."""
    return [
        Finding(
            "missingGeometry",
            ERROR,
            f"{header.label}: {'; '.join(header.geometryProblems)}. This slice is left out of the stack; "
            f"Slicer's sort returns such a series unsorted.",
            file=header.file,
        )
        for header in slices
        if not header.hasGeometry
    ]


def orientationMismatch(slices, reference, limits: Tolerances) -> List[Finding]:
    """``orientationMismatch`` (error) where a slice's IOP turns away from the reference (first file's).

    ``slice`` in each finding is the index into ``slices``; the caller leaves
    these slices out of the stack, as Slicer's scalar-volume plugin splits a
    series by orientation.
    """
    findings = []
    referenceOrientation = np.asarray(reference.orientation)
    orientations = np.asarray([header.orientation for header in slices], dtype=float)
    angles = np.maximum(
        affines.anglesDegrees(orientations[:, :3], referenceOrientation[:3]),
        affines.anglesDegrees(orientations[:, 3:], referenceOrientation[3:]),
    )
    for index in np.flatnonzero(angles > limits.orientationToleranceDeg).tolist():
        header, angle = slices[index], float(angles[index])
        findings.append(
            Finding(
                "orientationMismatch",
                ERROR,
                f"{header.label}: ImageOrientationPatient differs from the first file's ({reference.label}) by "
                f"{angle:.4g} deg. Left out of this volume: Slicer's scalar-volume plugin loads slices of another "
                f"orientation as a separate volume, and one affine cannot place both.",
                slice=index,
                file=header.file,
                value=angle,
                tolerance=limits.orientationToleranceDeg,
                unit="deg",
            )
        )
    return findings


def nonOrthonormalOrientation(ordered, limits: Tolerances) -> List[Finding]:
    """``nonOrthonormalOrientation`` (warning) once per distinct IOP that is not unit or not perpendicular."""
    findings = []
    reported = set()
    for index, header in enumerate(ordered):
        if header.orientation in reported:
            continue
        reported.add(header.orientation)
        row = np.asarray(header.orientation[:3])
        column = np.asarray(header.orientation[3:])
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
                    "nonOrthonormalOrientation",
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


def mixedAttributes(ordered, reference, limits: Tolerances) -> List[Finding]:
    """``mixedImageSize``, ``mixedPixelSpacing`` and ``mixedFrameOfReference`` (errors) against the reference slice."""
    findings = []
    spacingDifferences = np.max(
        np.abs(np.asarray([header.pixelSpacing for header in ordered]) - np.asarray(reference.pixelSpacing)), axis=1
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
                    "mixedImageSize",
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
                    "mixedPixelSpacing",
                    ERROR,
                    f"{where}: PixelSpacing {list(header.pixelSpacing)} differs from the first slice's "
                    f"{list(reference.pixelSpacing)} by {difference:.4g} mm; one affine would misplace its voxels "
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
                    "mixedFrameOfReference",
                    ERROR,
                    f"{where}: FrameOfReferenceUID {header.frameOfReferenceUID or '(none)'} differs from the first "
                    f"slice's {reference.frameOfReferenceUID or '(none)'}: positions are in different patient "
                    f"coordinate systems and cannot be compared.",
                    slice=index,
                    file=header.file,
                )
            )
    return findings


def positionRepeats(ordered, groups, volumes: int, repeatedBy: Optional[str], limits: Tolerances) -> List[Finding]:
    """``notAVolume`` (all slices at one position), ``duplicatePosition`` (irregular repeats), or 4D info.

    Repeats that follow a regular pattern (every position M times) are a 4D
    series and not called duplicates.
    """
    if len(groups) == 1 and len(ordered) > 1:
        return [
            Finding(
                "notAVolume",
                ERROR,
                f"All {len(ordered)} slices are at the same position (within {limits.duplicateToleranceMm:g} mm): "
                f"this is not a volume (a time series of one slice, or copies). The affine's k axis is a guess.",
                value=0.0,
                tolerance=limits.duplicateToleranceMm,
                unit="mm",
            )
        ]
    if volumes > 1:
        return []
    findings = []
    for group in groups:
        for index in group[1:]:
            header = ordered[index]
            original = ordered[group[0]]
            distance = float(np.linalg.norm(np.subtract(header.position, original.position)))
            findings.append(
                Finding(
                    "duplicatePosition",
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


def spacing(stackRows, limits: Tolerances, maxAffineErrorMm: float) -> List[Finding]:
    """``missingSlice`` and ``nonUniformSpacing`` (errors) for each gap that is not the regular one.

    A gap within ``n * spacingToleranceMm`` of ``n`` local gaps (n >= 2; the
    local gap is the median of up to 3 gaps on each side, so a series whose
    spacing changes part-way is judged by its neighbourhood) is ``n - 1``
    missing slices. Any other gap further than ``spacingToleranceMm`` from the
    series' regular gap (the median of all gaps) is non-uniform spacing.
    """
    steps = [row.step for row in stackRows[1:]]
    regular = float(np.median(steps))
    findings = []
    if abs(regular) <= limits.duplicateToleranceMm:
        return findings
    for position, (previous, row) in enumerate(zip(stackRows[:-1], stackRows[1:])):
        between = f"between slice {previous.index} ({previous.file}) and slice {row.index} ({row.file})"
        neighbours = (
            steps[max(0, position - _LOCAL_WINDOW) : position] + steps[position + 1 : position + 1 + _LOCAL_WINDOW]
        )
        local = _median(neighbours) if neighbours else regular
        multiple = int(round(row.step / local)) if abs(local) > limits.duplicateToleranceMm else 0
        if multiple >= 2 and abs(row.step - multiple * local) <= multiple * limits.spacingToleranceMm:
            findings.append(
                Finding(
                    "missingSlice",
                    ERROR,
                    f"{multiple - 1} slice(s) missing {between}: the gap is {row.step:.4g} mm = {multiple} x the "
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
        deviation = abs(row.step - regular)
        if deviation > limits.spacingToleranceMm:
            findings.append(
                Finding(
                    "nonUniformSpacing",
                    ERROR,
                    f"Gap of {row.step:.4g} mm {between} differs from the regular {regular:.4g} mm (median gap) by "
                    f"{deviation:.4g} mm. A single affine misplaces slices by up to {maxAffineErrorMm:.3g} mm.",
                    slice=row.index,
                    file=row.file,
                    value=float(row.step),
                    tolerance=limits.spacingToleranceMm,
                    unit="mm",
                )
            )
    return findings


def _median(values) -> float:
    """Median of a short list (mean of the middle two for an even count, as ``numpy.median``)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def gantryTilt(stack, stackRows, unitNormal, limits: Tolerances) -> Tuple[List[Finding], float]:
    """``gantryTilt`` (warning) per slice whose IPP step leaves the normal, and once for the series.

    The series tilt is the angle between ``IPP_last - IPP_first`` and the
    normal. GantryDetectorTilt (0018,1120) is compared when present; its
    sign convention is the vendor's, so magnitudes are compared.
    """
    findings = []
    laterals = _lateralMm(np.diff([row.position for row in stackRows], axis=0), unitNormal)
    for row, lateral in zip(stackRows[1:], laterals.tolist()):
        if row.tilt > limits.tiltToleranceDeg and lateral > limits.tiltLateralToleranceMm:
            findings.append(
                Finding(
                    "gantryTilt",
                    WARNING,
                    f"slice {row.index} ({row.file}): the step from the previous slice is {row.tilt:.3f} deg off the "
                    f"slice normal ({lateral:.3g} mm sideways).",
                    slice=row.index,
                    file=row.file,
                    value=float(row.tilt),
                    tolerance=limits.tiltToleranceDeg,
                    unit="deg",
                )
            )
    seriesTilt = affines.lineAngleDegrees(np.subtract(stack[-1].position, stack[0].position), unitNormal)
    tag = next((header.gantryDetectorTilt for header in stack if header.gantryDetectorTilt is not None), None)
    tagText = (
        "no GantryDetectorTilt (0018,1120) tag" if tag is None else f"GantryDetectorTilt (0018,1120) = {tag:g} deg"
    )
    agrees = tag is not None and abs(abs(tag) - seriesTilt) <= limits.tiltTagToleranceDeg
    seriesLateral = _lateralMm(np.subtract(stack[-1].position, stack[0].position), unitNormal)
    if seriesTilt > limits.tiltToleranceDeg and seriesLateral > limits.tiltLateralToleranceMm:
        comparison = "the tag agrees" if agrees else "the tag does not agree: trust the positions"
        if tag is None:
            comparison = "the tilt is measured from positions only"
        findings.append(
            Finding(
                "gantryTilt",
                WARNING,
                f"The stack is sheared: slice positions advance {seriesTilt:.3f} deg off the slice normal "
                f"(measured from IPP); {tagText}, {comparison}. The affine keeps the shear (as Slicer's reader and "
                f"dcm2niix's sform do); tools that assume orthogonal voxels place slices up to "
                f"{_lateralShiftMm(stack):.3g} mm off.",
                value=float(seriesTilt),
                tolerance=limits.tiltToleranceDeg,
                unit="deg",
            )
        )
    elif tag is not None and abs(tag) > limits.tiltTagToleranceDeg:
        findings.append(
            Finding(
                "gantryTilt",
                INFO,
                f"{tagText}, but slice positions run along the normal ({seriesTilt:.3f} deg): the images were "
                f"already resampled to an untilted grid, nothing to correct.",
                value=float(seriesTilt),
                tolerance=limits.tiltToleranceDeg,
                unit="deg",
            )
        )
    return findings, float(seriesTilt)


def _lateralMm(steps, unitNormal):
    """Length (mm) of the part of each step (3-vector or rows of an (N, 3) array) perpendicular to ``unitNormal``."""
    steps = np.asarray(steps, dtype=float)
    along = (steps @ unitNormal)[..., np.newaxis] * unitNormal
    lengths = np.linalg.norm(steps - along, axis=-1)
    return float(lengths) if lengths.ndim == 0 else lengths


def _lateralShiftMm(stack) -> float:
    """Largest in-plane offset (mm) of a slice from the first slice's origin projected along the normal."""
    first = np.asarray(stack[0].position)
    orientation = np.asarray(stack[0].orientation)
    normal = affines.sliceNormal(orientation)
    normal = normal / np.linalg.norm(normal)
    offsets = np.asarray([header.position for header in stack], dtype=float) - first
    return float(np.max(_lateralMm(offsets, normal)))


def instanceOrder(rows, groups, volumes: int) -> Tuple[List[Finding], str]:
    """``instanceOrderNotSpatial`` (warning) when InstanceNumber neither rises nor falls along k.

    Checked for each volume of a 4D series on its own. Returns the findings
    and ``"ascending"``, ``"descending"``, ``"notSpatial"``, ``"mixed"`` (volumes
    of a 4D series disagree) or ``"unknown"`` (fewer than two InstanceNumbers).
    """
    trends = set()
    for volume in range(volumes):
        sequence = [rows[group[volume]] for group in groups if volume < len(group)]
        numbered = [row for row in sequence if row.instanceNumber is not None]
        if len(numbered) < 2:
            continue
        differences = [b.instanceNumber - a.instanceNumber for a, b in zip(numbered[:-1], numbered[1:])]
        rising = all(d >= 0 for d in differences)
        falling = all(d <= 0 for d in differences)
        if rising and not falling:
            trends.add("ascending")
        elif falling and not rising:
            trends.add("descending")
        elif rising and falling:
            trends.add("unknown")
        else:
            trend = 1 if sum(1 for d in differences if d > 0) >= sum(1 for d in differences if d < 0) else -1
            breaking = next(
                b for a, b in zip(numbered[:-1], numbered[1:]) if (b.instanceNumber - a.instanceNumber) * trend < 0
            )
            return [
                Finding(
                    "instanceOrderNotSpatial",
                    WARNING,
                    f"InstanceNumber does not follow slice position: at slice {breaking.index} ({breaking.file}) "
                    f"InstanceNumber {breaking.instanceNumber} breaks the {'rising' if trend > 0 else 'falling'} "
                    f"order. Slicer sorts by position, but a viewer or script that stacks by InstanceNumber (or by "
                    f"file name) builds a different volume.",
                    slice=breaking.index,
                    file=breaking.file,
                )
            ], "notSpatial"
    if len(trends) == 1:
        return [], trends.pop()
    return [], "mixed" if {"ascending", "descending"} <= trends else "unknown"
