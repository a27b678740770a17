"""Pure comparisons of a loaded volume's geometry with its DICOM files, and of two grids.

No Slicer, VTK or Qt import. The MRML logic (:mod:`..mrml.logic`) reads the
matrices and world positions from nodes and calls these functions.

Conventions: ``ijkToRAS`` maps Slicer IJK (i = column, j = row, k = slice)
to RAS mm; ``dimensions`` are ``(columns, rows, slices)`` = sizes along
(i, j, k). Slice corners follow Slicer's ``AcquisitionModeling`` (DICOMScalarVolumePlugin):
the corners of slice k are the IJK points ``(c * columns, r * rows, k)`` for
``c, r`` in ``{0, 1}``, i.e. the first voxel centre and the points one full
image width/height away along the row and column directions; in DICOM terms
``IPP + c * columns * PixelSpacing[1] * IOP[0:3] + r * rows * PixelSpacing[0] * IOP[3:6]``.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
import numpy.typing as npt

from . import affines
from .sliceheader import SliceHeader, orientationOf, pixelSpacingOf, positionOf
from .stack import instanceNumberTrend

CORNER_TOLERANCE_MM = 1e-3
"""Slicer's ``AcquisitionModeling.cornerEpsilon``: above this, Slicer calls the geometry irregular."""

SAME_GRID_TOLERANCE_MM = 1e-3
"""Largest voxel-centre distance at which two grids are called the same."""

_CORNER_OFFSETS = np.array([[c, r] for r in (0, 1) for c in (0, 1)], dtype=float)  # (r, c) order, as Slicer


def cornersFromIJKToRAS(ijkToRAS: npt.ArrayLike, dimensions: Sequence[int]) -> np.ndarray:
    """Slice corners, shape ``(slices, 4, 3)`` RAS mm, corner order (r, c) = (0,0), (0,1), (1,0), (1,1)."""
    columns, rows, slices = (int(value) for value in dimensions)
    matrix = np.asarray(ijkToRAS, dtype=float)
    points = np.zeros((slices, 4, 4))
    points[:, :, 0] = _CORNER_OFFSETS[:, 0] * columns
    points[:, :, 1] = _CORNER_OFFSETS[:, 1] * rows
    points[:, :, 2] = np.arange(slices)[:, np.newaxis]
    points[:, :, 3] = 1.0
    return (points @ matrix.T)[:, :, :3]


def tileCornersFromIJKToRAS(ijkToRAS: npt.ArrayLike, tiles: Sequence[SliceHeader], fileK: Sequence[int]) -> np.ndarray:
    """Corners of mosaic tiles as a reader that does not de-mosaic places them, ``(tiles, 4, 3)`` RAS mm.

    Such a reader (Slicer's scalar-volume plugin) loads each mosaic file as
    one slice ``k = fileK[n]``; tile ``tiles[n]`` then covers the mosaic voxels
    from its :meth:`~.mosaic.MosaicFile.tileOrigin` ``(c0, r0)`` on, so its
    corners are the IJK points ``(c0 + c * tileColumns, r0 + r * tileRows, k)``,
    in the corner order of :func:`cornersFromIJKToRAS`. Slicer IJK.
    """
    matrix = np.asarray(ijkToRAS, dtype=float)
    points = np.zeros((len(tiles), 4, 4))
    for index, (header, k) in enumerate(zip(tiles, fileK)):
        assert header.mosaic is not None and header.tile is not None  # only de-mosaicked tiles have a tile origin
        column, row = header.mosaic.tileOrigin(header.tile)
        points[index, :, 0] = column + _CORNER_OFFSETS[:, 0] * header.mosaic.tileColumns
        points[index, :, 1] = row + _CORNER_OFFSETS[:, 1] * header.mosaic.tileRows
        points[index, :, 2] = k
        points[index, :, 3] = 1.0
    return (points @ matrix.T)[:, :, :3]


def cornersFromDICOM(slices: Sequence[SliceHeader], columns: int, rows: int) -> np.ndarray:
    """Slice corners from each slice's own IPP/IOP/PixelSpacing, shape ``(len(slices), 4, 3)``, RAS mm.

    ``slices`` are :class:`~AffineInspectorLib.sliceheader.SliceHeader` (LPS
    values) in the volume's k order.
    """
    return cornersFromGeometry(
        [positionOf(header) for header in slices],
        [orientationOf(header) for header in slices],
        [pixelSpacingOf(header) for header in slices],
        columns,
        rows,
    )


