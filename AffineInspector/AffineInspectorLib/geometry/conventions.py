"""One volume's voxel-to-world matrix as each program states it: Slicer, ITK, DICOM, NIfTI, FSL, SPM, FreeSurfer, AIMS.

Pure numpy. The input is a :class:`VolumeHeader`: the geometry fields a volume's own header holds (a NIfTI
file's sform/qform, quaternion and pixdim, or a DICOM series' ``IJKToLPS``), always with voxel indices in the
FILE's own order (i fastest in the file; for a DICOM series Slicer IJK: i = column along IOP[0:3], j = row
along IOP[3:6], k = slice in Slicer's sorted order). :func:`conventions` gives one :class:`ConventionMatrix`
per program; every ``matrix`` maps that program's numbering of the FILE's voxels (0-based unless
``indexBase`` says 1) to the named space. World frames: RAS = diag(-1, -1, 1) . LPS.

Where each rule comes from (read in the programs' public sources and documents, re-written here):

* ``slicer``: Slicer reads a file with ITK, so its IJKToRAS is ITK's matrix with x and y negated; Slicer's
  volumes reader (vtkITKArchetypeImageSeriesReader) then reverses k for a left-handed matrix, so a node's IJK
  is not always the file's (measured on slicer-core 5.13: k reversed, origin moved to the last slice).
* ``itk``: for DICOM, IOP normalised and PixelSpacing (as ITK's GDCM reader); for NIfTI,
  ITK's ``NiftiImageIO::SetImageIOOrientationFromNIfTI`` (ITK 5.3+): the sform when it has no shear
  and is coded scanner-anatomical, or is the only form, or agrees with the qform; else the qform; both codes 0:
  identity direction, origin 0. Spacing is always pixdim; direction is the chosen matrix's normalised columns.
* ``nifti-qform``: ``nifti_quatern_to_mat44`` and ``nifti_mat44_to_quatern`` (nifti1_io.c), the NIfTI-1
  standard's quaternion with qfac = pixdim[0].
* ``fsl``: FLIRT's "scaled voxel" coordinates (FSL FLIRT FAQ; fslpy ``Nifti.generateAffines``):
  diag(pixdim), and x reversed, ``x -> (nx - 1) * dx - x``, when the voxel-to-world determinant is positive.
  World: sform if coded, else qform if coded, else diag(pixdim).
* ``spm``: ``M = A . T(-1)``: SPM's ``mat`` maps 1-based voxels (MATLAB) to mm (nibabel ``spm99analyze``).
* ``freesurfer-tkr``: ``MRIxfmCRS2XYZtkreg``: a fixed LIA layout centred on the volume,
  ``[[-dx, 0, 0, dx nx/2], [0, 0, dz, -dz nz/2], [0, -dy, 0, dy ny/2]]`` (nibabel ``MGHHeader.get_vox2ras_tkr``).
* ``aims``: AIMS/Anatomist load every image reoriented to x right->left, y front->back, z top->bottom (LPI,
  an indirect frame), origin at the centre of the first voxel of that order, mm = index x voxel size
  (AIMS documentation, "Referentials"). ``aims-spm`` is the AIMS-to-SPM matrix: for an image stored in SPM's
  orientation it is the documentation's ``ASA = OA . FA``, FA = flip of every axis about T = (dim - 1) x voxel
  size, OA = translation by -O, O = (origin - 1) x voxel size.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import affines
from .errors import GeometryError
from .formats import formatMatrix
from .stack import SliceRow

_T = TypeVar("_T")

NIFTI_XFORM_SCANNER_ANAT = 1

CONVENTION_NAMES = (
    "slicer",
    "slicer-loaded",
    "itk",
    "dicom",
    "nifti-sform",
    "nifti-qform",
    "fsl",
    "spm",
    "freesurfer-tkr",
    "aims",
    "aims-spm",
)
"""Every convention :func:`conventions` returns, in the order the command line and the panel list them."""

AIMS_AXES = ("L", "P", "I")
"""AIMS's internal axes: x increases to the Left (right to left), y Posterior (front to back), z Inferior."""

_EXACT_VOXELS = 1e-4
"""A voxel-to-voxel entry this close to an integer is that integer (headers hold float32 values)."""


@dataclasses.dataclass
class VolumeHeader:
    """The geometry a volume's own header states, voxel indices in the FILE's order (i fastest).

    ``shape``: sizes along the file's (i, j, k). ``pixdim``: the header's voxel sizes (NIfTI pixdim[1:4]; for
    DICOM the column lengths of IJKToLPS). ``sform`` (voxel -> RAS mm) with ``sformCode``; the qform as the
    header stores it: ``quaternion`` (b, c, d), ``qoffset`` (x, y, z, RAS mm), ``qfac`` (pixdim[0]: -1
    reverses k) and ``qformCode``. ``IJKToLPS``: the voxel -> LPS matrix of a DICOM series (Slicer IJK) or of
    a file format with one matrix (MGH, NRRD, MetaImage, ...: :func:`headerFromIJKToLPS`), None for a NIfTI
    file. ``kind``: "DICOM series", "NIfTI-1", "NIfTI-2", "MGH", "NRRD", "MetaImage" or the reader that gave
    the record.
    """

    path: str
    kind: str
    shape: Tuple[int, int, int]
    pixdim: Tuple[float, float, float]
    sform: np.ndarray
    sformCode: int
    quaternion: Tuple[float, float, float]
    qoffset: Tuple[float, float, float]
    qfac: float
    qformCode: int
    IJKToLPS: Optional[np.ndarray] = None


@dataclasses.dataclass
class ITKGeometry:
    """An image's geometry as ITK and SimpleITK report it: LPS ``origin`` (mm), ``spacing`` (mm, along
    the file's i, j, k), ``direction`` (3x3 row-major tuple, as ``GetDirection()``), and which header matrix
    it came from (``follows``: "sform", "qform", "none" or "DICOM")."""

    origin: Tuple[float, float, float]
    spacing: Tuple[float, float, float]
    direction: Tuple[float, ...]
    follows: str


