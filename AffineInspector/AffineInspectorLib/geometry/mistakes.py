"""What went wrong between an image file's header and its DICOM series: named mistakes, found by reproducing
what common pipelines write and matching the file's header to it. Pure geometry (numpy only).

Two ways a mistake is found:

* **a correction**: undo the mistake on the file's matrix (flip LPS to RAS, swap the array axes back,
  negate the slice step, use the qform) and compare again; when the corrected matrix puts every voxel on
  its DICOM voxel, the mistake is named and the correction's correspondence is the truth;
* **a reproduction**: build the matrix a pipeline writes from these DICOM files (slices stacked by
  InstanceNumber with the origin and step of the first files; the step of the first two files; dcm2niix's
  orthogonal tilt-corrected grid) and see whether the file's header is that matrix.

Conventions as in :mod:`.alignment`: ``fileToRAS`` maps the file's own index (a0, a1, a2, on-disk order)
to RAS mm; the stack is Slicer IJK (i column, j row, k in Slicer's sorted order) at each slice's IPP.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import affines
from .alignment import ONE_TO_ONE, Correspondence, GridMatch, StackGrid, matchGrid
from .findings import ERROR, Kind, Severity
from .stack import instanceNumberTrend


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A named header mistake: ``kind`` (a :class:`~.findings.Kind`), ``severity`` (always error: the
    header puts voxels where they are not) and ``explanation`` in the user's words."""

    kind: Kind
    severity: Severity
    explanation: str


@dataclasses.dataclass(frozen=True)
class HeaderAffines:
    """The matrices an image header holds, each from the file's index (on-disk order) to RAS mm.

    ``fileToRAS`` is the one used (NIfTI: the sform when its code is > 0, else the qform, as nibabel's
    ``img.affine``); ``source`` names it (``"sform"``, ``"qform"``, ``"header"`` for the single matrix of
    NRRD / MetaImage / MGH). NIfTI codes are 0 for the other formats.
    """

    fileToRAS: np.ndarray
    source: str
    sform: Optional[np.ndarray] = None
    sformCode: int = 0
    qform: Optional[np.ndarray] = None
    qformCode: int = 0


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """The mistakes found, and the correspondence a mistake's correction gives (``None`` if none does)."""

    mistakes: List[Mistake]
    correctedRelation: Optional[Kind] = None
    correspondence: Optional[Correspondence] = None
    correctedBy: Optional[Kind] = None


def diagnose(
    header: HeaderAffines,
    shape: Sequence[int],
    stack: StackGrid,
    match: GridMatch,
    instanceNumbers: Sequence[Optional[int]],
    *,
    toleranceMm: float,
) -> Diagnosis:
    """Name the mistakes of a file whose header was compared with ``stack`` (``match``).

    ``instanceNumbers`` are the DICOM files' InstanceNumbers in Slicer's sorted order.
    """
    mistakes: List[Mistake] = []
    best: Optional[Tuple[Kind, GridMatch]] = None

    def consider(kind: Kind, corrected: GridMatch) -> None:
        nonlocal best
        if corrected.relation in ONE_TO_ONE and (best is None or _rank(corrected) < _rank(best[1])):
            best = (kind, corrected)

    oneToOne = match.relation in ONE_TO_ONE
    disagreement = _qformSformDisagreement(header, shape, toleranceMm)
    if disagreement is not None:
        other, distance = disagreement
        otherMatch = matchGrid(other, shape, stack, toleranceMm=toleranceMm)
        otherName = "qform" if header.source == "sform" else "sform"
        verdict = (
            f"; the {otherName} would line up ({otherMatch.relation})"
            if otherMatch.relation in ONE_TO_ONE
            else f"; the {otherName} does not line up either ({otherMatch.relation})"
        )
        mistakes.append(
            Mistake(
                Kind.qformSformDisagree,
                ERROR,
                f"The NIfTI header holds two different geometries: sform (code {header.sformCode}) and qform "
                f"(code {header.qformCode}) place voxels up to {distance:.3g} mm apart. nibabel and this tool use "
                f"the {header.source}; ITK-based tools (SimpleITK, Slicer, ANTs) may use the other{verdict}.",
            )
        )
        if not oneToOne:
            consider(Kind.qformSformDisagree, otherMatch)
    if not oneToOne:
        # A correction that gives back the same set of voxel centres (e.g. swapping the in-plane axes of a square
        # image) cannot be told apart from the header: only a file that does not line up as it is is corrected.
        named = {mistake.kind for mistake in mistakes}
        for kind, corrected, explanation in _corrections(header.fileToRAS, shape, stack, toleranceMm):
            if corrected.relation in ONE_TO_ONE and kind not in named:
                named.add(kind)
                mistakes.append(Mistake(kind, ERROR, explanation))
                consider(kind, corrected)
    if match.relation not in ONE_TO_ONE[:2]:
        regular = stack.isRegular(toleranceMm)
        for kind, correspondence, explanation in _reproductions(
            header.fileToRAS, shape, stack, instanceNumbers, toleranceMm
        ):
            mistakes.append(Mistake(kind, ERROR, explanation))
            if correspondence is not None:
                relation = Kind.sameGridReindexed if regular else Kind.sameSlices
                consider(kind, GridMatch(relation, correspondence, None, None, 1.0, True))
    tiltGrid = _tiltCorrectedGrid(header.fileToRAS, stack, match, toleranceMm)
    if tiltGrid:
        mistakes.append(Mistake(Kind.tiltCorrectedGrid, ERROR, tiltGrid))
    if match.relation == Kind.sameSlices and (best is None or best[1].relation == Kind.sameSlices):
        mistakes.append(Mistake(Kind.headerApproximatesStack, ERROR, _approximationText(match)))
    if best is None:
        return Diagnosis(mistakes)
    kind, corrected = best
    relation = corrected.relation
    if (
        corrected.correspondence is not None
        and relation == Kind.sameGridReindexed
        and corrected.correspondence.isIdentity
    ):
        relation = Kind.sameGrid
    return Diagnosis(mistakes, relation, corrected.correspondence, kind)


