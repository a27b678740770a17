"""Does an image file's grid line up with a DICOM series, voxel for voxel? Pure geometry (numpy only).

Two grids are compared voxel centre by voxel centre:

* the **image file**: an array in its OWN index order as stored on disk (NIfTI, NRRD, MetaImage and MGH
  all store axis 0 fastest) and ``fileToRAS``, the 4x4 matrix its header gives from that index
  ``(a0, a1, a2, 1)`` to RAS mm. Nothing is reoriented: a qfac of -1 or a sheared sform stays as stored.
* the **DICOM stack** (:class:`StackGrid`): Slicer IJK (i = column along IOP[0:3], spacing
  PixelSpacing[1]; j = row along IOP[3:6], spacing PixelSpacing[0]; k = slice in Slicer's sorted
  order), each slice at its OWN ImagePositionPatient, so a tilted or irregular stack is exact; RAS mm
  (RAS = diag(-1, -1, 1) . LPS).

A :class:`Correspondence` says which file voxel holds which DICOM voxel; everything a user is told (the
axis map, the slice map, the numpy recipe, an exact copy onto the DICOM voxels) is read from it.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from . import affines
from .findings import Kind

SAME_GRID_TOLERANCE_MM = 0.01
"""Largest distance (mm) between an image voxel centre and its DICOM voxel centre that counts as the same."""

RELATIONS = (Kind.sameGrid, Kind.sameGridReindexed, Kind.sameSlices, Kind.differentGrid, Kind.disjoint)
"""Every relation an image can have to a DICOM series, best first."""

ONE_TO_ONE = (Kind.sameGrid, Kind.sameGridReindexed, Kind.sameSlices)
"""Relations in which every image voxel is exactly one DICOM voxel (copying needs no interpolation)."""

DICOM_AXES = ("i", "j", "k")


# --------------------------------------------------------------------------- the DICOM stack


@dataclasses.dataclass(frozen=True)
class StackGrid:
    """The voxel centres of a DICOM stack: voxel (i, j, k) is at ``positions[k] + i * columnStep + j * rowStep``.

    All vectors RAS mm. ``columnStep`` = RAS of IOP[0:3] * PixelSpacing[1] (the step of i, along a row);
    ``rowStep`` = RAS of IOP[3:6] * PixelSpacing[0] (the step of j, down a column); ``positions`` the
    (N, 3) RAS ImagePositionPatient of each slice in Slicer's sorted order (k).
    """

    columns: int
    rows: int
    columnStep: np.ndarray
    rowStep: np.ndarray
    positions: np.ndarray

    @classmethod
    def fromDICOM(
        cls,
        orientation: Sequence[float],
        pixelSpacing: Sequence[float],
        positionsLPS: npt.ArrayLike,
        columns: int,
        rows: int,
    ) -> "StackGrid":
        """From IOP (6 cosines), PixelSpacing (row spacing, column spacing) and the LPS IPPs in Slicer order."""
        cosines = np.asarray(orientation, dtype=float)
        if cosines.shape != (6,):
            raise ValueError(f'Argument "orientation" must have 6 values, got {cosines.shape}')
        if len(pixelSpacing) != 2:
            raise ValueError(f'Argument "pixelSpacing" must have 2 values, got {len(pixelSpacing)}')
        positions = np.asarray(positionsLPS, dtype=float).reshape(-1, 3)
        return cls(
            columns=int(columns),
            rows=int(rows),
            columnStep=affines.lpsToRAS(cosines[:3] * float(pixelSpacing[1])),
            rowStep=affines.lpsToRAS(cosines[3:] * float(pixelSpacing[0])),
            positions=affines.lpsToRAS(positions),
        )

    @classmethod
    def fromAffine(cls, IJKToRAS: npt.ArrayLike, dimensions: Sequence[int]) -> "StackGrid":
        """The regular stack a single 4x4 IJKToRAS (Slicer IJK, RAS) describes, of ``dimensions`` (i, j, k)."""
        matrix = np.asarray(IJKToRAS, dtype=float)
        count = int(dimensions[2])
        positions = matrix[:3, 3] + np.outer(np.arange(count), matrix[:3, 2])
        return cls(int(dimensions[0]), int(dimensions[1]), matrix[:3, 0].copy(), matrix[:3, 1].copy(), positions)

    @property
    def slices(self) -> int:
        return int(len(self.positions))

    @property
    def dimensions(self) -> Tuple[int, int, int]:
        """Sizes along (i, j, k)."""
        return (self.columns, self.rows, self.slices)

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal columnStep x rowStep (RAS; along Slicer's sort direction)."""
        normal = np.cross(self.columnStep, self.rowStep)
        return normal / np.linalg.norm(normal)

    @property
    def stackDirection(self) -> np.ndarray:
        """Unit vector from the first slice's position to the last's (the normal for one slice)."""
        if self.slices < 2:
            return self.normal
        span = self.positions[-1] - self.positions[0]
        length = np.linalg.norm(span)
        return span / length if length > 0 else self.normal

    def IJKToRAS(self) -> np.ndarray:
        """Slicer's single affine of the stack (k column = (last - first) / (N - 1); the normal for one slice)."""
        matrix = np.eye(4)
        matrix[:3, 0] = self.columnStep
        matrix[:3, 1] = self.rowStep
        if self.slices >= 2:
            matrix[:3, 2] = (self.positions[-1] - self.positions[0]) / (self.slices - 1)
        else:
            matrix[:3, 2] = self.normal
        matrix[:3, 3] = self.positions[0]
        return matrix

    def sliceCorners(self) -> np.ndarray:
        """RAS centres of the 4 corner voxels of each slice, shape (N, 4, 3); corners (i, j) = (0,0), (C-1,0),
        (0,R-1), (C-1,R-1)."""
        offsets = np.array([_cornerOffset(i, j, self) for i, j in _CORNERS_IJ(self)])
        return self.positions[:, np.newaxis, :] + offsets[np.newaxis, :, :]

    def isRegular(self, toleranceMm: float = SAME_GRID_TOLERANCE_MM) -> bool:
        """True when one affine puts every slice at its position within ``toleranceMm``."""
        predicted = StackGrid.fromAffine(self.IJKToRAS(), self.dimensions).positions
        return bool(np.max(np.linalg.norm(predicted - self.positions, axis=1)) <= toleranceMm)


