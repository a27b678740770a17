"""Image files read through their OWN headers (never through Slicer's storage node): the one reader of the
``align`` and ``affine`` commands and of the panel's Align and Conventions tabs; :mod:`.imagewriters` writes.

:func:`readImageFile` reads a file's header once and gives everything both commands need: the shape, the
matrices of the header (:class:`~..geometry.mistakes.HeaderAffines`, for ``align``), its geometry fields
(:class:`~..geometry.conventions.VolumeHeader`, for ``affine``), and a lazy loader of the array with the
numpy lines that load it. :func:`readVolumeHeader` is the ``affine`` command's entry: a file through
:func:`readImageFile`, a DICOM file or folder through :func:`.series.inspectPaths`.

Formats (:data:`READ_EXTENSIONS`), each read by its own library, imported inside the function that needs it
(so ``inspect`` never imports them):

* NIfTI-1 / NIfTI-2 (.nii, .nii.gz, and .hdr/.img pairs with a NIfTI magic; an Analyze pair is refused)
  with nibabel. The geometry fields are the raw header fields: shape (the first three ``dim``),
  ``pixdim[1:4]``, the srow rows and ``sform_code``, ``quatern_b/c/d``, ``qoffset_x/y/z``, ``qfac =
  pixdim[0]`` and ``qform_code``. No matrix of the ``VolumeHeader`` is derived by nibabel: the conventions
  compute them, so that nibabel can serve the tests as an independent oracle. The ``HeaderAffines`` are
  nibabel's ``get_sform``/``get_qform``, the one used chosen as nibabel's ``img.affine`` does.
* MGH / MGZ with nibabel: the raw fields ``Mdc``, ``delta``, ``Pxyz_c`` and the dims, turned into
  FreeSurfer's vox2ras by :func:`~..geometry.conventions.freesurferVox2RAS` (not by nibabel).
* NRRD / NHDR with pynrrd: ``space directions`` and ``space origin`` in the header's ``space``.
* MetaImage (.mha, .mhd) with SimpleITK (header only, ``ReadImageInformation``): origin, spacing and
  direction, ITK's LPS.
* For ``affine`` only (``headerOnly=True``): any other file SimpleITK reads (VTK, GIPL, MINC, TIFF, PNG, ...),
  the same way as MetaImage.

Index order: the file's own, as stored on disk (axis 0 fastest: the order of nibabel's ``dataobj``, of
``nrrd.read`` and of SimpleITK's index (x, y, z)), for every matrix here; a DICOM series' is Slicer IJK.
Frames: ``HeaderAffines`` map to RAS mm exactly as the header says (a NIfTI qfac of -1 and a sheared sform are
kept, nothing is reoriented: Slicer's storage node would force a right-handed IJK and drop the shear); the
``VolumeHeader`` holds RAS fields, and for every format but NIfTI also the voxel -> LPS ``IJKToLPS``.

``align`` needs one scalar 3D volume (a 4D file with one volume, a 2D image as one slice) with a usable
voxel-to-RAS matrix in a patient space; ``affine`` needs only the geometry, so with ``headerOnly=True`` a file
with several volumes, vectors, a NRRD without a patient space (read as LPS, as ITK reads it) or an unusable
NIfTI matrix is read, and why it could not be aligned is kept in :attr:`ImageFile.notAlignable`.
Errors: :class:`~..geometry.errors.GeometryError`, one line, ``"{path}: {reason}"``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import affines, conventions
from ..geometry.errors import GeometryError
from ..geometry.mistakes import HeaderAffines
from ..geometry.sliceheader import pixelSpacingOf
from .headers import readAll
from .series import SeriesGeometry, inspectPaths

NIFTI_EXTENSIONS = (".nii", ".nii.gz", ".hdr", ".img", ".hdr.gz", ".img.gz")
MGH_EXTENSIONS = (".mgh", ".mgz")
NRRD_EXTENSIONS = (".nrrd", ".nhdr")
METAIMAGE_EXTENSIONS = (".mha", ".mhd")
READ_EXTENSIONS = NIFTI_EXTENSIONS + MGH_EXTENSIONS + NRRD_EXTENSIONS + METAIMAGE_EXTENSIONS
VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
"""What Slicer's volumes logic reads and writes for ``resample``, ``compare`` and ``gui`` (either path)."""
"""The files both commands read; ``affine`` also reads any other file SimpleITK reads."""

