"""Mosaic files (Siemens MOSAIC, UIH grid) as slice headers: one :class:`SliceHeader` per tile.

A mosaic stores the slices of one volume as tiles of one 2D image; read as
an image it is one slice far from every tile (hundreds of mm). Here each tile
becomes a slice of its own, placed by the rules of :mod:`.csa` (Siemens: the
CSA headers, as dcm2niix does) and :mod:`.uih` (UIH: one IPP per tile in the
VFrame sequence), so that sorting, 4D detection and every check treat the
tiles like any other slices. A mosaic whose tiles cannot be placed gives one
header whose ``mosaic.problem`` says why, naming the vendor and the tags;
the admission rule ``mosaics`` (:mod:`..geometry.checks`) reports it once per
series instead of a ``missingGeometry`` per file.

Conventions: LPS mm; tile ``t`` row-major from the top-left tile (the
stored order); a tile header's ``rows``/``columns`` are the tile size, its
position the IPP (centre of voxel (i, j) = (0, 0), i along IOP[0:3]) of that
tile.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Tuple, Union

from pydicom.dataset import Dataset

from ..geometry.mosaic import MosaicFile, MosaicSlices, SliceOrderCode
from ..geometry.sliceheader import SliceHeader, orientationProblem, positionProblem, spacingProblem
from . import csa, uih


def mosaicSlices(dataset: Dataset, common: SliceHeader) -> Optional[List[SliceHeader]]:
    """The tiles of a mosaic file as slice headers, ``None`` when ``dataset`` is not a mosaic.

    ``common`` holds the file's non-geometry attributes (series, instance,
    4D tags); each tile header is a copy with its own position. A mosaic
    that cannot be de-mosaicked gives a single header with ``tile`` None and
    ``mosaic.problem`` set (and no geometry, so it is never stacked as one
    huge slice).
    """
    siemens = csa.mosaicInfo(dataset, common.file)
    if siemens is not None:
        return _siemensTiles(siemens, common)
    grid = uih.uihGridInfo(dataset, common.file)
    if grid is not None:
        return _uihTiles(grid, common)
    return None


def _siemensTiles(info: csa.MosaicInfo, common: SliceHeader) -> List[SliceHeader]:
    vendor = "Siemens MOSAIC"
    problem = info.reason or _valueProblem(vendor, info.orientation, info.pixelSpacing)
    if problem:
        return _unplaced(common, _record(common, vendor, info, problem))
    slices = info.slices()
    order = info.sliceOrder()
    check = info.protocolCheck()
    sources = (
        f"number of tiles from {info.numberOfImagesSource}",
        f"slice direction from {info.sliceNormalSource}",
        f"slice spacing {info.sliceSpacing:g} mm from {info.sliceSpacingSource}",
    ) + ((f"slice times from {info.sliceTimesSource}",) if info.sliceTimesSource else ())
    record = _placedRecord(
        common,
        vendor,
        info,
        slices,
        sources,
        sliceOrder="" if order is SliceOrderCode.UNKNOWN else order.value,
        sliceTimesMs=tuple(info.sliceTimesMs or ()),
        protocolOrder=check[0] if check else "",
        protocolDeviationMm=check[1] if check else None,
    )
    return _tileHeaders(common, record, slices)


def _uihTiles(info: uih.UIHGridInfo, common: SliceHeader) -> List[SliceHeader]:
    vendor = "UIH grid"
    problem = info.reason or _valueProblem(vendor, info.orientation, info.pixelSpacing)
    if problem:
        return _unplaced(common, _record(common, vendor, info, problem))
    slices = info.slices()
    sources = (
        f"number of tiles from {uih.NUMBER_OF_SLICES_TAG} MR Number Of Slice In Volume",
        f"tile positions from the ImagePositionPatient of each {uih.VFRAME_SEQUENCE_TAG} MR VFrame Sequence item",
    )
    return _tileHeaders(common, _placedRecord(common, vendor, info, slices, sources), slices)


def _placedRecord(
    common: SliceHeader,
    vendor: str,
    info: Union[csa.MosaicInfo, uih.UIHGridInfo],
    slices: MosaicSlices,
    sources: Tuple[str, ...],
    **details: Any,
) -> MosaicFile:
    """The :class:`MosaicFile` of a file whose tiles are placed: the tiling, the file's geometry, where each
    value came from, and vendor ``details`` (Siemens: slice order and times, the protocol's check)."""
    return MosaicFile(
        file=common.file,
        vendor=vendor,
        numberOfTiles=slices.numberOfImages,
        tilesAcross=slices.tilesAcross,
        tilesDown=slices.tilesDown,
        tileRows=slices.tileRows,
        tileColumns=slices.tileColumns,
        mosaicRows=info.mosaicRows or 0,
        mosaicColumns=info.mosaicColumns or 0,
        position=info.imagePosition,
        orientation=info.orientation,
        pixelSpacing=info.pixelSpacing,
        sources=sources,
        notes=tuple(info.notes),
        **details,
    )


def _tileHeaders(common: SliceHeader, record: MosaicFile, slices: MosaicSlices) -> List[SliceHeader]:
    """One header per tile, in tile order; orientation and pixel spacing are the file's.

    Tile positions computed from out-of-range values (an IPP of 1e300, a huge slice spacing) would leave the
    floating-point range in the geometry: such a mosaic is not placed (every slice's IPP passes the same
    check, :func:`~..geometry.sliceheader.positionProblem`).
    """
    assert record.orientation is not None and record.pixelSpacing is not None  # placed tiles have both
    for position in slices.positions.tolist():
        problem = positionProblem(tuple(float(value) for value in position))
        if problem:
            why = f"{record.vendor}: the tile positions computed from the header are out of range ({problem})"
            return _unplaced(common, dataclasses.replace(record, problem=why))
    headers = []
    for tile, position in enumerate(slices.positions.tolist()):
        x, y, z = (float(value) for value in position)
        headers.append(
            dataclasses.replace(
                common,
                tile=tile,
                mosaic=record,
                position=(x, y, z),
                orientation=record.orientation,
                pixelSpacing=record.pixelSpacing,
                rows=record.tileRows,
                columns=record.tileColumns,
                geometryProblems=[],
            )
        )
    return headers


def _record(common: SliceHeader, vendor: str, info: Union[csa.MosaicInfo, uih.UIHGridInfo], problem: str) -> MosaicFile:
    """The record of a mosaic whose tiles cannot be placed: what is known of it, and why."""
    return MosaicFile(
        file=common.file,
        vendor=vendor,
        mosaicRows=info.mosaicRows or 0,
        mosaicColumns=info.mosaicColumns or 0,
        position=info.imagePosition,
        orientation=info.orientation,
        pixelSpacing=info.pixelSpacing,
        notes=tuple(info.notes),
        problem=problem,
    )


def _unplaced(common: SliceHeader, record: MosaicFile) -> List[SliceHeader]:
    """The one header of a mosaic whose tiles cannot be placed: no geometry, the reason in ``mosaic.problem``."""
    return [dataclasses.replace(common, mosaic=record, geometryProblems=[record.problem])]


def _valueProblem(
    vendor: str, orientation: Optional[Tuple[float, ...]], pixelSpacing: Optional[Tuple[float, float]]
) -> str:
    """The checks every slice's IOP and PixelSpacing pass (``sliceheader``), applied to a mosaic's."""
    if orientation is not None and orientationProblem(orientation):
        return f"{vendor}: ImageOrientationPatient (0020,0037) {orientationProblem(orientation)}"
    if pixelSpacing is not None and spacingProblem(pixelSpacing):
        return f"{vendor}: PixelSpacing (0028,0030) {spacingProblem(pixelSpacing)}"
    return ""
