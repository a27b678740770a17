"""``align``: does an image file (a segmentation, or any volume) line up with a DICOM series, what exactly is
wrong, and the image on the DICOM series' own voxels.

The image is read through its own header (:mod:`.imagefiles`), the DICOM series through the engine
(:func:`.series.inspectPaths`: Slicer's sort, each slice's own IPP), and the two grids are compared by
:mod:`..geometry.alignment`; mistakes are named by :mod:`..geometry.mistakes`. Index orders: the image's
own on-disk order (axis 0 fastest); DICOM Slicer IJK (i column, j row, k slice in Slicer's sorted order);
arrays in DICOM order are numpy [k, j, i]. Frames: RAS mm (RAS = diag(-1, -1, 1) . LPS).
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import affines
from ..geometry.alignment import (
    ONE_TO_ONE,
    SAME_GRID_TOLERANCE_MM,
    AxisMapEntry,
    Correspondence,
    SliceMapEntry,
    StackGrid,
    matchGrid,
    numpyRecipe,
    sliceMap,
)
from ..geometry.errors import GeometryError
from ..geometry.findings import ERROR, INFO, WARNING, Finding, Kind, Severity
from ..geometry.mistakes import Mistake, diagnose
from .headers import readSliceHeaders
from .imagefiles import ImageFile, readImageFile
from .imagewriters import refuseOutput, writeVolume
from .series import SeriesGeometry, inspectPaths

INTERPOLATIONS = ("nearest", "linear")


@dataclasses.dataclass
class ImageSummary:
    """The image file as its header gives it: ``shape`` in file order, ``fileToRAS`` from the file's index
    (on-disk order) to RAS mm (``affineSource`` says which matrix), both NIfTI matrices and codes."""

    path: str
    format: str
    shape: Tuple[int, int, int]
    dataType: str
    affineSource: str
    fileToRAS: np.ndarray
    sform: Optional[np.ndarray]
    sformCode: int
    qform: Optional[np.ndarray]
    qformCode: int
    axisCodes: Optional[Tuple[str, str, str]]


@dataclasses.dataclass
class DICOMSummary:
    """The DICOM series compared with: ``dimensions`` (i, j, k); ``IJKToRAS`` Slicer's single affine (exact only
    when ``regular``); ``maxAffineErrorMm`` how far that affine puts a slice from its IPP."""

    seriesInstanceUID: str
    seriesDescription: str
    dimensions: Tuple[int, int, int]
    numberOfFiles: int
    IJKToRAS: np.ndarray
    seriesTiltDeg: Optional[float]
    regular: bool
    maxAffineErrorMm: Optional[float]


@dataclasses.dataclass
class OutputRecord:
    """What ``--output`` wrote: ``method`` ``"copied"`` (voxels copied through the one-to-one correspondence,
    no interpolation) or ``"sampled"`` (the image sampled through its header at each DICOM slice's own IPP)."""

    path: str
    method: str
    interpolation: Optional[str]
    nonZeroVoxels: int
    note: str
    createdFolder: Optional[str] = None
    """The folder created for it (``--mkdir``), else None."""


@dataclasses.dataclass
class AlignmentResult:
    """Everything ``align`` says; the field names are the JSON keys.

    ``relation`` is the file as it is (:data:`..geometry.alignment.RELATIONS`); ``maxDeviationMm`` the
    largest voxel-centre distance after the best reindexing (None when no reindexing has the DICOM's
    sizes); ``maxSlicePositionDeviationMm`` (same-slices) the largest distance between a voxel placed by the
    header and by its DICOM file. ``axisMap`` (file axis order), ``sliceMap``, ``numpy`` and
    ``correspondence`` are set whenever a one-to-one voxel correspondence is known: as the file is, or once
    the named mistake ``correctedBy`` is undone (``correctedRelation``).
    """

    image: ImageSummary
    dicom: DICOMSummary
    relation: Kind
    verdict: str
    maxDeviationMm: Optional[float]
    maxSlicePositionDeviationMm: Optional[float]
    overlapFraction: float
    axisMap: Optional[List[AxisMapEntry]]
    sliceOrder: Optional[str]
    correspondence: Optional[Correspondence]
    correctedRelation: Optional[Kind]
    correctedBy: Optional[Kind]
    mistakes: List[Mistake]
    explanation: List[str]
    sliceMap: List[SliceMapEntry]
    numpy: Optional[str]
    findings: List[Finding]
    contentCheck: Optional[str] = None
    output: Optional[OutputRecord] = None


@dataclasses.dataclass
class AlignmentInputs:
    """The two inputs, read: the image file, the DICOM series and its stack of voxel centres."""

    image: ImageFile
    series: SeriesGeometry
    stack: StackGrid
    dicomPath: str


# --------------------------------------------------------------------------- reading the inputs


def loadInputs(imagePath: str, dicomPath: str, *, seriesUID: Optional[str] = None) -> AlignmentInputs:
    """Read the image's header and the DICOM series (a folder, or one file of it). GeometryError when either
    cannot be used; several series need ``seriesUID`` (the message lists them)."""
    image = readImageFile(imagePath)
    return inputsOf(image, selectSeries(dicomPath, seriesUID), dicomPath)


def selectSeries(dicomPath: str, seriesUID: Optional[str] = None) -> SeriesGeometry:
    """The one series of a DICOM folder (or of the folder of a DICOM file), or the one with ``seriesUID``."""
    if not os.path.exists(dicomPath):
        raise GeometryError(f"{dicomPath}: no such file or folder")
    folder = dicomPath
    if os.path.isfile(dicomPath):
        try:
            (first, *_) = readSliceHeaders(dicomPath)
        except Exception as error:
            raise GeometryError(f"{dicomPath}: not a DICOM image file ({error})") from None
        if seriesUID and seriesUID != first.seriesInstanceUID:
            raise GeometryError(f"{dicomPath} belongs to series {first.seriesInstanceUID}, not --series {seriesUID}")
        seriesUID = first.seriesInstanceUID
        folder = os.path.dirname(os.path.abspath(dicomPath))
    result = inspectPaths([folder])
    candidates = [series for series in result.series if series.files]
    if not candidates:
        raise GeometryError(f"{dicomPath}: no DICOM image series found")
    if seriesUID:
        chosen = [series for series in candidates if series.seriesInstanceUID == seriesUID]
        if not chosen:
            raise GeometryError(f"{dicomPath}: no series {seriesUID}; series there: {_seriesList(candidates)}")
        series = chosen[0]
    elif len(candidates) > 1:
        raise GeometryError(
            f"{dicomPath} holds {len(candidates)} series: choose one with --series UID: {_seriesList(candidates)}"
        )
    else:
        series = candidates[0]
    checkGeometry(series)
    if series.numberOfVolumes > 1:
        raise GeometryError(
            f"series {series.seriesInstanceUID} holds {series.numberOfVolumes} volumes (repeated by "
            f"{series.repeatedBy}): align one volume at a time"
        )
    return series


def inputsOf(image: ImageFile, series: SeriesGeometry, dicomPath: str) -> AlignmentInputs:
    """The inputs for an image already read and a series already analysed (``audit --labels`` has both);
    GeometryError when the series has no usable geometry. ``dicomPath`` is where the series lies (a folder).

    A series of several volumes is compared on the grid its volumes share: every position holds a slice of
    volume 0, and :func:`stackOf` takes those (``align`` itself refuses such a series in :func:`selectSeries`,
    so that its ``--output`` and slice map stay one volume's).
    """
    checkGeometry(series)
    return AlignmentInputs(image, series, stackOf(series), dicomPath)


def checkGeometry(series: SeriesGeometry) -> None:
    """GeometryError unless the series has an affine and dimensions (a slice with usable IPP, IOP, spacing)."""
    if series.IJKToLPS is None or series.dimensions is None:
        raise GeometryError(f"series {series.seriesInstanceUID}: no slice with usable geometry (IPP, IOP, spacing)")


def _seriesList(candidates: Sequence[SeriesGeometry]) -> str:
    return "; ".join(
        f"{series.seriesInstanceUID} ({series.seriesDescription or series.modality or 'no description'}, "
        f"{len(series.files)} files)"
        for series in candidates
    )


def stackOf(series: SeriesGeometry) -> StackGrid:
    """The series' voxel centres: in-plane steps from its affine, each slice at its own IPP (RAS mm)."""
    assert series.IJKToLPS is not None and series.dimensions is not None  # selectSeries checked both
    rows = [row for row in series.slices if row.volume == 0]
    columns, rowCount, _ = series.dimensions
    return StackGrid(
        columns=int(columns),
        rows=int(rowCount),
        columnStep=affines.lpsToRAS(series.IJKToLPS[:3, 0]),
        rowStep=affines.lpsToRAS(series.IJKToLPS[:3, 1]),
        positions=affines.lpsToRAS(np.array([row.position for row in rows], dtype=float)),
    )


# --------------------------------------------------------------------------- comparing


def align(
    inputs: AlignmentInputs, *, toleranceMm: float = SAME_GRID_TOLERANCE_MM, checkContent: bool = False
) -> AlignmentResult:
    """Compare the image with the DICOM series (see :class:`AlignmentResult`)."""
    if not toleranceMm >= 0:
        raise GeometryError(f"--tolerance must be >= 0 mm, got {toleranceMm}")
    image, series, stack = inputs.image, inputs.series, inputs.stack
    header = image.header
    match = matchGrid(header.fileToRAS, image.shape, stack, toleranceMm=toleranceMm)
    instanceNumbers = [row.instanceNumber for row in series.slices if row.volume == 0]
    diagnosis = diagnose(header, image.shape, stack, match, instanceNumbers, toleranceMm=toleranceMm)
    mistakes = list(diagnosis.mistakes)
    correspondence = match.correspondence if match.relation in ONE_TO_ONE else None
    correctedRelation = correctedBy = None
    if diagnosis.correspondence is not None and (correspondence is None or match.relation == Kind.sameSlices):
        correspondence = diagnosis.correspondence
        correctedRelation, correctedBy = diagnosis.correctedRelation, diagnosis.correctedBy
    contentNote = None
    if checkContent:
        contentNote, contentCorrespondence, contentMistake = checkContentAgainstDICOM(inputs, correspondence)
        if contentMistake is not None:
            mistakes.append(contentMistake)
            correspondence = contentCorrespondence
            correctedBy, correctedRelation = Kind.contentHeaderDisagree, _relationOf(contentCorrespondence, stack)
    result = AlignmentResult(
        image=_imageSummary(image),
        dicom=_dicomSummary(series, stack),
        relation=match.relation,
        verdict="",
        maxDeviationMm=match.maxDeviationMm,
        maxSlicePositionDeviationMm=match.maxDeviationMm if match.relation in ONE_TO_ONE else None,
        overlapFraction=match.overlapFraction,
        axisMap=correspondence.axisMap() if correspondence is not None else None,
        sliceOrder=correspondence.sliceOrder if correspondence is not None else None,
        correspondence=correspondence,
        correctedRelation=correctedRelation,
        correctedBy=correctedBy,
        mistakes=mistakes,
        explanation=[],
        sliceMap=sliceMapOfSeries(series, correspondence),
        numpy=numpyRecipe(correspondence, image.loadLines) if correspondence is not None else None,
        findings=[],
        contentCheck=contentNote,
    )
    result.verdict = verdictLine(result)
    result.explanation = explanationLines(result, toleranceMm)
    result.findings = findingsOf(result)
    return result


def _relationOf(correspondence: Optional[Correspondence], stack: StackGrid) -> Optional[Kind]:
    if correspondence is None:
        return None
    if not stack.isRegular():
        return Kind.sameSlices
    return Kind.sameGrid if correspondence.isIdentity else Kind.sameGridReindexed


def sliceMapOfSeries(series: SeriesGeometry, correspondence: Optional[Correspondence]) -> List[SliceMapEntry]:
    """One entry per DICOM file in Slicer's sorted order; files at a repeated position share the slice."""
    rows = list(series.slices)
    uidOfFile = dict(zip(series.files, series.instanceUIDs))
    entries = sliceMap([row.file for row in rows], [uidOfFile.get(row.file, "") for row in rows], correspondence)
    if correspondence is None:
        return entries
    return [
        dataclasses.replace(entry, imageSlice=int(correspondence.imageSliceOfK[row.k]))
        for entry, row in zip(entries, rows)
    ]


def _imageSummary(image: ImageFile) -> ImageSummary:
    header = image.header
    return ImageSummary(
        path=image.path,
        format=image.format,
        shape=image.shape,
        dataType=image.dataType,
        affineSource=header.source,
        fileToRAS=header.fileToRAS,
        sform=header.sform,
        sformCode=header.sformCode,
        qform=header.qform,
        qformCode=header.qformCode,
        axisCodes=affines.axisCodes(header.fileToRAS),
    )


def _dicomSummary(series: SeriesGeometry, stack: StackGrid) -> DICOMSummary:
    return DICOMSummary(
        seriesInstanceUID=series.seriesInstanceUID,
        seriesDescription=series.seriesDescription,
        dimensions=stack.dimensions,
        numberOfFiles=len(series.files),
        IJKToRAS=stack.IJKToRAS(),
        seriesTiltDeg=series.seriesTiltDeg,
        regular=stack.isRegular(),
        maxAffineErrorMm=series.maxAffineErrorMm,
    )


# --------------------------------------------------------------------------- words


def verdictLine(result: AlignmentResult) -> str:
    """The one line said first."""
    relation = result.relation
    if relation == Kind.sameGrid:
        text = "same grid"
    elif relation == Kind.sameGridReindexed:
        assert result.correspondence is not None
        text = f"same voxels, axes differ: {result.correspondence.describe()}"
    elif relation == Kind.sameSlices:
        text = f"same slices, header off by up to {result.maxSlicePositionDeviationMm or 0:.3g} mm"
    elif relation == Kind.differentGrid:
        text = f"needs resampling: the grids differ ({100 * result.overlapFraction:.0f}% of the DICOM voxels inside "
        text += "the image)"
    else:
        text = "no overlap: the image lies entirely outside the DICOM series"
    if result.correctedBy is not None and result.correctedBy != Kind.headerApproximatesStack:
        corrected = result.correctedRelation or relation
        text += f"; header mistake {result.correctedBy}: once corrected, {corrected}"
        if result.correspondence is not None and not result.correspondence.isIdentity:
            text += f" ({result.correspondence.describe()})"
    return text


def explanationLines(result: AlignmentResult, toleranceMm: float) -> List[str]:
    """The explanation in the user's words: what the header says, what is wrong, what to do."""
    lines = []
    image, dicom = result.image, result.dicom
    lines.append(
        f"The image is {image.format}, shape {image.shape} in its own index order (its {image.affineSource} gives "
        f"the positions); the DICOM series has {dicom.dimensions[2]} slices of {dicom.dimensions[1]} rows x "
        f"{dicom.dimensions[0]} columns ({dicom.numberOfFiles} files)"
        + ("." if dicom.regular else ", and is not regular: no single affine places every slice (tilt or gaps).")
    )
    relation = result.relation
    if relation == Kind.sameGrid:
        lines.append(
            f"Every voxel centre is within {result.maxDeviationMm or 0:.2g} mm of the DICOM voxel with the same "
            f"index (tolerance {toleranceMm:g} mm): array index [a0, a1, a2] of the file is DICOM (i, j, k)."
        )
    elif relation == Kind.sameGridReindexed:
        lines.append(
            f"Every voxel is a DICOM voxel (within {result.maxDeviationMm or 0:.2g} mm), but the file stores the axes "
            f"differently: {result.correspondence.describe() if result.correspondence else ''}. Tools that copy "
            f"arrays between the two without the header get a flipped or transposed mask; use the axis map or the "
            f"recipe."
        )
    elif relation == Kind.sameSlices:
        lines.append(
            f"Each file slice is one DICOM slice (same rows and columns), but the header's single affine is off by "
            f"up to {result.maxSlicePositionDeviationMm or 0:.3g} mm from where the DICOM files put the slices. "
            f"Resampling through the header would move voxels; copy them through the slice map instead."
        )
    elif relation == Kind.differentGrid:
        lines.append(
            "The image's voxels are not the DICOM voxels (other spacing, size, orientation or offset): it must be "
            "resampled onto the DICOM grid (--output does it at each slice's own position)."
            + (
                f" With the same sizes, the closest voxel centres are up to {result.maxDeviationMm:.3g} mm apart."
                if result.maxDeviationMm is not None
                else ""
            )
        )
    else:
        lines.append(
            "No DICOM voxel centre lies inside the image: it belongs to another series or its header is wrong."
        )
    for mistake in result.mistakes:
        lines.append(f"Mistake {mistake.kind}: {mistake.explanation}")
    if result.contentCheck:
        lines.append(f"Content: {result.contentCheck}")
    return lines


def findingsOf(result: AlignmentResult) -> List[Finding]:
    """The relation and each mistake as findings (for --fail-on): same-grid(*) info, same-slices and
    different-grid warning, disjoint and every mistake error."""
    severity: Severity = {
        Kind.sameGrid: INFO,
        Kind.sameGridReindexed: INFO,
        Kind.sameSlices: WARNING,
        Kind.differentGrid: WARNING,
    }.get(result.relation, ERROR)
    findings = [Finding(result.relation, severity, result.verdict, value=result.maxDeviationMm, unit="mm")]
    findings.extend(Finding(mistake.kind, mistake.severity, mistake.explanation) for mistake in result.mistakes)
    return findings


def textReport(result: AlignmentResult) -> str:
    """The text output: the verdict first, then the explanation, the axis map, the slice map and the recipe."""
    lines = [result.verdict, ""]
    lines.extend(result.explanation)
    if result.axisMap is not None:
        lines += ["", "Axis map (file axis -> DICOM axis; i column, j row, k slice in Slicer's order):"]
        for entry in result.axisMap:
            lines.append(f"  file axis {entry.imageAxis} -> DICOM {'-' if entry.reversed else '+'}{entry.dicomAxis}")
    lines += ["", "Slice map (DICOM files in Slicer's sorted order -> file slice):"]
    for k, mapped in enumerate(result.sliceMap):
        slice = "-" if mapped.imageSlice is None else str(mapped.imageSlice)
        lines.append(f"  {k:4d}  {mapped.file}  -> {slice}")
    if result.numpy:
        lines += ["", "numpy recipe (DICOM order [k, j, i] = [slice, row, column], Slicer's sorted order):", ""]
        lines.append(result.numpy.rstrip("\n"))
    if result.output is not None:
        lines += ["", f"Wrote {result.output.path}: {result.output.note}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the image on the DICOM voxels


def defaultInterpolation(image: ImageFile) -> str:
    """Nearest neighbour for integer (label) images, linear otherwise."""
    kind = np.dtype(image.dataType).kind if _isNumpyType(image.dataType) else "f"
    return "nearest" if kind in "iub" else "linear"


def _isNumpyType(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def alignedArray(
    inputs: AlignmentInputs,
    result: AlignmentResult,
    *,
    trustHeader: bool = False,
    interpolation: Optional[str] = None,
) -> Tuple[np.ndarray, str, Optional[str]]:
    """The image on the DICOM voxels, numpy [k, j, i] in Slicer's sorted order; and how (``"copied"`` through the
    one-to-one correspondence, or ``"sampled"`` through the header at each slice's own IPP) and the
    interpolation used for sampling."""
    data = inputs.image.data()
    if result.correspondence is not None and not trustHeader:
        return result.correspondence.toDICOMOrder(data), "copied", None
    method = interpolation or _defaultFromArray(data)
    if method not in INTERPOLATIONS:
        raise GeometryError(f"--interpolation must be one of {', '.join(INTERPOLATIONS)}, not {method!r}")
    return sampleAtSlices(data, inputs.image.header.fileToRAS, inputs.stack, method), "sampled", method


def _defaultFromArray(data: np.ndarray) -> str:
    return "nearest" if data.dtype.kind in "iub" else "linear"


def sampleAtSlices(data: np.ndarray, fileToRAS: np.ndarray, stack: StackGrid, interpolation: str) -> np.ndarray:
    """Sample a file-order array through its header at every DICOM voxel centre, each slice at its own IPP
    (tilt and irregular gaps right); 0 outside the image. Returns [k, j, i]."""
    inverse = np.linalg.inv(np.asarray(fileToRAS, dtype=float))
    jGrid, iGrid = np.mgrid[0 : stack.rows, 0 : stack.columns]
    inPlane = iGrid[..., np.newaxis] * stack.columnStep + jGrid[..., np.newaxis] * stack.rowStep  # (R, C, 3)
    outputType = data.dtype if interpolation == "nearest" else np.float32
    output = np.zeros((stack.slices, stack.rows, stack.columns), dtype=outputType)
    shape = np.asarray(data.shape, dtype=float)
    for k in range(stack.slices):
        points = inPlane + stack.positions[k]
        index = points @ inverse[:3, :3].T + inverse[:3, 3]
        if interpolation == "nearest":
            rounded = np.rint(index).astype(np.int64)
            inside = np.all((rounded >= 0) & (rounded <= shape.astype(np.int64) - 1), axis=-1)
            values = np.zeros(inside.shape, dtype=outputType)
            chosen = rounded[inside]
            values[inside] = data[chosen[:, 0], chosen[:, 1], chosen[:, 2]]
        else:
            values = _trilinear(data, index).astype(np.float32)
        output[k] = values
    return output


def _trilinear(data: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Trilinear interpolation at fractional file indices (..., 3); points outside the voxel centres' hull get 0
    (except within half a voxel of the edge, where the edge value extends)."""
    shape = np.asarray(data.shape)
    inside = np.all((index >= -0.5) & (index <= shape - 0.5), axis=-1)
    clamped = np.clip(index, 0, shape - 1)
    lower = np.floor(clamped).astype(np.int64)
    lower = np.minimum(lower, np.maximum(shape - 2, 0))
    fraction = clamped - lower
    result = np.zeros(index.shape[:-1], dtype=float)
    for corner in range(8):
        offset = np.array([(corner >> axis) & 1 for axis in range(3)])
        positions = np.minimum(lower + offset, shape - 1)
        weight = np.prod(np.where(offset == 1, fraction, 1 - fraction), axis=-1)
        result += weight * data[positions[..., 0], positions[..., 1], positions[..., 2]]
    return np.where(inside, result, 0.0)


def writeAligned(
    inputs: AlignmentInputs,
    result: AlignmentResult,
    output: str,
    *,
    trustHeader: bool = False,
    interpolation: Optional[str] = None,
    mkdir: bool = False,
) -> OutputRecord:
    """Write the image on the DICOM voxels to ``output`` (.nii.gz, .nii, .nrrd, .npy [k, j, i]); sets and returns
    ``result.output``. Refused (GeometryError, nothing written): an existing file or symbolic link, an input, a
    missing folder (unless ``mkdir``), an all-zero or all-NaN result (:mod:`.outputs`)."""
    refuseOutput(output, [inputs.image.path, inputs.dicomPath, *inputs.series.files], mkdir=mkdir)
    array, method, used = alignedArray(inputs, result, trustHeader=trustHeader, interpolation=interpolation)
    IJKToRAS = inputs.stack.IJKToRAS()
    created = writeVolume(
        output, array, IJKToRAS, description=f"align {method} onto DICOM {result.dicom.seriesInstanceUID}", mkdir=mkdir
    )
    if method == "copied":
        note = "voxels copied through the one-to-one correspondence (exact, no interpolation)"
    else:
        note = f"sampled through the image header at each DICOM slice's own position ({used} interpolation)"
    if not output.lower().endswith(".npy") and not result.dicom.regular:
        note += (
            f"; the file's single affine (Slicer's) is off by up to {result.dicom.maxAffineErrorMm or 0:.3g} mm on "
            f"this irregular/tilted stack: the voxels are right per slice, use the slice map for positions"
        )
    elif output.lower().endswith(".npy"):
        note += "; array [k, j, i] in Slicer's sorted order (the slice map's k)"
    record = OutputRecord(output, method, used, int(np.count_nonzero(np.nan_to_num(array))), note, created)
    result.output = record
    return record


# --------------------------------------------------------------------------- content


def readDICOMPixels(series: SeriesGeometry) -> np.ndarray:
    """The series' pixel data (pydicom, modality rescale applied), [k, j, i] in Slicer's sorted order."""
    import pydicom

    rows = [row for row in series.slices if row.volume == 0]
    slices = []
    for row in rows:
        dataset = pydicom.dcmread(row.file)
        pixels = dataset.pixel_array
        if row.frame is not None:
            pixels = pixels[row.frame]
        slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
        intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
        slices.append(pixels.astype(np.float64) * slope + intercept)
    return np.stack(slices)


def checkContentAgainstDICOM(
    inputs: AlignmentInputs, correspondence: Optional[Correspondence]
) -> Tuple[str, Optional[Correspondence], Optional[Mistake]]:
    """Compare the image's pixels with the DICOM pixels slice by slice (normalized correlation), under the
    correspondence the header gives; report when the content says another slice order or in-plane flip.

    Returns (what was found, the content's correspondence, a content-header-disagree mistake or None).
    """
    if correspondence is None:
        return "not checked: the header gives no one-to-one correspondence to check the pixels against.", None, None
    data = inputs.image.data()
    if data.dtype.kind in "iub" and len(np.unique(data)) <= 16:
        return "not checked: the image holds labels (few integer values), not intensities.", None, None
    dicom = readDICOMPixels(inputs.series)
    imageKJI: np.ndarray = correspondence.toDICOMOrder(data).astype(np.float64)
    best = correspondence
    bestScore, bestOrder = _slicesScore(imageKJI, dicom)
    headerScore = float(np.nanmean(np.diag(_correlations(imageKJI, dicom))))
    for flipI, flipJ in ((True, False), (False, True), (True, True)):
        flipped = imageKJI[:, :: -1 if flipJ else 1, :: -1 if flipI else 1]
        score, order = _slicesScore(flipped, dicom)
        if score > bestScore + 0.1:
            bestScore, bestOrder = score, order
            best = dataclasses.replace(
                correspondence,
                reversedIJ=(correspondence.reversedIJ[0] != flipI, correspondence.reversedIJ[1] != flipJ),
            )
    if bestOrder is None or not np.isfinite(headerScore):
        return "not checked: the slices' pixels do not vary (nothing to correlate).", None, None
    identity = list(range(len(bestOrder)))
    if best == correspondence and (list(bestOrder) == identity or bestScore < headerScore + 0.1):
        return f"the pixels confirm the header (mean slice correlation {headerScore:.3f}).", None, None
    # Image slice v (the header's DICOM slice v) holds DICOM slice bestOrder[v].
    imageSliceOfK = [0] * len(bestOrder)
    for v, k in enumerate(bestOrder):
        imageSliceOfK[k] = best.imageSliceOfK[v]
    content = dataclasses.replace(best, imageSliceOfK=tuple(imageSliceOfK))
    text = (
        f"the pixels contradict the header: under the header the slices correlate {headerScore:.3f} on average "
        f"with their DICOM slices, but {bestScore:.3f} with {content.describe()}; the data was "
        f"{'flipped' if best != correspondence else 'reordered'} without the header being changed."
    )
    mistake = Mistake(
        Kind.contentHeaderDisagree,
        ERROR,
        "The image's pixels are not where its header says: "
        + text
        + " The axis map, slice map and recipe follow the pixels.",
    )
    return text, content, mistake


def _correlations(image: np.ndarray, dicom: np.ndarray, maxPixels: int = 20000) -> np.ndarray:
    """Normalized correlation of every image slice (rows) with every DICOM slice (columns)."""
    count = image.shape[0]
    step = max(1, int(np.sqrt(image.shape[1] * image.shape[2] / maxPixels)))
    a = image[:, ::step, ::step].reshape(count, -1)
    b = dicom[:, ::step, ::step].reshape(count, -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    normA = np.linalg.norm(a, axis=1)
    normB = np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a @ b.T) / np.outer(normA, normB)


def _slicesScore(image: np.ndarray, dicom: np.ndarray) -> Tuple[float, Optional[List[int]]]:
    """The mean correlation of each image slice with its best DICOM slice, and that DICOM slice per image slice
    (None when the best matches are not one-to-one or nothing correlates)."""
    matrix = _correlations(image, dicom)
    if not np.any(np.isfinite(matrix)):
        return float("-inf"), None
    filled = np.where(np.isfinite(matrix), matrix, -2.0)
    order = [int(value) for value in np.argmax(filled, axis=1)]
    if sorted(order) != list(range(len(order))):
        return float(np.mean(np.max(filled, axis=1))), None
    return float(np.mean([filled[v, k] for v, k in enumerate(order)])), order
