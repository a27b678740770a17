"""Siemens CSA headers, and what a MOSAIC image needs from a pydicom Dataset to be de-mosaicked.

Two layers:

* :func:`readCSA` parses the bytes of a CSA header, (0029,xx10) "CSA Image
  Header Info" or (0029,xx20) "CSA Series Header Info", in both the SV10
  ("CSA2") and the older unprefixed ("CSA1") layout; :func:`parseASCCONV`
  reads the ``### ASCCONV BEGIN`` protocol block of the series header.
* :func:`mosaicInfo` gathers, from one Dataset, the numbers the de-mosaic
  geometry needs (:mod:`..geometry.mosaic`), choosing among redundant
  sources in dcm2niix's order and recording which source gave each value.

The layout of a CSA header (all little-endian), from nibabel's
``doc/source/dicom/siemens_csa.rst`` (after SPM's ``spm_dicom_headers.m``):
``"SV10"`` + 4 bytes (CSA2 only), ``uint32`` tag count, ``uint32`` (77);
per tag: 64-byte name, ``int32`` VM, 4-byte VR, ``int32`` SyngoDT,
``int32`` item count, ``int32`` (77 or 205); per item four ``int32`` then the
value, padded to 4 bytes. The value length is the second ``int32`` in CSA2
and, in CSA1, the first ``int32`` minus the item count of the header's first
tag (SPM's rule, as nibabel's document states it; nibabel's code takes the
count from the second tag instead and cannot read a CSA1 header whose first
tag has items). No CSA1 file was available: that branch is tested only on
bytes written to the documented layout.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from typing import Any, Dict, List, Optional, Tuple, TypeVar, Union

import numpy as np
from pydicom.dataset import Dataset

from ..geometry import mosaic as mosaicGeometry
from ..geometry.sliceheader import checkedFloat

CSAValue = Union[str, int, float]

_TAG = struct.Struct("<64si4s3i")
_ITEM = struct.Struct("<4i")
_MAX_TAGS = 128  # dcm2niix readCSAImageHeader and SPM stop above this ("n_tags CSA Image Header corrupted")
_MAX_ITEMS = 1000
_INTEGER_VRS = {"IS", "SL", "SS", "UL", "US"}
_FLOAT_VRS = {"DS", "FD", "FL"}

SIEMENS_CSA_CREATOR = "SIEMENS CSA HEADER"
SIEMENS_MR_CREATOR = "SIEMENS MR HEADER"


class CSAError(ValueError):
    """Bytes that are not a readable CSA header."""


@dataclasses.dataclass(frozen=True)
class CSAElement:
    """One CSA tag: its VR and VM as stored and its values, converted by VR (DS/FD/FL to float, IS/SL/SS/UL/US to int).

    ``values`` stops at the VM when the VM is non-zero; numeric values stop
    at the first empty item (Siemens pads lists with empty items).
    """

    name: str
    vr: str
    vm: int
    syngoDataType: int
    values: Tuple[CSAValue, ...]

    @property
    def value(self) -> Optional[CSAValue]:
        """The first value, or ``None`` when there is none."""
        return self.values[0] if self.values else None


CSAHeader = Dict[str, CSAElement]
"""A parsed CSA header: tag name -> element, in stored order."""


def readCSA(data: bytes) -> CSAHeader:
    """Parse a CSA header (SV10 or the older layout) into ``{tag name: CSAElement}``, in stored order.

    Raises :class:`CSAError` (a ``ValueError``) naming what is wrong when the
    bytes are not a CSA header.

    >>> readCSA(b"")
    Traceback (most recent call last):
    ...
    AffineInspectorLib.dicom.csa.CSAError: CSA header of 0 bytes is too short
    """
    data = bytes(data)
    isSV10 = data[:4] == b"SV10"
    position = 8 if isSV10 else 0
    if len(data) < position + 8:
        raise CSAError(f"CSA header of {len(data)} bytes is too short")
    tagCount = struct.unpack_from("<I", data, position)[0]
    position += 8
    if not 0 < tagCount <= _MAX_TAGS:
        raise CSAError(f"CSA header claims {tagCount} tags (expected 1 to {_MAX_TAGS})")
    elements: Dict[str, CSAElement] = {}
    firstTagItems: Optional[int] = None
    for _ in range(tagCount):
        if position + _TAG.size > len(data):
            raise CSAError(f"CSA header ends inside tag {len(elements) + 1} of {tagCount}")
        rawName, vm, rawVR, syngoDataType, itemCount, _ = _TAG.unpack_from(data, position)
        position += _TAG.size
        name, vr = _cString(rawName), _cString(rawVR)
        if not 0 <= itemCount <= _MAX_ITEMS:
            raise CSAError(f"CSA tag {name!r} claims {itemCount} items")
        if firstTagItems is None:
            firstTagItems = itemCount
        items, position = _readItems(data, position, itemCount, isSV10, firstTagItems, name)
        elements[name] = CSAElement(name, vr, vm, syngoDataType, _convert(items, vr, vm))
    return elements


def _readItems(
    data: bytes, position: int, count: int, isSV10: bool, firstTagItems: int, name: str
) -> Tuple[List[bytes], int]:
    items: List[bytes] = []
    for _ in range(count):
        if position + _ITEM.size > len(data):
            raise CSAError(f"CSA header ends inside an item of tag {name!r}")
        fields = _ITEM.unpack_from(data, position)
        position += _ITEM.size
        length = fields[1] if isSV10 else fields[0] - firstTagItems
        if length < 0 or position + length > len(data):
            if isSV10:
                raise CSAError(f"CSA item of tag {name!r} runs past the end of the header ({length} bytes)")
            break  # CSA1: SPM stops reading this tag's items here
        items.append(data[position : position + length])
        position += (length + 3) // 4 * 4
    return items, position


def _cString(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


def _convert(items: List[bytes], vr: str, vm: int) -> Tuple[CSAValue, ...]:
    strings = [_cString(item) for item in items]
    if vm > 0:
        strings = strings[:vm]
    if vr not in _INTEGER_VRS and vr not in _FLOAT_VRS:
        return tuple(strings)
    values: List[CSAValue] = []
    for text in strings:
        if not text.strip():
            break
        values.append(_number(text, vr in _INTEGER_VRS))
    return tuple(values)


def _number(text: str, integer: bool) -> CSAValue:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise CSAError(f"CSA value {text!r} is not a number") from None
        return int(number) if integer else number


# --------------------------------------------------------------------------- ASCCONV


_ASCCONV = re.compile(r"### ASCCONV BEGIN[^\n]*\n(.*?)### ASCCONV END", re.S)


def parseASCCONV(text: str) -> Dict[str, CSAValue]:
    """The ``key = value`` lines of the first ``### ASCCONV BEGIN`` ... ``### ASCCONV END`` block.

    Keys are kept as written (``sSliceArray.asSlice[0].sPosition.dTra``);
    hexadecimal values (``0x2``) and decimal numbers become numbers, quoted
    strings lose their quotes. The console omits assignments whose value is
    zero, so a missing key means 0 for the numeric fields read here. An empty
    dict when there is no block.

    >>> parseASCCONV('### ASCCONV BEGIN ###\\nsSliceArray.ucMode = 0x4\\nx = ""a""\\n### ASCCONV END ###')
    {'sSliceArray.ucMode': 4, 'x': 'a'}
    """
    match = _ASCCONV.search(text or "")
    if match is None:
        return {}
    result: Dict[str, CSAValue] = {}
    for line in match.group(1).splitlines():
        key, separator, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not key or key.startswith("#"):
            continue
        result[key] = _asconvValue(value)
    return result


def _asconvValue(value: str) -> CSAValue:
    if value.startswith('"'):
        return value.strip('"')
    value = value.split("#", 1)[0].strip()
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


# --------------------------------------------------------------------------- reading a Dataset


def privateValue(dataset: Dataset, group: int, creator: str, element: int) -> Any:
    """The value of private element ``(group, xxEE)`` in the block reserved by ``creator``, or ``None``."""
    try:
        return dataset.private_block(group, creator)[element].value
    except (KeyError, ValueError):
        return None


def csaHeaders(dataset: Dataset) -> Tuple[Optional[Dict[str, CSAElement]], Optional[Dict[str, CSAElement]], List[str]]:
    """``(image header, series header, problems)`` from (0029,xx10) and (0029,xx20) of the "SIEMENS CSA HEADER" block.

    A header that is absent is ``None``; one that is present but unreadable
    is ``None`` with its problem, in words, in ``problems``.
    """
    headers: List[Optional[Dict[str, CSAElement]]] = []
    problems: List[str] = []
    for element, label in ((0x10, "CSA Image Header Info (0029,1010)"), (0x20, "CSA Series Header Info (0029,1020)")):
        raw = privateValue(dataset, 0x0029, SIEMENS_CSA_CREATOR, element)
        if not raw:
            headers.append(None)
            continue
        try:
            headers.append(readCSA(raw))
        except CSAError as error:
            headers.append(None)
            problems.append(f"{label} is unreadable: {error}")
    return headers[0], headers[1], problems


def isMosaic(dataset: Dataset) -> bool:
    """True when ImageType (0008,0008) contains ``MOSAIC`` (dcm2niix ``readDICOMx``: ``isMosaic``)."""
    imageType = dataset.get("ImageType")
    values = [imageType] if isinstance(imageType, str) else list(imageType or [])
    return any("MOSAIC" in str(value).upper() for value in values)


@dataclasses.dataclass
class MosaicInfo:
    """What one Siemens MOSAIC file says about its tiles, and where each number came from.

    Frame LPS, mm. ``imagePosition`` is the IPP as stored (the whole
    mosaic's, not the first tile's); ``orientation`` IOP; ``pixelSpacing``
    (between rows, between columns). ``sliceTimesMs`` is one time per tile, in
    tile order. ``protocolSliceCentres`` are the ``sSliceArray.asSlice[]``
    centres of the series header's ASCCONV block (Siemens patient coordinate
    system; equal to LPS for the shared HFS series, not checked for other
    patient positions). ``reason`` is empty when the geometry can be
    computed, else one sentence naming the vendor and the missing or
    inconsistent attribute; ``notes`` are non-fatal observations (guesses,
    sources that disagree).
    """

    file: str
    mosaicRows: Optional[int] = None
    mosaicColumns: Optional[int] = None
    numberOfImages: Optional[int] = None
    numberOfImagesSource: str = ""
    tilesAcross: Optional[int] = None
    tileRows: Optional[int] = None
    tileColumns: Optional[int] = None
    imagePosition: Optional[Tuple[float, float, float]] = None
    orientation: Optional[Tuple[float, ...]] = None
    pixelSpacing: Optional[Tuple[float, float]] = None
    sliceSpacing: Optional[float] = None
    sliceSpacingSource: str = ""
    sliceNormalVector: Optional[Tuple[float, float, float]] = None
    sliceNormalSource: str = ""
    sliceTimesMs: Optional[Tuple[float, ...]] = None
    sliceTimesSource: str = ""
    protocolSliceNumber: Optional[int] = None
    acquisitionMatrix: Optional[Tuple[int, ...]] = None
    acquisitionMatrixText: str = ""
    protocolSliceCentres: Optional[Tuple[Tuple[float, float, float], ...]] = None
    protocolSliceMode: str = ""
    protocolImageNumbering: Dict[str, int] = dataclasses.field(default_factory=dict)
    reason: str = ""
    notes: List[str] = dataclasses.field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.reason

    def slices(self) -> mosaicGeometry.MosaicSlices:
        """Each tile's IPP (LPS) and Slicer k (``geometry.mosaic.mosaicSlicePositions``); ``ValueError`` if unusable."""
        if self.reason:
            raise ValueError(self.reason)
        return mosaicGeometry.mosaicSlicePositions(
            _present(self.imagePosition),
            _present(self.orientation),
            _present(self.pixelSpacing),
            _present(self.mosaicRows),
            _present(self.mosaicColumns),
            _present(self.numberOfImages),
            self.sliceNormalVector,
            _present(self.sliceSpacing),
        )

    def sliceOrder(self) -> mosaicGeometry.SliceOrderCode:
        """The NIfTI slice_code dcm2niix writes: from ``sliceTimesMs``; UNKNOWN when ProtocolSliceNumber > 1.

        (dcm2niix ``readCSAImageHeader`` drops the slice order when ProtocolSliceNumber > 1.)
        """
        if not self.sliceTimesMs or (self.protocolSliceNumber or 0) > 1:
            return mosaicGeometry.SliceOrderCode.UNKNOWN
        return mosaicGeometry.sliceOrderCode(self.sliceTimesMs)

    def protocolCheck(self) -> Optional[Tuple[str, float]]:
        """Tile IPPs against the protocol slice centres: ``("same" or "reversed", largest distance in mm)`` or None."""
        if self.reason or not self.protocolSliceCentres or len(self.protocolSliceCentres) != self.numberOfImages:
            return None
        fromProtocol = mosaicGeometry.protocolTilePositions(
            self.protocolSliceCentres,
            _present(self.orientation),
            _present(self.pixelSpacing),
            _present(self.tileRows),
            _present(self.tileColumns),
        )
        return mosaicGeometry.compareTilePositions(self.slices().positions, fromProtocol)


