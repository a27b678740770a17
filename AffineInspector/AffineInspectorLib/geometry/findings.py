"""Structured findings and the tolerances that produce them.

A :class:`Finding` is one fact about a series' geometry, rendered alike by the
command line, the Slicer panel and reports. Kinds are spelled exactly as in
:data:`KINDS`; their meaning is documented in README ("What each finding
means").
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Dict, Iterable, List, Optional, Sequence, Type, TypeVar


class _StrEnum(str, enum.Enum):
    """A closed vocabulary whose members are plain strings in text and JSON (as highdicom's enums)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Severity(_StrEnum):
    """How bad a finding is, worst first."""

    ERROR = "error"
    """The loaded volume will be wrong."""
    WARNING = "warning"
    """It may be wrong, or differ between tools."""
    INFO = "info"


class Kind(_StrEnum):
    """What a finding is about; each is documented in README ("What each finding means")."""

    missingGeometry = "missingGeometry"
    unreadableFile = "unreadableFile"
    skippedPath = "skippedPath"
    invalidValue = "invalidValue"
    internalError = "internalError"
    orientationMismatch = "orientationMismatch"
    nonOrthonormalOrientation = "nonOrthonormalOrientation"
    duplicatePosition = "duplicatePosition"
    notAVolume = "notAVolume"
    nonUniformSpacing = "nonUniformSpacing"
    missingSlice = "missingSlice"
    gantryTilt = "gantryTilt"
    instanceOrderNotSpatial = "instanceOrderNotSpatial"
    mixedImageSize = "mixedImageSize"
    mixedPixelSpacing = "mixedPixelSpacing"
    mixedFrameOfReference = "mixedFrameOfReference"
    singleSlice = "singleSlice"
    multiFrame = "multiFrame"
    mosaic = "mosaic"
    unsupportedMosaic = "unsupportedMosaic"
    seriesSplit = "seriesSplit"
    # How an image file lies on a DICOM series (``align``): the relation, best first ...
    sameGrid = "same-grid"
    sameGridReindexed = "same-grid-reindexed"
    sameSlices = "same-slices"
    differentGrid = "different-grid"
    disjoint = "disjoint"
    # ... and the header mistakes ``align`` recognizes by reproducing what common pipelines write.
    lpsAsRAS = "lps-as-ras"
    kjiArrayOrder = "kji-array-order"
    sliceOrderReversed = "slice-order-reversed"
    instanceNumberOrder = "instance-number-order"
    sliceStepFromFirstTwoFiles = "slice-step-from-first-two-files"
    qformSformDisagree = "qform-sform-disagree"
    tiltCorrectedGrid = "tilt-corrected-grid"
    headerApproximatesStack = "header-approximates-stack"
    contentHeaderDisagree = "content-header-disagree"
    # Label images of ``audit --labels``: matched to no series or to several, or not comparable with theirs.
    unmatchedLabel = "unmatchedLabel"
    ambiguousLabel = "ambiguousLabel"
    labelNotChecked = "labelNotChecked"


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
SEVERITIES = tuple(Severity)
"""Severities, worst first."""
KINDS = tuple(Kind)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One geometry finding; immutable (a check never edits another check's findings).

    Attributes
    ----------
    kind
        A :class:`Kind` (a plain string is converted; an unknown one raises ``ValueError``).
    severity
        A :class:`Severity`: ``"error"`` (the loaded volume will be wrong),
        ``"warning"`` (it may be wrong or differ between tools) or ``"info"``.
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
        ``"mm"``, ``"deg"``, ``"slices"``, ``"frames"``, ``""`` (dimensionless) or ``None``.
    message
        Plain words: what, where, how much, and what it means for the volume.
    """

    kind: Kind
    severity: Severity
    message: str
    slice: Optional[int] = None
    file: Optional[str] = None
    value: Optional[float] = None
    tolerance: Optional[float] = None
    unit: Optional[str] = None

    def __post_init__(self) -> None:
        # Plain strings are accepted and stored as members; frozen, so through object.__setattr__.
        object.__setattr__(self, "kind", _member(Kind, self.kind, "kind"))
        object.__setattr__(self, "severity", _member(Severity, self.severity, "severity"))


_Member = TypeVar("_Member", bound=enum.Enum)


def _member(vocabulary: Type[_Member], value: object, argumentName: str) -> _Member:
    try:
        return vocabulary(value)
    except ValueError:
        names = [str(member) for member in vocabulary]
        raise ValueError(f'Argument "{argumentName}" must be one of {names}, got {value!r}') from None


def worstSeverity(findings: Iterable[Finding]) -> Optional[Severity]:
    """Return the worst severity among ``findings`` (``None`` if there are none)."""
    present = {finding.severity for finding in findings}
    for severity in SEVERITIES:
        if severity in present:
            return severity
    return None


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Every tolerance the checks use, with its default and where it comes from.

    All are keyword arguments of :func:`AffineInspectorLib.dicom.series.inspectPaths`;
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

    mosaicProtocolToleranceMm: float = 0.01
    """Largest distance (mm) between a Siemens mosaic tile's IPP and the one its protocol slice centre
    (ASCCONV sSliceArray) gives before the two sources are said to disagree (they agree to 1e-6 mm on real
    files; the protocol is written with about 6 significant digits)."""

    @classmethod
    def fromKeywords(cls, **keywords: float) -> "Tolerances":
        """Build from keyword arguments, rejecting unknown names and negative values."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise TypeError(f"unknown tolerance(s) {unknown}; valid: {sorted(names)}")
        for name, value in keywords.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        return cls(**{name: float(value) for name, value in keywords.items()})


RUN_SUMMARY_THRESHOLD = 4
"""A kind reported on more slices than this is summarized in one line, here and in the panel's Findings tab
(every finding stays in JSON and the slice table)."""


def perSliceRuns(findings: Sequence[Finding]) -> Dict[Kind, List[Finding]]:
    """The per-slice findings of each kind found on more than RUN_SUMMARY_THRESHOLD slices, by kind."""
    bySliceKind: Dict[Kind, List[Finding]] = {}
    for finding in findings:
        if finding.slice is not None:
            bySliceKind.setdefault(finding.kind, []).append(finding)
    return {kind: group for kind, group in bySliceKind.items() if len(group) > RUN_SUMMARY_THRESHOLD}


def sliceRanges(indices: Sequence[int]) -> str:
    """Slice indices as ranges: ``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    indices = sorted(indices)
    ranges = []
    start = previous = indices[0]
    for index in indices[1:]:
        if index != previous + 1:
            ranges.append((start, previous))
            start = index
        previous = index
    ranges.append((start, previous))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