_Refuse = Callable[[str], None]
"""Records (``headerOnly``) or raises (``align``) why a file cannot be aligned; takes the whole message."""


@dataclasses.dataclass
class ImageFile:
    """One image file as its header gives it.

    ``shape``: the sizes of the first three spatial axes in file order (a 2D image gets a third axis of 1);
    ``header``: the matrices from that index to RAS mm; ``volumeHeader``: the geometry fields the conventions
    compute from (the same read); ``loadLines``: the Python statements (imports included) that define
    ``data``, the same array, for the numpy recipe; ``notAlignable``: why ``align`` cannot use the file (each a
    whole message), empty for every file :func:`readImageFile` returns without ``headerOnly``.
    """

    path: str
    format: str
    shape: Tuple[int, int, int]
    dataType: str
    header: HeaderAffines
    volumeHeader: conventions.VolumeHeader
    loadLines: List[str]
    _loader: Callable[[], np.ndarray] = dataclasses.field(repr=False)
    notAlignable: List[str] = dataclasses.field(default_factory=list)

    def data(self) -> np.ndarray:
        """The array in file order, shape :attr:`shape` (read on first use; a file with ``notAlignable``
        reasons may not have that shape)."""
        array = np.asarray(self._loader())
        return array.reshape(self.shape)


# --------------------------------------------------------------------------- entry points


_MODULE_OF_PACKAGE = {"nibabel": "nibabel", "pynrrd": "nrrd", "SimpleITK": "SimpleITK"}


def requiredPackages(path: str) -> List[str]:
    """The PyPI packages reading ``path`` needs (by its extension): nibabel, pynrrd or SimpleITK."""
    lower = path.lower()
    if lower.endswith((".nrrd", ".nhdr")):
        return ["pynrrd"]
    if lower.endswith((".mha", ".mhd")):
        return ["SimpleITK"]
    return ["nibabel"]


def missingPackages(path: str) -> List[str]:
    """Those of :func:`requiredPackages` that are not installed (Slicer bundles SimpleITK but not the others)."""
    return [name for name in requiredPackages(path) if importlib.util.find_spec(_MODULE_OF_PACKAGE[name]) is None]


def readImageFile(path: str, *, headerOnly: bool = False) -> ImageFile:
    """Read an image file's header, once (the array is read on first use of :meth:`ImageFile.data`).

    Without ``headerOnly`` (``align``): GeometryError for a file of another format or anything that cannot be
    aligned (see the module docstring). ``headerOnly`` (``affine``): also any other format SimpleITK reads, and
    files ``align`` refuses, with the reasons in :attr:`ImageFile.notAlignable`.
    """
    if not os.path.isfile(path):
        raise GeometryError(f"{path}: no such file")
    lower = path.lower()
    notAlignable: List[str] = []

    def refuse(message: str) -> None:
        if not headerOnly:
            raise GeometryError(message)
        notAlignable.append(message)

    reader = _readerOf(lower, headerOnly)
    if reader is None:
        raise GeometryError(f"{path}: not an image file this command reads ({', '.join(READ_EXTENSIONS)})")
    read, formatName, package = reader
    try:
        image = read(path, refuse)
    except GeometryError:
        raise
    except ImportError as error:
        raise GeometryError(f"{path}: reading it needs {error.name or error}: pip install {package}") from None
    except Exception as error:  # a damaged file: say which and why, in one line
        raise GeometryError(f"{path}: not a readable {formatName} file ({_oneLine(error)})") from None
    image.notAlignable = notAlignable
    return image


def readVolumeHeader(path: str) -> conventions.VolumeHeader:
    """The geometry fields of the volume at ``path``: an image file (:func:`readImageFile` with ``headerOnly``;
    the file's own index order) or a DICOM file or folder (:func:`readDICOMHeader`; Slicer IJK).

    Raises GeometryError (with the path and the reason) when nothing usable is there.
    """
    if not os.path.exists(path):
        raise GeometryError(f"{path}: no such file or folder")
    if os.path.isfile(path) and (path.lower().endswith(READ_EXTENSIONS) or not _looksLikeDICOM(path)):
        return readImageFile(path, headerOnly=True).volumeHeader
    return readDICOMHeader(path)


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