def cornersFromGeometry(
    positions: Sequence[Sequence[float]],
    orientations: Sequence[Sequence[float]],
    pixelSpacings: Sequence[Sequence[float]],
    columns: int,
    rows: int,
) -> np.ndarray:
    """Slice corners, shape ``(slices, 4, 3)`` RAS mm, from per-slice IPP, IOP (6) and PixelSpacing (LPS).

    As Slicer's ``AcquisitionModeling.sliceCornersFromDICOM``: IPP + c * columns * PixelSpacing[1] * IOP[0:3]
    + r * rows * PixelSpacing[0] * IOP[3:6] (PixelSpacing is row spacing first), then LPS to RAS.
    """
    corners = np.zeros((len(positions), 4, 3))
    for index, (position, orientation, pixelSpacing) in enumerate(zip(positions, orientations, pixelSpacings)):
        rowDirection = np.asarray(orientation[:3], dtype=float)
        columnDirection = np.asarray(orientation[3:6], dtype=float)
        rowVector = columns * float(pixelSpacing[1]) * rowDirection
        columnVector = rows * float(pixelSpacing[0]) * columnDirection
        lps = (
            np.asarray(position, dtype=float)
            + _CORNER_OFFSETS[:, :1] * rowVector
            + _CORNER_OFFSETS[:, 1:] * columnVector
        )
        corners[index] = affines.lpsToRAS(lps)
    return corners


@dataclasses.dataclass
class SliceDeviation:
    """How far the loaded volume puts slice ``k``'s corners from where its DICOM file says they are.

    ``deviationMm`` is the largest Euclidean corner distance (mm);
    ``slicerErrorMm`` the largest absolute coordinate difference, the number
    Slicer's "Irregular volume geometry detected (maximum error of ... mm)"
    message prints. ``frame`` / ``tile`` (0-based) name the frame of a
    multi-frame file or the tile of a mosaic compared, else None.
    """

    k: int
    file: str
    instanceNumber: Optional[int]
    deviationMm: float
    slicerErrorMm: float
    frame: Optional[int] = None
    tile: Optional[int] = None

    @property
    def label(self) -> str:
        """The file, with ``[frame N]`` or ``[tile N]`` (1-based) when a part of it was compared."""
        if self.tile is not None:
            return f"{self.file} [tile {self.tile + 1}]"
        return self.file if self.frame is None else f"{self.file} [frame {self.frame + 1}]"


def sliceDeviations(
    loadedCorners: np.ndarray, dicomCorners: np.ndarray, slices: Sequence[SliceHeader]
) -> List[SliceDeviation]:
    """Per-slice corner deviations between two ``(slices, 4, 3)`` corner arrays (same frame, same k order)."""
    difference = np.asarray(loadedCorners, dtype=float) - np.asarray(dicomCorners, dtype=float)
    distances = np.linalg.norm(difference, axis=2).max(axis=1)
    componentErrors = np.abs(difference).max(axis=(1, 2))
    return [
        SliceDeviation(
            k,
            header.file,
            header.instanceNumber,
            float(distances[k]),
            float(componentErrors[k]),
            frame=header.frame,
            tile=header.tile,
        )
        for k, header in enumerate(slices)
    ]


def originExplanation(ijkToRAS: npt.ArrayLike, firstSlice: SliceHeader) -> str:
    """Say which file's IPP the volume origin is, with the LPS to RAS sign flips spelled out."""
    origin = np.asarray(ijkToRAS, dtype=float)[:3, 3]
    position = np.asarray(positionOf(firstSlice), dtype=float)
    expected = affines.lpsToRAS(position)
    distance = float(np.linalg.norm(origin - expected))
    text = (
        f"Slicer's origin (RAS, centre of voxel IJK 0,0,0) is ({_xyz(origin)}); the IPP of {firstSlice.label} "
        f"(k = 0) is ({_xyz(position)}) in LPS. RAS = (-L, -P, S): negate x and y, keep z, giving "
        f"({_xyz(expected)})"
    )
    if distance <= CORNER_TOLERANCE_MM:
        return text + ": the same point."
    return text + f": {distance:.4g} mm from the origin (an acquisition or other transform moves the volume)."