def _rank(match: GridMatch) -> int:
    return ONE_TO_ONE.index(match.relation) if match.relation in ONE_TO_ONE else len(ONE_TO_ONE)


# --------------------------------------------------------------------------- corrections


def _corrections(
    fileToRAS: np.ndarray, shape: Sequence[int], stack: StackGrid, toleranceMm: float
) -> List[Tuple[Kind, GridMatch, str]]:
    """Each correction: (mistake kind, the corrected matrix compared with the stack, explanation)."""
    results: List[Tuple[Kind, GridMatch, str]] = []
    flipped = affines.lpsToRAS(fileToRAS)
    results.append(
        (
            Kind.lpsAsRAS,
            matchGrid(flipped, shape, stack, toleranceMm=toleranceMm),
            "The header holds an LPS matrix (DICOM's patient frame, as built from ImagePositionPatient and "
            "ImageOrientationPatient) where NIfTI expects RAS: x and y have the wrong sign. Negate the first two "
            "rows of the affine (diag(-1, -1, 1, 1) @ affine) before saving.",
        )
    )
    # [k, j, i] first: for a square image the in-plane swap gives the same voxel centres, and this is the common one.
    for permutation in [(2, 1, 0)] + [p for p in itertools.permutations(range(3)) if p not in ((0, 1, 2), (2, 1, 0))]:
        swapped = fileToRAS[:, [permutation[0], permutation[1], permutation[2], 3]]
        order = ", ".join("ijk"[axis] for axis in permutation)
        if permutation == (2, 1, 0):
            text = (
                "The array was saved in numpy order [k, j, i] (slice, row, column, as pydicom stacks and "
                "slicer.util.arrayFromVolume return it) under an affine meant for [i, j, k]: the axes of the data "
                "and of the header are swapped. Save numpy.transpose(array, (2, 1, 0)) instead."
            )
        else:
            text = (
                f"The array's axes are in the order ({order}) of the header's axes: the data was transposed "
                f"(numpy.transpose) without the affine's columns being swapped to match."
            )
        results.append((Kind.kjiArrayOrder, matchGrid(swapped, shape, stack, toleranceMm=toleranceMm), text))
    sliceAxis = _sliceAxis(fileToRAS, stack)
    negated = fileToRAS.copy()
    negated[:3, sliceAxis] = -negated[:3, sliceAxis]
    results.append(
        (
            Kind.sliceOrderReversed,
            matchGrid(negated, shape, stack, toleranceMm=toleranceMm),
            f"The slices along file axis {sliceAxis} are stacked in the opposite order to the header's slice step: "
            f"the origin is the first stacked slice's position but the step points the other way (e.g. slices "
            f"stacked from the top while the step was taken from an ascending sort). Negate that column of the "
            f"affine, or stack the slices in the order the step assumes.",
        )
    )
    return results


