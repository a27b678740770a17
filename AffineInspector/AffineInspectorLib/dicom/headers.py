"""Reading the geometry attributes of DICOM files, headers only.

Pixel data is never read. Each image file gives one :class:`SliceHeader` per
frame (one for a classic single-frame file). Files that cannot be used give a
:class:`~AffineInspectorLib.findings.Finding` of kind ``unreadableFile``.

Two ways to read a header, with the same result:

* :func:`readDatasetWithPydicom`: ``pydicom.dcmread(stop_before_pixels=True)``,
  the reference, used for everything unusual;
* :func:`~AffineInspectorLib.fastreader.readSliceHeaderFast`: the common
  single-frame case straight from the raw bytes (about 10x less work per
  file; see that module). The test suite checks that both give identical
  results on every file available.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..geometry.findings import INFO, WARNING, Finding, Kind, Severity
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import (
    SliceHeader,
    firstItem,
    firstValue,
    joinedValues,
    optionalFloat,
    optionalInt,
    optionalTriple,
    setGeometry,
)
from .fastframes import framesFromGroups, readFramesFast
from .fastreader import NO_EXTENT, UNDEFINED_LENGTH, readSliceHeaderFast

if TYPE_CHECKING:  # pydicom (and tqdm, which it imports when installed) only once a file needs it
    from pydicom.dataset import Dataset


class UnreadableFileError(Exception):
    """A file that gives no slice; ``severity`` is ``warning`` or ``info``."""

    def __init__(self, message: str, severity: Severity = WARNING) -> None:
        super().__init__(message)
        self.severity = severity


# --------------------------------------------------------------------------- discovery


def findFiles(paths: Sequence[str]) -> Tuple[List[str], List[Finding]]:
    """Expand files and folders (recursively, sorted, hidden entries skipped) into file paths.

    Paths are kept as given (joined with the folder as given). A path that
    does not exist gives an ``unreadableFile`` finding.
    """
    files: List[str] = []
    findings: List[Finding] = []
    for path in paths:
        if os.path.isdir(path):
            for root, directories, names in os.walk(path):
                directories[:] = sorted(d for d in directories if not d.startswith("."))
                files.extend(os.path.join(root, name) for name in sorted(names) if not name.startswith("."))
        elif os.path.isfile(path):
            files.append(path)
        else:
            findings.append(
                Finding(Kind.unreadableFile, WARNING, f"{path}: no such file or folder; skipped.", file=path)
            )
    return files, findings


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
    dataset = frames.dataset if frames is not None else readDatasetWithPydicom(path)
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

    A file without the 128-byte preamble and ``DICM`` prefix is accepted only
    if pydicom, forced, finds a SOP Class UID in it (old ACR-NEMA-style files).
    """
    import pydicom  # here, not at module level: a series the fast reader reads whole never imports it

    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except pydicom.errors.InvalidDicomError:
        if _hasDICMPrefix(path):
            raise UnreadableFileError(
                f"{path}: damaged DICOM file (DICM prefix, unreadable header); skipped."
            ) from None
    except Exception as error:
        raise UnreadableFileError(
            f"{path}: unreadable or truncated DICOM ({type(error).__name__}: {error}); skipped."
        ) from error
    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        if "SOPClassUID" in dataset and str(dataset.SOPClassUID).startswith("1.2.840.10008."):
            return dataset
    except Exception:
        pass
    raise UnreadableFileError(f"{path}: not a DICOM file (no DICM prefix and no DICOM header); skipped.", INFO)