def instanceNumberOrderAlongK(slices: Sequence[SliceHeader]) -> str:
    """How InstanceNumber runs along the loaded volume's k: :func:`.stack.instanceNumberTrend`'s order
    (``"ascending"``, ``"descending"``, ``"notSpatial"`` or ``"unknown"``), the same rule the checks use."""
    return instanceNumberTrend([header.instanceNumber for header in slices])[0]


def _xyz(values: Iterable[float]) -> str:
    return ", ".join(f"{value:.4g}" for value in values)


# --------------------------------------------------------------------------- comparing two grids


@dataclasses.dataclass
class GridComparison:
    """Geometry of volume A compared with reference volume B (both world RAS, parent transforms applied).

    ``axisMapping[n]`` is the B index axis (0=i, 1=j, 2=k) that A's axis n
    runs along and ``flipped[n]`` whether it runs the opposite way;
    ``None`` where A's axes are oblique to B's (more than
    ``obliqueToleranceDeg``). ``originOffsetMm`` is the world vector from B's
    voxel (0,0,0) centre to A's. ``maxVoxelCentreDistanceMm`` is, over A's
    voxel centres at the 8 grid corners, the largest distance to where B's
    grid puts the same index (meaningful when the dimensions agree).
    ``resamplingFixes`` is True when the two volumes overlap in world space,
    so resampling A onto B gives a volume on B's grid holding A's data.
    """

    sameGrid: bool
    sameDimensions: bool
    dimensionsA: Tuple[int, int, int]
    dimensionsB: Tuple[int, int, int]
    spacingA: Tuple[float, float, float]
    spacingB: Tuple[float, float, float]
    axisMapping: Optional[Tuple[int, int, int]]
    flipped: Optional[Tuple[bool, bool, bool]]
    originOffsetMm: Tuple[float, float, float]
    maxVoxelCentreDistanceMm: Optional[float]
    overlapFraction: float
    resamplingFixes: bool
    voxelToVoxel: np.ndarray
    messages: List[str]


def compareGrids(
    ijkToWorldA: npt.ArrayLike,
    dimensionsA: Sequence[int],
    ijkToWorldB: npt.ArrayLike,
    dimensionsB: Sequence[int],
    *,
    toleranceMm: float = SAME_GRID_TOLERANCE_MM,
    obliqueToleranceDeg: float = 1.0,
) -> GridComparison:
    """Compare grid A with reference grid B. Both matrices map IJK to world RAS (4x4, parent transforms applied)."""
    a = np.asarray(ijkToWorldA, dtype=float)
    b = np.asarray(ijkToWorldB, dtype=float)
    sizesA = _three(int(value) for value in dimensionsA)
    sizesB = _three(int(value) for value in dimensionsB)
    sameDimensions = sizesA == sizesB
    mapping, flips = _axisMapping(a, b, obliqueToleranceDeg)
    offset = a[:3, 3] - b[:3, 3]
    distance = _cornerCentreDistance(a, b, sizesA) if sameDimensions else None
    sameGrid = sameDimensions and distance is not None and distance <= toleranceMm
    overlap = _overlapFraction(a, sizesA, b, sizesB)
    comparison = GridComparison(
        sameGrid=sameGrid,
        sameDimensions=sameDimensions,
        dimensionsA=sizesA,
        dimensionsB=sizesB,
        spacingA=_three(float(value) for value in affines.columnNorms(a)),
        spacingB=_three(float(value) for value in affines.columnNorms(b)),
        axisMapping=mapping,
        flipped=flips,
        originOffsetMm=_three(float(value) for value in offset),
        maxVoxelCentreDistanceMm=distance,
        overlapFraction=overlap,
        resamplingFixes=(not sameGrid) and overlap > 0,
        voxelToVoxel=affines.voxelToVoxel(a, b),
        messages=[],
    )
    comparison.messages = _describe(comparison, toleranceMm)
    return comparison


_T = TypeVar("_T")


