"""A DICOM series read without Slicer, where that gives the volume Slicer's DICOM module loads.

Slicer's scalar-volume plugin (as the standalone host runs it, ``mrml/host.py``) loads a folder's first
series with vtkITK's archetype reader over ITK's GDCM ImageIO, in its sorted file order, and adds an
acquisition (grid) transform when slice corners leave that grid. For a *plain* series none of its choices
has room to differ from a direct read, and :func:`plainSeries` says which series are plain, from the headers
``inspect`` reads (:func:`.headers.readAll`, :func:`.series.analyseGroups`; pixel data is not read):

* every file under the path is a readable DICOM image of one series (Slicer would load that series and
  nothing else: no choice of a "first" series, no file it drops for lack of pixel data);
* classic single-frame files (no enhanced multi-frame, no mosaic), one volume (no 4D), every slice kept by
  the engine's admission rules, at least two positions (one slice's thickness is each reader's guess);
* Slicer's sort gives no warning, so the plugin selects the loadable of all files, in that order (its
  sub-series by AcquisitionNumber, ImageType, orientation are offered at lower confidence, never loaded);
* every slice corner lies within ``CORNER_TOLERANCE_MM`` (Slicer's ``cornerEpsilon``) of Slicer's grid, by
  Slicer's own measure (largest coordinate difference): no acquisition transform, with or without
  ``--no-regularization`` (a uniformly tilted series passes: Slicer's grid keeps the shear, its k axis being
  the IPP step, and so does the direct read);
* and, checked when the pixels are read (:func:`readPlainSeries`, with GDCM, in a child process since GDCM
  crashes on some damaged files), the first file is MONOCHROME with one sample per pixel (the plugin's
  grayscale test; both readers take the pixel type from that file).

Slicer's grid (:func:`slicerGrid`) is what vtkITK builds: origin at the first sorted IPP, i and j along the
*normalised* IOP cosines times PixelSpacing, k the step ``(IPP_last - IPP_first) / (N - 1)``. SimpleITK's
ImageSeriesReader over the same files in the same order gives the same voxels and pixel type (both are ITK
5.4's GDCM ImageIO, RescaleSlope/Intercept applied by it), but its own k axis is the slice normal, so
:func:`readPlainSeries` puts Slicer's grid on the image. Slicer then reverses k of a left-handed grid; that
moves no voxel in the world, so a resampled output does not change. ``Testing/test_resample_direct.py``
compares all of this with the scene path on real series.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import affines, crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Tolerances
from ..geometry.sliceheader import SliceHeader, pixelSpacingOf
from .headers import readAll
from .series import SeriesGeometry, analyseGroups
from .walk import findFiles


class SeriesReadError(GeometryError):
    """The direct read cannot give Slicer's volume of a plain series: its first file is not grey levels, or GDCM
    (SimpleITK's reader) could not read the pixels (Slicer's reader would then try DCMTK). The caller hands the
    series to Slicer's path, which answers for it, rather than report GDCM's failure as the answer."""


@dataclasses.dataclass
class PlainSeries:
    """A series Slicer loads as one volume under no transform (see the module docstring).

    ``files`` in Slicer's sorted order (k = 0 first). ``IJKToLPS`` maps Slicer IJK (i = column along IOP[0:3],
    j = row along IOP[3:6], k = index in ``files``) to LPS mm: Slicer's grid, before the k reversal Slicer
    applies to a left-handed one. ``dimensions`` = (columns, rows, slices), the sizes along (i, j, k).
    """

    files: List[str]
    IJKToLPS: np.ndarray
    dimensions: Tuple[int, int, int]


def plainSeries(path: str) -> Tuple[Optional[PlainSeries], str]:
    """``(the series, "")`` when the DICOM file or folder ``path`` holds one plain series, else ``(None, why)``."""
    files, _ = findFiles([path])  # as the standalone host walks it: what it leaves out, Slicer never sees
    slices, unreadable = readAll(files)
    if unreadable:
        return None, f"{len(unreadable)} of its {len(files)} files are not DICOM images the engine reads"
    groups = analyseGroups(slices, Tolerances())
    if len(groups) != 1:
        return None, f"it holds {len(groups)} series (Slicer loads the first it selects)"
    headers, series = groups[0]
    problem = _structureProblem(headers, series) or _sortProblem(series)
    if problem:
        return None, problem
    ordered = _inFileOrder(headers, series.files)
    grid = slicerGrid(series, pixelSpacingOf(ordered[0]))
    problem = _cornerProblem(ordered, grid, series)
    if problem:
        return None, problem
    assert series.dimensions is not None  # a series with usable geometry (_structureProblem)
    return PlainSeries(files=list(series.files), IJKToLPS=grid, dimensions=series.dimensions), ""


def _structureProblem(headers: Sequence[SliceHeader], series: SeriesGeometry) -> str:
    """Why the files are not a classic single-frame 3D stack the engine keeps whole, or ``""``."""
    if series.mosaic is not None:
        return "a mosaic series"
    if any(header.frame is not None or header.numberOfFrames != 1 for header in headers):
        return "a multi-frame series"
    if series.IJKToLPS is None or series.dimensions is None:
        return "no slice with usable geometry"
    if series.numberOfVolumes != 1:
        return f"a 4D series ({series.numberOfVolumes} volumes)"
    if not len(headers) == len(series.files) == len(series.slices) == series.dimensions[2]:
        return "slices left out or repeated (see inspect)"
    if series.dimensions[2] < 2:
        return "a single slice (its thickness is each reader's guess)"
    return ""


def _sortProblem(series: SeriesGeometry) -> str:
    """Slicer's sort warning: its plugin may then prefer sub-series (and names the irregular spacing)."""
    return "Slicer's sort warns about it (irregular spacing or orientation)" if series.slicerSortWarning else ""