def mosaicInfo(dataset: Dataset, file: str = "") -> Optional[MosaicInfo]:
    """Read what the de-mosaic geometry needs from a Siemens MOSAIC Dataset; ``None`` when it is not a mosaic.

    Sources, in dcm2niix's order of precedence (``nii_dicom.cpp:readDICOMx``):

    * number of tiles: CSA ``NumberOfImagesInMosaic``; else the count of
      (0019,1029) MosaicRefAcqTimes; else (0019,100A) NumberOfImagesInMosaic;
      else dcm2niix's guess from AcquisitionMatrix (issue 337: whole mosaic
      divided by the acquired matrix, refused when AcquisitionMatrixText says
      interpolated), which counts blank tiles as slices;
    * slice direction: CSA ``SliceNormalVector``, else (0, 0, 1);
    * slice times: CSA ``MosaicRefAcqTimes``, else (0019,1029);
    * slice spacing: SpacingBetweenSlices if positive, else SliceThickness, else 1 mm.

    Frame LPS; tile order as stored. The result's ``reason`` says, in one
    sentence naming the vendor and attribute, why the tiles cannot be placed.
    """
    if not isMosaic(dataset):
        return None
    info = MosaicInfo(file=file)
    info.mosaicRows, info.mosaicColumns = _int(dataset.get("Rows")), _int(dataset.get("Columns"))
    image, series, problems = csaHeaders(dataset)
    info.notes.extend(problems)
    _readAcquisitionMatrix(dataset, image, info)
    _readNumberOfImages(dataset, image, info)
    _readSliceNormal(image, info)
    _readSliceTimes(dataset, image, info)
    _readSliceSpacing(dataset, info)
    _readProtocol(series, info)
    if image is not None and "ProtocolSliceNumber" in image:
        info.protocolSliceNumber = _int(image["ProtocolSliceNumber"].value)
    info.reason = _geometryReason(dataset, info)
    if not info.reason:
        _crossCheck(info)
    return info