def _three(values: Iterable[_T]) -> Tuple[_T, _T, _T]:
    """The values of an (i, j, k) or (x, y, z) triple as a 3-tuple; ValueError for any other number of values."""
    first, second, third = values
    return first, second, third


def _axisMapping(
    a: np.ndarray, b: np.ndarray, obliqueToleranceDeg: float
) -> Tuple[Optional[Tuple[int, int, int]], Optional[Tuple[bool, bool, bool]]]:
    """For each A axis, the B axis it is parallel to and whether it is reversed; ``(None, None)`` if oblique."""
    directionsA = a[:3, :3] / np.linalg.norm(a[:3, :3], axis=0)
    directionsB = b[:3, :3] / np.linalg.norm(b[:3, :3], axis=0)
    cosines = directionsA.T @ directionsB  # [axis of A, axis of B]
    mapping = _three(int(np.argmax(np.abs(row))) for row in cosines)
    limit = np.cos(np.radians(obliqueToleranceDeg))
    if sorted(mapping) != [0, 1, 2] or any(abs(cosines[n, mapping[n]]) < limit for n in range(3)):
        return None, None
    return mapping, _three(bool(cosines[n, mapping[n]] < 0) for n in range(3))


def _gridCorners(dimensions: Sequence[int]) -> np.ndarray:
    """The 8 corner voxel indices (homogeneous, shape (8, 4))."""
    limits = [(0, max(0, size - 1)) for size in dimensions]
    return np.array([[i, j, k, 1.0] for i, j, k in itertools.product(*limits)], dtype=float)


def _cornerCentreDistance(a: np.ndarray, b: np.ndarray, dimensions: Sequence[int]) -> float:
    corners = _gridCorners(dimensions)
    return float(np.max(np.linalg.norm((corners @ a.T - corners @ b.T)[:, :3], axis=1)))


def _overlapFraction(a: np.ndarray, dimensionsA: Sequence[int], b: np.ndarray, dimensionsB: Sequence[int]) -> float:
    """Fraction of A's corner-to-corner extent (sampled at 5^3 points) that falls inside B's voxel extent."""
    samples = [np.linspace(0, max(0, size - 1), 5) for size in dimensionsA]
    points = np.array([[i, j, k, 1.0] for i, j, k in itertools.product(*samples)])
    inB = (points @ a.T) @ np.linalg.inv(b).T
    inside = np.all((inB[:, :3] >= -0.5) & (inB[:, :3] <= np.asarray(dimensionsB, dtype=float) - 0.5), axis=1)
    return float(np.mean(inside))


def _describe(comparison: GridComparison, toleranceMm: float) -> List[str]:
    if comparison.sameGrid:
        return [
            f"Same grid: every voxel centre within {comparison.maxVoxelCentreDistanceMm:.3g} mm "
            f"(tolerance {toleranceMm:g} mm)."
        ]
    messages = []
    if not comparison.sameDimensions:
        messages.append(f"Dimensions differ: {comparison.dimensionsA} vs reference {comparison.dimensionsB} (i, j, k).")
    if comparison.axisMapping is None:
        messages.append("Index axes are oblique to the reference's: a rotation, not a permutation or flip.")
    else:
        flipped = comparison.flipped
        assert flipped is not None  # _axisMapping gives both or neither
        names = "ijk"
        changes = [
            f"{names[n]} runs along the reference's {'-' if flipped[n] else '+'}{names[m]}"
            for n, m in enumerate(comparison.axisMapping)
            if m != n or flipped[n]
        ]
        unchanged = "same directions as the reference (no permutation or flip)."
        messages.append("Axes: " + ("; ".join(changes) + "." if changes else unchanged))
    offset = np.asarray(comparison.originOffsetMm)
    messages.append(
        f"Origin (voxel 0,0,0 centre) is {np.linalg.norm(offset):.4g} mm from the reference's "
        f"(RAS offset {_xyz(offset)})."
    )
    if comparison.maxVoxelCentreDistanceMm is not None:
        messages.append(f"Same-index voxel centres are up to {comparison.maxVoxelCentreDistanceMm:.4g} mm apart.")
    if comparison.resamplingFixes:
        messages.append(
            f"Resampling onto the reference grid fixes this ({100 * comparison.overlapFraction:.0f}% of this volume "
            f"lies inside the reference's extent)."
        )
    elif not comparison.sameGrid:
        messages.append("The volumes do not overlap in world space: resampling would give an empty volume.")
    return messages