def _sliceAxis(fileToRAS: np.ndarray, stack: StackGrid) -> int:
    directions = fileToRAS[:3, :3] / np.linalg.norm(fileToRAS[:3, :3], axis=0)
    return int(np.argmax(np.abs(stack.normal @ directions)))


# --------------------------------------------------------------------------- reproductions


def _reproductions(
    fileToRAS: np.ndarray,
    shape: Sequence[int],
    stack: StackGrid,
    instanceNumbers: Sequence[Optional[int]],
    toleranceMm: float,
) -> List[Tuple[Kind, Optional[Correspondence], str]]:
    results: List[Tuple[Kind, Optional[Correspondence], str]] = []
    instance = _instanceNumberStack(fileToRAS, shape, stack, instanceNumbers, toleranceMm)
    if instance is not None:
        results.append(instance)
    firstTwo = _firstTwoFilesStep(fileToRAS, shape, stack, toleranceMm)
    if firstTwo is not None:
        results.append((Kind.sliceStepFromFirstTwoFiles, None, firstTwo))
    return results


def _pipelineGrid(stack: StackGrid, order: Sequence[int], step: np.ndarray) -> StackGrid:
    """The regular grid a pipeline writes: slices in ``order`` (indices into Slicer's order), origin the IPP of
    the first, the given k step, in-plane as DICOM."""
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = stack.columnStep, stack.rowStep, step
    matrix[:3, 3] = stack.positions[order[0]]
    return StackGrid.fromAffine(matrix, stack.dimensions)


def _instanceNumberStack(
    fileToRAS: np.ndarray,
    shape: Sequence[int],
    stack: StackGrid,
    instanceNumbers: Sequence[Optional[int]],
    toleranceMm: float,
) -> Optional[Tuple[Kind, Optional[Correspondence], str]]:
    """Slices stacked by InstanceNumber (not the spatial order), the affine from the first file(s) so stacked."""
    if len(instanceNumbers) < 3 or any(number is None for number in instanceNumbers):
        return None
    if instanceNumberTrend(list(instanceNumbers))[0] != "notSpatial":
        return None
    order = [int(index) for index in np.argsort(np.asarray(instanceNumbers, dtype=float), kind="stable")]
    positions = stack.positions
    steps = {
        "the first two files": positions[order[1]] - positions[order[0]],
        "the first and last files": (positions[order[-1]] - positions[order[0]]) / (len(order) - 1),
    }
    for stepSource, step in steps.items():
        grid = _pipelineGrid(stack, order, step)
        found = matchGrid(fileToRAS, shape, grid, toleranceMm=toleranceMm)
        if found.relation not in ONE_TO_ONE[:2] or found.correspondence is None:
            continue
        # The file slice at pipeline position m holds DICOM slice order[m].
        imageSliceOfK = [0] * len(order)
        for m, k in enumerate(order):
            imageSliceOfK[k] = found.correspondence.imageSliceOfK[m]
        correspondence = dataclasses.replace(found.correspondence, imageSliceOfK=tuple(imageSliceOfK))
        numbers = ", ".join(str(instanceNumbers[k]) for k in range(min(len(order), 8)))
        more = ", ..." if len(order) > 8 else ""
        return (
            Kind.instanceNumberOrder,
            correspondence,
            f"The slices were stacked by InstanceNumber, which is not the spatial order here (InstanceNumbers "
            f"along the patient axis, in Slicer's order: {numbers}{more}), and the affine was built from the "
            f"origin of the first file and the step between {stepSource}: the header puts slices where other "
            f"slices are. Sort the files by position along the slice normal "
            f"(numpy.dot(IPP, cross(IOP[:3], IOP[3:]))) before stacking; the slice map below says which file "
            f"slice holds which DICOM file.",
        )
    return None


