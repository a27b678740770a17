"""Pure affine geometry: building the DICOM voxel-to-patient matrix and
expressing it in other index orders and patient frames.

No I/O and no Slicer, VTK or Qt import: ``(4, 4)`` numpy arrays in, ``(4, 4)``
numpy arrays out.

Conventions used throughout (stated once here, repeated in each docstring):

* **Slicer IJK**: ``i`` is the column index (along the DICOM row direction
  ``IOP[0:3]``), ``j`` the row index (along the column direction ``IOP[3:6]``),
  ``k`` the slice index in sorted order. A matrix named ``ijkToX`` maps the
  homogeneous column vector ``(i, j, k, 1)`` to patient coordinates in frame X.
* **numpy order** ``[k, j, i]``: how ``slicer.util.arrayFromVolume`` and a
  pydicom pixel stack index voxels.
* **nibabel DICOM order** ``(row, column, slice)`` = ``(j, i, k)``: the order of
  ``nibabel.nicom.dicomwrappers.Wrapper.affine``.
* **Patient frames** are named by three axis codes, each the direction in which
  that coordinate increases: DICOM uses ``LPS`` (x to the patient's Left, y to
  Posterior, z to Superior), Slicer and NIfTI use ``RAS``.
  ``RAS = diag(-1, -1, 1) . LPS``.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from .sliceheader import PIXEL_SPACING_RANGE_MM, POSITION_LIMIT_MM

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Maps LPS coordinates to RAS (its own inverse)."""

_AXIS_OF_LETTER = {"L": (0, -1), "R": (0, 1), "P": (1, -1), "A": (1, 1), "I": (2, -1), "S": (2, 1)}
"""Axis code letter -> (RAS axis, sign of that letter's direction along it)."""
_LETTERS = (("L", "R"), ("P", "A"), ("I", "S"))

_KJI_TO_IJK = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
_RCS_TO_IJK = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)


def IJKToLPSFromDICOM(
    firstPosition: Sequence[float],
    orientation: Sequence[float],
    pixelSpacing: Sequence[float],
    sliceStep: npt.ArrayLike,
) -> np.ndarray:
    """Return the 4x4 ``ijkToLPS`` matrix of a stack of DICOM slices.

    Index convention Slicer IJK (i = column, j = row, k = sorted slice), frame
    LPS. Following DICOM PS3.3 C.7.6.2.1.1, the in-plane columns are::

        column i = IOP[0:3] * PixelSpacing[1]   (row direction, spacing between columns)
        column j = IOP[3:6] * PixelSpacing[0]   (column direction, spacing between rows)

    Parameters
    ----------
    firstPosition
        ImagePositionPatient (LPS, mm) of the first slice in sorted order: the
        centre of voxel (0, 0, 0).
    orientation
        ImageOrientationPatient, 6 direction cosines, used as given.
    pixelSpacing
        PixelSpacing ``(row spacing, column spacing)`` in mm.
    sliceStep
        LPS vector (mm) from one slice's origin to the next. For a stack this is
        ``(IPP_last - IPP_first) / (N - 1)``, which keeps the shear of a tilted
        acquisition instead of forcing k onto the slice normal.
    """
    cosines = np.asarray(orientation, dtype=float)
    matrix = np.eye(4)
    matrix[:3, 0] = cosines[:3] * float(pixelSpacing[1])
    matrix[:3, 1] = cosines[3:6] * float(pixelSpacing[0])
    matrix[:3, 2] = np.asarray(sliceStep, dtype=float)
    matrix[:3, 3] = np.asarray(firstPosition, dtype=float)
    return matrix


def sliceNormal(orientation: npt.ArrayLike) -> np.ndarray:
    """Return ``cross(IOP[0:3], IOP[3:6])`` (LPS), unnormalized, as Slicer's sort uses it.

    Note that nibabel and highdicom use the opposite sign (``Y x X``).
    """
    cosines = np.asarray(orientation, dtype=float)
    return np.cross(cosines[:3], cosines[3:6])


