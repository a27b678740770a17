"""Image files read through their OWN headers (never through Slicer's storage node); :mod:`.imagewriters` writes.

Reading: NIfTI (.nii, .nii.gz) and MGH (.mgh, .mgz) with nibabel, NRRD (.nrrd, .nhdr) with pynrrd, MetaImage
(.mha, .mhd) with SimpleITK. Each is imported inside the function that needs it, so ``inspect`` never imports
them. The array is kept in the file's own index order as stored on disk (axis 0 fastest: the order of
nibabel's ``dataobj``, of ``nrrd.read`` and of SimpleITK's index (x, y, z)); ``fileToRAS`` maps that index
to RAS mm exactly as the header says: a NIfTI qfac of -1 and a sheared sform are kept, nothing is
reoriented (Slicer's storage node would force a right-handed IJK and drop the shear).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np

from ..geometry import affines
from ..geometry.errors import GeometryError
from ..geometry.mistakes import HeaderAffines

READ_EXTENSIONS = (".nii", ".nii.gz", ".mgh", ".mgz", ".nrrd", ".nhdr", ".mha", ".mhd")


@dataclasses.dataclass
class ImageFile:
    """One image file as its header gives it.

    ``shape`` is the array's (n0, n1, n2) in file order (trailing axes of size 1 dropped; a 2D image gets a
    third axis of size 1); ``header`` the matrices from that index to RAS mm; ``loadLines`` the Python
    statements (imports included) that define ``data``, the same array, for the numpy recipe.
    """

    path: str
    format: str
    shape: Tuple[int, int, int]
    dataType: str
    header: HeaderAffines
    loadLines: List[str]
    _loader: Callable[[], np.ndarray] = dataclasses.field(repr=False)

    def data(self) -> np.ndarray:
        """The array in file order, shape :attr:`shape` (read on first use)."""
        array = np.asarray(self._loader())
        return array.reshape(self.shape)


def readImageFile(path: str) -> ImageFile:
    """Read an image file's header (and, lazily, its array). GeometryError for anything that cannot be used."""
    if not os.path.isfile(path):
        raise GeometryError(f"{path}: no such file")
    lower = path.lower()
    try:
        if lower.endswith((".nii", ".nii.gz")):
            return _readNIfTI(path)
        if lower.endswith((".mgh", ".mgz")):
            return _readMGH(path)
        if lower.endswith((".nrrd", ".nhdr")):
            return _readNRRD(path)
        if lower.endswith((".mha", ".mhd")):
            return _readMetaImage(path)
    except GeometryError:
        raise
    except ImportError as error:
        raise GeometryError(f"{path}: reading it needs {error.name or error}: pip install {_package(lower)}") from None
    except Exception as error:  # a damaged file: say which and why, in one line
        raise GeometryError(f"{path}: cannot be read as an image ({type(error).__name__}: {error})") from None
    raise GeometryError(f"{path}: not an image file this command reads ({', '.join(READ_EXTENSIONS)})")


def _package(lower: str) -> str:
    if lower.endswith((".nrrd", ".nhdr")):
        return "pynrrd"
    if lower.endswith((".mha", ".mhd")):
        return "SimpleITK (pip install 'affine-inspector[images]')"
    return "nibabel"


def _threeAxes(path: str, shape: Sequence[int]) -> Tuple[int, int, int]:
    """The array's shape as 3 axes: a 2D image gets a slice axis of 1, trailing axes of 1 are dropped."""
    sizes = [int(value) for value in shape]
    while len(sizes) > 3 and sizes[-1] == 1:
        sizes.pop()
    if len(sizes) == 2:
        sizes.append(1)
    if len(sizes) != 3:
        raise GeometryError(
            f"{path}: an image of shape {tuple(shape)}: only 3D images (or 4D with one volume) can be aligned with "
            f"a DICOM series; split the volumes first"
        )
    return (sizes[0], sizes[1], sizes[2])


def _reshapeLine(original: Sequence[int], shape: Tuple[int, int, int]) -> List[str]:
    return [] if tuple(int(value) for value in original) == shape else [f"data = data.reshape({shape})"]


