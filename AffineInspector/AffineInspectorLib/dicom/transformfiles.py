"""Write (and read back) one 4x4 matrix in each program's transform-file layout.

=========  =====================================================================================
format     layout
=========  =====================================================================================
trm        AIMS/Anatomist ``.trm``: the translation line "Tx Ty Tz", then the 3x3 rows (AIMS
           documentation, "Referentials": M = [[R, T], [0, 1]])
spm-mat    SPM ``.mat`` (MATLAB file written with scipy.io): the variable ``mat`` holds the 4x4, as
           SPM's ``spm_get_space`` and nibabel's ``spm99analyze`` read it
flirt      FSL FLIRT ``.mat``: the 4x4 as four text rows
itk        ITK/Slicer ``.tfm`` (Insight Transform File V1.0 text: ``AffineTransform_double_3_3``,
           Parameters = 3x3 row by row then the translation, FixedParameters = centre 0 0 0), or
           ``.h5`` (ITK's HDF5 layout, written by SimpleITK)
=========  =====================================================================================

The matrix is written as given: what it maps from and to is the caller's (see the ``affine`` command).
Every file is written atomically and never over an existing file, a symbolic link or a missing folder's
name (:mod:`.outputs`: written in a private folder beside the target, then hard-linked to the target name,
which fails if the name exists).
scipy and SimpleITK are imported only when their format is written.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ..geometry.errors import GeometryError
from . import outputs

FORMATS = ("trm", "spm-mat", "flirt", "itk")


def writeTransform(formatName: str, path: str, matrix: npt.ArrayLike, *, mkdir: bool = False) -> Optional[str]:
    """Write ``matrix`` (4x4, bottom row 0 0 0 1) to a new file ``path`` in ``formatName``'s layout.

    Raises GeometryError when ``path`` exists or is a symbolic link, its folder does not exist (unless
    ``mkdir``), or the matrix is not affine (:mod:`.outputs`). Returns the folder created for it, if any.
    """
    values = _affine(matrix)
    writer = _WRITERS.get(formatName)
    if writer is None:
        raise ValueError(f"formatName must be one of {FORMATS}, not {formatName!r}")
    outputs.refuseOutput(path, option="", mkdir=mkdir)
    with outputs.newFiles(path, mkdir=mkdir) as written:
        writer(written.staged, values)
    return written.createdFolder


def readTransform(formatName: str, path: str) -> np.ndarray:
    """Read back a file :func:`writeTransform` wrote (the 4x4 matrix)."""
    reader = _READERS.get(formatName)
    if reader is None:
        raise ValueError(f"formatName must be one of {FORMATS}, not {formatName!r}")
    try:
        return reader(path)
    except OSError as error:
        raise GeometryError(f"{path}: cannot be read ({error.strerror})") from error


def readAnyTransform(path: str) -> Tuple[np.ndarray, str]:
    """``(matrix, format)`` of a transform file, the format told by the name: ``.trm`` AIMS, ``.tfm``/``.h5``
    ITK, ``.mat`` a MATLAB file with ``mat`` (SPM) or else FLIRT text, anything else 4 text rows of 4."""
    if not os.path.isfile(path):
        raise GeometryError(f"{path}: no such file")
    lower = path.lower()
    if lower.endswith(".trm"):
        formatName = "trm"
    elif lower.endswith((".tfm", ".h5", ".hdf5")):
        formatName = "itk"
    elif lower.endswith(".mat") and _isMATLAB(path):
        formatName = "spm-mat"
    else:
        formatName = "flirt"
    return readTransform(formatName, path), formatName


def _isMATLAB(path: str) -> bool:
    """MATLAB v5 files start with a 116-byte text header "MATLAB 5.0 MAT-file"; v4 files are binary with a
    small integer type code; FLIRT .mat files are text rows of numbers."""
    with open(path, "rb") as stream:
        start = stream.read(128)
    if start.startswith(b"MATLAB"):
        return True
    try:
        start.decode("ascii")
    except UnicodeDecodeError:
        return True  # binary: a v4 MAT file (the text formats are ASCII)
    return False


def trmText(matrix: npt.ArrayLike) -> str:
    """AIMS .trm text: "Tx Ty Tz" then the rows of the 3x3 part.

    Examples
    --------
    >>> print(trmText(np.diag([1.0, 2.0, 3.0, 1.0])), end="")
    0 0 0
    1 0 0
    0 2 0
    0 0 3
    """
    values = _affine(matrix)
    rows = [values[:3, 3]] + [values[row, :3] for row in range(3)]
    return "".join(" ".join(_number(value) for value in row) + "\n" for row in rows)


def flirtText(matrix: npt.ArrayLike) -> str:
    """FLIRT .mat text: the 4x4 rows (as ``flirt -omat`` writes them, two spaces between numbers)."""
    values = _affine(matrix)
    return "".join("  ".join(_number(value) for value in row) + "\n" for row in values)


def itkText(matrix: npt.ArrayLike) -> str:
    """ITK transform file text of the affine ``matrix`` (x' = A x + t): read by SimpleITK.ReadTransform."""
    values = _affine(matrix)
    parameters = [*values[:3, :3].ravel(), *values[:3, 3]]
    return (
        "#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n"
        f"Parameters: {' '.join(_number(value) for value in parameters)}\nFixedParameters: 0 0 0\n"
    )


def _number(value: float) -> str:
    # repr of a float round-trips exactly; integers print without ".0" so that files stay readable.
    number = float(value)
    if number == 0:
        return "0"
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _affine(matrix: npt.ArrayLike) -> np.ndarray:
    values = np.asarray(matrix, dtype=float)
    if values.shape != (4, 4):
        raise ValueError(f'Argument "matrix" must be 4x4, got shape {values.shape}')
    if not np.array_equal(values[3], [0, 0, 0, 1]) or not np.all(np.isfinite(values)):
        raise GeometryError("the matrix is not a finite affine (bottom row must be 0 0 0 1): not written")
    return values


def _writeText(text: Callable[[npt.ArrayLike], str]) -> Callable[[str, np.ndarray], None]:
    def write(path: str, matrix: np.ndarray) -> None:
        with open(path, "w") as stream:
            stream.write(text(matrix))

    return write


def _writeSPM(path: str, matrix: np.ndarray) -> None:
    import scipy.io

    scipy.io.savemat(path, {"mat": matrix}, format="5")


def _writeITK(path: str, matrix: np.ndarray) -> None:
    if not path.lower().endswith((".h5", ".hdf5")):
        _writeText(itkText)(path, matrix)
        return
    import SimpleITK

    transform = SimpleITK.AffineTransform(3)
    transform.SetMatrix([float(value) for value in matrix[:3, :3].ravel()])
    transform.SetTranslation([float(value) for value in matrix[:3, 3]])
    SimpleITK.WriteTransform(transform, path)


def _readTRM(path: str) -> np.ndarray:
    rows = _numberRows(path, 4, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = rows[1:]
    matrix[:3, 3] = rows[0]
    return matrix


def _readFLIRT(path: str) -> np.ndarray:
    return _numberRows(path, 4, 4)


def _readSPM(path: str) -> np.ndarray:
    import scipy.io

    contents = scipy.io.loadmat(path)
    if "mat" not in contents:
        raise GeometryError(f"{path}: no variable 'mat' in this MATLAB file")
    return np.asarray(contents["mat"], dtype=float)


def _readITK(path: str) -> np.ndarray:
    import SimpleITK

    try:
        transform = SimpleITK.ReadTransform(path)
    except RuntimeError as error:
        raise GeometryError(f"{path}: not an ITK transform file") from error
    if transform.GetName() == "CompositeTransform":
        transform = SimpleITK.CompositeTransform(transform).GetNthTransform(0)
    affine = SimpleITK.AffineTransform(transform)
    matrix = np.eye(4)
    linear = np.asarray(affine.GetMatrix(), dtype=float).reshape(3, 3)
    centre = np.asarray(affine.GetCenter(), dtype=float)
    matrix[:3, :3] = linear
    matrix[:3, 3] = np.asarray(affine.GetTranslation(), dtype=float) + centre - linear @ centre
    return matrix


def _numberRows(path: str, rows: int, columns: int) -> np.ndarray:
    with open(path) as stream:
        lines = [line.split() for line in stream if line.strip()]
    try:
        values = np.array([[float(value) for value in line] for line in lines], dtype=float)
    except ValueError as error:
        raise GeometryError(f"{path}: expected {rows} rows of {columns} numbers ({error})") from error
    if values.shape != (rows, columns):
        raise GeometryError(f"{path}: expected {rows} rows of {columns} numbers, got {values.shape}")
    return values


_WRITERS: Dict[str, Callable[[str, np.ndarray], None]] = {
    "trm": _writeText(trmText),
    "spm-mat": _writeSPM,
    "flirt": _writeText(flirtText),
    "itk": _writeITK,
}
_READERS: Dict[str, Callable[[str], np.ndarray]] = {
    "trm": _readTRM,
    "spm-mat": _readSPM,
    "flirt": _readFLIRT,
    "itk": _readITK,
}