def lpsToRAS(values: np.ndarray) -> np.ndarray:
    """Flip between LPS and RAS: negate x and y. The one flip every module uses (it is its own inverse).

    ``values`` is a 4x4 ``*ToLPS`` (or ``*ToRAS``) matrix, which is re-expressed
    in the other frame as ``diag(-1, -1, 1, 1) . matrix`` (index convention
    kept), or an array of points of shape ``(..., 3)`` in one frame, returned
    in the other.

    Examples
    --------
    >>> lpsToRAS(np.array([1.0, 2.0, 3.0]))
    array([-1., -2.,  3.])
    >>> bool(np.array_equal(rasToLPS(lpsToRAS(np.eye(4))), np.eye(4)))
    True
    """
    array = np.asarray(values, dtype=float)
    if array.shape == (4, 4):
        return LPS_TO_RAS @ array
    if array.shape[-1:] == (3,):
        return array * LPS_TO_RAS.diagonal()[:3]
    raise ValueError(f'Argument "values" must be a 4x4 matrix or points of shape (..., 3), got shape {array.shape}')


rasToLPS = lpsToRAS
"""The same flip, named for the other direction."""


def frameChange(fromCodes: str, toCodes: str) -> np.ndarray:
    """Return the 4x4 matrix taking coordinates in patient frame ``fromCodes`` to ``toCodes``.

    Frames are three-letter axis codes such as ``"LPS"``, ``"RAS"``, ``"LPI"``
    or ``"ASL"``; each letter is the direction in which that coordinate
    increases (nibabel's axis-code convention).

    Raises
    ------
    ValueError
        If either code is not a permutation of one letter from each of the
        pairs L/R, P/A, I/S.

    Examples
    --------
    >>> frameChange("LPS", "RAS")[:3, :3].diagonal().tolist()
    [-1.0, -1.0, 1.0]
    """
    source = _axesOfCodes(fromCodes, "fromCodes")
    target = _axesOfCodes(toCodes, "toCodes")
    # Source coordinate n runs along RAS axis source[n][0] with sign source[n][1]; likewise for the target.
    matrix = np.zeros((4, 4))
    matrix[3, 3] = 1.0
    for sourceIndex, (axis, sign) in enumerate(source):
        targetIndex = next(index for index, (targetAxis, _) in enumerate(target) if targetAxis == axis)
        matrix[targetIndex, sourceIndex] = sign * target[targetIndex][1]
    return matrix


def _axesOfCodes(codes: str, argumentName: str) -> Tuple[Tuple[int, int], ...]:
    text = str(codes).upper()
    if len(text) != 3 or any(letter not in _AXIS_OF_LETTER for letter in text):
        raise ValueError(f"{argumentName} must be 3 axis letters such as 'RAS' or 'LPS', got {codes!r}")
    axes = tuple(_AXIS_OF_LETTER[letter] for letter in text)
    if sorted(axis for axis, _ in axes) != [0, 1, 2]:
        raise ValueError(f"{argumentName}={codes!r} must use one letter from each of L/R, P/A, I/S")
    return axes


def inFrame(matrixLPS: np.ndarray, codes: str) -> np.ndarray:
    """Re-express an ``*ToLPS`` matrix in the patient frame named by ``codes``.

    ``inFrame(ijkToLPS, "RAS")`` equals :func:`lpsToRAS`; the index convention
    is kept.
    """
    return frameChange("LPS", codes) @ np.asarray(matrixLPS, dtype=float)


def ijkToKJI(matrix: np.ndarray) -> np.ndarray:
    """Re-index an ``ijkTo*`` matrix to numpy order ``[k, j, i]``.

    The result maps ``(k, j, i, 1)`` (as used with
    ``slicer.util.arrayFromVolume(node)[k, j, i]``) to the same frame.
    """
    return np.asarray(matrix, dtype=float) @ _KJI_TO_IJK


def ijkToRCS(matrix: np.ndarray) -> np.ndarray:
    """Re-index an ``ijkTo*`` matrix to nibabel's DICOM order ``(row, column, slice)`` = ``(j, i, k)``.

    ``ijkToRCS(ijkToLPS)`` is what ``nibabel.nicom.dicomwrappers`` calls
    ``affine`` for a stack sorted the same way (frame LPS).
    """
    return np.asarray(matrix, dtype=float) @ _RCS_TO_IJK


