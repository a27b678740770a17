"""A port of what Slicer's scalar-volume DICOM plugin offers to load, and which of it Slicer selects.

Source of the rules: 3D Slicer, ``Modules/Scripted/DICOMPlugins/DICOMScalarVolumePlugin.py``
(``DICOMScalarVolumePluginClass.examineForImport``, ``examineFiles``, ``seriesSorter``),
``Modules/Scripted/DICOMLib/DICOMPlugin.py`` (``defaultSeriesNodeName``, the
``DICOMLoadable`` defaults) and ``Modules/Scripted/DICOMLib/DICOMUtils.py``
(``getSortedImageFiles``, ``selectHighestConfidenceLoadables``). The
standalone host loads exactly the loadables Slicer selects, so that what is
inspected outside Slicer is what a Slicer user gets; inside Slicer the module
does not need this (Slicer has loaded the volume already).
``Testing/test_slicer_parity.py`` runs Slicer's own plugin code on every
shared series and on synthetic edge cases and compares.

The rules, in short. All files of a series form one loadable. A tag among
SeriesInstanceUID, AcquisitionNumber, ImageType, ImageOrientationPatient
(compared as vectors, absolute tolerance 1e-6) and
DiffusionGradientOrientation (and ContentTime, TriggerTime when the
"load by time" setting is on) that takes more than one value splits the
files into one loadable per value. Files without PixelData are dropped (a
loadable where none has any is kept at confidence 0.2); RT structure sets
are dropped. Each loadable is sorted by Slicer's rule. If the all-files
loadable got a sorting warning, a warning-free "localizer-free" subseries
(one of two values, the other held by a single file) is preferred, or, when
only one tag split the series, every warning-free subseries. Preferred
loadables are selected; the others get confidence at most 0.45. Finally,
per series, the loadables of the highest confidence are the ones loaded.

Only the scalar-volume plugin is ported: inside Slicer other plugins
(multi-volume, enhanced ultrasound, ...) may offer a loadable of higher
confidence for the same series, and then Slicer loads theirs instead.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from functools import cmp_to_key
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np
import pydicom
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from ..geometry.findings import Finding, Kind
from ..geometry.progress import Cancelled, ProgressCallback
from .headers import UnreadableFileError, readDatasetWithPydicom
from .slicersort import sortLikeSlicer

#: The tags the plugin reads, by the names it uses (DICOMScalarVolumePluginClass.__init__).
TAGS = {
    "sopClassUID": "0008,0016",
    "photometricInterpretation": "0028,0004",
    "seriesDescription": "0008,103e",
    "seriesUID": "0020,000E",
    "seriesNumber": "0020,0011",
    "position": "0020,0032",
    "orientation": "0020,0037",
    "pixelData": "7fe0,0010",
    "seriesInstanceUID": "0020,000E",
    "acquisitionNumber": "0020,0012",
    "imageType": "0008,0008",
    "contentTime": "0008,0033",
    "triggerTime": "0018,1060",
    "diffusionGradientOrientation": "0018,9089",
    "imageOrientationPatient": "0020,0037",
    "numberOfFrames": "0028,0008",
    "instanceUID": "0008,0018",
    "pixelSpacing": "0028,0030",
    "instanceNumber": "0020,0013",
}

RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"

_SUBSERIES_TAGS = ["seriesInstanceUID", "acquisitionNumber", "imageType", "imageOrientationPatient"]
_SUBSERIES_TAGS_AFTER_ORIENTATION = ["diffusionGradientOrientation"]
_ENUMERATED_TAGS = ("seriesInstanceUID", "imageOrientationPatient", "diffusionGradientOrientation")
_VECTOR_TAGS = ("imageOrientationPatient", "diffusionGradientOrientation")


class TagSource(Protocol):
    """What the rules read: ``slicer.dicomDatabase``'s calls (:class:`DICOMTagIndex` outside Slicer)."""

    def fileValue(self, path: str, tag: str) -> str: ...

    def fileValueExists(self, path: str, tag: str) -> bool: ...


# --------------------------------------------------------------------------- the tag index


def _tagKey(tag: str) -> int:
    """``"0020,000E"`` (ctkDICOMDatabase's spelling) as pydicom's integer tag."""
    group, element = tag.split(",")
    return int(group, 16) << 16 | int(element, 16)


def tagValueString(element: Any) -> str:
    """A data element's value the way ctkDICOMDatabase gives it: values joined by a backslash, padding removed.

    Sequences and binary values give ``""`` (the database does not hold them as text). Decimal strings keep
    the text written in the file (pydicom keeps the original string of a DS).
    """
    value = element.value
    if value is None or isinstance(value, (DicomSequence, bytes, bytearray)):
        return ""
    values = list(value) if isinstance(value, MultiValue) else [value]
    return "\\".join(str(each).strip(" \x00") for each in values)


