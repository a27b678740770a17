"""Resampling without a scene: a volume file or a plain DICOM series onto a volume file's grid, with SimpleITK.

``resample`` takes this way when REF is a volume file, the interpolation is nearest or linear, and INPUT is
either a 3D scalar volume file or a DICOM series that :func:`.plainseries.plainSeries` calls plain (one
series of classic single-frame files whose corners lie on Slicer's grid, so that Slicer would add no
acquisition transform, read as Slicer reads it: same files, same order, same grid, same pixel type).
Everything else (a DICOM REF, a series Slicer would load under its acquisition transform, enhanced or mosaic
files, cubic interpolation) needs Slicer's scene, and :func:`directProblem` says why. It gives what
:func:`..mrml.logic.resampleToReference` gives on the nodes Slicer loads from the same inputs (both read with
ITK: same grid, same world, voxels outside the input 0, the input's pixel type), at a fraction of the cost:
no slicer-core (0.7 s of CPU to import), no scene, no display nodes, REF's voxels never read (its header
holds the grid; a left-handed one reversed along k, as Slicer loads it: :func:`slicerGrid`), and the output
written uncompressed unless asked for. Two differences in the engines, measured by
``Testing/test_resample_direct.py``: for linear interpolation into an integer type ITK truncates where VTK
rounds (at most 1 grey level), and for nearest neighbour a voxel whose input index lies within 1e-4 of
a half-way point (a tie) may take the other neighbour, as vtkImageReslice maps points in single precision.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import signal
import tempfile
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..geometry.errors import GeometryError
from . import outputs
from .childprocess import CHILD_SECONDS, runInChild, signalName
from .imagefiles import VOLUME_EXTENSIONS, truncationProblem
from .plainseries import PlainSeries, SeriesReadError, plainSeries, readPlainSeries

DIRECT_INTERPOLATIONS = ("nearest", "linear")


@dataclasses.dataclass
class DirectInput:
    """What the direct path reads as INPUT: a volume file (``series`` None) or a plain DICOM series."""

    path: str
    series: Optional[PlainSeries] = None


def directInput(inputPath: str, referencePath: str, interpolation: str) -> Tuple[Optional[DirectInput], str]:
    """``(what to read, "")`` when this pair needs no scene, else ``(None, why it needs Slicer's)``.

    REF's header is read first (cheap); a DICOM INPUT's headers only then (:func:`.plainseries.plainSeries`).
    """
    if interpolation not in DIRECT_INTERPOLATIONS:
        return None, f"{interpolation} interpolation is vtkImageReslice's"
    if not referencePath.lower().endswith(VOLUME_EXTENSIONS):
        return None, f"{referencePath} is not a volume file"
    problem = _headerProblem(referencePath, components=False)
    if problem:
        return None, problem
    if inputPath.lower().endswith(VOLUME_EXTENSIONS):
        problem = _headerProblem(inputPath, components=True)
        return (None, problem) if problem else (DirectInput(inputPath), "")
    series, why = plainSeries(inputPath)
    if series is None:
        return None, f"{inputPath} is not a plain DICOM series: {why}"
    return DirectInput(inputPath, series), ""


def directProblem(inputPath: str, referencePath: str, interpolation: str) -> Optional[str]:
    """Why this pair needs Slicer's scene (see :func:`directInput`), or None."""
    return directInput(inputPath, referencePath, interpolation)[1] or None


def _headerProblem(path: str, *, components: bool) -> str:
    """Why a volume file is not a 3D (scalar, when ``components``) image SimpleITK reads, or ``""``."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return f"{path}: SimpleITK cannot read its header"
    if reader.GetDimension() != 3 or (components and reader.GetNumberOfComponents() != 1):
        return f"{path} is not a 3D scalar image"
    return ""


def resampleFile(
    inputPath: str,
    referencePath: str,
    outputPath: str,
    *,
    interpolation: str,
    compress: bool,
    mkdir: bool = False,
    series: Optional[PlainSeries] = None,
) -> Optional[str]:
    """Resample INPUT onto ``referencePath``'s grid and write ``outputPath`` (see module docstring).

    INPUT is the volume file ``inputPath``, or ``series`` (the plain DICOM series at ``inputPath``, from
    :func:`directInput`) when given. Written as every output is (:func:`.outputs.newFiles`: never over a
    file); returns the folder ``mkdir`` created, if any. Raises GeometryError, writing nothing, when the input
    is truncated, GDCM cannot read the series (:class:`.plainseries.SeriesReadError`) or the output would be
    empty (every voxel 0 or NaN).
    """
    import SimpleITK as sitk

    grid = slicerGrid(referencePath)  # the grid only: REF's voxels are never read
    if series is not None:
        return _resampleSeries(series, grid, interpolation, inputPath, referencePath, outputPath, compress, mkdir)
    image = _readVolume(inputPath)
    resampled = _resample(image, grid, interpolation)
    refuseEmptyResult(_hasData(resampled), functools.partial(_hasData, image), inputPath, referencePath, outputPath)
    with outputs.newFiles(outputPath, mkdir=mkdir) as written:
        sitk.WriteImage(resampled, written.staged, compress)
    return written.createdFolder


Grid = Tuple[Tuple[int, ...], Tuple[float, ...], Tuple[float, ...], Tuple[float, ...]]
"""SimpleITK's ``(size, origin, spacing, direction)`` of an image (LPS; direction row-major, its columns the
i, j, k axes, ITK index = Slicer IJK)."""


def _resample(image: Any, grid: Grid, interpolation: str) -> Any:
    """``image`` (outside it 0) on ``grid``, in its own pixel type."""
    import SimpleITK as sitk

    size, origin, spacing, direction = grid
    interpolator = sitk.sitkNearestNeighbor if interpolation == "nearest" else sitk.sitkLinear
    return sitk.Resample(image, size, sitk.Transform(), interpolator, origin, spacing, direction, 0, image.GetPixelID())


_STATUS_NOT_READ = 3  # the child's status when readPlainSeries refused the series (SeriesReadError)


def _resampleSeries(
    series: PlainSeries,
    grid: Grid,
    interpolation: str,
    inputPath: str,
    referencePath: str,
    outputPath: str,
    compress: bool,
    mkdir: bool,
) -> Optional[str]:
    """:func:`resampleFile` of a plain series: GDCM reads, and the result is written, in a forked child.

    GDCM kills its process on some damaged files the header readers accept (:mod:`.childprocess`): then only
    the child dies. The child writes the output into a private folder (beside the output when its folder
    exists); once it is known not to be empty it is published as every output is (:func:`.outputs.newFiles`).
    Handing the voxels back to this process instead cost more than the read (fresh pages after a fork).
    SeriesReadError when the read cannot give Slicer's volume (GDCM failed or crashed, not grey levels): the
    caller hands the series to Slicer's path, which answers for it (its reader tries DCMTK too).
    """
    folder = os.path.dirname(os.path.abspath(outputPath))
    scratch = tempfile.mkdtemp(prefix=".affine-inspector-", dir=folder if os.path.isdir(folder) else None)
    try:
        written, report, errors = (os.path.join(scratch, name) for name in ("written", "report.json", "stderr"))
        os.mkdir(written)
        target = os.path.join(written, os.path.basename(outputPath))
        status = runInChild(lambda: _resampleSeriesHere(series, grid, interpolation, target, compress, report), errors)
        facts = _childFacts(status, report, errors, series)
        if facts.get("writeError"):
            raise outputs.OutputError(f"{outputPath}: could not be written ({facts['writeError']}); nothing written")
        refuseEmptyResult(facts["hasData"], lambda: bool(facts["inputHasData"]), inputPath, referencePath, outputPath)
        with outputs.newFiles(outputPath, mkdir=mkdir) as published:
            for name in sorted(os.listdir(written)):  # the output and its data file (.mhd + .raw)
                shutil.copyfile(os.path.join(written, name), os.path.join(os.path.dirname(published.staged), name))
        return published.createdFolder
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _resampleSeriesHere(
    series: PlainSeries, grid: Grid, interpolation: str, target: str, compress: bool, report: str
) -> int:
    """The child's work: read, resample, write ``target`` unless every voxel is 0; the facts in ``report``."""
    import SimpleITK as sitk

    facts: Dict[str, Any] = {}
    status = 0
    try:
        image = readPlainSeries(series)
    except SeriesReadError as error:
        facts["error"] = str(error)
        status = _STATUS_NOT_READ
    else:
        resampled = _resample(image, grid, interpolation)
        facts["hasData"] = _hasData(resampled)
        facts["inputHasData"] = facts["hasData"] or _hasData(image)
        if facts["hasData"]:
            try:
                sitk.WriteImage(resampled, target, compress)
            except RuntimeError as error:  # a full disk
                facts["writeError"] = _lastLine(str(error))
    with open(report, "w") as stream:
        json.dump(facts, stream)
    return status