def _readerOf(lower: str, headerOnly: bool) -> Optional[Tuple[Callable[[str, _Refuse], ImageFile], str, str]]:
    """``(reader, format name for messages, pip package)`` for a lower-case file name; None if not read."""
    if lower.endswith(NIFTI_EXTENSIONS):
        return _readNIfTI, "NIfTI", "nibabel"
    if lower.endswith(MGH_EXTENSIONS):
        return _readMGH, "MGH", "nibabel"
    if lower.endswith(NRRD_EXTENSIONS):
        return _readNRRD, "NRRD", "pynrrd"
    if lower.endswith(METAIMAGE_EXTENSIONS):
        return _readMetaImage, "MetaImage", "SimpleITK"
    if headerOnly:
        return _readOtherImage, "image", "SimpleITK"
    return None


# --------------------------------------------------------------------------- the formats


def _readNIfTI(path: str, refuse: _Refuse) -> ImageFile:
    import nibabel

    image: Any = nibabel.load(path)
    header = image.header
    if not isinstance(header, nibabel.Nifti1Header):  # Nifti2Header and the pairs' headers are subclasses
        raise GeometryError(f"{path}: {type(header).__name__} is not a NIfTI header (no sform or qform)")
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
    shape = _oneVolume(path, image.shape, refuse)
    unusable = _unusableMatrix(path, used, source)
    if unusable:
        refuse(unusable)
    pixdim = header["pixdim"]
    raw = np.eye(4)
    raw[0], raw[1], raw[2] = header["srow_x"], header["srow_y"], header["srow_z"]
    volumeHeader = conventions.VolumeHeader(
        path=path,
        kind="NIfTI-2" if isinstance(header, nibabel.Nifti2Header) else "NIfTI-1",
        shape=_firstThree(int(header["dim"][axis + 1]) for axis in range(min(3, int(header["dim"][0])))),
        pixdim=(float(pixdim[1]), float(pixdim[2]), float(pixdim[3])),
        sform=raw,
        sformCode=sformCode,
        quaternion=(float(header["quatern_b"]), float(header["quatern_c"]), float(header["quatern_d"])),
        qoffset=(float(header["qoffset_x"]), float(header["qoffset_y"]), float(header["qoffset_z"])),
        qfac=-1.0 if float(pixdim[0]) == -1 else 1.0,
        qformCode=qformCode,
    )
    return ImageFile(
        path=path,
        format="nifti",
        shape=shape,
        dataType=str(header.get_data_dtype()),
        header=HeaderAffines(used, source, sform, sformCode, qform, qformCode),
        volumeHeader=volumeHeader,
        loadLines=_nibabelLines(path, image.shape, shape),
        _loader=lambda: np.asanyarray(image.dataobj),
    )