class DICOMTagIndex:
    """The standalone host's DICOM database: each file's header read once with pydicom, looked up by tag.

    The calls and their results are those of ``slicer.dicomDatabase`` (ctkDICOMDatabase) that the scalar-volume
    plugin and the acquisition modeling use: ``fileValue``, ``fileValueExists``, ``instanceValue``,
    ``fileForInstance``, ``filesForSeries``.
    """

    def __init__(self) -> None:
        self._headers: Dict[str, Any] = {}
        self._pixelData: Dict[str, bool] = {}
        self._seriesFiles: "OrderedDict[str, List[str]]" = OrderedDict()
        self._instanceFiles: Dict[str, str] = {}
        # (path, tag key) -> text: the loadables' rules and the acquisition modeling ask for the same values of
        # every file several times, and decoding a pydicom element costs more than the lookup.
        self._values: Dict[Tuple[str, int], str] = {}

    def insertFiles(
        self, paths: Sequence[str], progressCallback: Optional[ProgressCallback] = None
    ) -> Tuple[List[str], List[Finding]]:
        """Index files, as Slicer's indexer does on import; returns ``(indexed files, findings for the others)``.

        A file pydicom cannot read as DICOM is not indexed (an ``unreadableFile`` finding says why), as
        Slicer's indexer skips it. ``progressCallback`` may cancel: :class:`~..geometry.progress.Cancelled`.
        """
        indexed: List[str] = []
        findings: List[Finding] = []
        for number, path in enumerate(paths):
            if progressCallback is not None and number % 32 == 0:
                if progressCallback(f"Indexing DICOM files ({number}/{len(paths)})", number / max(1, len(paths))):
                    raise Cancelled()
            try:
                self._index(path)
            except UnreadableFileError as error:
                findings.append(Finding(Kind.unreadableFile, error.severity, str(error), file=path))
                continue
            indexed.append(path)
        return indexed, findings

    def _index(self, path: str) -> None:
        if path in self._headers:
            return
        dataset = readDatasetWithPydicom(path)  # UnreadableFileError for what is not DICOM
        self._headers[path] = dataset
        self._pixelData[path] = _hasPixelData(path)
        self._seriesFiles.setdefault(self.fileValue(path, TAGS["seriesUID"]), []).append(path)
        uid = self.fileValue(path, TAGS["instanceUID"])
        if uid:
            self._instanceFiles[uid] = path

    def fileValue(self, path: str, tag: str) -> str:
        """The value of ``tag`` (``"gggg,eeee"``) in the file; ``""`` if absent (the file is indexed if new)."""
        if path not in self._headers:
            self._index(path)
        key = _tagKey(tag)
        found = self._values.get((path, key))
        if found is not None:
            return found
        if key == 0x7FE00010:
            return ""
        dataset = self._headers[path]
        try:
            value = tagValueString(dataset[key]) if key in dataset else ""
        except Exception:  # noqa: BLE001  a value pydicom cannot decode: the database holds no text for it either
            value = ""
        self._values[(path, key)] = value
        return value

    def fileValueExists(self, path: str, tag: str) -> bool:
        if path not in self._headers:
            self._index(path)
        key = _tagKey(tag)
        if key == 0x7FE00010:
            return self._pixelData[path]
        return key in self._headers[path]

    def instanceValue(self, instanceUID: str, tag: str) -> str:
        path = self._instanceFiles.get(instanceUID)
        return self.fileValue(path, tag) if path else ""

    def fileForInstance(self, instanceUID: str) -> str:
        return self._instanceFiles.get(instanceUID, "")

    def filesForSeries(self, seriesUID: str) -> List[str]:
        return list(self._seriesFiles.get(seriesUID, []))

    def seriesFileLists(self, paths: Sequence[str]) -> List[List[str]]:
        """The indexed ``paths`` grouped by SeriesInstanceUID, series and files in the order given."""
        groups: "OrderedDict[str, List[str]]" = OrderedDict()
        for path in paths:
            if path in self._headers:
                groups.setdefault(self.fileValue(path, TAGS["seriesUID"]), []).append(path)
        return list(groups.values())


def _hasPixelData(path: str) -> bool:
    """Whether the file holds pixel data (PixelData, FloatPixelData or DoubleFloatPixelData).

    The whole file is parsed with values over 1 KB deferred, so the pixel values themselves are not read.
    """
    try:
        dataset = pydicom.dcmread(path, defer_size=1024, force=True)
    except Exception:  # noqa: BLE001  damaged after its header (readDatasetWithPydicom read that): no pixels
        return False
    return any(tag in dataset for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009))


