"""Image files written atomically: never over an existing file, never under an input's name.

:func:`writeVolume` writes .nii / .nii.gz (nibabel), .nrrd (pynrrd) or .npy (numpy) through a temporary file in
the target folder that is then linked to the final name, which must not exist: no input, no file this run did
not create, is ever replaced. nibabel and pynrrd are imported inside the functions that need them, so
``inspect`` never imports them. Arrays come in DICOM order [k, j, i] with Slicer's IJKToRAS (RAS mm).
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

import numpy as np

from ..geometry.errors import GeometryError

WRITE_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".npy")
_COMPANIONS = (".raw", ".raw.gz", ".zraw", ".img", ".img.gz")
"""Data files that may sit beside a header file (.nhdr, .mhd, .hdr): an output never takes their names."""


def refuseOutput(output: str, inputs: Sequence[str]) -> None:
    """GeometryError (nothing written) for an output of the wrong kind, an input, or an existing file."""
    lower = output.lower()
    if not lower.endswith(WRITE_EXTENSIONS):
        raise GeometryError(f"--output must end with one of {', '.join(WRITE_EXTENSIONS)}; nothing written")
    for given in inputs:
        if os.path.exists(given) and os.path.abspath(given) == os.path.abspath(output):
            raise GeometryError(f"--output {output} is an input; choose a new file. Nothing written")
        if os.path.exists(output) and os.path.exists(given) and os.path.samefile(output, given):
            raise GeometryError(f"--output {output} is an input; choose a new file. Nothing written")
    if os.path.exists(output):
        raise GeometryError(f"{output} exists; choose a new file name. Nothing written")
    if lower.endswith(_COMPANIONS):
        raise GeometryError(f"{output}: a data file name of another image's header; nothing written")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise GeometryError(f"{folder}: no such folder; nothing written")


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


def writeVolume(output: str, arrayKJI: np.ndarray, IJKToRAS: np.ndarray, *, description: str = "") -> None:
    """Write a DICOM-order array [k, j, i] to ``output``: .npy as is; .nii(.gz) / .nrrd as (i, j, k) with the
    Slicer IJKToRAS given (RAS mm). Atomic, never over an existing file; refuses an all-zero / all-NaN array."""
    refuseEmpty(arrayKJI, output)
    lower = output.lower()
    extension = next(ext for ext in WRITE_EXTENSIONS if lower.endswith(ext))
    folder = os.path.dirname(os.path.abspath(output))
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", suffix=extension, dir=folder)
    os.close(handle)
    try:
        if extension == ".npy":
            np.save(temporary, np.ascontiguousarray(arrayKJI))
        elif extension in (".nii", ".nii.gz"):
            _writeNIfTI(temporary, arrayKJI, IJKToRAS, description)
        else:
            _writeNRRD(temporary, arrayKJI, IJKToRAS)
        try:
            os.link(temporary, output)  # fails if the name appeared meanwhile: never replaces a file
        except FileExistsError:
            raise GeometryError(f"{output} appeared while writing; nothing replaced") from None
        except OSError:  # a file system without hard links: rename, after one more check
            if os.path.exists(output):
                raise GeometryError(f"{output} appeared while writing; nothing replaced") from None
            os.rename(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


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
