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

from typing import Sequence

import numpy as np
from nibabel import orientations

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Maps LPS coordinates to RAS (its own inverse)."""

_KJI_TO_IJK = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
_RCS_TO_IJK = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)


def ijkToLPSFromDICOM(
    firstPosition: Sequence[float],
    orientation: Sequence[float],
    pixelSpacing: Sequence[float],
    sliceStep: Sequence[float],
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
    orientation = np.asarray(orientation, dtype=float)
    matrix = np.eye(4)
    matrix[:3, 0] = orientation[:3] * float(pixelSpacing[1])
    matrix[:3, 1] = orientation[3:6] * float(pixelSpacing[0])
    matrix[:3, 2] = np.asarray(sliceStep, dtype=float)
    matrix[:3, 3] = np.asarray(firstPosition, dtype=float)
    return matrix


def sliceNormal(orientation: Sequence[float]) -> np.ndarray:
    """Return ``cross(IOP[0:3], IOP[3:6])`` (LPS), unnormalized, as Slicer's sort uses it.

    Note that nibabel and highdicom use the opposite sign (``Y x X``).
    """
    orientation = np.asarray(orientation, dtype=float)
    return np.cross(orientation[:3], orientation[3:6])


def lpsToRAS(matrix: np.ndarray) -> np.ndarray:
    """Re-express an ``*ToLPS`` 4x4 matrix in RAS: ``diag(-1, -1, 1, 1) . matrix``.

    The index convention of the input is kept.
    """
    return LPS_TO_RAS @ np.asarray(matrix, dtype=float)


def rasToLPS(matrix: np.ndarray) -> np.ndarray:
    """Re-express an ``*ToRAS`` 4x4 matrix in LPS (the same flip as :func:`lpsToRAS`)."""
    return LPS_TO_RAS @ np.asarray(matrix, dtype=float)


def frameChange(fromCodes: str, toCodes: str) -> np.ndarray:
    """Return the 4x4 matrix taking coordinates in patient frame ``fromCodes`` to ``toCodes``.

    Frames are three-letter axis codes such as ``"LPS"``, ``"RAS"``, ``"LPI"``
    or ``"ASL"``; each letter is the direction in which that coordinate
    increases. Parsing and the permutation are nibabel's
    (``nibabel.orientations.axcodes2ornt`` / ``ornt_transform``).

    Raises
    ------
    ValueError
        If either code is not a permutation of one letter from each of the
        pairs L/R, P/A, I/S.
    """
    source = _orientationOfCodes(fromCodes, "fromCodes")
    target = _orientationOfCodes(toCodes, "toCodes")
    transform = orientations.ornt_transform(source, target)
    matrix = np.zeros((4, 4))
    matrix[3, 3] = 1.0
    for sourceAxis, (targetAxis, flip) in enumerate(transform):
        matrix[int(targetAxis), sourceAxis] = flip
    return matrix


def _orientationOfCodes(codes: str, argumentName: str) -> np.ndarray:
    codes = str(codes).upper()
    if len(codes) != 3:
        raise ValueError(f"{argumentName} must be 3 axis letters such as 'RAS' or 'LPS', got {codes!r}")
    try:
        ornt = orientations.axcodes2ornt(tuple(codes))
    except Exception as error:  # nibabel raises ValueError or KeyError
        raise ValueError(f"{argumentName}={codes!r} is not a valid axis code: {error}") from error
    if np.isnan(ornt).any() or sorted(ornt[:, 0].astype(int)) != [0, 1, 2]:
        raise ValueError(f"{argumentName}={codes!r} must use one letter from each of L/R, P/A, I/S")
    return ornt


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


def axisCodes(matrix: np.ndarray, frame: str = "RAS") -> tuple:
    """Return the patient direction each index axis points to most, e.g. ``('L', 'P', 'S')``.

    ``matrix`` maps an index (any order) to patient frame ``frame``; the
    answer has one letter per index axis, in that index order, and does not
    depend on the frame the matrix is expressed in. Uses
    ``nibabel.orientations.aff2axcodes`` on the RAS form.
    """
    matrixRAS = frameChange(frame, "RAS") @ np.asarray(matrix, dtype=float)
    return tuple(orientations.aff2axcodes(matrixRAS))


def voxelToVoxel(ijkToRASFrom: np.ndarray, ijkToRASTo: np.ndarray) -> np.ndarray:
    """Return ``inverse(ijkToRASTo) . ijkToRASFrom``: IJK of volume A to IJK of volume B.

    Both matrices must share index convention and patient frame (either may be
    LPS or RAS as long as both are the same).
    """
    return np.linalg.inv(np.asarray(ijkToRASTo, dtype=float)) @ np.asarray(ijkToRASFrom, dtype=float)


def columnNorms(matrix: np.ndarray) -> np.ndarray:
    """Return the length (mm) of each of the three index axes of a 4x4 matrix: the voxel spacing."""
    return np.linalg.norm(np.asarray(matrix, dtype=float)[:3, :3], axis=0)


def angleDegrees(first: Sequence[float], second: Sequence[float]) -> float:
    """Return the unsigned angle (degrees, 0 to 180) between two 3-vectors; 0 if either is zero."""
    return float(anglesDegrees(first, second))


def anglesDegrees(first, second) -> np.ndarray:
    """Row-wise :func:`angleDegrees` of two arrays of 3-vectors (shape ``(N, 3)``, or ``(3,)`` to broadcast)."""
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    norms = np.linalg.norm(first, axis=-1) * np.linalg.norm(second, axis=-1)
    # atan2 of |cross| and dot is accurate for tiny angles, unlike acos.
    angles = np.degrees(np.arctan2(np.linalg.norm(np.cross(first, second), axis=-1), np.sum(first * second, axis=-1)))
    return np.where(norms == 0, 0.0, angles)


def lineAnglesDegrees(first, second) -> np.ndarray:
    """Row-wise :func:`lineAngleDegrees` (0 to 90 degrees, sign ignored)."""
    angles = anglesDegrees(first, second)
    return np.minimum(angles, 180.0 - angles)


def lineAngleDegrees(first: Sequence[float], second: Sequence[float]) -> float:
    """Return the angle (degrees, 0 to 90) between the lines along two vectors, ignoring sign."""
    angle = angleDegrees(first, second)
    return min(angle, 180.0 - angle)