def _CORNERS_IJ(stack: StackGrid) -> List[Tuple[int, int]]:
    last = (max(0, stack.columns - 1), max(0, stack.rows - 1))
    return [(0, 0), (last[0], 0), (0, last[1]), (last[0], last[1])]


def _cornerOffset(i: int, j: int, stack: StackGrid) -> np.ndarray:
    return i * stack.columnStep + j * stack.rowStep


# --------------------------------------------------------------------------- which file voxel is which DICOM voxel


@dataclasses.dataclass(frozen=True)
class AxisMapEntry:
    """One axis of the image file as stored (``imageAxis`` 0, 1 or 2) and the DICOM axis it runs along
    (``dicomAxis`` "i" column, "j" row or "k" slice in Slicer's sorted order); ``reversed`` when its index
    runs the opposite way (for k: the file's first slice is DICOM's last)."""

    imageAxis: int
    dicomAxis: str
    reversed: bool


@dataclasses.dataclass(frozen=True)
class Correspondence:
    """Which file voxel holds which DICOM voxel.

    ``fileAxes`` = the file axes (0, 1, 2) that run along DICOM (i, j, k); ``reversedIJ`` whether the
    file's index runs against DICOM i and j; ``imageSliceOfK[k]`` = the index along file axis
    ``fileAxes[2]`` of the slice that holds DICOM slice k (Slicer's sorted order). DICOM voxel (i, j, k)
    is the file voxel whose index along ``fileAxes[0]`` is ``i`` (``C - 1 - i`` if reversed), along
    ``fileAxes[1]`` is ``j`` (``R - 1 - j``), along ``fileAxes[2]`` is ``imageSliceOfK[k]``.
    """

    fileAxes: Tuple[int, int, int]
    reversedIJ: Tuple[bool, bool]
    imageSliceOfK: Tuple[int, ...]

    @property
    def sliceOrder(self) -> str:
        """``"same"`` (file slice k is DICOM slice k), ``"reversed"`` or ``"permuted"`` (any other order)."""
        count = len(self.imageSliceOfK)
        if list(self.imageSliceOfK) == list(range(count)):
            return "same"
        if list(self.imageSliceOfK) == list(range(count - 1, -1, -1)):
            return "reversed"
        return "permuted"

    @property
    def isIdentity(self) -> bool:
        return self.fileAxes == (0, 1, 2) and self.reversedIJ == (False, False) and self.sliceOrder == "same"

    def axisMap(self) -> List[AxisMapEntry]:
        """Three entries in the file's own axis order (0, 1, 2). For k, ``reversed`` is True when the file's
        slices run against Slicer's order (for a permutation: when the first DICOM slice is in a later file
        slice than the last)."""
        reversedK = len(self.imageSliceOfK) > 1 and self.imageSliceOfK[0] > self.imageSliceOfK[-1]
        flags = (self.reversedIJ[0], self.reversedIJ[1], reversedK)
        entries = [AxisMapEntry(fileAxis, DICOM_AXES[n], bool(flags[n])) for n, fileAxis in enumerate(self.fileAxes)]
        return sorted(entries, key=lambda entry: entry.imageAxis)

    def describe(self) -> str:
        """Plain words, e.g. ``"file axis 1 runs along DICOM -j (rows reversed)"``; ``"identical"``."""
        names = {"i": "columns", "j": "rows", "k": "slices"}
        parts = []
        for entry in self.axisMap():
            if entry.imageAxis != DICOM_AXES.index(entry.dicomAxis) or entry.reversed:
                sign = "-" if entry.reversed else "+"
                note = f" ({names[entry.dicomAxis]} reversed)" if entry.reversed else ""
                parts.append(f"file axis {entry.imageAxis} runs along DICOM {sign}{entry.dicomAxis}{note}")
        if self.sliceOrder == "permuted":
            parts.append("the slices are in another order (see the slice map)")
        return "; ".join(parts) if parts else "identical"

    def fileIndexOf(self, i: npt.ArrayLike, j: npt.ArrayLike, k: npt.ArrayLike, shape: Sequence[int]) -> np.ndarray:
        """File indices (..., 3) of DICOM voxels (i, j, k) (broadcast arrays); ``shape`` is the file's."""
        iArray, jArray, kArray = np.broadcast_arrays(np.asarray(i), np.asarray(j), np.asarray(k))
        result = np.zeros(iArray.shape + (3,), dtype=float)
        columnsAxis, rowsAxis, slicesAxis = self.fileAxes
        result[..., columnsAxis] = (shape[columnsAxis] - 1 - iArray) if self.reversedIJ[0] else iArray
        result[..., rowsAxis] = (shape[rowsAxis] - 1 - jArray) if self.reversedIJ[1] else jArray
        result[..., slicesAxis] = np.asarray(self.imageSliceOfK)[kArray]
        return result

    def toDICOMOrder(self, data: np.ndarray) -> np.ndarray:
        """The file's array (file order, 3 axes) as DICOM order [k, j, i] = [slice, row, column] in Slicer's
        sorted order: the same steps as :func:`numpyRecipe` prints."""
        view = np.transpose(data, (self.fileAxes[2], self.fileAxes[1], self.fileAxes[0]))
        if self.reversedIJ[1]:
            view = view[:, ::-1, :]
        if self.reversedIJ[0]:
            view = view[:, :, ::-1]
        return np.ascontiguousarray(view[np.asarray(self.imageSliceOfK, dtype=int)])