@dataclasses.dataclass
class ConventionMatrix:
    """One program's voxel-to-space matrix of one volume.

    ``matrix`` maps the program's index of the FILE's voxels, base ``indexBase`` (SPM counts from 1), to the
    space ``to`` (for ``slicer-loaded``: Slicer's re-indexed IJK, see ``indexFromFile``; for ``aims-spm``: AIMS
    mm). ``indexFromFile`` maps the file's 0-based (i, j, k) to the index ``matrix`` takes. ``toWorld`` maps
    the space to the RAS world mm the program places the volume in (``world`` says which header matrix that
    is). ``axisCodes``: the patient direction of each of the index axes ``matrix`` takes; ``spaceCodes``: of
    each axis of the space. ``handedness`` of ``matrix`` (sign of the 3x3 determinant). ``parameters``: the
    convention's own numbers (ITK's origin/spacing/direction, the qform's quaternion, FSL's flip, ...).
    """

    name: str
    matrix: np.ndarray
    source: str = dataclasses.field(metadata={"json": "from"})
    to: str
    indexBase: int
    indexFromFile: np.ndarray
    toWorld: np.ndarray
    world: str
    axisCodes: Optional[Tuple[str, str, str]]
    spaceCodes: Optional[Tuple[str, str, str]]
    handedness: str
    meaning: str
    notes: List[str] = dataclasses.field(default_factory=list)
    parameters: Dict[str, Any] = dataclasses.field(default_factory=dict)
    inverse: Optional[np.ndarray] = None

    def fromFileVoxels(self) -> np.ndarray:
        """The 4x4 map from the file's 0-based (i, j, k) to this space: ``matrix . indexFromFile``."""
        return self.matrix @ self.indexFromFile


# --------------------------------------------------------------------------- small pure pieces


def translation(offset: Sequence[float]) -> np.ndarray:
    """The 4x4 translation by ``offset`` (3 values).

    Examples
    --------
    >>> translation([1, 2, 3])[:3, 3].tolist()
    [1.0, 2.0, 3.0]
    """
    values = np.asarray(offset, dtype=float)
    if values.shape != (3,):
        raise ValueError(f'Argument "offset" must have length 3, got shape {values.shape}')
    matrix = np.eye(4)
    matrix[:3, 3] = values
    return matrix


def handedness(matrix: npt.ArrayLike) -> str:
    """ "right-handed" when the 3x3 part's determinant is positive, "left-handed" when negative, else "degenerate".

    Examples
    --------
    >>> handedness(np.diag([-1.0, 1.0, 1.0, 1.0]))
    'left-handed'
    """
    determinant = float(np.linalg.det(np.asarray(matrix, dtype=float)[:3, :3]))
    if determinant > 0:
        return "right-handed"
    return "left-handed" if determinant < 0 else "degenerate"


def quaternionToMatrix(
    quaternion: Sequence[float], qoffset: Sequence[float], pixdim: Sequence[float], qfac: float
) -> np.ndarray:
    """The NIfTI qform (voxel i, j, k in file order -> RAS mm) from the header's quaternion fields.

    Port of ``nifti_quatern_to_mat44`` (nifti1_io.c): a = sqrt(1 - b^2 - c^2 - d^2) (b, c, d renormalised
    and a = 0 when that is below 1e-7); voxel sizes <= 0 count as 1; qfac = pixdim[0], anything but -1 is +1.

    Examples
    --------
    >>> quaternionToMatrix([0, 0, 0], [1, 2, 3], [2, 2, 2], -1.0).diagonal().tolist()
    [2.0, 2.0, -2.0, 1.0]
    """
    b, c, d = (float(value) for value in quaternion)
    a = 1.0 - (b * b + c * c + d * d)
    if a < 1e-7:
        norm = np.sqrt(b * b + c * c + d * d)
        b, c, d, a = b / norm, c / norm, d / norm, 0.0
    else:
        a = float(np.sqrt(a))
    sizes = [float(value) if float(value) > 0 else 1.0 for value in pixdim]
    if qfac < 0:
        sizes[2] = -sizes[2]
    rotation = np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
    )
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(sizes)
    matrix[:3, 3] = np.asarray(qoffset, dtype=float)
    return matrix


def matrixToQuaternion(
    voxelToRAS: npt.ArrayLike,
) -> Tuple[Tuple[float, float, float], Tuple[float, float, float], Tuple[float, float, float], float]:
    """``(quaternion (b, c, d), qoffset, pixdim, qfac)`` of the qform closest to a voxel -> RAS matrix.

    What a NIfTI writer stores (``nifti_mat44_to_quatern``): voxel sizes are the column lengths, qfac = -1
    when the matrix is left-handed (k reversed), the rotation is the closest orthogonal matrix (polar
    decomposition, so a shear is dropped) and the quaternion has a >= 0.

    Examples
    --------
    >>> q, offset, sizes, qfac = matrixToQuaternion(np.diag([-2.0, 2.0, 2.0, 1.0]))
    >>> [round(value, 6) for value in q], qfac
    ([0.0, 1.0, 0.0], -1.0)
    """
    matrix = np.asarray(voxelToRAS, dtype=float)
    sizes = affines.columnNorms(matrix)
    if np.any(sizes == 0):
        raise GeometryError("a voxel axis has zero length: no qform can represent this matrix")
    rotation = matrix[:3, :3] / sizes
    qfac = 1.0
    if np.linalg.det(rotation) < 0:
        qfac = -1.0
        rotation[:, 2] = -rotation[:, 2]
    left, _, right = np.linalg.svd(rotation)
    rotation = left @ right
    quaternion = _rotationToQuaternion(rotation)
    return (
        (quaternion[1], quaternion[2], quaternion[3]),
        (float(matrix[0, 3]), float(matrix[1, 3]), float(matrix[2, 3])),
        (float(sizes[0]), float(sizes[1]), float(sizes[2])),
        qfac,
    )


