"""Read a volume's own geometry fields into a :class:`~..geometry.conventions.VolumeHeader`.

One reader for every kind of input the ``affine`` command and the panel take:

* a NIfTI-1/NIfTI-2 file (``.nii``, ``.nii.gz``, ``.hdr``/``.img`` pairs with a NIfTI magic): the raw header
  fields, read with nibabel (imported here, lazily: ``inspect`` never imports it) — shape in FILE order
  (the first three ``dim``), ``pixdim[1:4]``, the srow rows and ``sform_code``, ``quatern_b/c/d``,
  ``qoffset_x/y/z``, ``qfac = pixdim[0]`` and ``qform_code``. No matrix is computed by nibabel here: the
  conventions compute them (so that nibabel can serve the tests as an independent oracle);
* any other image SimpleITK reads (NRRD, MetaImage, ...): its origin, spacing and direction (LPS), which is
  that file's whole geometry; recorded as a DICOM-like voxel -> LPS matrix;
* a DICOM file or folder: the first series :func:`.series.inspectPaths` finds, its ``IJKToLPS`` (Slicer IJK).
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple

import numpy as np

from ..geometry import affines, conventions
from ..geometry.errors import GeometryError
from ..geometry.sliceheader import pixelSpacingOf
from .headers import readAll
from .series import SeriesGeometry, inspectPaths

NIFTI_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".hdr.gz", ".img.gz")


def readVolumeHeader(path: str) -> conventions.VolumeHeader:
    """The geometry fields of the volume at ``path`` (a NIfTI or other image file, or DICOM file/folder).

    Raises GeometryError (with the path and the reason) when nothing usable is there.
    """
    if not os.path.exists(path):
        raise GeometryError(f"{path}: no such file or folder")
    lower = path.lower()
    if os.path.isfile(path) and lower.endswith(NIFTI_SUFFIXES):
        return readNIfTIHeader(path)
    if os.path.isfile(path) and not _looksLikeDICOM(path):
        return readITKHeader(path)
    return readDICOMHeader(path)


def readNIfTIHeader(path: str) -> conventions.VolumeHeader:
    """The raw NIfTI geometry fields of ``path`` (nibabel reads the bytes; no matrix is derived by it)."""
    import nibabel

    try:
        image = nibabel.load(path)
    except Exception as error:  # nibabel raises many types for a damaged file; the message names it
        raise GeometryError(f"{path}: not a readable NIfTI file ({type(error).__name__}: {error})") from error
    header = image.header
    if not isinstance(header, nibabel.Nifti1Header):  # Nifti2Header is a subclass
        raise GeometryError(f"{path}: {type(header).__name__} is not a NIfTI header (no sform or qform)")
    dimensionCount = int(header["dim"][0])
    dims = [int(header["dim"][axis + 1]) if axis < dimensionCount else 1 for axis in range(3)]
    pixdim = header["pixdim"]
    sform = np.eye(4)
    sform[0], sform[1], sform[2] = header["srow_x"], header["srow_y"], header["srow_z"]
    return conventions.VolumeHeader(
        path=path,
        kind="NIfTI-2" if isinstance(header, nibabel.Nifti2Header) else "NIfTI-1",
        shape=(dims[0], dims[1], dims[2]),
        pixdim=(float(pixdim[1]), float(pixdim[2]), float(pixdim[3])),
        sform=sform,
        sformCode=int(header["sform_code"]),
        quaternion=(float(header["quatern_b"]), float(header["quatern_c"]), float(header["quatern_d"])),
        qoffset=(float(header["qoffset_x"]), float(header["qoffset_y"]), float(header["qoffset_z"])),
        qfac=-1.0 if float(pixdim[0]) == -1 else 1.0,
        qformCode=int(header["qform_code"]),
    )


def readITKHeader(path: str) -> conventions.VolumeHeader:
    """An image SimpleITK reads (header only): origin, spacing, direction (LPS) as the voxel -> LPS matrix."""
    import SimpleITK

    reader = SimpleITK.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as error:
        raise GeometryError(f"{path}: not an image SimpleITK can read ({_firstLine(error)})") from error
    size = list(reader.GetSize())
    if len(size) < 3:
        raise GeometryError(f"{path}: a {len(size)}D image; the conventions need 3 dimensions")
    direction = np.asarray(reader.GetDirection(), dtype=float).reshape(len(size), len(size))[:3, :3]
    matrix = np.eye(4)
    matrix[:3, :3] = direction * np.asarray(reader.GetSpacing()[:3], dtype=float)
    matrix[:3, 3] = reader.GetOrigin()[:3]
    header = conventions.headerFromIJKToLPS(path, matrix, size[:3])
    header.kind = f"image ({reader.GetImageIO() or 'SimpleITK'})"
    return header


def readDICOMHeader(path: str) -> conventions.VolumeHeader:
    """The first series under ``path`` as a header: IJKToLPS in Slicer IJK (slices in Slicer's sort order)."""
    result = inspectPaths([path])
    usable = [series for series in result.series if series.IJKToLPS is not None and series.dimensions]
    if not usable:
        reasons: List[str] = [finding.message for finding in result.unreadableFiles[:1]]
        reasons += [finding.message for series in result.series for finding in series.findings[:1]]
        detail = f" ({reasons[0]})" if reasons else ""
        raise GeometryError(f"{path}: no DICOM series with usable geometry and no image file{detail}")
    header = headerFromSeries(usable[0], path)
    if len(result.series) > 1:
        header.kind += f" (first of {len(result.series)}: {usable[0].seriesInstanceUID})"
    return header


def headerFromSeries(series: SeriesGeometry, path: str = "") -> conventions.VolumeHeader:
    """An analysed series as a header (Slicer IJK; PixelSpacing re-read from its first file)."""
    if series.IJKToLPS is None or series.dimensions is None:
        raise GeometryError(f"{path or series.seriesInstanceUID}: the series has no usable geometry")
    return conventions.headerFromIJKToLPS(
        path or series.seriesInstanceUID, series.IJKToLPS, series.dimensions, _spacing(series)
    )


def _spacing(series: SeriesGeometry) -> Optional[Tuple[float, float, float]]:
    """(PixelSpacing[1], PixelSpacing[0], k step) of the series' first sorted slice; None if unreadable."""
    assert series.IJKToLPS is not None  # the caller's filter
    slices, _ = readAll(series.files[:1])
    usable = [header for header in slices if header.pixelSpacing is not None]
    if not usable:
        return None
    rowSpacing, columnSpacing = pixelSpacingOf(usable[0])
    return (float(columnSpacing), float(rowSpacing), float(affines.columnNorms(series.IJKToLPS)[2]))


def _looksLikeDICOM(path: str) -> bool:
    """DICOM Part 10 files carry 'DICM' at byte 128; files without the preamble are left to the DICOM reader
    only when SimpleITK does not know their extension."""
    try:
        with open(path, "rb") as stream:
            stream.seek(128)
            if stream.read(4) == b"DICM":
                return True
    except OSError as error:
        raise GeometryError(f"{path}: cannot be read ({error.strerror})") from error
    return os.path.splitext(path)[1].lower() in ("", ".dcm", ".ima")


def _firstLine(error: Any) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(error).__name__