def numpyRecipe(correspondence: Correspondence, loadLines: Sequence[str]) -> str:
    """Python statements that turn the file's array ``data`` into ``dicom_order`` [k, j, i] (Slicer order).

    ``loadLines`` are the imports and the line that defines ``data`` (the file's array in its own index
    order), as the reader module gives them; the statements after them use numpy only.
    """
    fileAxes = correspondence.fileAxes
    lines = list(loadLines)
    lines.append(
        f"dicom_order = numpy.transpose(data, ({fileAxes[2]}, {fileAxes[1]}, {fileAxes[0]}))"
        f"  # file axes of DICOM (k, j, i) = (slice, row, column)"
    )
    if correspondence.reversedIJ[1]:
        lines.append("dicom_order = dicom_order[:, ::-1, :]  # the file's rows run bottom to top")
    if correspondence.reversedIJ[0]:
        lines.append("dicom_order = dicom_order[:, :, ::-1]  # the file's columns run right to left")
    order = correspondence.sliceOrder
    if order == "reversed":
        lines.append("dicom_order = dicom_order[::-1, :, :]  # the file's slices run against Slicer's order")
    elif order == "permuted":
        indices = ", ".join(str(index) for index in correspondence.imageSliceOfK)
        lines.append(f"dicom_order = dicom_order[[{indices}], :, :]  # file slice of each DICOM slice k")
    lines.append("dicom_order = numpy.ascontiguousarray(dicom_order)  # [k, j, i] in Slicer's sorted order")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- comparing a file grid with the stack