def _rotationToQuaternion(rotation: np.ndarray) -> Tuple[float, float, float, float]:
    """(a, b, c, d) of a proper rotation, a >= 0 (Shepperd's method: divide by the largest of 4 candidates)."""
    r = rotation
    candidates = [1 + r[0, 0] + r[1, 1] + r[2, 2], 1 + r[0, 0] - r[1, 1] - r[2, 2]]
    candidates += [1 - r[0, 0] + r[1, 1] - r[2, 2], 1 - r[0, 0] - r[1, 1] + r[2, 2]]
    largest = int(np.argmax(candidates))
    s = 2.0 * np.sqrt(max(candidates[largest], 0.0))
    if largest == 0:
        q = (s / 4, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s)
    elif largest == 1:
        q = ((r[2, 1] - r[1, 2]) / s, s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s)
    elif largest == 2:
        q = ((r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s)
    else:
        q = ((r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4)
    sign = -1.0 if q[0] < 0 else 1.0
    a, b, c, d = (sign * float(value) for value in q)
    return a, b, c, d


def headerFromIJKToLPS(
    path: str, IJKToLPS: npt.ArrayLike, dimensions: Sequence[int], spacing: Optional[Sequence[float]] = None
) -> VolumeHeader:
    """The header a DICOM series' geometry amounts to, index order Slicer IJK; also the header of a file format
    whose only matrix is voxel -> LPS (MGH, NRRD, MetaImage, ...), index order the file's.

    ``spacing``: the voxel sizes programs record, (PixelSpacing[1], PixelSpacing[0], slice step); default the
    column lengths. IOP cosines in a file are decimal strings, rarely unit vectors to the last digit: ITK
    (and so every converter built on it) normalises them and keeps PixelSpacing. The sform is that
    normalised matrix in RAS (code 1), the qform the one a NIfTI writer derives from it (shear dropped);
    ``IJKToLPS`` keeps the files' values exactly (the ``dicom`` convention).
    """
    matrix = np.asarray(IJKToLPS, dtype=float)
    sizes = affines.columnNorms(matrix) if spacing is None else np.asarray(spacing, dtype=float)
    normalised = matrix.copy()
    normalised[:3, :3] = matrix[:3, :3] / affines.columnNorms(matrix) * sizes
    IJKToRAS = affines.lpsToRAS(normalised)
    quaternion, qoffset, _, qfac = matrixToQuaternion(IJKToRAS)
    return VolumeHeader(
        path=path,
        kind="DICOM series",
        shape=_three(int(value) for value in dimensions),
        pixdim=_three(float(value) for value in sizes),
        sform=IJKToRAS,
        sformCode=NIFTI_XFORM_SCANNER_ANAT,
        quaternion=quaternion,
        qoffset=qoffset,
        qfac=qfac,
        qformCode=NIFTI_XFORM_SCANNER_ANAT,
        IJKToLPS=matrix,
    )


def qformOf(header: VolumeHeader) -> np.ndarray:
    """The header's qform matrix (file voxel -> RAS mm), from its quaternion fields."""
    return quaternionToMatrix(header.quaternion, header.qoffset, header.pixdim, header.qfac)


def baseAffine(shape: Sequence[int], pixdim: Sequence[float]) -> np.ndarray:
    """The Analyze fallback nibabel (and SPM99) use without sform or qform: x reversed, centre voxel at 0.

    ``diag(-dx, dy, dz)`` with the voxel ``(dim - 1) / 2`` at the origin (nibabel ``AnalyzeHeader.get_base_affine``).

    Examples
    --------
    >>> baseAffine([3, 3, 3], [2, 2, 2])[:3, 3].tolist()
    [2.0, -2.0, -2.0]
    """
    sizes = np.array([-float(pixdim[0]), float(pixdim[1]), float(pixdim[2])])
    centre = (np.asarray(shape, dtype=float) - 1) / 2
    matrix = np.diag([*sizes, 1.0])
    matrix[:3, 3] = -centre * sizes
    return matrix


def bestAffine(header: VolumeHeader) -> Tuple[np.ndarray, str]:
    """``(voxel -> RAS, which)``: the sform if coded, else the qform if coded, else :func:`baseAffine`.

    The rule nibabel (``get_best_affine``), SPM and FreeSurfer apply to a NIfTI; ``which`` is "sform",
    "qform" or "none (Analyze fallback)". A DICOM series': its IJKToRAS with the IOP cosines normalised
    (:func:`headerFromIJKToLPS`), "DICOM".
    """
    if header.IJKToLPS is not None:
        return np.asarray(header.sform, dtype=float), "DICOM"
    if header.sformCode > 0:
        return np.asarray(header.sform, dtype=float), "sform"
    if header.qformCode > 0:
        return qformOf(header), "qform"
    return baseAffine(header.shape, header.pixdim), "none (Analyze fallback)"


# --------------------------------------------------------------------------- ITK's choice


def itkGeometry(header: VolumeHeader) -> ITKGeometry:
    """Origin, spacing and direction (LPS) as ITK's NIfTI reader gives them; a DICOM series' from IJKToLPS.

    Port of the choice in ``itk::NiftiImageIO::SetImageIOOrientationFromNIfTI`` (ITK 5.3+): start from "sform
    and qform agree element by element"; if the sform is coded and has no shear (normalised columns
    orthonormal within 1e-4), prefer it when the qform is not coded, when its code is 1 (scanner anatomical),
    or, with both coded, when the two agree after an SVD comparison (1e-4); otherwise use the qform if coded.
    Spacing is pixdim, the direction the chosen matrix's normalised columns in LPS. Both codes 0: identity
    direction, origin 0. A sheared sform with no qform code is refused, as ITK refuses it.
    """
    if header.IJKToLPS is not None:
        matrix = affines.rasToLPS(header.sform)  # IOP normalised, PixelSpacing kept, as ITK's DICOM reader
        direction = matrix[:3, :3] / affines.columnNorms(matrix)
        return _itkRecord(direction, matrix[:3, 3], np.asarray(header.pixdim, dtype=float), "DICOM")
    spacing = np.array([value if value > 0 else 1.0 for value in header.pixdim])
    if header.sformCode <= 0 and header.qformCode <= 0:
        return _itkRecord(np.eye(3), np.zeros(3), spacing, "none")
    chosen = _itkChoice(header)
    if chosen is None:
        raise GeometryError(
            f"{header.path}: the sform is sheared and there is no qform: ITK refuses this file "
            "('ITK only supports orthonormal direction cosines')"
        )
    which, matrixRAS = chosen
    lps = affines.rasToLPS(matrixRAS)
    direction = lps[:3, :3] / affines.columnNorms(lps)
    return _itkRecord(direction, lps[:3, 3], spacing, which)


def _itkChoice(header: VolumeHeader) -> Optional[Tuple[str, np.ndarray]]:
    sform = np.asarray(header.sform, dtype=float) if header.sformCode > 0 else np.zeros((4, 4))
    qform = qformOf(header) if header.qformCode > 0 else np.diag([*header.pixdim, 1.0])
    preferSform = bool(
        np.all(np.abs(sform[:3, :3] - qform[:3, :3]) <= 1e-5)
        and np.abs(sform[:, 3] - qform[:, 3]).sum() <= 1e-7
        and np.abs(sform[3] - qform[3]).sum() <= 1e-7
    )
    if (not preferSform or header.sformCode > 0) and _withoutShear(sform):
        if header.qformCode <= 0 and header.sformCode > 0:
            preferSform = True
        elif header.sformCode == NIFTI_XFORM_SCANNER_ANAT:
            preferSform = True
        elif header.qformCode > 0 and header.sformCode > 0:
            preferSform = _verySimilar(sform, qform)
    if preferSform:
        return "sform", sform
    if header.qformCode > 0:
        return "qform", qform
    return None


def _withoutShear(matrix: np.ndarray) -> bool:
    if np.any(matrix[3] != [0, 0, 0, 1]) or abs(np.linalg.det(matrix)) == 0:
        return False
    norms = affines.columnNorms(matrix)
    if np.any(norms == 0):
        return False
    rotation = matrix[:3, :3] / norms
    return bool(np.all(np.abs(rotation @ rotation.T - np.eye(3)) <= 1e-4))


def _verySimilar(sform: np.ndarray, qform: np.ndarray) -> bool:
    sformU, sformW, _ = np.linalg.svd(sform[:3, :3])
    qformU, qformW, _ = np.linalg.svd(qform[:3, :3])
    return bool(
        np.all(np.abs(sformU @ np.linalg.inv(qformU) - np.eye(3)) <= 1e-4)
        and np.all(np.abs(sformW - qformW) <= 1e-4)
        and np.all(np.abs(sform[:3, 3] - qform[:3, 3]) <= 1e-4)
    )


def _itkRecord(direction: np.ndarray, origin: np.ndarray, spacing: np.ndarray, follows: str) -> ITKGeometry:
    return ITKGeometry(
        origin=_three(float(value) for value in origin),
        spacing=_three(float(value) for value in spacing),
        direction=tuple(float(value) for value in np.asarray(direction).ravel()),
        follows=follows,
    )


def itkMatrix(geometry: ITKGeometry) -> np.ndarray:
    """ITK's index -> LPS matrix: ``direction . diag(spacing)``, translation ``origin``."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(geometry.direction, dtype=float).reshape(3, 3) * np.asarray(geometry.spacing)
    matrix[:3, 3] = geometry.origin
    return matrix


# --------------------------------------------------------------------------- the other programs' rules


def slicerReindex(IJKToRAS: npt.ArrayLike, shape: Sequence[int]) -> np.ndarray:
    """File (i, j, k) -> the IJK Slicer gives the node: identity, or k reversed for a left-handed matrix.

    Slicer's volumes reader makes every node's IJK right-handed by reading the slices from last to first
    (measured with slicer-core: IJKToRAS k column negated, origin at the last slice).

    Examples
    --------
    >>> slicerReindex(np.diag([-1.0, 1.0, 1.0, 1.0]), [4, 5, 6])[2].tolist()
    [0.0, 0.0, -1.0, 5.0]
    """
    if handedness(IJKToRAS) != "left-handed":
        return np.eye(4)
    return _flipAxis(2, int(shape[2]))


def _flipAxis(axis: int, size: int) -> np.ndarray:
    matrix = np.eye(4)
    matrix[axis, axis] = -1.0
    matrix[axis, 3] = size - 1
    return matrix


def fslWorld(header: VolumeHeader) -> Tuple[np.ndarray, str]:
    """FSL's voxel -> world: sform if coded, else qform if coded, else diag(pixdim) (fslpy ``determineAffine``)."""
    if header.IJKToLPS is None and header.sformCode <= 0 and header.qformCode <= 0:
        return np.diag([*header.pixdim, 1.0]), "none (diag(pixdim))"
    return bestAffine(header)


def fslScaledVoxels(voxelToWorld: npt.ArrayLike, shape: Sequence[int], pixdim: Sequence[float]) -> np.ndarray:
    """FLIRT's voxel -> "FSL mm" (scaled voxel) matrix: diag(pixdim), x reversed when det(voxelToWorld) > 0.

    Examples
    --------
    >>> fslScaledVoxels(np.eye(4), [10, 1, 1], [2, 1, 1])[0].tolist()
    [-2.0, 0.0, 0.0, 18.0]
    """
    matrix = np.diag([float(pixdim[0]), float(pixdim[1]), float(pixdim[2]), 1.0])
    if np.linalg.det(np.asarray(voxelToWorld, dtype=float)[:3, :3]) > 0:
        matrix[0, 0] = -float(pixdim[0])
        matrix[0, 3] = (int(shape[0]) - 1) * float(pixdim[0])
    return matrix


def spmMat(voxelToWorld: npt.ArrayLike) -> np.ndarray:
    """SPM's ``mat``: 1-based voxel -> mm, ``M = A . T(-1)`` (MATLAB counts voxels from 1).

    Examples
    --------
    >>> spmMat(np.eye(4))[:3, 3].tolist()
    [-1.0, -1.0, -1.0]
    """
    return np.asarray(voxelToWorld, dtype=float) @ translation([-1.0, -1.0, -1.0])


def freesurferTkr(shape: Sequence[int], voxelSizes: Sequence[float]) -> np.ndarray:
    """FreeSurfer's vox2ras-tkr: LIA layout, centre of the volume at 0 (``MRIxfmCRS2XYZtkreg``).

    Examples
    --------
    >>> freesurferTkr([256, 256, 256], [1, 1, 1])[:3].tolist()
    [[-1.0, 0.0, 0.0, 128.0], [0.0, 0.0, 1.0, -128.0], [0.0, -1.0, 0.0, 128.0]]
    """
    nx, ny, nz = (float(value) for value in shape)
    dx, dy, dz = (float(value) for value in voxelSizes)
    return np.array(
        [[-dx, 0, 0, dx * nx / 2], [0, 0, dz, -dz * nz / 2], [0, -dy, 0, dy * ny / 2], [0, 0, 0, 1]], dtype=float
    )


def freesurferVox2RAS(
    directions: npt.ArrayLike, voxelSizes: Sequence[float], centre: Sequence[float], shape: Sequence[int]
) -> np.ndarray:
    """FreeSurfer's vox2ras of an MGH/MGZ header (``MRIxfmCRS2XYZ``): the file's voxel (i, j, k) -> scanner RAS mm.

    ``directions``: the direction cosines of i, j, k as the columns of a 3x3 (the header's ``Mdc`` field
    transposed); ``voxelSizes``: ``delta``; ``centre``: ``Pxyz_c`` (c_ras), the RAS position of the voxel
    ``shape / 2``. ``M = Mdc . diag(delta)``, ``t = c_ras - M . shape / 2`` (nibabel ``MGHHeader.get_affine``,
    which computes M in float32; here everything is float64 of the header's float32 values).

    Examples
    --------
    A conformed volume (LIA, 1 mm, 256^3) centred at 0 is its own tkr matrix:

    >>> lia = np.array([[-1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
    >>> bool(np.array_equal(freesurferVox2RAS(lia, [1, 1, 1], [0, 0, 0], [256] * 3), freesurferTkr([256] * 3, [1] * 3)))
    True
    """
    cosines = np.asarray(directions, dtype=float)
    if cosines.shape != (3, 3):
        raise ValueError(f'Argument "directions" must be 3x3, not of shape {cosines.shape}.')
    for name, values in (("voxelSizes", voxelSizes), ("centre", centre), ("shape", shape)):
        if len(values) != 3:
            raise ValueError(f'Argument "{name}" must have length 3.')
    linear = cosines * np.asarray(voxelSizes, dtype=float)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = np.asarray(centre, dtype=float) - linear @ (np.asarray(shape, dtype=float) / 2)
    return matrix


def aimsReorientation(voxelToRAS: npt.ArrayLike, shape: Sequence[int]) -> Tuple[np.ndarray, Tuple[int, int, int]]:
    """``(file index -> AIMS index, file axis of each AIMS axis)``: how AIMS reorders voxels into L, P, I.

    AIMS axis x runs along the file axis whose direction is nearest Left or Right (axis codes by nibabel's
    rule, :func:`affines.axisCodes`), reversed when that axis points Right; likewise y (P) and z (I).

    Examples
    --------
    >>> reorientation, axes = aimsReorientation(np.eye(4), [3, 4, 5])  # RAS file: every axis reversed
    >>> reorientation[:3].tolist(), axes
    ([[-1.0, 0.0, 0.0, 2.0], [0.0, -1.0, 0.0, 3.0], [0.0, 0.0, -1.0, 4.0]], (0, 1, 2))
    """
    codes = affines.axisCodes(voxelToRAS)
    if codes is None:
        raise GeometryError("the voxel axes are degenerate: AIMS's reorientation is undefined")
    reorientation = np.zeros((4, 4))
    reorientation[3, 3] = 1.0
    fileAxes = []
    for aimsAxis, letter in enumerate(AIMS_AXES):
        opposite = {"L": "R", "P": "A", "I": "S"}[letter]
        fileAxis = next(index for index, code in enumerate(codes) if code in (letter, opposite))
        fileAxes.append(fileAxis)
        if codes[fileAxis] == letter:
            reorientation[aimsAxis, fileAxis] = 1.0
        else:
            reorientation[aimsAxis, fileAxis] = -1.0
            reorientation[aimsAxis, 3] = int(shape[fileAxis]) - 1
    return reorientation, _three(fileAxes)


def aimsToSPMFormula(shape: Sequence[int], voxelSizes: Sequence[float], origin: Sequence[float]) -> np.ndarray:
    """The AIMS documentation's AIMS -> SPM matrix ``ASA = OA . FA`` for an image stored in SPM's orientation.

    ``shape``, ``voxelSizes`` and the SPM ``origin`` (1-based voxel, the Analyze origin field) along SPM's
    x (left -> right), y (back -> front), z (bottom -> top). FA flips every axis about T = (dim - 1) x voxel
    size (AIMS's first voxel is SPM's last); OA translates by -O, O = (origin - 1) x voxel size.

    Examples
    --------
    >>> aimsToSPMFormula([91, 109, 91], [2, 2, 2], [46, 64, 37])[:3, 3].tolist()
    [90.0, 90.0, 108.0]
    """
    sizes = np.asarray(voxelSizes, dtype=float)
    T = (np.asarray(shape, dtype=float) - 1) * sizes
    O = (np.asarray(origin, dtype=float) - 1) * sizes  # noqa: E741  the documentation's name
    FA = np.diag([-1.0, -1.0, -1.0, 1.0])
    FA[:3, 3] = T
    return translation(-O) @ FA


# --------------------------------------------------------------------------- every convention


@dataclasses.dataclass
class _Context:
    """What every builder needs: the header, the world nibabel/SPM/FreeSurfer/AIMS use, and ITK's reading."""

    header: VolumeHeader
    world: np.ndarray
    worldName: str
    itk: ITKGeometry


_Builder = Callable[[_Context], List[ConventionMatrix]]
_BUILDERS: List[_Builder] = []


def _builder(function: _Builder) -> _Builder:
    """Register a function giving one program's entries (in :data:`CONVENTION_NAMES` order)."""
    _BUILDERS.append(function)
    return function


def conventions(header: VolumeHeader, *, withInverse: bool = False) -> Dict[str, ConventionMatrix]:
    """Every convention of :data:`CONVENTION_NAMES` for one volume (see the module docstring for each rule).

    Raises GeometryError when the header's matrices are degenerate, or ITK would refuse the file.
    """
    world, worldName = bestAffine(header)
    if handedness(world) == "degenerate":
        raise GeometryError(f"{header.path}: the voxel-to-world matrix ({worldName}) is degenerate")
    context = _Context(header, world, worldName, itkGeometry(header))
    entries = {entry.name: entry for build in _BUILDERS for entry in build(context)}
    if withInverse:
        for entry in entries.values():
            entry.inverse = np.linalg.inv(entry.matrix)
    return {name: entries[name] for name in CONVENTION_NAMES}


def _itkWorldName(context: _Context) -> str:
    return "DICOM" if context.itk.follows == "DICOM" else f"ITK's choice: {context.itk.follows}"


@_builder
def _slicerEntries(context: _Context) -> List[ConventionMatrix]:
    header = context.header
    itkRAS = affines.lpsToRAS(itkMatrix(context.itk))
    reindex = slicerReindex(itkRAS, header.shape)
    reindexed = not np.array_equal(reindex, np.eye(4))
    reindexNotes = _reindexNotes(reindex, header.shape)
    parameters = {"reversedAxis": "k" if reindexed else None}
    return [
        _entry(
            "slicer",
            itkRAS,
            "file voxel (i, j, k), 0-based, as ITK reads it",
            "RAS mm (Slicer world)",
            world=_itkWorldName(context),
            meaning="Slicer's IJKToRAS of this file before its reader re-indexes: ITK's matrix with x, y negated.",
            notes=_itkNotes(header, context.itk) + reindexNotes,
            parameters=parameters,
        ),
        _entry(
            "slicer-loaded",
            itkRAS @ np.linalg.inv(reindex),
            "Slicer IJK of the loaded node, 0-based" + (" (k reversed: node k = nk - 1 - file k)" if reindexed else ""),
            "RAS mm (Slicer world)",
            indexFromFile=reindex,
            world=_itkWorldName(context),
            meaning="What Slicer's Volumes module shows (IJK to RAS) after loading: its IJK is always right-handed.",
            notes=reindexNotes,
            parameters=parameters,
        ),
    ]


@_builder
def _itkEntries(context: _Context) -> List[ConventionMatrix]:
    itk = context.itk
    return [
        _entry(
            "itk",
            itkMatrix(itk),
            "ITK index (i, j, k), 0-based, file order",
            "LPS mm (ITK physical space)",
            toWorld=affines.LPS_TO_RAS,
            world=_itkWorldName(context),
            meaning=f"SimpleITK GetOrigin {_numbers(itk.origin)}, GetSpacing {_numbers(itk.spacing)}, GetDirection "
            f"{_numbers(itk.direction)}: point = origin + direction . (spacing * index).",
            notes=_itkNotes(context.header, itk),
            parameters=dataclasses.asdict(itk),
        )
    ]


@_builder
def _dicomEntries(context: _Context) -> List[ConventionMatrix]:
    header = context.header
    fromDICOM = header.IJKToLPS is not None
    return [
        _entry(
            "dicom",
            np.asarray(header.IJKToLPS, dtype=float) if fromDICOM else affines.rasToLPS(context.world),
            "(column, row, slice), 0-based" + (" in Slicer's sorted order" if fromDICOM else ""),
            "LPS mm (DICOM patient)",
            toWorld=affines.LPS_TO_RAS,
            world=context.worldName,
            meaning="DICOM PS3.3 C.7.6.2.1.1: IPP + column PixelSpacing[1] IOP[0:3] + row PixelSpacing[0] IOP[3:6].",
            notes=[] if fromDICOM else ["A file's DICOM-style matrix: its world in LPS, shear kept."],
        )
    ]


@_builder
def _niftiEntries(context: _Context) -> List[ConventionMatrix]:
    header = context.header
    fromDICOM = header.IJKToLPS is not None
    if fromDICOM:
        sformNotes = [
            "A DICOM series has no sform: this is the one a NIfTI writer keeping Slicer's voxel order stores."
        ]
        qformNotes = ["Derived from the DICOM affine (shear dropped), as a NIfTI writer stores it."]
    else:
        sformNotes = [
            f"sform_code {header.sformCode}" + (" (unknown: programs ignore it)" if header.sformCode <= 0 else "")
        ]
        qformNotes = [f"qform_code {header.qformCode}" + (" (unknown)" if header.qformCode <= 0 else "")]
    quaternion = {
        "quaternion": header.quaternion,
        "qoffset": header.qoffset,
        "pixdim": header.pixdim,
        "qfac": header.qfac,
        "qformCode": header.qformCode,
    }
    return [
        _entry(
            "nifti-sform",
            np.asarray(header.sform, dtype=float),
            "NIfTI voxel (i, j, k), 0-based",
            "RAS mm (NIfTI world, srow_x/y/z)",
            world="sform",
            meaning="The three srow rows: x = srow_x . (i, j, k, 1), and so on.",
            notes=sformNotes,
            parameters={"sformCode": header.sformCode},
        ),
        _entry(
            "nifti-qform",
            qformOf(header),
            "NIfTI voxel (i, j, k), 0-based",
            "RAS mm (NIfTI world, quaternion)",
            world="qform",
            meaning=f"quatern_b, c, d = {_numbers(header.quaternion)}, qoffset = {_numbers(header.qoffset)}, "
            f"pixdim = {_numbers(header.pixdim)}, qfac = {header.qfac:g}"
            + (" (k reversed)" if header.qfac < 0 else ""),
            notes=qformNotes,
            parameters=quaternion,
        ),
    ]


@_builder
def _fslEntries(context: _Context) -> List[ConventionMatrix]:
    header = context.header
    voxelToWorld, worldName = fslWorld(header)
    fsl = fslScaledVoxels(voxelToWorld, header.shape, header.pixdim)
    neurological = bool(np.linalg.det(voxelToWorld[:3, :3]) > 0)
    flip = (
        ", x reversed ((nx - 1) dx - x) because the voxel-to-world determinant is positive (neurological)."
        if neurological
        else "; x not reversed: the voxel-to-world determinant is negative (radiological)."
    )
    return [
        _entry(
            "fsl",
            fsl,
            "voxel (i, j, k), 0-based",
            "FSL mm (FLIRT scaled voxels)",
            toWorld=voxelToWorld @ np.linalg.inv(fsl),
            world=worldName,
            meaning="FLIRT's coordinates: voxel x pixdim" + flip,
            notes=["A FLIRT .mat maps the input's FSL mm to the reference's FSL mm."],
            parameters={"neurological": neurological, "pixdim": header.pixdim},
        )
    ]


@_builder
def _spmEntries(context: _Context) -> List[ConventionMatrix]:
    return [
        _entry(
            "spm",
            spmMat(context.world),
            "voxel (i, j, k), 1-based (MATLAB)",
            "mm (SPM world = NIfTI RAS)",
            indexFromFile=translation([1.0, 1.0, 1.0]),
            world=context.worldName,
            meaning="SPM's V.mat: M = A . T(-1), A the 0-based voxel-to-world matrix; voxel (1, 1, 1) is the first.",
            notes=["SPM's mapping from image 1 to image 2 voxels is M2 \\ M1."],
        )
    ]


@_builder
def _freesurferEntries(context: _Context) -> List[ConventionMatrix]:
    # FreeSurfer's voxel sizes: the column lengths of the matrix it reads, pixdim for the qform.
    sizes = affines.columnNorms(context.world).tolist() if context.worldName != "qform" else list(context.header.pixdim)
    tkr = freesurferTkr(context.header.shape, sizes)
    return [
        _entry(
            "freesurfer-tkr",
            tkr,
            "voxel (column, row, slice), 0-based",
            "tkr-RAS mm (tkregister surface space)",
            toWorld=context.world @ np.linalg.inv(tkr),
            world=context.worldName,
            meaning="vox2ras-tkr: the volume's centre at 0, axes as if stored LIA, whatever the real directions are.",
            notes=["Scanner RAS = vox2ras . inverse(vox2ras-tkr) . tkr-RAS (mri_info --vox2ras, --vox2ras-tkr)."],
        )
    ]


@_builder
def _aimsEntries(context: _Context) -> List[ConventionMatrix]:
    header = context.header
    reorientation, fileAxes = aimsReorientation(context.world, header.shape)
    aims = np.diag([*(float(header.pixdim[axis]) for axis in fileAxes), 1.0]) @ reorientation
    aimsToWorld = context.world @ np.linalg.inv(aims)
    along = f"AIMS axes x, y, z run along file axes {', '.join('ijk'[axis] for axis in fileAxes)}"
    return [
        _entry(
            "aims",
            aims,
            "file voxel (i, j, k), 0-based",
            "AIMS mm (internal LPI referential, origin at the first voxel's centre)",
            toWorld=aimsToWorld,
            world=context.worldName,
            meaning="mm = AIMS index x voxel size, AIMS index = file index reordered to L, P, I.",
            notes=[
                "AIMS reorders the voxels to x right->left, y front->back, z top->bottom (LPI, an indirect frame); "
                "Anatomist therefore always shows images radiologically.",
                along + _flipText(reorientation) + ".",
            ],
            parameters={"fileAxes": "".join("ijk"[axis] for axis in fileAxes), "reorientation": reorientation},
        ),
        _entry(
            "aims-spm",
            aimsToWorld,
            "AIMS mm (internal LPI referential)",
            "SPM / NIfTI world mm (RAS)",
            indexFromFile=aims,
            world=context.worldName,
            meaning="The AIMS-to-SPM matrix: world . inverse(voxel to AIMS mm); for an image stored in SPM's "
            "orientation this is the documentation's ASA = OA . FA.",
            notes=["A .trm file of this matrix takes Anatomist's referential of this image to the scanner-based one."],
        ),
    ]


def _entry(
    name: str,
    matrix: np.ndarray,
    source: str,
    to: str,
    *,
    world: str,
    meaning: str,
    notes: List[str],
    indexFromFile: Optional[np.ndarray] = None,
    toWorld: Optional[np.ndarray] = None,
    parameters: Optional[Dict[str, Any]] = None,
) -> ConventionMatrix:
    """One entry; ``toWorld`` defaults to the identity (the space is a world), ``indexFromFile`` likewise."""
    fromFile = np.eye(4) if indexFromFile is None else indexFromFile
    spaceToWorld = np.eye(4) if toWorld is None else toWorld
    return ConventionMatrix(
        name=name,
        matrix=matrix,
        source=source,
        to=to,
        indexBase=1 if name == "spm" else 0,
        indexFromFile=fromFile,
        toWorld=spaceToWorld,
        world=world,
        # The index axes' directions in the world: through the space, then the space's own map to the world.
        axisCodes=affines.axisCodes(spaceToWorld @ matrix),
        spaceCodes=affines.axisCodes(spaceToWorld),
        handedness=handedness(matrix),
        meaning=meaning,
        notes=notes,
        parameters=parameters or {},
    )


def _itkNotes(header: VolumeHeader, itk: ITKGeometry) -> List[str]:
    if itk.follows == "DICOM":
        if not _withoutShear(affines.lpsToRAS(np.asarray(header.IJKToLPS))):
            return [
                "The DICOM affine is sheared (gantry tilt): ITK's series reader builds an orthogonal grid, "
                "so ITK and Slicer differ from this matrix (see `inspect`)."
            ]
        return []
    notes = [f"ITK follows the {itk.follows}" + ("" if itk.follows != "none" else " (no sform or qform code)") + "."]
    if itk.follows == "qform" and header.sformCode > 0:
        reason = "is sheared" if not _withoutShear(np.asarray(header.sform)) else "differs from the qform"
        notes.append(
            f"The sform {reason}, so ITK (and Slicer) use the qform, as ITK does; nibabel, FSL, SPM and AIMS use "
            "the sform: the two worlds differ."
        )
    return notes


def _reindexNotes(reindex: np.ndarray, shape: Sequence[int]) -> List[str]:
    if np.array_equal(reindex, np.eye(4)):
        return ["Right-handed: Slicer keeps the file's voxel order (node IJK = file i, j, k)."]
    return [
        f"Left-handed: Slicer reverses k when loading (node k = {int(shape[2]) - 1} - file k), so the node's "
        "IJK is right-handed and its origin is the centre of the file's last slice."
    ]


def _flipText(reorientation: np.ndarray) -> str:
    reversed = [name for axis, name in enumerate("xyz") if reorientation[axis, :3].sum() < 0]
    return f" ({', '.join(reversed)} reversed)" if reversed else " (none reversed)"


def _numbers(values: Union[Sequence[float], np.ndarray]) -> str:
    return "(" + ", ".join(f"{float(value):.6g}" for value in values) + ")"


def _three(values: Iterable[_T]) -> Tuple[_T, _T, _T]:
    first, second, third = values
    return first, second, third


# --------------------------------------------------------------------------- conversions


def conversion(fromEntry: ConventionMatrix, toEntry: ConventionMatrix) -> np.ndarray:
    """The 4x4 map from one convention's space to another's, for the same volume (through its voxels).

    ``to.fromFileVoxels() . inverse(from.fromFileVoxels())``: exact for any pair, since both number the
    same voxels. For ``aims-spm`` (whose ``matrix`` starts in AIMS mm) the space is its target, world mm.
    """
    return toEntry.fromFileVoxels() @ np.linalg.inv(fromEntry.fromFileVoxels())


def mapPoint(matrix: npt.ArrayLike, point: Sequence[float]) -> np.ndarray:
    """Apply a 4x4 matrix to a 3-vector.

    Examples
    --------
    >>> mapPoint(translation([1, 2, 3]), [0, 0, 0]).tolist()
    [1.0, 2.0, 3.0]
    """
    values = np.asarray(point, dtype=float)
    if values.shape != (3,):
        raise ValueError(f'Argument "point" must have length 3, got shape {values.shape}')
    return (np.asarray(matrix, dtype=float) @ np.append(values, 1.0))[:3]


@dataclasses.dataclass
class VoxelMapping:
    """Voxels of volume A -> voxels of volume B (each 0-based, in its own file order): ``inverse(B) . A``.

    ``kind``: "identity", "permutation/flip" (each A axis is one B axis, maybe reversed, integer offsets),
    "integer shift" (same axes, integer offsets) or "interpolation" (anything else: resampling needed).
    ``matrix`` is rounded to exact integers when the kind is not "interpolation" (within 1e-4 voxel).
    ``axisMapping[n]``: the B axis A's axis n becomes, with ``flipped[n]``; None for "interpolation".
    """

    matrix: np.ndarray
    kind: str
    axisMapping: Optional[Tuple[int, int, int]]
    flipped: Optional[Tuple[bool, bool, bool]]
    message: str


def voxelMapping(
    voxelToWorldA: npt.ArrayLike, voxelToWorldB: npt.ArrayLike, *, tolerance: float = _EXACT_VOXELS
) -> VoxelMapping:
    """Classify ``inverse(B) . A`` (both voxel -> the same world frame). See :class:`VoxelMapping`.

    Examples
    --------
    >>> a = np.diag([2.0, 2.0, 2.0, 1.0])
    >>> b = np.array([[0, 2.0, 0, 0], [-2.0, 0, 0, 18], [0, 0, 2.0, 0], [0, 0, 0, 1]])
    >>> voxelMapping(a, b).kind
    'permutation/flip'
    """
    matrix = affines.voxelToVoxel(voxelToWorldA, voxelToWorldB)
    rounded = np.round(matrix) + 0.0  # + 0.0: no "-0" in what the user reads
    if not np.all(np.abs(matrix - rounded) <= tolerance):
        return VoxelMapping(matrix, "interpolation", None, None, _interpolationMessage(matrix))
    linear = rounded[:3, :3]
    isPermutation = np.all(np.sum(np.abs(linear), axis=0) == 1) and np.all(np.sum(np.abs(linear), axis=1) == 1)
    if not isPermutation:
        return VoxelMapping(matrix, "interpolation", None, None, _interpolationMessage(matrix))
    rounded[3] = [0, 0, 0, 1]
    mapping = _three(int(np.argmax(np.abs(linear[:, axis]))) for axis in range(3))
    flipped = _three(bool(linear[mapping[axis], axis] < 0) for axis in range(3))
    offset = rounded[:3, 3]
    if np.array_equal(linear, np.eye(3)):
        kind = "identity" if not offset.any() else "integer shift"
    else:
        kind = "permutation/flip"
    names = "ijk"
    parts = [f"A {names[axis]} -> B {'-' if flipped[axis] else '+'}{names[mapping[axis]]}" for axis in range(3)]
    message = {
        "identity": "Same voxels in the same order: no resampling.",
        "integer shift": f"Same axes, shifted by a whole number of voxels {_numbers(offset)}: no interpolation.",
        "permutation/flip": f"Same voxel centres in another index order ({'; '.join(parts)}; offset "
        f"{_numbers(offset)}): reorder the array, no interpolation.",
    }[kind]
    return VoxelMapping(rounded, kind, mapping, flipped, message)


def _interpolationMessage(matrix: np.ndarray) -> str:
    scales = _numbers(affines.columnNorms(matrix))
    return (
        f"Voxel centres do not coincide (A's voxel axes have length {scales} in B voxels, offset "
        f"{_numbers(matrix[:3, 3])}): resampling with interpolation is needed."
    )


def transformBetween(
    entryA: ConventionMatrix, worldA: npt.ArrayLike, entryB: ConventionMatrix, worldB: npt.ArrayLike
) -> np.ndarray:
    """A transform from image A's space to image B's space in one convention, given both world matrices.

    ``B.fromFileVoxels() . inverse(worldB) . worldA . inverse(A.fromFileVoxels())``: for ``fsl`` this is
    the FLIRT matrix that puts A onto B as they lie in the world; for ``aims`` the .trm from A's AIMS
    referential to B's. ``worldA``/``worldB`` map each file's 0-based voxels to one shared world frame.
    """
    voxels = affines.voxelToVoxel(worldA, worldB)
    return entryB.fromFileVoxels() @ voxels @ np.linalg.inv(entryA.fromFileVoxels())


def reexpress(
    transform: npt.ArrayLike,
    fromA: ConventionMatrix,
    fromB: ConventionMatrix,
    toA: ConventionMatrix,
    toB: ConventionMatrix,
) -> np.ndarray:
    """A transform from image A's space to image B's space, taken from one convention to another.

    ``transform`` maps A's ``fromA`` space to B's ``fromB`` space (a FLIRT .mat: A's FSL mm -> B's FSL mm);
    the result maps A's ``toA`` space to B's ``toB`` space: ``toB . inverse(fromB) . transform . fromA .
    inverse(toA)``, each through the file voxels (:meth:`ConventionMatrix.fromFileVoxels`).
    """
    matrix = np.asarray(transform, dtype=float)
    if matrix.shape != (4, 4):
        raise ValueError(f'Argument "transform" must be 4x4, got shape {matrix.shape}')
    intoB = toB.fromFileVoxels() @ np.linalg.inv(fromB.fromFileVoxels())
    outOfA = fromA.fromFileVoxels() @ np.linalg.inv(toA.fromFileVoxels())
    return intoB @ matrix @ outOfA


# --------------------------------------------------------------------------- text


def describe(entry: ConventionMatrix, *, precision: int = 4) -> str:
    """A convention as lines of text: name, from -> to, the matrix (aligned), codes, handedness, notes."""
    lines = [
        f"{entry.name}: {entry.source} -> {entry.to}",
        formatMatrix(entry.matrix, precision=precision),
        f"  index axes point {affines.axisCodesText(entry.axisCodes)}; space axes "
        f"{affines.axisCodesText(entry.spaceCodes)}; {entry.handedness}; world: {entry.world}",
        f"  {entry.meaning}",
    ]
    lines += [f"  {note}" for note in entry.notes]
    if entry.inverse is not None:
        lines += [f"  inverse ({entry.to} -> {entry.source}):", formatMatrix(entry.inverse, precision=precision)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- what viewers call the origin


def viewerOrigins(IJKToLPS: npt.ArrayLike, rows: Sequence[SliceRow]) -> List[str]:
    """Why HOROS/OsiriX and Slicer show different origins for one DICOM series, with its numbers.

    ``IJKToLPS`` is the series' matrix (Slicer IJK, k in Slicer's sort order) and ``rows`` its slice table.
    HOROS and OsiriX list a series by InstanceNumber by default and give positions as DICOM stores them
    (LPS); Slicer sorts along the normal IOP[0:3] x IOP[3:6] and shows RAS, so its origin is the IPP of
    its slice k = 0 with x and y negated. Returns one sentence per viewer (empty when there are no rows).
    """
    volume = [row for row in rows if row.volume == 0]
    if not volume:
        return []
    first = min(volume, key=lambda row: row.k)
    origin = np.asarray(IJKToLPS, dtype=float)[:3, 3]
    slicer = affines.lpsToRAS(origin)
    lines = []
    numbered = [row for row in volume if row.instanceNumber is not None]
    if numbered:
        horos = min(numbered, key=lambda row: (row.instanceNumber, row.k))
        lines.append(
            f"HOROS/OsiriX show {_numbers(horos.position)} because they list the images by InstanceNumber (their "
            f"default), and the first, {_fileName(horos.file)} (InstanceNumber {horos.instanceNumber}), has that "
            "ImagePositionPatient, in DICOM's LPS frame (x to the patient's left, y to posterior)."
        )
    else:
        lines.append("HOROS/OsiriX: no InstanceNumber in these files, so their first image cannot be predicted.")
    lines.append(
        f"Slicer shows {_numbers(slicer)} because it sorts the slices along the normal IOP[0:3] x IOP[3:6], and "
        f"the first, {_fileName(first.file)} (k = 0), has IPP {_numbers(origin)}; Slicer's frame is RAS, so x and "
        "y are negated."
    )
    if numbered and horos.k != first.k:
        lines.append(
            f"They are different slices: InstanceNumber runs against the normal (HOROS's first image is Slicer's "
            f"k = {horos.k}), so the origins differ by more than the signs of x and y."
        )
    elif numbered:
        lines.append("Both start from the same slice: only the signs of x and y differ.")
    return lines


def _fileName(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