def _readMGH(path: str, refuse: _Refuse) -> ImageFile:
    import nibabel

    image: Any = nibabel.load(path)  # an MGHImage: the extension decides
    header = image.header
    fileToRAS = conventions.freesurferVox2RAS(
        np.asarray(header["Mdc"], dtype=float).T, header["delta"], header["Pxyz_c"], header["dims"][:3]
    )
    shape = _oneVolume(path, image.shape, refuse)
    return ImageFile(
        path=path,
        format="mgh",
        shape=shape,
        dataType=str(header.get_data_dtype()),
        header=HeaderAffines(_checkedAffine(path, fileToRAS, "vox2ras matrix"), "header"),
        volumeHeader=_singleMatrixHeader(path, "MGH", fileToRAS, image.shape),
        loadLines=_nibabelLines(path, image.shape, shape),
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
_NRRD_DOMAIN_KINDS = ("domain", "space", "time", "???", "none")
"""NRRD axis kinds that hold positions (teem's domain kinds, and an unknown kind, as ITK counts them)."""


def _readNRRD(path: str, refuse: _Refuse) -> ImageFile:
    import nrrd

    header = nrrd.read_header(path)
    sizes = [int(value) for value in header["sizes"]]
    space = str(header.get("space", "")).lower()
    if space not in _NRRD_SPACES or "space directions" not in header:
        refuse(
            f"{path}: the NRRD header has no patient space ('space: {header.get('space', '')}'); "
            f"only left-posterior-superior / right-anterior-superior spaces can be compared with DICOM"
        )
    matrix, spatial = _nrrdMatrix(path, header, sizes)
    if len(spatial) != len(sizes) and any(sizes[n] > 1 for n in range(len(sizes)) if n not in spatial):
        refuse(f"{path}: the NRRD has non-spatial axes with more than one sample (vectors, time)")
    # A space that is not a patient space (scanner-xyz, 3D-right-handed) or none at all: LPS, as ITK reads it.
    fileToRAS = affines.frameChange(_NRRD_SPACES.get(space, "LPS"), "RAS") @ matrix
    spatialSizes = [sizes[n] for n in spatial]
    shape = _oneVolume(path, spatialSizes, refuse)
    absolute = os.path.abspath(path)

    def load() -> np.ndarray:
        data, _ = nrrd.read(path)
        return np.asarray(data).reshape(shape)

    if space in _NRRD_SPACES:
        kind = "NRRD"
    elif space:
        kind = f"NRRD (space '{header['space']}' read as LPS, as ITK does)"
    else:
        kind = "NRRD (no space: read as LPS, as ITK does)"
    return ImageFile(
        path=path,
        format="nrrd",
        shape=shape,
        dataType=str(header.get("type", "")),
        header=HeaderAffines(_checkedAffine(path, fileToRAS, "space directions / space origin"), "header"),
        volumeHeader=_singleMatrixHeader(path, kind, fileToRAS, spatialSizes),
        loadLines=["import numpy", "import nrrd", f"data, _ = nrrd.read({absolute!r})"] + _reshapeLine(sizes, shape),
        _loader=load,
    )


def _nrrdMatrix(path: str, header: Any, sizes: Sequence[int]) -> Tuple[np.ndarray, List[int]]:
    """``(IJK -> space matrix, the spatial axes)``: the first three spatial axes' space directions and the space
    origin; without space directions, ITK's reading: diagonal ``spacings`` (1 where absent), origin the ``axis
    mins`` (moved half a voxel for cell-centred axes, NRRD's default) or 0."""
    matrix = np.eye(4)
    if "space directions" in header:
        directions = np.asarray(header["space directions"], dtype=float)
        if directions.ndim != 2 or directions.shape[1] != 3:
            raise GeometryError(f"{path}: the NRRD's space has {directions.shape[-1]} dimensions; an image needs 3")
        spatial = [n for n in range(len(sizes)) if np.all(np.isfinite(directions[n]))]
        for column, axis in enumerate(spatial[:3]):
            matrix[:3, column] = directions[axis]
        matrix[:3, 3] = np.asarray(header.get("space origin", [0.0, 0.0, 0.0]), dtype=float)
    else:
        spatial = _spatialAxes(header, len(sizes))
        spacings, mins, centers = header.get("spacings"), header.get("axis mins"), header.get("centers")
        for column, axis in enumerate(spatial[:3]):
            step = float(spacings[axis]) if spacings is not None and np.isfinite(spacings[axis]) else 1.0
            matrix[column, column] = step
            if mins is not None and np.isfinite(mins[axis]):
                nodeCentred = centers is not None and str(centers[axis]).lower() == "node"
                matrix[column, 3] = float(mins[axis]) + (0.0 if nodeCentred else step / 2)
    if len(spatial) == 2:
        normal = np.cross(matrix[:3, 0], matrix[:3, 1])
        matrix[:3, 2] = normal / np.linalg.norm(normal)
    return matrix, spatial


def _spatialAxes(header: Any, count: int) -> List[int]:
    """The axes of a NRRD without space directions that hold positions: by ``kinds`` (all without kinds)."""
    kinds = header.get("kinds")
    return [n for n in range(count) if kinds is None or str(kinds[n]).lower() in _NRRD_DOMAIN_KINDS]


def _readMetaImage(path: str, refuse: _Refuse) -> ImageFile:
    return _readWithSimpleITK(path, refuse, "metaimage", "MetaImage")


def _readOtherImage(path: str, refuse: _Refuse) -> ImageFile:
    return _readWithSimpleITK(path, refuse, "image", "image (SimpleITK)")


def _readWithSimpleITK(path: str, refuse: _Refuse, formatName: str, kind: str) -> ImageFile:
    """Header only (``ReadImageInformation``): ITK's origin, spacing and direction are LPS."""
    import SimpleITK

    reader = SimpleITK.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    if reader.GetNumberOfComponents() != 1:
        refuse(f"{path}: {reader.GetNumberOfComponents()} components per voxel; one is needed")
    dimension = reader.GetDimension()
    size = list(reader.GetSize())
    direction = np.asarray(reader.GetDirection(), dtype=float).reshape(dimension, dimension)
    matrix = np.eye(4)
    used = min(dimension, 3)
    matrix[:used, :used] = (direction @ np.diag(reader.GetSpacing()))[:used, :used]
    matrix[:used, 3] = np.asarray(reader.GetOrigin(), dtype=float)[:used]
    fileToRAS = affines.lpsToRAS(matrix)
    shape = _oneVolume(path, size, refuse)
    absolute = os.path.abspath(path)

    def load() -> np.ndarray:
        return np.transpose(SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path)))

    return ImageFile(
        path=path,
        format=formatName,
        shape=shape,
        dataType=SimpleITK.GetPixelIDValueAsString(reader.GetPixelID()),
        header=HeaderAffines(_checkedAffine(path, fileToRAS, "Offset / TransformMatrix / ElementSpacing"), "header"),
        volumeHeader=_singleMatrixHeader(path, kind, fileToRAS, size),
        loadLines=[
            "import numpy",
            "import SimpleITK",
            f"data = numpy.transpose(SimpleITK.GetArrayFromImage(SimpleITK.ReadImage({absolute!r})))",
        ]
        + _reshapeLine(size, shape),
        _loader=load,
    )