@dataclasses.dataclass(frozen=True)
class GridMatch:
    """How a file grid (``fileToRAS``, ``shape``) lies on a DICOM stack.

    ``relation`` is one of :data:`RELATIONS`; ``correspondence`` is set for the one-to-one relations;
    ``maxDeviationMm`` is the largest distance between a file voxel centre (through its header) and the
    DICOM voxel centre it corresponds to under the best axis assignment (``None`` when no assignment
    has matching sizes); ``sliceDeviationsMm[k]`` the same per DICOM slice; ``overlapFraction`` the
    share of DICOM voxel centres (sampled) inside the file's grid.
    """

    relation: Kind
    correspondence: Optional[Correspondence]
    maxDeviationMm: Optional[float]
    sliceDeviationsMm: Optional[Tuple[float, ...]]
    overlapFraction: float
    inPlaneSame: bool = False


def matchGrid(
    fileToRAS: npt.ArrayLike,
    shape: Sequence[int],
    stack: StackGrid,
    *,
    toleranceMm: float = SAME_GRID_TOLERANCE_MM,
) -> GridMatch:
    """Compare a file's grid with a DICOM stack (see :class:`GridMatch`).

    ``fileToRAS`` maps the file's index (a0, a1, a2) in its own on-disk order to RAS mm; ``shape`` is the
    array's (n0, n1, n2). The file axes are assigned to DICOM (i, j, k) by direction (the assignment with
    the largest summed |cosine|); with equal sizes, each DICOM slice's 4 corner voxels are placed by the
    header and by the slice's own IPP (distance is convex in-plane, so the corners bound every voxel).

    * same-grid: every distance <= tolerance and the file's index order is DICOM's;
    * same-grid-reindexed: the same after permuting / reversing the file's axes;
    * same-slices: in-plane steps equal, one slice exactly in place, others off (one affine cannot
      follow a tilted or irregular stack);
    * different-grid / disjoint: some / none of the DICOM voxel centres inside the file's grid.
    """
    matrix = _checkedMatrix(fileToRAS, "fileToRAS")
    sizes = _checkedShape(shape)
    overlap = overlapFraction(matrix, sizes, stack)
    assignment = _assignAxes(matrix, stack)
    if assignment is None:
        return GridMatch(_apart(overlap), None, None, None, overlap)
    fileAxes, reversedFlags = assignment
    if tuple(sizes[axis] for axis in fileAxes) != stack.dimensions:
        return GridMatch(_apart(overlap), None, None, None, overlap)
    count = stack.slices
    imageSliceOfK = tuple(range(count - 1, -1, -1)) if reversedFlags[2] else tuple(range(count))
    correspondence = Correspondence(fileAxes, (reversedFlags[0], reversedFlags[1]), imageSliceOfK)
    deviations = sliceDeviations(matrix, sizes, stack, correspondence)
    worst = float(np.max(deviations))
    if worst <= toleranceMm:
        relation = Kind.sameGrid if correspondence.isIdentity else Kind.sameGridReindexed
        return GridMatch(relation, correspondence, worst, tuple(deviations.tolist()), overlap, True)
    inPlane = _inPlaneSame(matrix, sizes, stack, correspondence, toleranceMm)
    if inPlane and float(np.min(deviations)) <= toleranceMm:
        return GridMatch(Kind.sameSlices, correspondence, worst, tuple(deviations.tolist()), overlap, True)
    return GridMatch(_apart(overlap), None, worst, tuple(deviations.tolist()), overlap, inPlane)


def sliceDeviations(
    fileToRAS: np.ndarray, shape: Sequence[int], stack: StackGrid, correspondence: Correspondence
) -> np.ndarray:
    """Per DICOM slice k, the largest distance (mm) between where the header and where the slice's file put
    the corresponding voxel centres (its 4 corner voxels bound every voxel of the slice)."""
    corners = _CORNERS_IJ(stack)
    iIndex = np.array([i for i, _ in corners])[np.newaxis, :]
    jIndex = np.array([j for _, j in corners])[np.newaxis, :]
    kIndex = np.arange(stack.slices)[:, np.newaxis]
    fileIndex = correspondence.fileIndexOf(iIndex, jIndex, kIndex, shape)  # (N, 4, 3)
    byHeader = fileIndex @ fileToRAS[:3, :3].T + fileToRAS[:3, 3]
    return np.asarray(np.linalg.norm(byHeader - stack.sliceCorners(), axis=2).max(axis=1))