def _readAcquisitionMatrix(dataset: Dataset, image: Optional[CSAHeader], info: MosaicInfo) -> None:
    matrix = dataset.get("AcquisitionMatrix")
    if matrix is not None:
        info.acquisitionMatrix = tuple(int(value) for value in matrix)
    text = privateValue(dataset, 0x0051, SIEMENS_MR_CREATOR, 0x0B)
    if not text and image is not None and "AcquisitionMatrixText" in image:
        text = image["AcquisitionMatrixText"].value
    info.acquisitionMatrixText = str(text or "").strip()


def _readNumberOfImages(dataset: Dataset, image: Optional[CSAHeader], info: MosaicInfo) -> None:
    candidates = []
    if image is not None and image.get("NumberOfImagesInMosaic") and image["NumberOfImagesInMosaic"].values:
        candidates.append((_int(image["NumberOfImagesInMosaic"].value), "CSA NumberOfImagesInMosaic (0029,1010)"))
    times = _floats(privateValue(dataset, 0x0019, SIEMENS_MR_CREATOR, 0x29), "d")
    if times:
        candidates.append((len(times), "count of MosaicRefAcqTimes (0019,1029)"))
    header = _floats(privateValue(dataset, 0x0019, SIEMENS_MR_CREATOR, 0x0A), "H")
    if header:
        candidates.append((int(header[0]), "NumberOfImagesInMosaic (0019,100A)"))
    guess = _acquisitionMatrixGuess(info)
    if guess:
        candidates.append((guess, "guess from AcquisitionMatrix (0018,1310), dcm2niix issue 337"))
    candidates = [(count, source) for count, source in candidates if count and count > 0]
    if not candidates:
        return
    info.numberOfImages, info.numberOfImagesSource = candidates[0]
    if info.numberOfImagesSource.startswith("guess"):
        info.notes.append(f"number of images guessed: up to {guess} (blank tiles would be taken as slices)")
    disagreeing = [f"{source} = {count}" for count, source in candidates[1:] if count != info.numberOfImages]
    disagreeing = [text for text in disagreeing if not text.startswith("guess")]
    if disagreeing:
        info.notes.append(f"{info.numberOfImagesSource} = {info.numberOfImages} (used) but " + ", ".join(disagreeing))