# --------------------------------------------------------------------------- loadables


@dataclasses.dataclass
class Loadable:
    """One way of loading files, as the plugin's ``DICOMLoadable`` (defaults: confidence 0.5, not selected)."""

    files: List[str]
    name: str = "Unknown"
    warning: str = ""
    selected: bool = False
    confidence: float = 0.5
    grayscale: bool = True


def defaultSeriesNodeName(source: TagSource, files: Sequence[str]) -> str:
    """``"<SeriesNumber>: <SeriesDescription>"``, ``"Unnamed Series"`` without a description (DICOMPlugin)."""
    if not files:
        return "Unnamed Series"
    description = source.fileValue(files[0], TAGS["seriesDescription"])
    number = source.fileValue(files[0], TAGS["seriesNumber"])
    name = description or "Unnamed Series"
    return f"{number}: {name}" if number != "" else name


def cleanNodeName(value: str) -> str:
    """The plugin's ``cleanNodeName``: characters that MRML node names should not hold, replaced."""
    return value.replace("|", "-").replace("/", "-").replace("\\", "-").replace("*", "(star)")


def sortedImageFiles(
    source: TagSource, files: Sequence[str], *, epsilon: float = 0.01, regularizationEnabled: bool = True
) -> Tuple[List[str], List[float], str]:
    """``DICOMUtils.getSortedImageFiles`` reading the database's strings (see :func:`.slicersort.sortLikeSlicer`)."""
    if not files:
        return [], [], ""

    def vector(path: str, tag: str) -> Optional[List[float]]:
        value = source.fileValue(path, tag)
        return [float(each) for each in value.split("\\")] if value else None

    positions = [vector(path, TAGS["position"]) for path in files]
    orientations = [vector(path, TAGS["orientation"]) for path in files]
    return sortLikeSlicer(
        list(files),
        positions,
        orientations,
        epsilon=epsilon,
        firstIsMultiFrame=source.fileValue(files[0], TAGS["numberOfFrames"]) not in ("", "1"),
        regularizationEnabled=regularizationEnabled,
    )


def examineFiles(
    source: TagSource,
    files: Sequence[str],
    *,
    allowLoadingByTime: bool = False,
    spacingEpsilon: float = 1e-2,
    orientationEpsilon: float = 1e-6,
    regularizationEnabled: bool = True,
) -> List[Loadable]:
    """The loadables of one series' files, with ``selected`` and ``confidence`` as the plugin sets them."""
    seriesName = defaultSeriesNodeName(source, files)
    allFiles = Loadable(files=list(files), name=cleanNodeName(seriesName), selected=True)
    tags = _SUBSERIES_TAGS + _SUBSERIES_TAGS_AFTER_ORIENTATION
    if allowLoadingByTime:
        tags = tags + ["contentTime", "triggerTime"]
    values, filesByValue = _subseriesValues(source, files, tags, orientationEpsilon)

    loadables = [allFiles]
    subseriesCount = 0
    localizerFree: List[Loadable] = []
    for tag in tags:
        if len(values[tag]) <= 1:
            continue
        subseriesCount += 1
        for valueIndex, value in enumerate(values[tag]):
            label = f"{tag} {valueIndex + 1}" if tag in _ENUMERATED_TAGS else f"{tag} {value}"
            loadable = Loadable(files=filesByValue[tag, value], name=cleanNodeName(f"{seriesName} - {label}"))
            loadables.append(loadable)
            if len(values[tag]) == 2:
                other = values[tag][1 - valueIndex]
                if len(filesByValue[tag, value]) > 1 and len(filesByValue[tag, other]) == 1:
                    localizerFree.append(loadable)

    loadables = _withPixelData(source, loadables)
    for loadable in loadables:
        loadable.files, _, loadable.warning = sortedImageFiles(
            source, loadable.files, epsilon=spacingEpsilon, regularizationEnabled=regularizationEnabled
        )

    better: List[Loadable] = []
    if allFiles.warning != "":
        better = [loadable for loadable in localizerFree if loadable.warning == ""]
        if not better and subseriesCount == 1:
            better = [loadable for loadable in loadables if loadable is not allFiles and loadable.warning == ""]
    preferred = better or [allFiles]
    for loadable in loadables:
        if any(loadable is each for each in preferred):
            loadable.selected = True
        else:
            loadable.selected = False
            loadable.confidence = min(loadable.confidence, 0.45)
    return loadables