def overlapFraction(fileToRAS: np.ndarray, shape: Sequence[int], stack: StackGrid, samples: int = 7) -> float:
    """Share of DICOM voxel centres (``samples`` x ``samples`` per slice, every slice) inside the file's
    voxel extent (its voxel centres +- half a voxel)."""
    columns = np.linspace(0, max(0, stack.columns - 1), samples)
    rows = np.linspace(0, max(0, stack.rows - 1), samples)
    inPlane = np.array([i * stack.columnStep + j * stack.rowStep for i in columns for j in rows])
    points = (stack.positions[:, np.newaxis, :] + inPlane[np.newaxis, :, :]).reshape(-1, 3)
    inverse = np.linalg.inv(fileToRAS)
    index = points @ inverse[:3, :3].T + inverse[:3, 3]
    upper = np.asarray(shape, dtype=float) - 0.5
    inside = np.all((index >= -0.5) & (index <= upper), axis=1)
    return float(np.mean(inside))


def _apart(overlap: float) -> Kind:
    return Kind.differentGrid if overlap > 0 else Kind.disjoint


def _checkedMatrix(matrix: npt.ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(matrix, dtype=float)
    if array.shape != (4, 4):
        raise ValueError(f'Argument "{name}" must be a 4x4 matrix, got shape {array.shape}')
    if not np.all(np.isfinite(array)) or abs(np.linalg.det(array[:3, :3])) < 1e-12:
        raise ValueError(f'Argument "{name}" must be finite and invertible')
    return array


def _checkedShape(shape: Sequence[int]) -> Tuple[int, int, int]:
    sizes = tuple(int(value) for value in shape)
    if len(sizes) != 3 or min(sizes) < 1:
        raise ValueError(f'Argument "shape" must be 3 positive sizes, got {tuple(shape)}')
    return (sizes[0], sizes[1], sizes[2])


def _assignAxes(matrix: np.ndarray, stack: StackGrid) -> Optional[Tuple[Tuple[int, int, int], Tuple[bool, ...]]]:
    """File axis for DICOM (i, j, k) and whether each is reversed; None when the axes are oblique (> 45 deg)."""
    fileDirections = matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0)
    dicomDirections = np.stack(
        [
            stack.columnStep / np.linalg.norm(stack.columnStep),
            stack.rowStep / np.linalg.norm(stack.rowStep),
            stack.stackDirection,
        ],
        axis=1,
    )
    cosines = dicomDirections.T @ fileDirections  # [DICOM axis, file axis]
    best = max(itertools.permutations(range(3)), key=lambda axes: sum(abs(cosines[n, axes[n]]) for n in range(3)))
    if min(abs(cosines[n, best[n]]) for n in range(3)) < np.cos(np.radians(45.0)):
        return None
    return (best[0], best[1], best[2]), tuple(bool(cosines[n, best[n]] < 0) for n in range(3))


def _inPlaneSame(
    matrix: np.ndarray, shape: Sequence[int], stack: StackGrid, correspondence: Correspondence, toleranceMm: float
) -> bool:
    """The file's two in-plane axes step exactly as DICOM i and j (over the whole image width and height)."""
    for n, (step, size) in enumerate(((stack.columnStep, stack.columns), (stack.rowStep, stack.rows))):
        column = matrix[:3, correspondence.fileAxes[n]] * (-1.0 if correspondence.reversedIJ[n] else 1.0)
        if np.linalg.norm((column - step) * max(1, size - 1)) > toleranceMm:
            return False
    return True


# --------------------------------------------------------------------------- slice map


@dataclasses.dataclass(frozen=True)
class SliceMapEntry:
    """One DICOM file (Slicer's sorted order) and the file slice that holds it (``None``: no one-to-one
    correspondence)."""

    file: str
    sopInstanceUID: str
    imageSlice: Optional[int]


def sliceMap(
    files: Sequence[str], instanceUIDs: Sequence[str], correspondence: Optional[Correspondence]
) -> List[SliceMapEntry]:
    """The slice map: one entry per DICOM file in Slicer's sorted order."""
    slices = correspondence.imageSliceOfK if correspondence is not None else [None] * len(files)
    return [SliceMapEntry(file, uid, slice) for file, uid, slice in zip(files, instanceUIDs, slices)]