# --------------------------------------------------------------------------- shared pieces


def _singleMatrixHeader(path: str, kind: str, fileToRAS: np.ndarray, sizes: Sequence[int]) -> conventions.VolumeHeader:
    """The geometry fields of a format with one matrix (file order -> RAS mm): the header a NIfTI writer would
    give it (:func:`~..geometry.conventions.headerFromIJKToLPS`); the first three sizes."""
    header = conventions.headerFromIJKToLPS(path, affines.rasToLPS(fileToRAS), _firstThree(sizes))
    header.kind = kind
    return header


def _firstThree(sizes: Iterable[Any]) -> Tuple[int, int, int]:
    """The first three sizes, 1 for the axes an image does not have."""
    values = [int(value) for value in sizes][:3]
    values += [1] * (3 - len(values))
    return (values[0], values[1], values[2])


def _oneVolume(path: str, sizes: Sequence[int], refuse: _Refuse) -> Tuple[int, int, int]:
    """The first three sizes; refuses (for ``align``) a file with more than one volume or fewer than 2 axes."""
    values = [int(value) for value in sizes]
    if len(values) < 2 or any(value > 1 for value in values[3:]):
        refuse(
            f"{path}: an image of shape {tuple(sizes)}: only 3D images (or 4D with one volume) can be aligned with "
            f"a DICOM series; split the volumes first"
        )
    return _firstThree(values)


def _reshapeLine(original: Sequence[int], shape: Tuple[int, int, int]) -> List[str]:
    return [] if tuple(int(value) for value in original) == shape else [f"data = data.reshape({shape})"]


def _nibabelLines(path: str, original: Sequence[int], shape: Tuple[int, int, int]) -> List[str]:
    absolute = os.path.abspath(path)
    return [
        "import numpy",
        "import nibabel",
        f"data = numpy.asanyarray(nibabel.load({absolute!r}).dataobj)",
    ] + _reshapeLine(original, shape)


def _unusableMatrix(path: str, matrix: np.ndarray, what: str) -> Optional[str]:
    """Why ``matrix`` is not a usable voxel-to-world matrix (singular or not finite); None if it is."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        return f"{path}: the {what} is not a usable voxel-to-world matrix (singular or not finite)"
    return None


def _checkedAffine(path: str, matrix: np.ndarray, what: str) -> np.ndarray:
    """``matrix``, or GeometryError when it is unusable: a format's only matrix, which both commands need."""
    unusable = _unusableMatrix(path, matrix, what)
    if unusable:
        raise GeometryError(unusable)
    return np.asarray(matrix, dtype=float)


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


