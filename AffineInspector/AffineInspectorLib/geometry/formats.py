"""A volume's geometry as text a user pastes into another tool (the panel's Copy button).

Every format starts from Slicer's ``IJKToRAS`` (4x4; Slicer IJK: i column,
j row, k slice; RAS mm, parent transforms not applied) and says in its first
line which frame and index order it uses. Pure functions: numpy only.

=================  ==========================================================
format             what it is and where it goes
=================  ==========================================================
numpy              ``np.array`` of IJKToRAS (Slicer console, nibabel code)
slicer             ``SetIJKToRASMatrix`` line for a volume node in Slicer
itkTransform       ITK transform file (``.tfm``) of IJK -> LPS, read by
                   ``SimpleITK.ReadTransform`` / ``itk.transformread``
simpleITK          ``SetOrigin``/``SetSpacing``/``SetDirection`` (LPS) lines
                   for a SimpleITK image with the same voxel grid
niftiSform         the three ``srow`` rows of a NIfTI sform (voxel i, j, k
                   -> RAS mm), as nibabel's ``get_sform()`` returns them
=================  ==========================================================
"""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np
import numpy.typing as npt

from .affines import rasToLPS

_PRECISION = 6


def _number(value: float) -> str:
    text = f"{float(value):.{_PRECISION}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _rows(matrix: np.ndarray) -> str:
    return ",\n    ".join("[" + ", ".join(_number(value) for value in row) + "]" for row in matrix)


def numpyText(IJKToRAS: np.ndarray) -> str:
    """``np.array`` literal of IJKToRAS (Slicer IJK, RAS mm)."""
    return f"# IJKToRAS: Slicer IJK (i column, j row, k slice) -> RAS mm\nnp.array([\n    {_rows(IJKToRAS)},\n])\n"


def slicerText(IJKToRAS: np.ndarray) -> str:
    """A Slicer Python console line that gives ``volumeNode`` this IJKToRAS."""
    return (
        "# Slicer Python console: give volumeNode this IJK -> RAS geometry\n"
        "volumeNode.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(np.array([\n"
        f"    {_rows(IJKToRAS)},\n])))\n"
    )


def itkTransformText(IJKToRAS: np.ndarray) -> str:
    """ITK transform file text (Insight Transform File V1.0) of the IJK -> LPS affine.

    ``Parameters`` are the 3x3 matrix row by row, then the translation;
    ``FixedParameters`` the centre (0, 0, 0). ITK's physical frame is LPS.
    """
    ijkToLPS = rasToLPS(IJKToRAS)
    parameters = [*ijkToLPS[:3, :3].ravel(), *ijkToLPS[:3, 3]]
    return (
        "#Insight Transform File V1.0\n"
        "#Transform 0\n"
        "Transform: AffineTransform_double_3_3\n"
        f"Parameters: {' '.join(_number(value) for value in parameters)}\n"
        "FixedParameters: 0 0 0\n"
    )


def simpleITKText(IJKToRAS: np.ndarray) -> str:
    """SimpleITK lines giving an image the same grid: origin, spacing, direction (LPS; ITK index = Slicer IJK)."""
    ijkToLPS = rasToLPS(IJKToRAS)
    spacing = np.linalg.norm(ijkToLPS[:3, :3], axis=0)
    direction = ijkToLPS[:3, :3] / spacing
    return (
        "# SimpleITK image geometry (LPS mm; index (i, j, k) = Slicer IJK)\n"
        f"image.SetOrigin(({', '.join(_number(value) for value in ijkToLPS[:3, 3])}))\n"
        f"image.SetSpacing(({', '.join(_number(value) for value in spacing)}))\n"
        f"image.SetDirection(({', '.join(_number(value) for value in direction.ravel())}))\n"
    )


def niftiSformText(IJKToRAS: np.ndarray) -> str:
    """The NIfTI sform rows (voxel i, j, k -> RAS mm): Slicer writes its IJKToRAS as the sform."""
    names = ("srow_x", "srow_y", "srow_z")
    rows = "\n".join(f"{name} = {' '.join(_number(value) for value in row)}" for name, row in zip(names, IJKToRAS))
    return f"# NIfTI sform (voxel i, j, k -> RAS mm), sform_code 1\n{rows}\n"


COPY_FORMATS: Dict[str, Callable[[np.ndarray], str]] = {
    "numpy array (IJK to RAS)": numpyText,
    "Slicer Python (SetIJKToRASMatrix)": slicerText,
    "ITK transform file (IJK to LPS, .tfm)": itkTransformText,
    "SimpleITK origin/spacing/direction (LPS)": simpleITKText,
    "NIfTI sform rows (RAS)": niftiSformText,
}
"""Copy-button formats, by the label the panel shows; each takes IJKToRAS."""


def formatGeometry(formatName: str, IJKToRAS: npt.ArrayLike) -> str:
    """Render IJKToRAS in one of :data:`COPY_FORMATS`; raises ValueError for an unknown format name."""
    if formatName not in COPY_FORMATS:
        raise ValueError(f"formatName must be one of {list(COPY_FORMATS)}, not {formatName!r}")
    return COPY_FORMATS[formatName](np.asarray(IJKToRAS, dtype=float))


def formatMatrix(matrix: np.ndarray, indent: str = "    ", precision: int = 4) -> str:
    """A 4x4 matrix as aligned monospace rows."""
    cells = [[f"{value:.{precision}f}" for value in row] for row in np.asarray(matrix)]
    width = max(len(cell) for row in cells for cell in row)
    return "\n".join(indent + "[" + "  ".join(cell.rjust(width) for cell in row) + "]" for row in cells)