def axisCodes(matrix: np.ndarray, frame: str = "RAS") -> Optional[Tuple[str, str, str]]:
    """Return the patient direction each index axis points to most, e.g. ``('L', 'P', 'S')``.

    ``matrix`` maps an index (any order) to patient frame ``frame``; the
    answer has one letter per index axis, in that index order, and does not
    depend on the frame the matrix is expressed in. The rule is nibabel's
    ``orientations.io_orientation`` (closest rotation by polar decomposition,
    then the largest component of each column, axes taken greedily), ported
    so that this layer needs numpy only; the tests compare it with
    ``nibabel.orientations.aff2axcodes``. ``None`` when the matrix has a
    non-finite entry or a zero column (no direction to name).

    Examples
    --------
    >>> axisCodes(np.diag([-0.9, -0.9, 2.5, 1.0]))
    ('L', 'P', 'S')
    >>> axisCodes(np.diag([-0.9, -0.9, 2.5, 1.0]), frame="LPS")
    ('R', 'A', 'S')
    """
    matrixRAS = frameChange(frame, "RAS") @ np.asarray(matrix, dtype=float)
    rotationZoomShear = matrixRAS[:3, :3]
    if not np.all(np.isfinite(rotationZoomShear)):
        return None
    zooms = np.sqrt(np.sum(rotationZoomShear * rotationZoomShear, axis=0))
    if not np.all(np.isfinite(zooms)) or np.any(zooms == 0):
        return None
    left, singular, right = np.linalg.svd(rotationZoomShear / zooms)
    if singular.min() <= singular.max() * 3 * np.finfo(float).eps:
        return None
    rotation = left @ right
    codes = ["", "", ""]
    # The most decided index axis (largest component) chooses first, as nibabel >= 5.2 does.
    for column in np.argsort(np.min(-(rotation**2), axis=0), kind="stable").tolist():
        values = rotation[:, column]
        if np.allclose(values, 0):
            return None
        axis = int(np.argmax(np.abs(values)))
        codes[column] = _LETTERS[axis][1 if values[axis] > 0 else 0]
        rotation[axis, :] = 0  # each RAS axis names one index axis only
    return (codes[0], codes[1], codes[2])


def axisCodesText(codes: Optional[Tuple[str, str, str]]) -> str:
    """Axis codes as text, e.g. ``"LPS"``; ``"none (degenerate axes)"`` when :func:`axisCodes` gave ``None``."""
    return "".join(codes) if codes is not None else "none (degenerate axes)"


def voxelToVoxel(ijkToRASFrom: np.ndarray, ijkToRASTo: np.ndarray) -> np.ndarray:
    """Return ``inverse(ijkToRASTo) . ijkToRASFrom``: IJK of volume A to IJK of volume B.

    Both matrices must share index convention and patient frame (either may be
    LPS or RAS as long as both are the same).
    """
    return np.linalg.inv(np.asarray(ijkToRASTo, dtype=float)) @ np.asarray(ijkToRASFrom, dtype=float)


def gridMatrixProblem(matrix: npt.ArrayLike) -> Optional[str]:
    """Why a volume's 4x4 IJK-to-patient matrix (mm) places no usable grid, in plain words; ``None`` if it does.

    The limits are those every slice's IPP and PixelSpacing are held to
    (:data:`~.sliceheader.POSITION_LIMIT_MM`, :data:`~.sliceheader.PIXEL_SPACING_RANGE_MM`): a reader that
    does not check them (Slicer's loads an IPP of 1e150 mm as it is) gives a matrix whose inverse, fits and
    overlaps leave the floating-point range.

    Examples
    --------
    >>> gridMatrixProblem(np.diag([1.0, 1.0, 2.0, 1.0])) is None
    True
    >>> gridMatrixProblem(np.array([[1, 0, 0, 1e150], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))
    'origin beyond 1e+07 mm (1e+150, 0, 0)'
    """
    values = np.asarray(matrix, dtype=float)
    if values.shape != (4, 4) or not np.all(np.isfinite(values)):
        return "not a finite 4x4 matrix"
    origin = values[:3, 3]
    if np.max(np.abs(origin)) > POSITION_LIMIT_MM:
        return f"origin beyond {POSITION_LIMIT_MM:g} mm ({', '.join(f'{value:.4g}' for value in origin)})"
    steps = columnNorms(values[:3, :3])
    low, high = PIXEL_SPACING_RANGE_MM
    if np.min(steps) < low or np.max(steps) > high:
        return f"a voxel step outside {low:g} to {high:g} mm ({', '.join(f'{value:.4g}' for value in steps)})"
    if abs(np.linalg.det(values[:3, :3] / steps)) < 1e-6:
        return "voxel axes that are (nearly) parallel"
    return None


