"""The VTK classes the mrml layer uses, imported from their own modules, and 4x4 matrices to and from numpy.

``import vtk`` imports every VTK module (0.2 s of CPU on top of slicer-core,
which imports the ones it needs); the command line imports the mrml layer
only to load and resample, so these modules write ``from . import vtkclasses
as vtk`` and keep ``vtk.vtkImageData`` and friends as before. For the same
reason :func:`matrixFromArray` and :func:`arrayFromMatrix` do what
``slicer.util.vtkMatrixFromArray`` / ``arrayFromVTKMatrix`` do for a 4x4
matrix: those import the whole of ``vtk`` on their first call.
"""

from typing import Any

import numpy as np
from vtkmodules.vtkCommonCore import vtkLogger, vtkObject
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkCommonMisc import vtkErrorCode
from vtkmodules.vtkCommonTransforms import vtkGeneralTransform, vtkTransform
from vtkmodules.vtkImagingCore import vtkImageChangeInformation, vtkImageReslice


def matrixFromArray(array: Any) -> vtkMatrix4x4:
    """A new vtkMatrix4x4 holding the 4x4 ``array`` (row-major), as ``slicer.util.vtkMatrixFromArray``."""
    values = np.asarray(array, dtype=float)
    if values.shape != (4, 4):
        raise ValueError(f'Argument "array" must be 4x4, got shape {values.shape}')
    matrix = vtkMatrix4x4()
    matrix.DeepCopy(values.ravel().tolist())
    return matrix


def arrayFromMatrix(matrix: vtkMatrix4x4) -> np.ndarray:
    """The 4x4 numpy array of a vtkMatrix4x4, as ``slicer.util.arrayFromVTKMatrix``."""
    return np.array([[matrix.GetElement(row, column) for column in range(4)] for row in range(4)])


__all__ = [
    "arrayFromMatrix",
    "matrixFromArray",
    "vtkErrorCode",
    "vtkGeneralTransform",
    "vtkImageChangeInformation",
    "vtkImageData",
    "vtkImageReslice",
    "vtkLogger",
    "vtkMatrix4x4",
    "vtkObject",
    "vtkTransform",
]