def _acquisitionMatrixGuess(info: MosaicInfo) -> Optional[int]:
    """dcm2niix ``readDICOMx`` (issue 337): (Columns / frequency rows) * (Rows / phase lines), each ratio > 2."""
    matrix, rows, columns = info.acquisitionMatrix, info.mosaicRows, info.mosaicColumns
    if not matrix or len(matrix) != 4 or not rows or not columns or "I" in info.acquisitionMatrixText:
        return None
    frequency = matrix[0] or matrix[1]
    phase = matrix[2] or matrix[3]
    if frequency <= 0 or phase <= 0 or columns % frequency or rows % phase:
        return None
    if columns // frequency <= 2 or rows // phase <= 2:
        return None
    return (columns // frequency) * (rows // phase)


def _readSliceNormal(image: Optional[CSAHeader], info: MosaicInfo) -> None:
    element = image.get("SliceNormalVector") if image is not None else None
    if element is not None and len(element.values) >= 3:
        x, y, z = (float(value) for value in element.values[:3])
        info.sliceNormalVector = (x, y, z)
        info.sliceNormalSource = "CSA SliceNormalVector (0029,1010)"
    else:
        info.sliceNormalSource = "none: dcm2niix assumes (0, 0, 1), Siemens' default F>>H numbering"
        info.notes.append("no CSA SliceNormalVector: slice direction assumed as dcm2niix does (0, 0, 1)")


def _readSliceTimes(dataset: Dataset, image: Optional[CSAHeader], info: MosaicInfo) -> None:
    element = image.get("MosaicRefAcqTimes") if image is not None else None
    if element is not None and len(element.values) > 3:  # dcm2niix reads it only with more than 3 items
        info.sliceTimesMs = tuple(float(value) for value in element.values)
        info.sliceTimesSource = "CSA MosaicRefAcqTimes (0029,1010)"
        return
    times = _floats(privateValue(dataset, 0x0019, SIEMENS_MR_CREATOR, 0x29), "d")
    if times:
        info.sliceTimesMs = tuple(times)
        info.sliceTimesSource = "MosaicRefAcqTimes (0019,1029)"


def _readSliceSpacing(dataset: Dataset, info: MosaicInfo) -> None:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = checkedFloat([], keyword, _float(dataset.get(keyword)))  # out of range (1e300): not used
        if value is not None and value > 0:
            info.sliceSpacing, info.sliceSpacingSource = value, keyword
            return
    info.sliceSpacing, info.sliceSpacingSource = 1.0, "none: 1 mm, as dcm2niix"
    info.notes.append("neither SpacingBetweenSlices nor SliceThickness: 1 mm between tiles, as dcm2niix assumes")


_UC_MODES = {1: "ascending", 2: "descending", 4: "interleaved"}


def _readProtocol(series: Optional[CSAHeader], info: MosaicInfo) -> None:
    if series is None:
        return
    protocol: Dict[str, CSAValue] = {}
    for name in ("MrPhoenixProtocol", "MrProtocol"):
        element = series.get(name)
        if element is not None and element.values:
            protocol = parseASCCONV(str(element.values[0]))
            if protocol:
                break
    size = _int(protocol.get("sSliceArray.lSize"))
    if size and size > 0:
        info.protocolSliceCentres = tuple(_protocolSliceCentre(protocol, index) for index in range(size))
    mode = _int(protocol.get("sSliceArray.ucMode"))
    info.protocolSliceMode = "" if mode is None else _UC_MODES.get(mode, f"unknown ({mode})")
    info.protocolImageNumbering = {
        axis: int(protocol[f"sSliceArray.ucImageNumb{axis}"])
        for axis in _PCS_AXES
        if f"sSliceArray.ucImageNumb{axis}" in protocol
    }


_PCS_AXES = ("Sag", "Cor", "Tra")  # Siemens patient coordinate system x, y, z


def _protocolSliceCentre(protocol: Dict[str, CSAValue], index: int) -> Tuple[float, float, float]:
    """``sSliceArray.asSlice[index].sPosition`` (Sag, Cor, Tra); the console omits zero values."""
    x, y, z = (float(protocol.get(f"sSliceArray.asSlice[{index}].sPosition.d{axis}", 0.0)) for axis in _PCS_AXES)
    return x, y, z


_GEOMETRY_ATTRIBUTES = (
    ("ImagePositionPatient", "imagePosition", 3),
    ("ImageOrientationPatient", "orientation", 6),
    ("PixelSpacing", "pixelSpacing", 2),
)


def _geometryReason(dataset: Dataset, info: MosaicInfo) -> str:
    """One sentence why the tiles cannot be placed, or ""; fills the grid and the geometry attributes."""
    prefix = f"Siemens MOSAIC ({_vendor(dataset)})"
    if not info.mosaicRows or not info.mosaicColumns:
        return f"{prefix}: Rows (0028,0010) or Columns (0028,0011) is missing"
    if not info.numberOfImages:
        return (
            f"{prefix}: the number of tiles is not given: no CSA NumberOfImagesInMosaic (0029,1010), "
            "no MosaicRefAcqTimes (0019,1029), no NumberOfImagesInMosaic (0019,100A) and no usable AcquisitionMatrix"
        )
    try:
        info.tilesAcross, info.tileRows, info.tileColumns = mosaicGeometry.mosaicTileGrid(
            info.mosaicRows, info.mosaicColumns, info.numberOfImages
        )
    except ValueError as error:
        return f"{prefix}: {error} ({info.numberOfImagesSource})"
    for keyword, attribute, count in _GEOMETRY_ATTRIBUTES:
        values = _floats(dataset.get(keyword), None)
        if not values or len(values) != count:
            return f"{prefix}: {keyword} is missing or does not have {count} values"
        setattr(info, attribute, tuple(values))
    try:
        mosaicGeometry.sliceDirection(_present(info.orientation), info.sliceNormalVector)
    except ValueError as error:
        return f"{prefix}: {error}"
    return ""


def _crossCheck(info: MosaicInfo) -> None:
    if info.sliceTimesMs and len(info.sliceTimesMs) != info.numberOfImages:
        info.notes.append(
            f"{len(info.sliceTimesMs)} slice times ({info.sliceTimesSource}) for {info.numberOfImages} tiles"
        )
    if info.protocolSliceCentres and len(info.protocolSliceCentres) != info.numberOfImages:
        info.notes.append(
            f"protocol sSliceArray.lSize = {len(info.protocolSliceCentres)} for {info.numberOfImages} tiles"
        )
    matrix = info.acquisitionMatrix
    if matrix and len(matrix) == 4 and all(value >= 0 for value in matrix):
        acquired = sorted([matrix[0] or matrix[1], matrix[2] or matrix[3]])
        if acquired != sorted([info.tileRows or 0, info.tileColumns or 0]) and "I" not in info.acquisitionMatrixText:
            info.notes.append(
                f"tiles are {info.tileColumns}x{info.tileRows} but AcquisitionMatrix (0018,1310) is "
                f"{list(matrix)} (oversampling, partial FOV or a wrong number of images?)"
            )


_Value = TypeVar("_Value")


def _present(value: Optional[_Value]) -> _Value:
    """A MosaicInfo field that :func:`_geometryReason` has filled (it leaves ``reason`` empty only then)."""
    assert value is not None, "MosaicInfo field read before mosaicInfo filled it"
    return value


def _vendor(dataset: Dataset) -> str:
    return str(dataset.get("Manufacturer", "") or "no Manufacturer").strip()


def _int(value: Any) -> Optional[int]:
    try:
        return None if value is None or value == "" else int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> Optional[float]:
    try:
        number = None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None
    return number if number is not None and np.isfinite(number) else None


def _floats(value: Any, binaryFormat: Optional[str]) -> Optional[List[float]]:
    """Numbers from a pydicom value: a number, a list, or raw little-endian bytes (VR UN) of ``binaryFormat``."""
    if value is None or (hasattr(value, "__len__") and len(value) == 0):
        return None
    if isinstance(value, (bytes, bytearray)):
        if binaryFormat is None:
            return None
        size = struct.calcsize("<" + binaryFormat)
        if len(value) % size:
            return None
        return [float(number) for number in struct.unpack(f"<{len(value) // size}{binaryFormat}", value)]
    values = [value] if isinstance(value, str) or not hasattr(value, "__iter__") else value
    numbers = [_float(item) for item in values]
    return None if any(number is None for number in numbers) else [number for number in numbers if number is not None]
