"""File-to-file resampling without a scene: a volume file onto another volume file's grid, with SimpleITK.

``resample`` takes this way when INPUT and REF are both volume files, the
interpolation is nearest or linear and both are 3D scalar images: no DICOM,
so no acquisition transform and nothing that needs Slicer's scene. It gives
what :func:`..mrml.logic.resampleToReference` gives on the nodes Slicer's
volumes logic loads from the same files (both read with ITK: same grid, same
world, voxels outside the input 0, the input's pixel type), at a fraction of
the cost: no slicer-core (0.7 s of CPU to import), no scene, no display
nodes, REF's voxels never read (its header holds the grid; a left-handed
one reversed along k, as Slicer loads it: :func:`slicerGrid`), and the output
written uncompressed unless asked for. Two differences in the engines,
measured by ``Testing/test_resample_direct.py``: for linear interpolation
into an integer type ITK truncates where VTK rounds (at most 1 grey level),
and for nearest neighbour a voxel whose input index lies within about 1e-5 of
a half-way point (a tie) may take the other neighbour, as vtkImageReslice
maps points in single precision.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..geometry.errors import GeometryError
from . import outputs
from .imagefiles import truncationProblem

DIRECT_INTERPOLATIONS = ("nearest", "linear")
VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
"""What Slicer's volumes logic reads (as ``cli/resamplecmd.py`` and ``mrml/host.py`` list them)."""


def directProblem(inputPath: str, referencePath: str, interpolation: str) -> Optional[str]:
    """Why this pair needs Slicer's scene (a DICOM input, cubic interpolation, not 3D scalar), or None."""
    if interpolation not in DIRECT_INTERPOLATIONS:
        return f"{interpolation} interpolation is vtkImageReslice's"
    for path in (inputPath, referencePath):
        if not path.lower().endswith(VOLUME_EXTENSIONS):
            return f"{path} is not a volume file"
    import SimpleITK as sitk

    for path, components in ((inputPath, True), (referencePath, False)):
        reader = sitk.ImageFileReader()
        reader.SetFileName(path)
        try:
            reader.ReadImageInformation()
        except RuntimeError:
            return f"{path}: SimpleITK cannot read its header"
        if reader.GetDimension() != 3 or (components and reader.GetNumberOfComponents() != 1):
            return f"{path} is not a 3D scalar image"
    return None


def resampleFile(
    inputPath: str, referencePath: str, outputPath: str, *, interpolation: str, compress: bool, mkdir: bool = False
) -> Optional[str]:
    """Resample ``inputPath`` onto ``referencePath``'s grid and write ``outputPath`` (see module docstring).

    Written as every output is (:func:`.outputs.newFiles`: never over a file); returns the folder ``mkdir``
    created, if any. Raises GeometryError, writing nothing, when the input is truncated or the output would be
    empty (every voxel 0 or NaN).
    """
    import SimpleITK as sitk

    problem = truncationProblem(inputPath)  # ITK would fill the missing voxels with 0 without a word
    if problem:
        raise GeometryError(f"{inputPath}: {problem}; nothing written")
    size, origin, spacing, direction = slicerGrid(referencePath)
    image = sitk.ReadImage(inputPath)
    interpolator = sitk.sitkNearestNeighbor if interpolation == "nearest" else sitk.sitkLinear
    resampled = sitk.Resample(
        image, size, sitk.Transform(), interpolator, origin, spacing, direction, 0, image.GetPixelID()
    )
    _refuseEmpty(resampled, image, inputPath, referencePath, outputPath)
    with outputs.newFiles(outputPath, mkdir=mkdir) as written:
        sitk.WriteImage(resampled, written.staged, compress)
    return written.createdFolder


def slicerGrid(path: str) -> Tuple[Tuple[int, ...], Tuple[float, ...], Tuple[float, ...], Tuple[float, ...]]:
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


def _refuseEmpty(resampled: Any, image: Any, inputPath: str, referencePath: str, outputPath: str) -> None:
    """GeometryError when every voxel of the result is 0 or NaN, saying why: an input with no nonzero finite
    voxel (truncated, damaged, all NaN), or a grid that does not overlap the reference's (nothing written).
    The words are those of the scene path (``cli/resamplecmd.py``), whichever path an input takes."""
    if _hasData(resampled):
        return
    if not _hasData(image):
        raise GeometryError(
            f"{inputPath} holds no nonzero finite voxel (every voxel 0 or NaN: a truncated or damaged file?), so "
            f"every voxel of {outputPath} would be 0; nothing written"
        )
    raise GeometryError(
        f"every voxel of {outputPath} would be 0: {inputPath} does not overlap the grid of {referencePath}; "
        f"nothing written"
    )


def _hasData(image: Any) -> bool:
    """Whether a SimpleITK image holds a nonzero finite voxel."""
    import SimpleITK as sitk

    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return bool(np.any(values))
