"""Structured findings and the tolerances that produce them.

A :class:`Finding` is one fact about a series' geometry, rendered alike by the
command line, the Slicer panel and reports. Kinds are spelled exactly as in
:data:`KINDS`; their meaning is documented in README ("What each finding
means").
"""

from __future__ import annotations

import dataclasses
from typing import Optional

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
"""Severity names, worst first."""

KINDS = (
    "missingGeometry",
    "unreadableFile",
    "orientationMismatch",
    "nonOrthonormalOrientation",
    "duplicatePosition",
    "notAVolume",
    "nonUniformSpacing",
    "missingSlice",
    "gantryTilt",
    "instanceOrderNotSpatial",
    "mixedImageSize",
    "mixedPixelSpacing",
    "mixedFrameOfReference",
    "singleSlice",
    "multiFrame",
)


@dataclasses.dataclass
class Finding:
    """One geometry finding.

    Attributes
    ----------
    kind
        One of :data:`KINDS`.
    severity
        ``"error"`` (the loaded volume will be wrong), ``"warning"`` (it may be
        wrong or differ between tools) or ``"info"``.
    slice
        Index of the slice in sorted order (Slicer's k), or ``None`` when the
        finding is about the whole series or about a file that is not a slice.
    file
        The file concerned, as given by the user, or ``None``.
    value
        The measured quantity, in ``unit``; ``None`` when nothing is measured.
    tolerance
        The tolerance the value was compared with, in ``unit``.
    unit
        ``"mm"``, ``"deg"``, ``"slices"``, ``""`` (dimensionless) or ``None``.
    message
        Plain words: what, where, how much, and what it means for the volume.
    """

    kind: str
    severity: str
    message: str
    slice: Optional[int] = None
    file: Optional[str] = None
    value: Optional[float] = None
    tolerance: Optional[float] = None
    unit: Optional[str] = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def toDict(self) -> dict:
        """Return a JSON-ready dict with the attribute names as keys."""
        return dataclasses.asdict(self)


def worstSeverity(findings) -> Optional[str]:
    """Return the worst severity among ``findings`` (``None`` if there are none)."""
    present = {finding.severity for finding in findings}
    for severity in SEVERITIES:
        if severity in present:
            return severity
    return None


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Every tolerance the checks use, with its default and where it comes from.

    All are keyword arguments of :func:`AffineInspectorLib.series.inspectPaths`;
    the main ones are command-line options.
    """

    slicerSortEpsilonMm: float = 0.01
    """Slicer ``DICOMUtils.getSortedImageFiles`` epsilon: largest difference (mm)
    of a slice gap from the first gap before Slicer warns. Used only by the port."""

    spacingToleranceMm: float = 0.01
    """Largest difference (mm) of a gap along the normal from the regular gap
    (median gap) that still counts as uniform. Slicer's own value."""

    duplicateToleranceMm: float = 0.001
    """Two slices whose IPPs are closer than this (mm) are at the same position."""

    tiltToleranceDeg: float = 0.01
    """Largest angle (degrees) between an IPP step and the slice normal that is
    not reported as gantry tilt (at 5 mm steps: 0.9 micrometre sideways)."""

    tiltLateralToleranceMm: float = 0.01
    """Tilt is reported only where the sideways part of the IPP step also exceeds
    this (mm): rounded IPP strings make tiny steps look tilted by a few 0.01 deg."""

    tiltTagToleranceDeg: float = 0.1
    """Largest difference (degrees) between measured tilt and |GantryDetectorTilt|
    that counts as agreement (the tag is usually written to 0.1 degree)."""

    orientationToleranceDeg: float = 1e-4
    """Largest angle (degrees) between a slice's row or column direction and the
    first slice's. About Slicer's split criterion (IOP components, atol 1e-6)."""

    orthonormalTolerance: float = 1e-4
    """Largest | |X|-1 |, | |Y|-1 | or |X.Y| of IOP (dimensionless; dicom-numpy,
    highdicom use 1e-4)."""

    pixelSpacingToleranceMm: float = 1e-4
    """Largest PixelSpacing difference (mm) from the first slice."""

    @classmethod
    def fromKeywords(cls, **keywords) -> "Tolerances":
        """Build from keyword arguments, rejecting unknown names and negative values."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise TypeError(f"unknown tolerance(s) {unknown}; valid: {sorted(names)}")
        for name, value in keywords.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        return cls(**{name: float(value) for name, value in keywords.items()})