# --------------------------------------------------------------------------- grids under non-linear transforms


def gridSamplePoints(dimensions: Sequence[int]) -> np.ndarray:
    """IJK points (N, 3) at which a grid under a non-linear transform is compared: the four corner voxel centres
    of every slice (k) and the centre voxel of every slice, so each slice of a per-slice (acquisition) transform
    is sampled."""
    columns, rows, slices = (max(1, int(size)) for size in dimensions)
    inPlane = [(0, 0), (columns - 1, 0), (0, rows - 1), (columns - 1, rows - 1), ((columns - 1) / 2, (rows - 1) / 2)]
    return np.array([[i, j, k] for k in range(slices) for i, j in inPlane], dtype=float)


def fitAffine(ijkPoints: npt.ArrayLike, worldPoints: npt.ArrayLike) -> Tuple[np.ndarray, float]:
    """Least-squares 4x4 IJK-to-world matrix through point pairs, and the largest residual (mm).

    Raises ValueError when the points do not span three dimensions (a single slice has no k direction to fit).
    """
    ijk = np.asarray(ijkPoints, dtype=float)
    world = np.asarray(worldPoints, dtype=float)
    homogeneous = np.hstack([ijk, np.ones((len(ijk), 1))])
    if np.linalg.matrix_rank(homogeneous) < 4:
        raise ValueError("the sample points span fewer than three dimensions: no affine fit")
    solution, _, _, _ = np.linalg.lstsq(homogeneous, world, rcond=None)
    matrix = np.eye(4)
    matrix[:3, :] = solution.T
    residual = float(np.linalg.norm(homogeneous @ solution - world, axis=1).max())
    return matrix, residual


def compareSampledGrids(
    sampleA: Tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    dimensionsA: Sequence[int],
    sampleB: Tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    dimensionsB: Sequence[int],
    *,
    transformNote: str,
    toleranceMm: float = SAME_GRID_TOLERANCE_MM,
) -> GridComparison:
    """Compare grids A and B when a non-linear transform places the voxels of either in world space.

    Each sample is ``(ijkPoints, worldPoints, fallbackMatrix)``: IJK points of that grid
    (:func:`gridSamplePoints`), their world positions mapped through that volume's own transforms, and a matrix
    to use where the points cannot be fitted (a single slice). Same grid means the same dimensions and every
    sampled voxel centre within ``toleranceMm``: exact at the sampled points, which include every slice. The other
    fields (axes, origin, overlap, voxel-to-voxel matrix) come from least-squares affine fits of the world
    positions, and the messages say so (``transformNote`` names the transforms).
    """
    dimsA = _three(int(value) for value in dimensionsA)
    dimsB = _three(int(value) for value in dimensionsB)
    matrices, residuals = [], []
    for ijkPoints, worldPoints, fallback in (sampleA, sampleB):
        try:
            matrix, residual = fitAffine(ijkPoints, worldPoints)
            residuals.append(residual)
        except ValueError:
            matrix = np.asarray(fallback, dtype=float)
        matrices.append(matrix)
    comparison = compareGrids(matrices[0], dimsA, matrices[1], dimsB, toleranceMm=toleranceMm)
    if dimsA == dimsB:
        worldA, worldB = (np.asarray(sample[1], dtype=float) for sample in (sampleA, sampleB))
        distance = float(np.linalg.norm(worldA - worldB, axis=1).max())
        comparison.maxVoxelCentreDistanceMm = distance
        comparison.sameGrid = distance <= toleranceMm
        comparison.resamplingFixes = (not comparison.sameGrid) and comparison.overlapFraction > 0
        comparison.messages = _describe(comparison, toleranceMm)
    comparison.messages.append(
        f"{transformNote}: voxel centres compared through it at the corners and centre of every slice; axes, "
        f"origin and the voxel-to-voxel matrix are those of least-squares affine fits (largest residual "
        f"{max(residuals, default=0.0):.3g} mm)."
    )
    return comparison
