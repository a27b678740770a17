"""UIH (United Imaging Healthcare) "grid" images: one volume stored as tiles of one 2D image, like a Siemens mosaic.

What the vendor documents (dcm2niix ``UIH/README.md``, from UIH engineers in
dcm2niix issue 225) and what dcm2niix reads (``console/nii_dicom.cpp``):

* ImageType (0008,0008) holds ``VFRAME`` ("the flag for mosaic format");
* (0065,1050) "MR Number Of Slice In Volume" (DS): the number of tiles.
  Tiles across = ``ceil(sqrt(n))``, tile rows = ``ceil(n / across)``: not a
  square grid (``nii_demosaic``, ``isUIH``);
* (0065,1051) "MR VFrame Sequence" (SQ): one item per tile, each with its own
  ImagePositionPatient (0020,0032), AcquisitionTime (0008,0032) and
  SliceLocation (0020,1041).

So the per-slice geometry is there: each tile has its own IPP, the
orientation and pixel spacing are the image's. Unlike Siemens, the IPP needs
no mosaic correction (dcm2niix ``set_nii_header_x``: "only for Siemens
mosaic: ignore for UIH grid"). dcm2niix itself takes the top-level IPP as
tile 0, SpacingBetweenSlices as the step and the last VFrame IPP only for
the direction (``verify_slice_dir``); here each tile gets its own VFrame IPP,
which also shows uneven spacing. Without the VFrame sequence the tiles cannot
be placed (dcm2niix then guesses the direction and warns), and
:func:`uihGridInfo` says so in one sentence naming the vendor and the tags.

The private block is looked up by its creator, "Image Private Header"
(the name dcm2niix's remapping table gives for group 0065); when no such
creator is present, the elements are read at (0065,1050) and (0065,1051) as
dcm2niix reads them. Frame LPS, mm; tile order as stored (row-major from the
top-left tile); Slicer IJK as in :mod:`..geometry.mosaic`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Tuple, cast

import numpy as np
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from ..geometry import mosaic as mosaicGeometry

UIH_PRIVATE_CREATOR = "Image Private Header"
NUMBER_OF_SLICES_ELEMENT = 0x50  # (0065,1050) MR Number Of Slice In Volume, DS
VFRAME_SEQUENCE_ELEMENT = 0x51  # (0065,1051) MR VFrame Sequence, SQ
NUMBER_OF_SLICES_TAG = "(0065,1050)"
VFRAME_SEQUENCE_TAG = "(0065,1051)"


@dataclasses.dataclass
class UIHGridInfo:
    """What one UIH grid file says about its tiles.

    ``framePositions`` are the VFrame IPPs (LPS, mm), one per tile in tile
    order; ``frameAcquisitionTimes`` their AcquisitionTime strings (empty when
    absent). ``reason`` is empty when every tile can be placed, else one
    sentence naming the vendor and the missing tag.
    """

    file: str
    mosaicRows: Optional[int] = None
    mosaicColumns: Optional[int] = None
    numberOfImages: Optional[int] = None
    tilesAcross: Optional[int] = None
    tilesDown: Optional[int] = None
    tileRows: Optional[int] = None
    tileColumns: Optional[int] = None
    orientation: Optional[Tuple[float, ...]] = None
    pixelSpacing: Optional[Tuple[float, float]] = None
    imagePosition: Optional[Tuple[float, float, float]] = None
    framePositions: Optional[Tuple[Tuple[float, float, float], ...]] = None
    frameAcquisitionTimes: Tuple[str, ...] = ()
    reason: str = ""
    notes: List[str] = dataclasses.field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.reason

    def slices(self) -> mosaicGeometry.MosaicSlices:
        """Each tile's IPP (LPS, its VFrame IPP) and Slicer k; ``ValueError`` if unusable."""
        if self.reason:
            raise ValueError(self.reason)
        # uihGridInfo fills every field below whenever it leaves ``reason`` empty.
        assert self.framePositions is not None and self.orientation is not None
        assert None not in (self.tilesAcross, self.tilesDown, self.tileRows, self.tileColumns)
        positions = np.asarray(self.framePositions, dtype=float)
        sliceIndex = mosaicGeometry.slicerSliceIndex(positions, self.orientation)
        return mosaicGeometry.MosaicSlices(
            tilesAcross=cast(int, self.tilesAcross),
            tilesDown=cast(int, self.tilesDown),
            tileRows=cast(int, self.tileRows),
            tileColumns=cast(int, self.tileColumns),
            positions=positions,
            sliceIndex=sliceIndex,
            tileOfSlice=np.argsort(sliceIndex),
        )


def isUIH(dataset: Dataset) -> bool:
    """Manufacturer starts with "UI" ("UIH", "United Imaging ..."), as dcm2niix ``dcmStrManufacturer`` tests it."""
    return str(dataset.get("Manufacturer", "") or "").strip().upper().startswith("UI")