def _subseriesValues(
    source: TagSource, files: Sequence[str], tags: Sequence[str], orientationEpsilon: float
) -> Tuple[Dict[str, List[str]], Dict[Tuple[str, str], List[str]]]:
    """For each tag, its distinct values in order of appearance, and the files of each (tag, value)."""
    values: Dict[str, List[str]] = {tag: [] for tag in tags}
    filesByValue: Dict[Tuple[str, str], List[str]] = {}
    for path in files:
        for tag in tags:
            value = source.fileValue(path, TAGS[tag]).replace(",", "_")
            if tag in _VECTOR_TAGS:
                if value != "":
                    vector = np.array([float(each) for each in value.split("\\")])
                    for seen in values[tag]:
                        # Absolute difference, as ITK compares orientations (the plugin cites
                        # itkObjectToObjectMetric.hxx VerifyDisplacementFieldSizeAndPhysicalSpace).
                        seenVector = np.array([float(each) for each in seen.split("\\")])
                        if np.allclose(vector, seenVector, rtol=0.0, atol=orientationEpsilon):
                            value = seen
                            break
                    else:
                        values[tag].append(value)
            elif value not in values[tag]:
                values[tag].append(value)
            filesByValue.setdefault((tag, value), []).append(path)
    return values, filesByValue


def _withPixelData(source: TagSource, loadables: Sequence[Loadable]) -> List[Loadable]:
    """Files without PixelData left out; a loadable of none with pixel data kept at confidence 0.2; RT
    structure sets dropped (another plugin loads them)."""
    kept = []
    for loadable in loadables:
        withPixels = [path for path in loadable.files if source.fileValueExists(path, TAGS["pixelData"])]
        isStructureSet = any(
            source.fileValue(path, TAGS["sopClassUID"]) == RT_STRUCTURE_SET_STORAGE for path in loadable.files
        )
        if isStructureSet:
            continue
        if withPixels:
            loadable.files = withPixels
        else:
            loadable.warning += (
                "There is no pixel data attribute for the DICOM objects, but they might be readable as "
                "secondary capture images."
            )
            loadable.confidence = 0.2
        loadable.grayscale = "MONOCHROME" in source.fileValue(loadable.files[0], TAGS["photometricInterpretation"])
        kept.append(loadable)
    return kept


def _seriesSorter(first: Loadable, second: Loadable) -> int:
    """The plugin's ``seriesSorter``: by the number before ":" in the name; names without one compare equal."""
    try:
        return int(first.name[: first.name.index(":")]) - int(second.name[: second.name.index(":")])
    except ValueError:
        return 0


def examineForImport(
    source: TagSource,
    fileLists: Sequence[Sequence[str]],
    *,
    failures: Optional[Dict[str, str]] = None,
    **options: Any,
) -> List[Loadable]:
    """Every series' loadables (:func:`examineFiles`), sorted by series number as the plugin sorts them.

    A position or orientation string that is not numbers makes the plugin's ``getSortedImageFiles`` raise
    ValueError; in Slicer that fails the plugin for every series examined together. Here only that series
    gives no loadable, and ``failures[SeriesInstanceUID]`` says why (when ``failures`` is given; else the
    ValueError propagates, as in Slicer).
    """
    loadables: List[Loadable] = []
    for files in fileLists:
        try:
            loadables.extend(examineFiles(source, files, **options))
        except ValueError as error:
            if failures is None:
                raise
            failures[source.fileValue(files[0], TAGS["seriesUID"])] = (
                f"Slicer's scalar-volume plugin cannot examine it (its getSortedImageFiles raises {error}: a "
                f"position or orientation that is not numbers); not loaded"
            )
    return sorted(loadables, key=cmp_to_key(_seriesSorter))


def selectHighestConfidenceLoadables(source: TagSource, loadables: Sequence[Loadable]) -> None:
    """``DICOMUtils.selectHighestConfidenceLoadables``: per series, exactly the highest-confidence ones selected."""
    bySeries: "OrderedDict[str, List[Loadable]]" = OrderedDict()
    for loadable in loadables:
        bySeries.setdefault(source.fileValue(loadable.files[0], TAGS["seriesUID"]), []).append(loadable)
    for group in bySeries.values():
        highest = max(loadable.confidence for loadable in group)
        for loadable in group:
            loadable.selected = loadable.confidence == highest


def loadablesToLoad(
    source: TagSource,
    fileLists: Sequence[Sequence[str]],
    *,
    failures: Optional[Dict[str, str]] = None,
    **options: Any,
) -> List[Loadable]:
    """What ``DICOMUtils.loadSeriesByUID`` loads with the scalar-volume plugin alone, in Slicer's order (series
    the plugin cannot examine are in ``failures``, see :func:`examineForImport`)."""
    loadables = examineForImport(source, fileLists, failures=failures, **options)
    selectHighestConfidenceLoadables(source, loadables)
    return [loadable for loadable in loadables if loadable.selected]
