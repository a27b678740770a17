"""File-to-file resampling without a scene: a volume file onto another volume file's grid, with SimpleITK.

``resample`` takes this way when INPUT and REF are both volume files, the
interpolation is nearest or linear and both are 3D scalar images: no DICOM,
so no acquisition transform and nothing that needs Slicer's scene. It gives
what :func:`..mrml.logic.resampleToReference` gives on the nodes Slicer's
volumes logic loads from the same files (both read with ITK: same grid, same
world, voxels outside the input 0, the input's pixel type), at a fraction of
the cost: no slicer-core (0.7 s of CPU to import), no scene, no display
nodes, REF's voxels never read (its header holds the grid), and the output
written uncompressed unless asked for. Two differences in the engines,
measured by ``Testing/test_resample_direct.py``: for linear interpolation
into an integer type ITK truncates where VTK rounds (at most 1 grey level),
and for nearest neighbour a voxel whose input index lies within about 1e-5 of
a half-way point (a tie) may take the other neighbour, as vtkImageReslice
maps points in single precision.
"""

from __future__ import annotations

from typing import Optional

from ..geometry.errors import GeometryError

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


def resampleFile(inputPath: str, referencePath: str, outputPath: str, *, interpolation: str, compress: bool) -> None:
    """Resample ``inputPath`` onto ``referencePath``'s grid and write ``outputPath`` (see module docstring).

    Raises GeometryError when the output would be empty (no input voxel lies on the reference grid).
    """
    import SimpleITK as sitk

    reference = sitk.ImageFileReader()
    reference.SetFileName(referencePath)
    reference.ReadImageInformation()  # the grid only: REF's voxels are never read
    image = sitk.ReadImage(inputPath)
    interpolator = sitk.sitkNearestNeighbor if interpolation == "nearest" else sitk.sitkLinear
    resampled = sitk.Resample(
        image,
        reference.GetSize(),
        sitk.Transform(),
        interpolator,
        reference.GetOrigin(),
        reference.GetSpacing(),
        reference.GetDirection(),
        0,
        image.GetPixelID(),
    )
    _refuseEmpty(resampled, outputPath)
    sitk.WriteImage(resampled, outputPath, compress)


def _refuseEmpty(image: object, outputPath: str) -> None:
    """GeometryError when every voxel is 0: the input does not reach the reference grid (nothing written)."""
    import SimpleITK as sitk

    extremes = sitk.MinimumMaximumImageFilter()
    extremes.Execute(image)
    if extremes.GetMinimum() == 0 and extremes.GetMaximum() == 0:
        raise GeometryError(
            f"{outputPath}: every voxel would be 0 (the input does not overlap the reference grid); nothing written"
        )
