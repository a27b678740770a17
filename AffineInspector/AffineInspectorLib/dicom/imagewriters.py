"""Image files written atomically: never over an existing file, never under an input's name.

:func:`writeVolume` writes .nii / .nii.gz (nibabel), .nrrd (pynrrd) or .npy (numpy) through
:func:`.outputs.newFiles` (a private folder beside the target, then a hard link to the final name, which must
not exist): no input, no file this run did not create, is ever replaced. nibabel and pynrrd are imported inside
the functions that need them, so ``inspect`` never imports them. Arrays come in DICOM order [k, j, i] with
Slicer's IJKToRAS (RAS mm).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..geometry.errors import GeometryError
from . import outputs

WRITE_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".npy")


def refuseOutput(output: str, inputs: Sequence[str], *, mkdir: bool = False) -> None:
    """GeometryError (nothing written) for an output of the wrong kind, an input, an existing file, a symbolic
    link, a companion data file in the way or a missing folder (:func:`.outputs.refuseOutput`)."""
    outputs.refuseOutput(output, option="--output", inputs=inputs, extensions=WRITE_EXTENSIONS, mkdir=mkdir)


def refuseEmpty(array: np.ndarray, output: str) -> None:
    """GeometryError when every voxel is 0 or NaN: such an output is never written (it would hide a failure)."""
    values = np.asarray(array)
    if values.dtype.kind == "f" and np.all(np.isnan(values)):
        raise GeometryError(f"{output}: every voxel would be NaN; nothing written")
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if not np.any(finite):
        raise GeometryError(
            f"{output}: every voxel would be 0 (the image does not cover the DICOM voxels); nothing written"
        )


def writeVolume(
    output: str, arrayKJI: np.ndarray, IJKToRAS: np.ndarray, *, description: str = "", mkdir: bool = False
) -> Optional[str]:
    """Write a DICOM-order array [k, j, i] to ``output``: .npy as is; .nii(.gz) / .nrrd as (i, j, k) with the
    Slicer IJKToRAS given (RAS mm). Atomic, never over an existing file (:func:`.outputs.newFiles`); refuses an
    all-zero / all-NaN array. Returns the folder created for it (``mkdir``), else None."""
    refuseEmpty(arrayKJI, output)
    lower = output.lower()
    extension = next(ext for ext in WRITE_EXTENSIONS if lower.endswith(ext))
    with outputs.newFiles(output, mkdir=mkdir) as written:
        if extension == ".npy":
            with open(written.staged, "wb") as stream:  # np.save on a path would append .npy to other names
                np.save(stream, np.ascontiguousarray(arrayKJI))
        elif extension in (".nii", ".nii.gz"):
            _writeNIfTI(written.staged, arrayKJI, IJKToRAS, description)
        else:
            _writeNRRD(written.staged, arrayKJI, IJKToRAS)
    return written.createdFolder


def _writeNIfTI(path: str, arrayKJI: np.ndarray, IJKToRAS: np.ndarray, description: str) -> None:
    import nibabel

    image = nibabel.Nifti1Image(np.ascontiguousarray(np.transpose(arrayKJI, (2, 1, 0))), None)
    matrix = np.asarray(IJKToRAS, dtype=float)
    image.header.set_sform(matrix, code=1)
    rotation = matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0)
    if np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6):
        image.header.set_qform(matrix, code=1)
    else:  # a sheared (tilted) grid: a qform cannot hold it; code 0 so that no reader takes a wrong one
        image.header.set_qform(matrix, code=0)
    if description:
        image.header["descrip"] = description[:79].encode("ascii", "replace")
    nibabel.save(image, path)


def _writeNRRD(path: str, arrayKJI: np.ndarray, IJKToRAS: np.ndarray) -> None:
    import nrrd

    matrix = np.asarray(IJKToRAS, dtype=float)
    header = {
        "space": "right-anterior-superior",
        "space directions": matrix[:3, :3].T,
        "space origin": matrix[:3, 3],
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }
    nrrd.write(path, np.ascontiguousarray(np.transpose(arrayKJI, (2, 1, 0))), header, index_order="F")