def _inFileOrder(headers: Sequence[SliceHeader], files: Sequence[str]) -> List[SliceHeader]:
    """The single-frame headers in the order of ``files``."""
    byFile = {header.file: header for header in headers}
    return [byFile[path] for path in files]


def slicerGrid(series: SeriesGeometry, pixelSpacing: Sequence[float]) -> np.ndarray:
    """Slicer's IJK-to-LPS grid of a single-frame series (Slicer IJK, LPS mm): the engine's ``IJKToLPS`` (IOP
    as written, k = (IPP_last - IPP_first) / (N - 1)) with the i and j columns made IOP's *normalised* cosines
    times PixelSpacing, as ITK's GDCM reader (and so vtkITK's) makes them."""
    assert series.IJKToLPS is not None
    grid = np.array(series.IJKToLPS, dtype=float)
    for axis, size in ((0, pixelSpacing[1]), (1, pixelSpacing[0])):
        grid[:3, axis] *= float(size) / float(np.linalg.norm(grid[:3, axis]))
    return grid


def _cornerProblem(ordered: Sequence[SliceHeader], grid: np.ndarray, series: SeriesGeometry) -> str:
    """Whether Slicer would add its acquisition transform: its own test (``addAcquisitionTransformIfNeeded``)
    on the slice corners, largest coordinate difference against ``CORNER_TOLERANCE_MM``; also an unusable grid."""
    problem = affines.gridMatrixProblem(grid)
    if problem:
        return f"its voxel grid is not usable ({problem})"
    assert series.dimensions is not None
    columns, rows, _ = series.dimensions
    target = crosscheck.cornersFromDICOM(ordered, columns, rows)
    source = crosscheck.cornersFromIJKToRAS(affines.lpsToRAS(grid), series.dimensions)
    error = float(np.abs(source - target).max())
    if error > crosscheck.CORNER_TOLERANCE_MM:
        return (
            f"slice corners leave the grid by up to {error:.4g} mm (tilt or uneven spacing): Slicer adds its "
            f"acquisition transform"
        )
    return ""


def readPlainSeries(series: PlainSeries) -> Any:
    """The series as a SimpleITK image on Slicer's grid (ITK index = Slicer IJK; origin, spacing and direction
    from ``series.IJKToLPS``, LPS). :class:`SeriesReadError` when its first file is not grey levels or GDCM
    cannot read the files as the headers describe them.

    GDCM kills its process on some damaged files that the header readers accept: outside a test, call it in a
    forked child (``dicom/imageresample.py`` does, :mod:`.childprocess`)."""
    import SimpleITK as sitk

    problem = _pixelProblem(series.files[0])
    if problem:
        raise SeriesReadError(problem)
    reader = sitk.ImageSeriesReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileNames(list(series.files))
    try:
        image = reader.Execute()
    except RuntimeError as error:
        raise SeriesReadError(f"GDCM could not read the series ({_firstLine(error)})") from error
    if image.GetSize() != series.dimensions or image.GetNumberOfComponentsPerPixel() != 1:
        raise SeriesReadError(f"GDCM read a {image.GetSize()} image, the headers say {series.dimensions}")
    spacing = affines.columnNorms(series.IJKToLPS[:3, :3])
    image.SetOrigin([float(value) for value in series.IJKToLPS[:3, 3]])
    image.SetSpacing([float(value) for value in spacing])
    image.SetDirection([float(value) for value in (series.IJKToLPS[:3, :3] / spacing).ravel()])
    return image


def _firstLine(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(error).__name__


def _pixelProblem(firstFile: str) -> str:
    """Why the first file's pixels are not grey levels of one sample (the plugin's grayscale test: else a vector
    volume), which both readers' pixel type comes from, or ``""``. GDCM reads the header: see readPlainSeries."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(firstFile)
    reader.SetImageIO("GDCMImageIO")
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return f"{firstFile}: GDCM cannot read its header"
    photometric = reader.GetMetaData("0028|0004") if reader.HasMetaDataKey("0028|0004") else ""
    if "MONOCHROME" not in photometric or reader.GetNumberOfComponents() != 1:
        return f"not grey levels (PhotometricInterpretation {photometric.strip() or 'missing'}): a vector volume"
    return ""