def _firstTwoFilesStep(
    fileToRAS: np.ndarray, shape: Sequence[int], stack: StackGrid, toleranceMm: float
) -> Optional[str]:
    """The header's slice step is the step between the first two files (raw, or its part along the normal as
    dcm2niix writes it), while the stack is not regular."""
    if stack.slices < 3 or stack.isRegular(toleranceMm):
        return None
    first = stack.positions[1] - stack.positions[0]
    along = float(first @ stack.normal)
    candidates = {
        "the step between the first two files": first,
        "the step between the first two files shortened to its part along the normal (dcm2niix's rule "
        "cos(tilt) * |IPP2 - IPP1|)": first / np.linalg.norm(first) * along,
        "the distance between the first two files along the normal": stack.normal * along,
    }
    for source, step in candidates.items():
        grid = _pipelineGrid(stack, range(stack.slices), step)
        found = matchGrid(fileToRAS, shape, grid, toleranceMm=toleranceMm)
        if found.relation in ONE_TO_ONE[:2]:
            gaps = np.linalg.norm(np.diff(stack.positions, axis=0), axis=1)
            return (
                f"The header's slice step is {source} ({np.linalg.norm(step):.4g} mm), but the gaps between "
                f"slices vary from {gaps.min():.4g} to {gaps.max():.4g} mm: one step cannot place every slice. "
                f"Use each file's own ImagePositionPatient (the slice map) rather than the header beyond slice 1."
            )
    return None


def _tiltCorrectedGrid(fileToRAS: np.ndarray, stack: StackGrid, match: GridMatch, toleranceMm: float) -> str:
    """The file is an orthogonal grid along the DICOM in-plane axes and the slice normal, of a stack that is
    tilted or irregular, and its voxels are not the DICOM voxels (dcm2niix's _Tilt / _Eq outputs)."""
    if match.relation in ONE_TO_ONE or stack.slices < 2:
        return ""
    tilted = affines.lineAngleDegrees(stack.positions[-1] - stack.positions[0], stack.normal) > 0.01
    if not tilted and stack.isRegular(toleranceMm):
        return ""
    directions = fileToRAS[:3, :3] / np.linalg.norm(fileToRAS[:3, :3], axis=0)
    targets = [stack.columnStep / np.linalg.norm(stack.columnStep), stack.rowStep / np.linalg.norm(stack.rowStep)]
    targets.append(stack.normal)
    limit = np.cos(np.radians(0.01))
    for target in targets:
        if np.max(np.abs(target @ directions)) < limit:
            return ""
    what = "tilted (gantry tilt)" if tilted else "irregularly spaced"
    return (
        f"This file is an orthogonal grid along the DICOM rows, columns and slice normal, resampled from a stack "
        f"that is {what}, as dcm2niix writes its _Tilt / _Eq outputs: its voxels lie between the DICOM voxels "
        f"(interpolated). Its header is right for its own grid, so it must be resampled onto the DICOM slices "
        f"(align --output samples it at each slice's own ImagePositionPatient); better, convert or segment the "
        f"untilted output, whose voxels are the DICOM voxels."
    )


def _approximationText(match: GridMatch) -> str:
    deviations = np.asarray(match.sliceDeviationsMm or [0.0])
    worst = int(np.argmax(deviations))
    inPlace = int(np.sum(deviations <= deviations.min() + 1e-9))
    return (
        f"Every slice of this file is one DICOM slice, in order, but its single affine cannot put each slice "
        f"where its DICOM file is (a tilted or irregularly spaced stack): slices are off by up to "
        f"{deviations[worst]:.3g} mm (DICOM slice k = {worst}); {inPlace} slice(s) are in place. Tools that "
        f"resample through this header move the voxels by that much; use the one-to-one slice map (align "
        f"--output copies the voxels exactly)."
    )


# --------------------------------------------------------------------------- qform / sform


def _qformSformDisagreement(
    header: HeaderAffines, shape: Sequence[int], toleranceMm: float
) -> Optional[Tuple[np.ndarray, float]]:
    """(the matrix not used, the largest corner-voxel distance between the two) when both codes are > 0 and the
    two disagree by more than the tolerance."""
    if header.sform is None or header.qform is None or header.sformCode <= 0 or header.qformCode <= 0:
        return None
    corners = np.array(list(itertools.product(*[(0, max(0, size - 1)) for size in shape])), dtype=float)
    homogeneous = np.hstack([corners, np.ones((len(corners), 1))])
    distance = float(np.max(np.linalg.norm((homogeneous @ (header.sform - header.qform).T)[:, :3], axis=1)))
    if distance <= toleranceMm:
        return None
    other = header.qform if header.source == "sform" else header.sform
    return other, distance
