"""De-mosaic geometry: where each tile of a mosaic image sits in the patient, in which order it was acquired.

A mosaic (Siemens ``ImageType`` ``MOSAIC``, UIH ``VFRAME`` "grid") stores the
slices of one volume as tiles of one 2D image, left to right then top to
bottom. This module turns the header numbers into one position per tile. It
is pure: numpy in, numpy out, no DICOM reading (that is in
``dicom/csa.py`` and ``dicom/uih.py``).

Conventions used throughout (repeated in each docstring):

* **Patient frame LPS** (DICOM): x to the patient's Left, y Posterior, z Superior, mm.
* **Slicer IJK**: ``i`` is the column index (along the row direction
  ``IOP[0:3]``), ``j`` the row index (along the column direction
  ``IOP[3:6]``), ``k`` the slice index in Slicer's sorted order (distance
  along ``cross(IOP[0:3], IOP[3:6])``, ascending, as
  ``DICOMUtils.getSortedImageFiles`` sorts). Voxel indices are 0-based and
  name voxel centres; an ImagePositionPatient (IPP) is the centre of voxel
  ``(0, 0)`` of its slice.
* **Tile index** ``t``: the order in which tiles are stored in the mosaic,
  ``t = tileRow * tilesAcross + tileColumn`` (row-major, from the top-left
  tile). For Siemens this is the slice order along ``SliceNormalVector``;
  dcm2niix keeps it as its NIfTI k axis (``nii_dicom.cpp:nii_demosaic``).
  Slicer's k equals ``t`` or ``N - 1 - t`` (see :func:`slicerSliceIndex`).
* numpy pixel arrays are indexed ``[k, j, i]`` (or ``[t, j, i]``), a mosaic ``[row, column]``.

The rules are those of dcm2niix (``console/nii_dicom.cpp``), cross-checked
with nibabel (``nicom/dicomwrappers.py:MosaicWrapper``); each function names
the one it follows.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt


class MosaicError(ValueError):
    """A mosaic whose header numbers cannot describe a tile grid."""


# --------------------------------------------------------------------------- grid


def mosaicTileGrid(
    mosaicRows: int, mosaicColumns: int, numberOfImages: int, *, squareGrid: bool = True
) -> Tuple[int, int, int]:
    """Return ``(tilesAcross, tileRows, tileColumns)`` of a mosaic holding ``numberOfImages`` tiles.

    ``tilesAcross = ceil(sqrt(numberOfImages))`` tiles per mosaic row. A
    Siemens mosaic is square: as many tile rows as tiles across, the unused
    tiles at the end left blank (dcm2niix ``nii_dicom.cpp:nii_demosaic``,
    nibabel ``MosaicWrapper.mosaic_size``). A UIH grid (``squareGrid=False``)
    has only ``ceil(numberOfImages / tilesAcross)`` tile rows (dcm2niix
    issue 225, UIH tag (0065,1050)). Tile sizes are the mosaic size divided
    by the tile counts; rows are along j (IOP[3:6]), columns along i
    (IOP[0:3]).

    Raises :class:`MosaicError` (a ``ValueError``) when the mosaic does not
    divide into whole tiles: dcm2niix would then truncate the tile size and
    misplace every tile after the first.

    >>> mosaicTileGrid(384, 384, 36)
    (6, 64, 64)
    >>> mosaicTileGrid(384, 384, 35)
    (6, 64, 64)
    >>> mosaicTileGrid(256, 320, 20, squareGrid=False)
    (5, 64, 64)
    """
    for name, value in (("mosaicRows", mosaicRows), ("mosaicColumns", mosaicColumns)):
        _checkPositiveInt(name, value)
    _checkPositiveInt("numberOfImages", numberOfImages)
    tilesAcross = _ceilSqrt(int(numberOfImages))
    tilesDown = mosaicTilesDown(numberOfImages, tilesAcross, squareGrid=squareGrid)
    if mosaicColumns % tilesAcross or mosaicRows % tilesDown:
        raise MosaicError(
            f"a {mosaicColumns}x{mosaicRows} (columns x rows) mosaic does not divide into "
            f"{tilesAcross}x{tilesDown} whole tiles for {numberOfImages} images"
        )
    return tilesAcross, int(mosaicRows) // tilesDown, int(mosaicColumns) // tilesAcross


def mosaicTilesDown(numberOfImages: int, tilesAcross: int, *, squareGrid: bool = True) -> int:
    """Number of tile rows: ``tilesAcross`` for a square Siemens mosaic, ``ceil(n / tilesAcross)`` for a UIH grid.

    >>> mosaicTilesDown(20, 5), mosaicTilesDown(20, 5, squareGrid=False)
    (5, 4)
    """
    if squareGrid:
        return int(tilesAcross)
    return -(-int(numberOfImages) // int(tilesAcross))


def _ceilSqrt(value: int) -> int:
    root = math.isqrt(value)
    return root if root * root == value else root + 1


def _checkPositiveInt(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f'Argument "{name}" must be an integer, not {type(value).__name__}.')
    if value < 1:
        raise ValueError(f'Argument "{name}" must be positive, not {value}.')


# --------------------------------------------------------------------------- positions


def firstSlicePosition(
    mosaicIPP: Sequence[float],
    orientation: Sequence[float],
    pixelSpacing: Sequence[float],
    mosaicRows: int,
    mosaicColumns: int,
    tileRows: int,
    tileColumns: int,
) -> np.ndarray:
    """Return the IPP (LPS, mm) of tile 0: the centre of its voxel (i, j) = (0, 0).

    A Siemens mosaic's ImagePositionPatient is not the first tile's: it is
    where the top-left voxel of an image as large as the whole mosaic would
    be if that image were centred on the first slice. Moving it by half the
    size difference along each in-plane axis gives the first tile::

        IPP_tile0 = IPP + IOP[0:3] * PixelSpacing[1] * (mosaicColumns - tileColumns) / 2
                        + IOP[3:6] * PixelSpacing[0] * (mosaicRows - tileRows) / 2

    (PixelSpacing[0] is the spacing between rows, along IOP[3:6]: DICOM PS3.3
    C.7.6.2.1.1.) This is dcm2niix ``nii_dicom.cpp:set_nii_header_x``
    (``lFactorX``, ``lFactorY``, after normalising the IOP vectors as
    ``nifti_dicom2mat`` does) and nibabel ``MosaicWrapper.image_position``.
    Slicer IJK, LPS. Not for UIH grids, whose IPP already is the first tile's.
    """
    ipp = _vector("mosaicIPP", mosaicIPP, 3)
    rowDirection, columnDirection = _unitInPlane(orientation)
    spacing = _vector("pixelSpacing", pixelSpacing, 2)
    return (
        ipp
        + rowDirection * spacing[1] * (mosaicColumns - tileColumns) / 2.0
        + columnDirection * spacing[0] * (mosaicRows - tileRows) / 2.0
    )


def sliceDirection(orientation: Sequence[float], sliceNormalVector: Optional[Sequence[float]]) -> np.ndarray:
    """Unit LPS vector from tile ``t`` to tile ``t + 1``.

    The slice normal ``cross(IOP[0:3], IOP[3:6])`` (unit), reversed when the
    CSA ``SliceNormalVector`` points the other way. This is dcm2niix's test
    in ``nii_dicom.cpp:set_nii_header_x``: the determinant of
    ``[IOP[0:3], IOP[3:6], SliceNormalVector]`` is negative ("Siemens
    sagittal are R>>L"), the k column is negated. Without a
    ``SliceNormalVector`` dcm2niix uses ``(0, 0, 1)`` ("default Siemens Image
    Numbering is F>>H", ``clear_dicom_data``); pass ``None`` for that.
    nibabel (``SiemensWrapper.slice_normal``) also takes the sign from the
    CSA vector. LPS.

    >>> sliceDirection([0, 1, 0, 0, 0, -1], [1, 0, 0]).tolist()
    [1.0, 0.0, 0.0]
    """
    rowDirection, columnDirection = _unitInPlane(orientation)
    normal = np.cross(rowDirection, columnDirection)
    normal = normal / np.linalg.norm(normal)
    reference = (
        np.array([0.0, 0.0, 1.0]) if sliceNormalVector is None else _vector("sliceNormalVector", sliceNormalVector, 3)
    )
    direction = -normal if float(np.dot(normal, reference)) < 0 else normal
    return direction + 0.0  # no negative zeros in what is reported


def slicerSliceIndex(positions: npt.ArrayLike, orientation: Sequence[float]) -> np.ndarray:
    """Slicer's k for each position: rank of ``(IPP - IPP_0) . cross(IOP[0:3], IOP[3:6])``, ascending.

    ``positions`` is ``(N, 3)`` LPS in tile order; the result ``k[t]`` is the
    Slicer IJK slice index of tile ``t``. The sort is stable, like
    ``DICOMUtils.getSortedImageFiles``, so tiles at one position keep their
    tile order.

    >>> slicerSliceIndex([[0, 0, 2], [0, 0, 1], [0, 0, 0]], [1, 0, 0, 0, 1, 0]).tolist()
    [2, 1, 0]
    """
    points = np.asarray(positions, dtype=float).reshape(-1, 3)
    cosines = _vector("orientation", orientation, 6)
    distance = (points - points[0]) @ np.cross(cosines[:3], cosines[3:])
    order = np.argsort(distance, kind="stable")
    index: np.ndarray = np.empty(len(order), dtype=int)
    index[order] = np.arange(len(order))
    return index


@dataclasses.dataclass
class MosaicSlices:
    """Where the tiles of one mosaic are.

    ``positions`` is ``(N, 3)``: the IPP (LPS, mm; centre of voxel (i, j) =
    (0, 0)) of each tile, in tile order ``t``. ``sliceIndex[t]`` is the
    Slicer IJK k of tile ``t``; ``tileOfSlice[k]`` the inverse.
    ``sliceDirection`` (unit, LPS) points from tile ``t`` to ``t + 1`` and
    ``sliceSpacing`` is the distance between them (``None`` when the positions
    came one per tile, as UIH gives them). ``tileRows``/``tileColumns`` are
    the tile size along j/i.
    """

    tilesAcross: int
    tilesDown: int
    tileRows: int
    tileColumns: int
    positions: np.ndarray
    sliceIndex: np.ndarray
    tileOfSlice: np.ndarray
    sliceDirection: Optional[np.ndarray] = None
    sliceSpacing: Optional[float] = None

    @property
    def numberOfImages(self) -> int:
        return len(self.positions)

    @property
    def positionsInSliceOrder(self) -> np.ndarray:
        """IPPs (LPS) indexed by Slicer k."""
        return self.positions[self.tileOfSlice]


def mosaicSlicePositions(
    mosaicIPP: Sequence[float],
    orientation: Sequence[float],
    pixelSpacing: Sequence[float],
    mosaicRows: int,
    mosaicColumns: int,
    numberOfImages: int,
    sliceNormalVector: Optional[Sequence[float]],
    sliceSpacing: float,
) -> MosaicSlices:
    """De-mosaic a Siemens mosaic's geometry: each tile's IPP (LPS) in tile order, and Slicer's k of each.

    Tile ``t`` sits at ``firstSlicePosition(...) + t * sliceSpacing *
    sliceDirection(orientation, sliceNormalVector)``: dcm2niix's affine for a
    mosaic (``set_nii_header_x``), whose k axis is the tile order.
    ``sliceSpacing`` is what dcm2niix uses: SpacingBetweenSlices when it is
    positive, else SliceThickness (``readDICOMx``, ``d.zSpacing``). Slicer IJK
    (i = column, j = row, k = Slicer-sorted slice), LPS.
    """
    if not (isinstance(sliceSpacing, (int, float, np.floating)) and sliceSpacing > 0):
        raise ValueError(f'Argument "sliceSpacing" must be a positive number, not {sliceSpacing!r}.')
    tilesAcross, tileRows, tileColumns = mosaicTileGrid(mosaicRows, mosaicColumns, numberOfImages)
    first = firstSlicePosition(mosaicIPP, orientation, pixelSpacing, mosaicRows, mosaicColumns, tileRows, tileColumns)
    direction = sliceDirection(orientation, sliceNormalVector)
    positions = first + np.outer(np.arange(numberOfImages), direction * float(sliceSpacing))
    sliceIndex = slicerSliceIndex(positions, orientation)
    return MosaicSlices(
        tilesAcross=tilesAcross,
        tilesDown=tilesAcross,
        tileRows=tileRows,
        tileColumns=tileColumns,
        positions=positions,
        sliceIndex=sliceIndex,
        tileOfSlice=np.argsort(sliceIndex),
        sliceDirection=direction,
        sliceSpacing=float(sliceSpacing),
    )


def tileToSliceIndex(sliceIndex: Sequence[int], tilesAcross: int, tilesDown: int) -> np.ndarray:
    """The Slicer k of each tile, laid out like the mosaic: ``table[tileRow, tileColumn]``, -1 for blank tiles.

    ``sliceIndex[t]`` is the k of tile ``t`` (see :attr:`MosaicSlices.sliceIndex`);
    tile ``t`` is at ``(t // tilesAcross, t % tilesAcross)``.

    >>> tileToSliceIndex([2, 1, 0], 2, 2).tolist()
    [[2, 1], [0, -1]]
    """
    _checkPositiveInt("tilesAcross", tilesAcross)
    _checkPositiveInt("tilesDown", tilesDown)
    values = np.asarray(sliceIndex, dtype=int).ravel()
    if len(values) > tilesAcross * tilesDown:
        raise ValueError(f'Argument "sliceIndex" has {len(values)} tiles; the grid holds {tilesAcross * tilesDown}.')
    table: np.ndarray = np.full(tilesAcross * tilesDown, -1, dtype=int)
    table[: len(values)] = values
    return table.reshape(tilesDown, tilesAcross)


def demosaicPixels(
    mosaic: np.ndarray, tileRows: int, tileColumns: int, count: int, *, tileOfSlice: Optional[Sequence[int]] = None
) -> np.ndarray:
    """Cut a 2D mosaic ``[row, column]`` into a ``[k, j, i]`` stack of ``count`` tiles.

    Without ``tileOfSlice`` the first axis is the tile order ``t`` (row-major
    from the top-left tile, as dcm2niix ``nii_demosaic`` and nibabel
    ``MosaicWrapper.get_unscaled_data`` read it). With ``tileOfSlice`` (for
    example :attr:`MosaicSlices.tileOfSlice`) the first axis is Slicer's k,
    so the result is indexed like ``slicer.util.arrayFromVolume``: ``[k, j, i]``,
    j along IOP[3:6], i along IOP[0:3].

    >>> demosaicPixels(np.arange(16).reshape(4, 4), 2, 2, 3)[:, 0, 0].tolist()
    [0, 2, 8]
    """
    array = np.asarray(mosaic)
    if array.ndim != 2:
        raise ValueError(f'Argument "mosaic" must be 2D, not {array.ndim}D.')
    _checkPositiveInt("tileRows", tileRows)
    _checkPositiveInt("tileColumns", tileColumns)
    _checkPositiveInt("count", count)
    rows, columns = array.shape
    if rows % tileRows or columns % tileColumns:
        raise MosaicError(f"a {columns}x{rows} mosaic does not divide into {tileColumns}x{tileRows} tiles")
    tilesDown, tilesAcross = rows // tileRows, columns // tileColumns
    if count > tilesDown * tilesAcross:
        raise ValueError(f'Argument "count" ({count}) exceeds the {tilesDown * tilesAcross} tiles of the mosaic.')
    tiles = array.reshape(tilesDown, tileRows, tilesAcross, tileColumns).transpose(0, 2, 1, 3)
    stack = tiles.reshape(tilesDown * tilesAcross, tileRows, tileColumns)[:count]
    if tileOfSlice is not None:
        stack = stack[np.asarray(tileOfSlice, dtype=int)]
    return stack


# --------------------------------------------------------------------------- one mosaic file, as the checks see it


@dataclasses.dataclass(frozen=True)
class MosaicFile:
    """What one mosaic file (Siemens MOSAIC or UIH grid) is, shared by the slice headers of its tiles.

    ``vendor`` names the format ("Siemens MOSAIC", "UIH grid"). Sizes: the
    stored image is ``mosaicColumns`` x ``mosaicRows`` (along i, j); each
    tile ``tileColumns`` x ``tileRows``; tile ``t`` sits at tile row
    ``t // tilesAcross``, tile column ``t % tilesAcross`` (row-major from the
    top-left). ``position`` is the file's own ImagePositionPatient (LPS; for
    Siemens the whole mosaic's, not a tile's; ``None`` when absent), with
    ``orientation`` and ``pixelSpacing``: what Slicer's scalar-volume plugin
    sees, since it does not de-mosaic. ``sources`` says where each number came
    from, ``notes`` are non-fatal observations, ``sliceOrder`` the NIfTI
    slice_code name of the acquisition order ("" when unknown) and
    ``sliceTimesMs`` one time per tile (tile order). ``protocolOrder`` /
    ``protocolDeviationMm`` compare the tile positions with the protocol's
    slice centres (Siemens ASCCONV; "" / ``None`` when not compared).
    ``problem`` is empty when the tiles were placed, else one sentence naming
    the vendor and the tags that are missing; the file then gives no slice.
    """

    file: str
    vendor: str
    numberOfTiles: int = 0
    tilesAcross: int = 0
    tilesDown: int = 0
    tileRows: int = 0
    tileColumns: int = 0
    mosaicRows: int = 0
    mosaicColumns: int = 0
    position: Optional[Tuple[float, float, float]] = None
    orientation: Optional[Tuple[float, ...]] = None
    pixelSpacing: Optional[Tuple[float, float]] = None
    sources: Tuple[str, ...] = ()
    notes: Tuple[str, ...] = ()
    sliceOrder: str = ""
    sliceTimesMs: Tuple[float, ...] = ()
    protocolOrder: str = ""
    protocolDeviationMm: Optional[float] = None
    problem: str = ""

    def tileOrigin(self, tile: int) -> Tuple[int, int]:
        """``(column, row)`` of the mosaic voxel that is voxel (i, j) = (0, 0) of tile ``tile``.

        >>> MosaicFile("f", "Siemens MOSAIC", 36, 6, 6, 64, 64, 384, 384).tileOrigin(7)
        (64, 64)
        """
        if self.tilesAcross < 1:
            raise ValueError(f"{self.file}: the tile grid of this mosaic is unknown ({self.problem})")
        return (tile % self.tilesAcross) * self.tileColumns, (tile // self.tilesAcross) * self.tileRows

    def positionAsOneImage(self, tile: int) -> Optional[np.ndarray]:
        """Where a reader that does not de-mosaic puts voxel (0, 0) of tile ``tile`` (LPS mm), or ``None``.

        Slicer's scalar-volume plugin (vtkITK) reads the file as one
        ``mosaicColumns`` x ``mosaicRows`` image at the file's IPP: mosaic voxel
        (column c, row r) lands at ``IPP + c * PixelSpacing[1] * IOP[0:3] + r *
        PixelSpacing[0] * IOP[3:6]``, so the tile's first voxel at its
        :meth:`tileOrigin`. ``None`` without a file IPP (such a file has no
        position for any reader). Slicer IJK, LPS.
        """
        if self.position is None or self.orientation is None or self.pixelSpacing is None:
            return None
        column, row = self.tileOrigin(tile)
        cosines = np.asarray(self.orientation, dtype=float)
        return (
            np.asarray(self.position, dtype=float)
            + column * self.pixelSpacing[1] * cosines[:3]
            + row * self.pixelSpacing[0] * cosines[3:]
        )


# --------------------------------------------------------------------------- acquisition order


class SliceOrderCode(str, enum.Enum):
    """NIfTI ``slice_code`` names (nifti1.h), as dcm2niix classifies slice times."""

    UNKNOWN = "UNKNOWN"
    SEQ_INC = "SEQ_INC"
    SEQ_DEC = "SEQ_DEC"
    ALT_INC = "ALT_INC"
    ALT_DEC = "ALT_DEC"
    ALT_INC2 = "ALT_INC2"
    ALT_DEC2 = "ALT_DEC2"

    @property
    def niftiCode(self) -> int:
        """The integer stored in a NIfTI header's ``slice_code``."""
        return list(SliceOrderCode).index(self)


def acquisitionOrder(sliceTimes: Sequence[float]) -> np.ndarray:
    """Tile indices in the order they were acquired (stable: simultaneous tiles keep tile order).

    ``sliceTimes[t]`` is tile ``t``'s time (any unit), for example the CSA
    ``MosaicRefAcqTimes`` (ms, tile order).

    >>> acquisitionOrder([30, 0, 40, 10]).tolist()
    [1, 3, 0, 2]
    """
    return np.argsort(np.asarray(sliceTimes, dtype=float), kind="stable")


def sliceOrderCode(sliceTimes: Sequence[float]) -> SliceOrderCode:
    """Classify tile-order slice times as dcm2niix does (``nii_dicom.cpp:checkSliceTimes``).

    With ``m`` the first tile holding the earliest time and ``n`` tiles:
    ``m == 1`` is ALT_INC2 (acquisition ranks 3,1,4,2), ``m == n - 2``
    ALT_DEC2, ``m == 0`` SEQ_INC or ALT_INC as tile 1 is before or after tile
    2, ``m == n - 1`` SEQ_DEC or ALT_DEC as tile ``n - 3`` is after or before
    tile ``n - 2``; anything else, equal times at those tiles, more than one
    tile at the earliest time (multiband, or a 3D acquisition) and fewer than
    3 tiles give UNKNOWN. Negative times
    are shifted first, as dcm2niix does. Tile order is the NIfTI slice order
    for a mosaic (dcm2niix does not reorder its slices).

    >>> sliceOrderCode([0, 10, 20, 30]).value, sliceOrderCode([20, 0, 30, 10]).value
    ('SEQ_INC', 'ALT_INC2')
    """
    times = np.asarray(sliceTimes, dtype=float).ravel()
    count = len(times)
    if count < 3:
        return SliceOrderCode.UNKNOWN
    times = times - min(0.0, float(times.min()))
    if int(np.count_nonzero(times == 0)) > 1:
        return SliceOrderCode.UNKNOWN
    first = int(np.argmin(times))
    if first == 1:
        return SliceOrderCode.ALT_INC2
    if first == count - 2:
        return SliceOrderCode.ALT_DEC2
    if first == 0 and times[1] != times[2]:
        return SliceOrderCode.SEQ_INC if times[1] < times[2] else SliceOrderCode.ALT_INC
    if first == count - 1 and times[count - 3] != times[count - 2]:
        return SliceOrderCode.SEQ_DEC if times[count - 3] > times[count - 2] else SliceOrderCode.ALT_DEC
    return SliceOrderCode.UNKNOWN


def sliceTimingSeconds(sliceTimesMs: Sequence[float]) -> np.ndarray:
    """BIDS ``SliceTiming`` as dcm2niix writes it: ms to s, shifted to start at 0 only when a time is negative.

    (``checkSliceTimes`` shifts negative ``MosaicRefAcqTimes``, issue 271;
    ``nii_SaveBIDSX`` divides by 1000.) Tile order, which is the NIfTI slice order.

    >>> sliceTimingSeconds([-10.0, 60.0]).tolist()
    [0.0, 0.07]
    """
    times = np.asarray(sliceTimesMs, dtype=float)
    if times.size and times.min() < 0:
        times = times - times.min()
    return times / 1000.0


# --------------------------------------------------------------------------- protocol cross-check


def protocolTilePositions(
    sliceCentres: npt.ArrayLike,
    orientation: Sequence[float],
    pixelSpacing: Sequence[float],
    tileRows: int,
    tileColumns: int,
) -> np.ndarray:
    """Tile IPPs (LPS) from slice centres such as the protocol's ``sSliceArray.asSlice[].sPosition``.

    A slice centre is voxel ``(i, j) = (tileColumns / 2, tileRows / 2)`` of
    its tile (not ``(n - 1) / 2``), so::

        IPP = centre - IOP[0:3] * PixelSpacing[1] * tileColumns / 2 - IOP[3:6] * PixelSpacing[0] * tileRows / 2

    This is the convention the mosaic IPP itself follows (see
    :func:`firstSlicePosition`; nibabel's ``dicom_mosaic`` derivation); on the
    three shared Siemens series it reproduces every tile's IPP to 1e-6 mm.
    An independent check of :func:`mosaicSlicePositions`, not a rule dcm2niix
    applies. Slicer IJK, LPS.
    """
    centres = np.asarray(sliceCentres, dtype=float).reshape(-1, 3)
    rowDirection, columnDirection = _unitInPlane(orientation)
    spacing = _vector("pixelSpacing", pixelSpacing, 2)
    shift = rowDirection * spacing[1] * tileColumns / 2.0 + columnDirection * spacing[0] * tileRows / 2.0
    return centres - shift


def compareTilePositions(tilePositions: npt.ArrayLike, protocolPositions: npt.ArrayLike) -> Tuple[str, float]:
    """Match two per-tile position lists (LPS): ``("same" | "reversed", largest distance in mm)``.

    "reversed" means tile ``t`` matches protocol slice ``N - 1 - t``, as when
    the console's image numbering (``sSliceArray.ucImageNumbSag/Cor/Tra``)
    reverses the stored order. Whichever order fits better is returned.
    Raises ``ValueError`` when the counts differ.
    """
    tiles = np.asarray(tilePositions, dtype=float).reshape(-1, 3)
    protocol = np.asarray(protocolPositions, dtype=float).reshape(-1, 3)
    if len(tiles) != len(protocol):
        raise ValueError(f"{len(tiles)} tiles but {len(protocol)} protocol slices")
    same = float(np.linalg.norm(tiles - protocol, axis=1).max())
    reversed_ = float(np.linalg.norm(tiles - protocol[::-1], axis=1).max())
    return ("same", same) if same <= reversed_ else ("reversed", reversed_)


# --------------------------------------------------------------------------- helpers


def _vector(name: str, values: npt.ArrayLike, count: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f'Argument "{name}" must be {count} numbers.') from None
    if array.shape != (count,):
        raise ValueError(f'Argument "{name}" must have length {count}, not {array.size}.')
    if not np.all(np.isfinite(array)):
        raise ValueError(f'Argument "{name}" must be finite.')
    return array


def _unitInPlane(orientation: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """IOP row and column directions normalised, as dcm2niix ``nifti_dicom2mat`` normalises them."""
    values = _vector("orientation", orientation, 6)
    row, column = values[:3], values[3:]
    rowNorm, columnNorm = np.linalg.norm(row), np.linalg.norm(column)
    if rowNorm < 1e-6 or columnNorm < 1e-6 or np.linalg.norm(np.cross(row, column)) < 1e-6 * rowNorm * columnNorm:
        raise ValueError(f'Argument "orientation" has a zero or parallel direction: {values.tolist()}.')
    return row / rowNorm, column / columnNorm