def _hasDICMPrefix(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(132)[128:132] == b"DICM"
    except OSError:
        return False


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
    _checkPixelDataLength(dataset, path)


def _checkPixelDataLength(dataset: Dataset, path: str) -> None:
    """Report a file that ends before the end of its (defined-length) pixel data: a truncated copy."""
    fileSize = os.path.getsize(path)
    extent = _pixelDataEndWithPydicom(path)
    if extent is not None and fileSize < extent:
        raise UnreadableFileError(
            f"{path}: truncated: the file is {fileSize} bytes but its pixel data ends at byte {extent} "
            f"({extent - fileSize} bytes missing); skipped."
        )


def _pixelDataEndWithPydicom(path: str) -> Optional[int]:
    """Byte offset where PixelData's value ends, from pydicom's element header (the value is not read)."""
    from pydicom.filereader import read_partial

    found: Dict[str, Any] = {}

    def atPixelData(tag: int, vr: Optional[str], length: int) -> bool:
        if tag == 0x7FE00010:
            found["vr"], found["length"] = vr, length
            return True
        return False

    try:
        with open(path, "rb") as stream:
            read_partial(stream, stop_when=atPixelData, force=True)
            elementStart = stream.tell()  # pydicom rewinds to the element's first byte
    except Exception as error:
        message = f"{path}: truncated or damaged ({type(error).__name__}: {error}); skipped."
        raise UnreadableFileError(message) from error
    if not found:
        return None
    if found["length"] == UNDEFINED_LENGTH:
        return NO_EXTENT
    headerLength = 8 if found["vr"] is None else 12
    return elementStart + headerLength + int(found["length"])


def slicesFromDataset(dataset: Dataset, path: str, perFrame: Optional[List[Any]] = None) -> List[SliceHeader]:
    """Return one :class:`SliceHeader` per frame of ``dataset`` (read from ``path``).

    ``perFrame``: the per-frame functional group items when read apart (:mod:`.fastframes`; ``dataset`` then
    ends before PerFrameFunctionalGroupsSequence), else they are ``dataset``'s own.
    """
    from .mosaics import mosaicSlices  # imports pydicom

    common = SliceHeader(
        file=path,
        seriesInstanceUID=str(dataset.get("SeriesInstanceUID", "") or ""),
        sopInstanceUID=str(dataset.get("SOPInstanceUID", "") or ""),
        sopClassUID=str(dataset.get("SOPClassUID", "") or ""),
        manufacturer=str(dataset.get("Manufacturer", "") or ""),
        seriesDescription=str(dataset.get("SeriesDescription", "") or ""),
        seriesNumber=optionalInt(dataset.get("SeriesNumber")),
        modality=str(dataset.get("Modality", "") or ""),
        instanceNumber=optionalInt(dataset.get("InstanceNumber")),
        rows=optionalInt(dataset.get("Rows")),
        columns=optionalInt(dataset.get("Columns")),
        frameOfReferenceUID=str(dataset.get("FrameOfReferenceUID", "") or ""),
        sliceThickness=optionalFloat(dataset.get("SliceThickness")),
        spacingBetweenSlices=optionalFloat(dataset.get("SpacingBetweenSlices")),
        gantryDetectorTilt=optionalFloat(dataset.get("GantryDetectorTilt")),
        numberOfFrames=max(1, optionalInt(dataset.get("NumberOfFrames")) or 1),
        imageType=joinedValues(dataset.get("ImageType")),
        acquisitionNumber=optionalInt(dataset.get("AcquisitionNumber")),
        echoNumber=optionalInt(firstValue(dataset.get("EchoNumbers"))),
        temporalPosition=optionalInt(dataset.get("TemporalPositionIdentifier")),
        triggerTime=optionalFloat(dataset.get("TriggerTime")),
        echoTime=optionalFloat(dataset.get("EchoTime")),
        acquisitionTime=str(dataset.get("AcquisitionTime", "") or ""),
        diffusionBValue=optionalFloat(dataset.get("DiffusionBValue")),
        diffusionGradientOrientation=optionalTriple(dataset.get("DiffusionGradientOrientation")),
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
    for index, path in enumerate(files):
        if progressCallback is not None and index % 64 == 0:
            if progressCallback(f"Reading DICOM headers ({index}/{len(files)})", index / max(1, len(files))):
                break
        try:
            slices.extend(readSliceHeaders(path, fast=fast))
        except UnreadableFileError as error:
            findings.append(Finding(Kind.unreadableFile, error.severity, str(error), file=path))
    return slices, findings