def _checkedAffine(path: str, matrix: np.ndarray, what: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        raise GeometryError(f"{path}: the {what} is not a usable voxel-to-world matrix (singular or not finite)")
    return matrix


def _readNIfTI(path: str) -> ImageFile:
    import nibabel

    image: Any = nibabel.load(path)  # Nifti1Image / Nifti2Image / MGHImage
    header = image.header
    sformCode, qformCode = int(header["sform_code"]), int(header["qform_code"])
    sform = np.asarray(header.get_sform(), dtype=float)
    qform = np.asarray(header.get_qform(), dtype=float)
    # nibabel's rule (Nifti1Header.get_best_affine): the sform when its code is set, else the qform, else pixdim.
    if sformCode > 0:
        source, used = "sform", sform
    elif qformCode > 0:
        source, used = "qform", qform
    else:
        source, used = "pixdim (no sform or qform code set)", np.asarray(header.get_base_affine(), dtype=float)
    shape = _threeAxes(path, image.shape)
    absolute = os.path.abspath(path)
    return ImageFile(
        path=path,
        format="nifti",
        shape=shape,
        dataType=str(header.get_data_dtype()),
        header=HeaderAffines(_checkedAffine(path, used, source), source, sform, sformCode, qform, qformCode),
        loadLines=["import numpy", "import nibabel", f"data = numpy.asanyarray(nibabel.load({absolute!r}).dataobj)"]
        + _reshapeLine(image.shape, shape),
        _loader=lambda: np.asanyarray(image.dataobj),
    )


def _readMGH(path: str) -> ImageFile:
    import nibabel

    image: Any = nibabel.load(path)  # Nifti1Image / Nifti2Image / MGHImage
    shape = _threeAxes(path, image.shape)
    absolute = os.path.abspath(path)
    return ImageFile(
        path=path,
        format="mgh",
        shape=shape,
        dataType=str(image.header.get_data_dtype()),
        header=HeaderAffines(_checkedAffine(path, image.affine, "vox2ras matrix"), "header"),
        loadLines=["import numpy", "import nibabel", f"data = numpy.asanyarray(nibabel.load({absolute!r}).dataobj)"]
        + _reshapeLine(image.shape, shape),
        _loader=lambda: np.asanyarray(image.dataobj),
    )


_NRRD_SPACES = {
    "left-posterior-superior": "LPS",
    "lps": "LPS",
    "right-anterior-superior": "RAS",
    "ras": "RAS",
    "left-anterior-superior": "LAS",
    "las": "LAS",
}


def _readNRRD(path: str) -> ImageFile:
    import nrrd

    header = nrrd.read_header(path)
    sizes = [int(value) for value in header["sizes"]]
    space = str(header.get("space", "")).lower()
    if space not in _NRRD_SPACES or "space directions" not in header:
        raise GeometryError(
            f"{path}: the NRRD header has no patient space ('space: {header.get('space', '')}'); "
            f"only left-posterior-superior / right-anterior-superior spaces can be compared with DICOM"
        )
    directions = np.asarray(header["space directions"], dtype=float)
    spatial = [n for n in range(len(sizes)) if np.all(np.isfinite(directions[n]))]
    if len(spatial) != len(sizes) and any(sizes[n] > 1 for n in range(len(sizes)) if n not in spatial):
        raise GeometryError(f"{path}: the NRRD has non-spatial axes with more than one sample (vectors, time)")
    matrix = np.eye(4)
    for column, axis in enumerate(spatial[:3]):
        matrix[:3, column] = directions[axis]
    matrix[:3, 3] = np.asarray(header.get("space origin", [0.0, 0.0, 0.0]), dtype=float)
    if len(spatial) == 2:
        matrix[:3, 2] = np.cross(matrix[:3, 0], matrix[:3, 1]) / np.linalg.norm(np.cross(matrix[:3, 0], matrix[:3, 1]))
    matrix = affines.frameChange(_NRRD_SPACES[space], "RAS") @ matrix
    spatialSizes = [sizes[n] for n in spatial]
    shape = _threeAxes(path, spatialSizes)
    absolute = os.path.abspath(path)

    def load() -> np.ndarray:
        data, _ = nrrd.read(path)
        return np.asarray(data).reshape(shape)

    return ImageFile(
        path=path,
        format="nrrd",
        shape=shape,
        dataType=str(header.get("type", "")),
        header=HeaderAffines(_checkedAffine(path, matrix, "space directions / space origin"), "header"),
        loadLines=["import numpy", "import nrrd", f"data, _ = nrrd.read({absolute!r})"] + _reshapeLine(sizes, shape),
        _loader=load,
    )


def _readMetaImage(path: str) -> ImageFile:
    import SimpleITK

    reader = SimpleITK.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    if reader.GetNumberOfComponents() != 1:
        raise GeometryError(f"{path}: {reader.GetNumberOfComponents()} components per voxel; one is needed")
    dimension = reader.GetDimension()
    size = list(reader.GetSize())
    direction = np.asarray(reader.GetDirection(), dtype=float).reshape(dimension, dimension)
    matrix = np.eye(4)
    used = min(dimension, 3)
    matrix[:used, :used] = (direction @ np.diag(reader.GetSpacing()))[:used, :used]
    matrix[:used, 3] = np.asarray(reader.GetOrigin(), dtype=float)[:used]
    matrix = affines.lpsToRAS(matrix)  # ITK's physical space is LPS
    shape = _threeAxes(path, size)
    absolute = os.path.abspath(path)

    def load() -> np.ndarray:
        return np.transpose(SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path)))

    return ImageFile(
        path=path,
        format="metaimage",
        shape=shape,
        dataType=SimpleITK.GetPixelIDValueAsString(reader.GetPixelID()),
        header=HeaderAffines(_checkedAffine(path, matrix, "Offset / TransformMatrix / ElementSpacing"), "header"),
        loadLines=[
            "import numpy",
            "import SimpleITK",
            f"data = numpy.transpose(SimpleITK.GetArrayFromImage(SimpleITK.ReadImage({absolute!r})))",
        ]
        + _reshapeLine(size, shape),
        _loader=load,
    )