def _oneLine(error: BaseException) -> str:
    """``Type: message`` on one line: the last non-empty line (SimpleITK's messages end with the reason)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1][:200]}" if lines else type(error).__name__


# --------------------------------------------------------------------------- truncated volume files


def truncationProblem(path: str) -> Optional[str]:
    """Why a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file holds fewer voxel bytes than its header
    describes, in plain words; ``None`` when it holds them all or the format is not checked (MetaImage, MGH).

    Slicer's volumes logic (ITK) loads such a file without a word and fills the missing voxels with 0, so a
    truncated copy would give a half-empty (or all-zero) result that looks like data. Compressed data is
    decompressed once, as a stream, to count its bytes (a cut gzip stream is itself the answer).
    """
    lower = path.lower()
    try:
        if lower.endswith((".nii", ".nii.gz")):
            return _niftiShortfall(path)
        if lower.endswith(NRRD_EXTENSIONS):
            return _nrrdShortfall(path)
    except ImportError:  # nibabel or pynrrd missing: the reader that needs them says so
        return None
    return None


def _niftiShortfall(path: str) -> Optional[str]:
    import nibabel

    try:
        image = nibabel.load(path)
    except Exception as error:  # noqa: BLE001  nibabel's many errors: not a readable NIfTI header
        return f"not a readable NIfTI file ({_oneLine(error)})"
    header: Any = image.header  # a Nifti1Header or Nifti2Header (nibabel types it as its base class)
    start = int(header.get("vox_offset", 0))
    needed = int(np.prod(header.get_data_shape(), dtype=np.int64)) * header.get_data_dtype().itemsize
    available = _bytesAfter(path, start, compressed=path.lower().endswith(".gz"))
    return _shortfall(available, needed)


def _nrrdShortfall(path: str) -> Optional[str]:
    import nrrd

    try:
        with open(path, "rb") as stream:
            header = nrrd.read_header(stream)
            start = stream.tell()
    except Exception as error:  # noqa: BLE001  pynrrd's errors: not a readable NRRD header
        return f"not a readable NRRD header ({_oneLine(error)})"
    encoding = str(header.get("encoding", "raw")).lower()
    if encoding not in ("raw", "gzip", "gz"):
        return None  # text, bzip2...: not checked here
    dataFile = header.get("data file") or header.get("datafile")
    if dataFile:
        if not isinstance(dataFile, str) or "%" in dataFile or dataFile.upper().startswith("LIST"):
            return None  # several data files: not checked here
        dataPath = dataFile if os.path.isabs(dataFile) else os.path.join(os.path.dirname(path), dataFile)
        if not os.path.isfile(dataPath):
            return f"its data file {dataPath} is missing"
        path, start = dataPath, int(header.get("byte skip", 0) or 0)
    dtype = nrrd.reader._determine_datatype(header)
    needed = int(np.prod(header["sizes"], dtype=np.int64)) * dtype.itemsize
    return _shortfall(_bytesAfter(path, start, compressed=encoding != "raw"), needed)


def _bytesAfter(path: str, start: int, *, compressed: bool) -> int:
    """How many voxel bytes ``path`` holds from ``start``: the file's own bytes, or (``compressed``) those of the
    gzip stream, decompressed: the whole file's (NIfTI .nii.gz: ``start`` counts in the decompressed bytes), or
    from ``start`` on (NRRD: the gzip stream follows the text header). -1 for a cut compressed stream."""
    if not compressed:
        return max(0, os.path.getsize(path) - start)
    import gzip
    import zlib

    wholeFile = path.lower().endswith(".gz")
    total = 0
    try:
        with open(path, "rb") as raw:
            if not wholeFile:
                raw.seek(start)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    total += len(block)
    except (EOFError, OSError, zlib.error):
        return -1
    return max(0, total - start) if wholeFile else total


def _shortfall(available: int, needed: int) -> Optional[str]:
    if available < 0:
        return "truncated: its compressed data stream ends before its end"
    if available < needed:
        return f"truncated: it holds {available} bytes of voxel data, its header describes {needed}"
    return None