def columnNorms(matrix: np.ndarray) -> np.ndarray:
    """Return the length (mm) of each of the three index axes of a 4x4 matrix: the voxel spacing."""
    return np.linalg.norm(np.asarray(matrix, dtype=float)[:3, :3], axis=0)


def angleDegrees(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Return the unsigned angle (degrees, 0 to 180) between two 3-vectors; 0 if either is zero."""
    return float(anglesDegrees(first, second))


def anglesDegrees(first: npt.ArrayLike, second: npt.ArrayLike) -> np.ndarray:
    """Row-wise :func:`angleDegrees` of two arrays of 3-vectors (shape ``(N, 3)``, or ``(3,)`` to broadcast)."""
    firstArray = np.asarray(first, dtype=float)
    secondArray = np.asarray(second, dtype=float)
    norms = np.linalg.norm(firstArray, axis=-1) * np.linalg.norm(secondArray, axis=-1)
    # atan2 of |cross| and dot is accurate for tiny angles, unlike acos.
    angles = np.degrees(
        np.arctan2(
            np.linalg.norm(np.cross(firstArray, secondArray), axis=-1), np.sum(firstArray * secondArray, axis=-1)
        )
    )
    return np.where(norms == 0, 0.0, angles)


def lineAnglesDegrees(first: npt.ArrayLike, second: npt.ArrayLike) -> np.ndarray:
    """Row-wise :func:`lineAngleDegrees` (0 to 90 degrees, sign ignored)."""
    angles = anglesDegrees(first, second)
    return np.minimum(angles, 180.0 - angles)


def lineAngleDegrees(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Return the angle (degrees, 0 to 90) between the lines along two vectors, ignoring sign."""
    angle = angleDegrees(first, second)
    return min(angle, 180.0 - angle)


def signedTiltDegrees(step: npt.ArrayLike, orientation: npt.ArrayLike) -> float:
    """The signed angle (degrees) between an IPP step and the slice normal, in dcm2niix's convention.

    dcm2niix (``nii_dicom_batch.cpp:computeGantryTiltPrecise``, issue 253;
    the value of its "Gantry Tilt based on 0018,1120 ..., estimated from slice
    vector ..." report and of its ``_Tilt`` correction) makes the step ``s``
    and the normal ``n = IOP[0:3] x IOP[3:6]`` "positive" (each negated when
    its component of largest magnitude is negative, so neither slice order
    nor the handedness of the cross product matters), takes the unsigned
    angle between them, and makes it negative when the component of largest
    magnitude of ``s x n`` is positive. Vectors in LPS (the patient frame of
    IPP and IOP). 0 for a zero step or parallel vectors.

    The sign of the GantryDetectorTilt tag (0018,1120) is the manufacturer's
    (it describes the gantry, not the patient frame), so it may differ from
    this one for the same geometry.

    Examples
    --------
    >>> tilt = np.radians(18.5)  # GE CT of ../shared (tag +18.5): rows along L, columns tilted towards I
    >>> round(signedTiltDegrees([0, 0, 4.22], [1, 0, 0, 0, np.cos(tilt), -np.sin(tilt)]), 6)
    18.5
    >>> round(signedTiltDegrees([0, 0, 4.22], [1, 0, 0, 0, np.cos(tilt), np.sin(tilt)]), 6)
    -18.5
    """
    stepVector = _positive(np.asarray(step, dtype=float).reshape(3))
    cosines = np.asarray(orientation, dtype=float).reshape(6)
    normal = _positive(np.cross(cosines[:3], cosines[3:]))
    if not np.any(stepVector) or not np.any(normal):
        return 0.0
    angle = angleDegrees(stepVector, normal)
    if angle < 1e-6:  # parallel up to rounding: no sign to give (dcm2niix returns 0 too)
        return 0.0
    return -angle if _largestComponent(np.cross(stepVector, normal)) > 0 else angle


def _largestComponent(vector: np.ndarray) -> float:
    """The component of largest magnitude, with its sign (the first one on ties), as dcm2niix's vec3maxMag."""
    return float(vector[int(np.argmax(np.abs(vector)))])


def _positive(vector: np.ndarray) -> np.ndarray:
    """``vector`` negated when its component of largest magnitude is negative (dcm2niix's makePositive)."""
    return -vector if _largestComponent(vector) < 0 else vector
