"""Reading the geometry attributes of DICOM files, headers only.

Pixel data is never read. Each image file gives one :class:`SliceHeader` per
frame (one for a classic single-frame file). Files that cannot be used give a
:class:`~AffineInspectorLib.findings.Finding` of kind ``unreadableFile``.

Two ways to read a header, with the same result:

* :func:`readDatasetWithPydicom`: ``pydicom.dcmread(stop_before_pixels=True)``,
  the reference, used for everything unusual;
* :func:`~AffineInspectorLib.fastreader.readSliceHeaderFast`: the common
  single-frame case straight from the raw bytes (about 10x less work per
  file; see that module), and
  :func:`~AffineInspectorLib.fastframes.readFramesFast`: an enhanced
  multi-frame file's functional groups from raw bytes, its other attributes
  from raw bytes too in the common case (else by pydicom). The test suite
  checks that both give identical results on every file available.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from ..geometry.findings import ERROR, INFO, Finding, Kind
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import (
    SliceHeader,
    checkedFloat,
    checkedInt,
    checkedTriple,
    firstItem,
    firstValue,
    frameCountProblem,
    joinedValues,
    optionalInt,
    setGeometry,
)
from .fastframes import framesFromGroups, readFramesFast
from .fastreader import NO_EXTENT, UNDEFINED_LENGTH, readSliceHeaderFast
from .filechecks import (
    BudgetExceeded,
    TimeBudget,
    UnreadableFileError,
    hasDICMPrefix,
    notDICOM,
    plausibleFirstElement,
    readHead,
)

if TYPE_CHECKING:  # pydicom (and tqdm, which it imports when installed) only once a file needs it
    from pydicom.dataset import Dataset

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- reading


def readSliceHeaders(path: str, *, fast: bool = True) -> List[SliceHeader]:
    """Return the slice headers of one file (one per frame).

    Raises
    ------
    UnreadableFileError
        The file is not DICOM, is damaged or truncated, or holds no image.
    """
    frames = None
    if fast:
        header = readSliceHeaderFast(path)
        if header is not None:
            return [header]
        frames = readFramesFast(path)  # enhanced multi-frame: per-frame groups from raw bytes (image checked)
        if frames is not None and frames.dataset is None:
            return frames.sliceHeaders()  # the header before the groups from raw bytes too: no pydicom
    partialDataset = frames.dataset if frames is not None else None  # the header before the groups, by pydicom
    dataset = partialDataset if partialDataset is not None else readDatasetWithPydicom(path)
    try:
        if frames is None:
            _checkIsImage(dataset, path)
        return slicesFromDataset(dataset, path, perFrame=frames.perFrame if frames is not None else None)
    except UnreadableFileError:
        raise
    except Exception as error:  # pydicom decodes lazily: bad values surface here
        raise UnreadableFileError(
            f"{path}: damaged DICOM header ({type(error).__name__}: {error}); skipped."
        ) from error


def readDatasetWithPydicom(path: str) -> Dataset:
    """Read a header with ``pydicom.dcmread(stop_before_pixels=True)``.

    Only a regular file is opened (:func:`.filechecks.readHead`). A file without the 128-byte preamble and
    ``DICM`` prefix is read, forced, only when it starts with a plausible first element, and accepted only if
    pydicom then finds a SOP Class UID in it (old ACR-NEMA-style files). Values longer than
    :data:`DEFER_BYTES` are not read (pydicom reads them on access): a length field that lies (4 GiB) costs
    nothing.
    """
    import pydicom  # here, not at module level: a series the fast reader reads whole never imports it

    head = readHead(path)
    if not hasDICMPrefix(head) and not plausibleFirstElement(head):
        raise notDICOM(path)
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, defer_size=DEFER_BYTES)
    except pydicom.errors.InvalidDicomError:
        if hasDICMPrefix(head):
            raise UnreadableFileError(
                f"{path}: damaged DICOM file (DICM prefix, unreadable header); skipped."
            ) from None
    except RecursionError:
        raise UnreadableFileError(
            f"{path}: damaged or adversarial DICOM: sequences nested too deeply to read; skipped."
        ) from None
    except Exception as error:
        raise UnreadableFileError(
            f"{path}: unreadable or truncated DICOM ({type(error).__name__}: {error}); skipped."
        ) from error
    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True, defer_size=DEFER_BYTES)
        if "SOPClassUID" in dataset and str(dataset.SOPClassUID).startswith("1.2.840.10008."):
            return dataset
    except Exception:
        pass
    raise notDICOM(path)


DEFER_BYTES = 1 << 20
"""Values longer than this (1 MiB) are left unread until used (``dcmread``'s ``defer_size``)."""


# --------------------------------------------------------------------------- dataset -> slices


def _checkIsImage(dataset: Dataset, path: str) -> None:
    if "Rows" not in dataset or "Columns" not in dataset:
        sopClass = dataset.get("SOPClassUID", "") or getattr(
            getattr(dataset, "file_meta", None), "MediaStorageSOPClassUID", ""
        )
        name = getattr(sopClass, "name", "") or str(sopClass) or "unknown SOP class"
        if "Image Storage" in name or not sopClass:
            raise UnreadableFileError(f"{path}: truncated or damaged: a {name} object without Rows/Columns; skipped.")
        raise UnreadableFileError(f"{path}: DICOM object without an image ({name}); skipped.", INFO)
    for keyword, tag in (("Rows", "0028,0010"), ("Columns", "0028,0011")):
        if not optionalInt(dataset.get(keyword)):
            raise UnreadableFileError(
                f"{path}: {keyword} ({tag}) is {_shownValue(dataset, keyword)}: an image without pixels; skipped."
            )
    _checkPixelData(dataset, path)


def _checkPixelData(dataset: Dataset, path: str) -> None:
    """Report an image whose pixel data is missing or cut (a truncated copy), or too short for its frame count.

    A file cut at or just before PixelData reads like a clean header: without this it was a slice.
    NumberOfFrames is checked against the pixel data's length before any per-frame work, so that a claimed
    2**31 - 1 frames in an 8 KiB file is a finding, not hours of work and gigabytes of memory.
    """
    fileSize = os.path.getsize(path)
    extent = _pixelDataExtentWithPydicom(path)
    if extent is None:
        raise UnreadableFileError(
            f"{path}: truncated or damaged: an image without pixel data (the file ends after {fileSize} bytes "
            f"of header); skipped."
        )
    end = NO_EXTENT if extent.length == UNDEFINED_LENGTH else extent.valueOffset + extent.length
    if end != NO_EXTENT and fileSize < end:
        raise UnreadableFileError(
            f"{path}: truncated: the file is {fileSize} bytes but its pixel data ends at byte {end} "
            f"({end - fileSize} bytes missing); skipped."
        )
    claimed = optionalInt(dataset.get("NumberOfFrames"))
    if claimed is None or claimed <= 1:
        return
    available = fileSize - extent.valueOffset if end == NO_EXTENT else extent.length
    problem = frameCountProblem(
        claimed,
        rows=optionalInt(dataset.get("Rows")) or 0,
        columns=optionalInt(dataset.get("Columns")) or 0,
        samplesPerPixel=optionalInt(dataset.get("SamplesPerPixel")),
        bitsAllocated=optionalInt(dataset.get("BitsAllocated")),
        pixelDataBytes=available,
        encapsulated=end == NO_EXTENT,
    )
    if problem:
        raise UnreadableFileError(f"{path}: {problem}; skipped.")


def _shownValue(dataset: Dataset, keyword: str) -> str:
    try:
        return repr(dataset.get(keyword))
    except Exception:  # noqa: BLE001  a value pydicom cannot decode
        return "undecodable"


@dataclasses.dataclass(frozen=True)
class PixelDataExtent:
    """Where a file's pixel data element (PixelData, FloatPixelData or DoubleFloatPixelData) holds its value."""

    tag: int
    valueOffset: int
    length: int
    """The element's length field: UNDEFINED_LENGTH for encapsulated (compressed) pixel data."""


_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


def _pixelDataExtentWithPydicom(path: str) -> Optional[PixelDataExtent]:
    """The pixel data element's extent, from pydicom's element header (the value is not read); None if none."""
    from pydicom.filereader import read_partial

    found: Dict[str, Any] = {}

    def atPixelData(tag: int, vr: Optional[str], length: int) -> bool:
        if tag in _PIXEL_TAGS:
            found["tag"], found["vr"], found["length"] = int(tag), vr, length
            return True
        return False

    try:
        with open(path, "rb") as stream:
            read_partial(stream, stop_when=atPixelData, defer_size=DEFER_BYTES, force=True)
            elementStart = stream.tell()  # pydicom rewinds to the element's first byte
    except Exception as error:
        message = f"{path}: truncated or damaged ({type(error).__name__}: {error}); skipped."
        raise UnreadableFileError(message) from error
    if not found:
        return None
    headerLength = 8 if found["vr"] is None else 12
    return PixelDataExtent(found["tag"], elementStart + headerLength, int(found["length"]))


def slicesFromDataset(dataset: Dataset, path: str, perFrame: Optional[List[Any]] = None) -> List[SliceHeader]:
    """Return one :class:`SliceHeader` per frame of ``dataset`` (read from ``path``).

    ``perFrame``: the per-frame functional group items when read apart (:mod:`.fastframes`; ``dataset`` then
    ends before PerFrameFunctionalGroupsSequence), else they are ``dataset``'s own.
    """
    from .mosaics import mosaicSlices  # imports pydicom

    problems: List[str] = []  # values present but not used (valueProblems)
    common = SliceHeader(
        file=path,
        seriesInstanceUID=str(dataset.get("SeriesInstanceUID", "") or ""),
        sopInstanceUID=str(dataset.get("SOPInstanceUID", "") or ""),
        sopClassUID=str(dataset.get("SOPClassUID", "") or ""),
        manufacturer=str(dataset.get("Manufacturer", "") or ""),
        seriesDescription=str(dataset.get("SeriesDescription", "") or ""),
        seriesNumber=checkedInt(problems, "SeriesNumber", dataset.get("SeriesNumber")),
        modality=str(dataset.get("Modality", "") or ""),
        instanceNumber=checkedInt(problems, "InstanceNumber", dataset.get("InstanceNumber")),
        rows=optionalInt(dataset.get("Rows")),
        columns=optionalInt(dataset.get("Columns")),
        frameOfReferenceUID=str(dataset.get("FrameOfReferenceUID", "") or ""),
        sliceThickness=checkedFloat(problems, "SliceThickness", dataset.get("SliceThickness")),
        spacingBetweenSlices=checkedFloat(problems, "SpacingBetweenSlices", dataset.get("SpacingBetweenSlices")),
        gantryDetectorTilt=checkedFloat(problems, "GantryDetectorTilt", dataset.get("GantryDetectorTilt")),
        numberOfFrames=checkedInt(problems, "NumberOfFrames", dataset.get("NumberOfFrames")) or 1,
        imageType=joinedValues(dataset.get("ImageType")),
        acquisitionNumber=checkedInt(problems, "AcquisitionNumber", dataset.get("AcquisitionNumber")),
        echoNumber=checkedInt(problems, "EchoNumbers", firstValue(dataset.get("EchoNumbers"))),
        temporalPosition=checkedInt(problems, "TemporalPositionIdentifier", dataset.get("TemporalPositionIdentifier")),
        triggerTime=checkedFloat(problems, "TriggerTime", dataset.get("TriggerTime")),
        echoTime=checkedFloat(problems, "EchoTime", dataset.get("EchoTime")),
        acquisitionTime=str(dataset.get("AcquisitionTime", "") or ""),
        diffusionBValue=checkedFloat(problems, "DiffusionBValue", dataset.get("DiffusionBValue")),
        diffusionGradientOrientation=checkedTriple(
            problems, "DiffusionGradientOrientation", dataset.get("DiffusionGradientOrientation")
        ),
        valueProblems=problems,
    )
    tiles = mosaicSlices(dataset, common)  # Siemens MOSAIC and UIH grid files: one header per tile
    if tiles is not None:
        return tiles
    if perFrame is None and common.numberOfFrames == 1 and "PerFrameFunctionalGroupsSequence" not in dataset:
        setGeometry(common, dataset, dataset, dataset)
        return [common]
    if perFrame is None:
        perFrame = list(dataset.get("PerFrameFunctionalGroupsSequence") or [])
    shared = firstItem(dataset.get("SharedFunctionalGroupsSequence"))
    # Enhanced multi-frame files: per-frame groups first, then shared groups (one function for both paths).
    # Classic multi-frame files without functional groups (one IPP for all frames) give frames whose position is
    # missing, reported by the checks.
    return framesFromGroups(common, shared, perFrame, classicSource=dataset)


def readAll(
    files: Iterable[str], *, fast: bool = True, progressCallback: Optional[ProgressCallback] = None
) -> Tuple[List[SliceHeader], List[Finding]]:
    """Read every file; return ``(slices, findings)``.

    ``progressCallback(label, fraction) -> cancelled`` is called every 64
    files; returning ``True`` stops reading (the result holds what was read).
    """
    files = list(files)
    slices: List[SliceHeader] = []
    findings: List[Finding] = []
    with TimeBudget() as budget:
        for index, path in enumerate(files):
            if progressCallback is not None and index % 64 == 0:
                if progressCallback(f"Reading DICOM headers ({index}/{len(files)})", index / max(1, len(files))):
                    break
            budget.start()
            try:
                slices.extend(readSliceHeaders(path, fast=fast))
            except BudgetExceeded:
                error = budget.exceeded(path)
                findings.append(Finding(Kind.unreadableFile, error.severity, str(error), file=path))
            except UnreadableFileError as error:
                findings.append(Finding(Kind.unreadableFile, error.severity, str(error), file=path))
            except Exception as error:  # noqa: BLE001  a bug met on one file: that file is reported, the rest is read
                _log.warning("internal error reading %s", path, exc_info=True)  # the traceback, for --debug
                findings.append(internalErrorFinding(path, error))
            finally:
                budget.stop()
    return slices, findings


def internalErrorFinding(path: str, error: BaseException) -> Finding:
    """An ``internalError`` finding: reading or checking ``path`` raised what no damaged file should cause.

    The file is left out and the others are read; the command line prints its output, then exits with
    status 70 saying so (a bug, not a property of the data).
    """
    where = _innermostProjectFrame(error)
    return Finding(
        Kind.internalError,
        ERROR,
        f"{path}: internal error while reading this file ({type(error).__name__}: {_firstLine(error)}"
        f"{f' at {where}' if where else ''}); skipped. This is a bug: please report it.",
        file=path,
    )


def _innermostProjectFrame(error: BaseException) -> str:
    """``module.py:line`` of the innermost frame of this library in the traceback, or ``""``."""
    traceback = error.__traceback__
    where = ""
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if "AffineInspectorLib" in filename:
            where = f"{os.path.basename(filename)}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def _firstLine(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else "no message"