def _childFacts(status: int, report: str, errors: str, series: PlainSeries) -> Dict[str, Any]:
    """What the child found (its report); SeriesReadError when it did not read the series, RuntimeError when it
    failed otherwise (a bug: its exception is on its stderr)."""
    files = f"{len(series.files)} files, first {series.files[0]}"
    if status == -int(signal.SIGKILL):
        raise SeriesReadError(f"GDCM did not finish reading {files} in {CHILD_SECONDS:g} s (stopped)")
    if status < 0:
        raise SeriesReadError(f"GDCM crashed ({signalName(status)}) reading {files}")
    if status not in (0, _STATUS_NOT_READ):
        with open(errors, "rb") as stream:
            said = _lastLine(stream.read().decode("utf-8", "replace"))
        raise RuntimeError(f"the direct read of {files} failed (exit status {status}{': ' + said if said else ''})")
    with open(report) as stream:
        facts: Dict[str, Any] = json.load(stream)
    if status == _STATUS_NOT_READ:
        raise SeriesReadError(str(facts["error"]))
    return facts


def _lastLine(text: str) -> str:
    """The last non-empty line of ``text``, shortened (an exception's message, a child's last words)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def slicerGrid(path: str) -> Grid:
    """The grid of the node Slicer's volumes logic loads from the volume file ``path``, as SimpleITK's
    ``(size, origin, spacing, direction)`` (LPS; direction row-major, its columns the i, j, k axes).

    Only the header is read. Slicer makes IJK right-handed: for a file whose grid is left-handed
    (det(direction) < 0) the node's k runs the other way (k' = n - 1 - k: origin on the last slice, the k axis
    negated), and the scene path's output takes that grid; the world positions of the voxels are the same.
    """
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    size, origin, spacing = reader.GetSize(), reader.GetOrigin(), reader.GetSpacing()
    axes: np.ndarray = np.reshape(reader.GetDirection(), (3, 3))
    if np.linalg.det(axes) >= 0:
        return size, origin, spacing, reader.GetDirection()
    lastSlice = np.asarray(origin) + (size[2] - 1) * spacing[2] * axes[:, 2]
    axes[:, 2] = -axes[:, 2]
    return size, tuple(float(value) for value in lastSlice), spacing, tuple(float(value) for value in axes.ravel())


def _readVolume(path: str) -> Any:
    """A volume file as a SimpleITK image; GeometryError when it is truncated (ITK would fill the missing
    voxels with 0 without a word)."""
    import SimpleITK as sitk

    problem = truncationProblem(path)
    if problem:
        raise GeometryError(f"{path}: {problem}; nothing written")
    return sitk.ReadImage(path)


def refuseEmptyResult(
    hasData: bool, inputHasData: Callable[[], bool], inputPath: str, referencePath: str, outputPath: str
) -> None:
    """GeometryError when every voxel of the result is 0 or NaN (not ``hasData``), saying why: an input with no
    nonzero finite voxel (truncated, damaged, all NaN), or a grid that does not overlap the reference's (nothing
    written). Both paths refuse with it (the scene path in ``cli/resamplecmd.py``), so the words are the same."""
    if hasData:
        return
    if not inputHasData():
        raise GeometryError(
            f"{inputPath} holds no nonzero finite voxel (every voxel 0 or NaN: a truncated or damaged file?), so "
            f"every voxel of {outputPath} would be 0; nothing written"
        )
    raise GeometryError(
        f"every voxel of {outputPath} would be 0: {inputPath} does not overlap the grid of {referencePath}; "
        f"nothing written"
    )


def holdsData(values: np.ndarray) -> bool:
    """Whether voxel values (any shape or order) hold a nonzero finite one."""
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return bool(np.any(values))


def _hasData(image: Any) -> bool:
    """Whether a SimpleITK image holds a nonzero finite voxel."""
    import SimpleITK as sitk

    return holdsData(sitk.GetArrayViewFromImage(image))