def isUIHGrid(dataset: Dataset) -> bool:
    """A UIH image that is a grid: ImageType holds VFRAME or (0065,1050) is present."""
    if not isUIH(dataset):
        return False
    imageType = dataset.get("ImageType")
    values = [imageType] if isinstance(imageType, str) else list(imageType or [])
    return (
        any("VFRAME" in str(value).upper() for value in values)
        or _element(dataset, NUMBER_OF_SLICES_ELEMENT) is not None
    )


def uihGridInfo(dataset: Dataset, file: str = "") -> Optional[UIHGridInfo]:
    """Read a UIH grid's tile geometry from a pydicom Dataset; ``None`` when it is not a UIH grid.

    Frame LPS; tile order. See the module docstring for the tags and rules.
    """
    if not isUIHGrid(dataset):
        return None
    info = UIHGridInfo(file=file)
    info.mosaicRows, info.mosaicColumns = _int(dataset.get("Rows")), _int(dataset.get("Columns"))
    info.orientation = _numbers(dataset.get("ImageOrientationPatient"), 6)
    info.pixelSpacing = cast(Optional[Tuple[float, float]], _numbers(dataset.get("PixelSpacing"), 2))
    info.imagePosition = cast(Optional[Tuple[float, float, float]], _numbers(dataset.get("ImagePositionPatient"), 3))
    info.reason = _reason(dataset, info)
    if not info.reason and info.imagePosition is not None and info.framePositions is not None:
        gap = float(np.linalg.norm(np.subtract(info.imagePosition, info.framePositions[0])))
        if gap > 1e-3:
            info.notes.append(
                f"ImagePositionPatient is {gap:.3g} mm from the first VFrame position; "
                "dcm2niix puts tile 0 at the former"
            )
    return info


def _reason(dataset: Dataset, info: UIHGridInfo) -> str:
    prefix = "UIH grid"
    element = _element(dataset, NUMBER_OF_SLICES_ELEMENT)
    count = _int(element.value) if element is not None else None
    if not count or count < 1:
        return f"{prefix}: (0065,1050) MR Number Of Slice In Volume is missing, so the tiles cannot be counted"
    info.numberOfImages = count
    if not info.mosaicRows or not info.mosaicColumns:
        return f"{prefix}: Rows (0028,0010) or Columns (0028,0011) is missing"
    try:
        info.tilesAcross, info.tileRows, info.tileColumns = mosaicGeometry.mosaicTileGrid(
            info.mosaicRows, info.mosaicColumns, count, squareGrid=False
        )
    except ValueError as error:
        return f"{prefix}: {error} ((0065,1050) = {count})"
    info.tilesDown = mosaicGeometry.mosaicTilesDown(count, info.tilesAcross, squareGrid=False)
    if info.orientation is None or info.pixelSpacing is None:
        return f"{prefix}: ImageOrientationPatient (0020,0037) or PixelSpacing (0028,0030) is missing"
    sequence = _element(dataset, VFRAME_SEQUENCE_ELEMENT)
    items = list(sequence.value or []) if sequence is not None and sequence.VR == "SQ" else []
    if not items:
        return (
            f"{prefix}: (0065,1051) MR VFrame Sequence is missing, so no tile has its own ImagePositionPatient "
            "(0020,0032); the tiles cannot be placed (dcm2niix would guess their direction)"
        )
    if len(items) != count:
        return f"{prefix}: (0065,1051) MR VFrame Sequence has {len(items)} items for {count} tiles ((0065,1050))"
    positions = [_numbers(item.get("ImagePositionPatient"), 3) for item in items]
    missing = [index for index, position in enumerate(positions) if position is None]
    if missing:
        return (
            f"{prefix}: {len(missing)} of {count} items of (0065,1051) MR VFrame Sequence have no usable "
            f"ImagePositionPatient (0020,0032) (first: item {missing[0] + 1})"
        )
    info.framePositions = tuple(cast(Tuple[float, float, float], position) for position in positions)
    info.frameAcquisitionTimes = tuple(str(item.get("AcquisitionTime", "") or "") for item in items)
    return ""


def _element(dataset: Dataset, element: int) -> Optional[DataElement]:
    """(0065,xx``element``) in the "Image Private Header" block, else at (0065,10``element``) as dcm2niix reads it."""
    try:
        return dataset.private_block(0x0065, UIH_PRIVATE_CREATOR)[element]
    except (KeyError, ValueError):
        pass
    tag = (0x0065, 0x1000 + element)
    return dataset[tag] if tag in dataset else None


def _int(value: Any) -> Optional[int]:
    try:
        return None if value is None or value == "" else int(float(value))
    except (TypeError, ValueError):
        return None


def _numbers(value: Any, count: int) -> Optional[Tuple[float, ...]]:
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        numbers = tuple(float(item) for item in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count and all(np.isfinite(numbers)) else None
