"""A synthetic archive with label images whose relation to their series is known by construction (`audit --labels`).

The archive is :func:`writeArchive`'s (one defect per series, the last series split across two folders), plus
a 4D MR series written twice under one SeriesInstanceUID (classic and enhanced: two records) and a series whose
files lost ImagePositionPatient (no usable geometry). Each label image is written here the way a pipeline
writes it, from geometry computed here with pydicom from the files' own IPP / IOP / PixelSpacing (Slicer's sort:
by IPP . (IOP[0:3] x IOP[3:6])), never from the audit's output; ``expected`` maps each label image to the
finding kinds ``align`` must give it, argued from how the image was built:

* a correct mask (the series' own grid, array [i, j, k]): ``same-grid``;
* the same with the LPS matrix in the sform, on a series away from the patient's z axis (all x > 0): mirrored
  through that axis, no DICOM voxel inside: ``disjoint`` and ``lps-as-ras``;
* a numpy [k, j, i] array saved under the [i, j, k] affine (slices != rows, columns): overlapping, another
  shape: ``different-grid`` and ``kji-array-order``;
* Slicer's single affine (first to last IPP) on the series with one slice moved by 0.4 of a gap: every slice
  one DICOM slice, one affine cannot place them: ``same-slices``, ``header-approximates-stack``, and (the
  first gap is the regular one) ``slice-step-from-first-two-files``;
* a correct mask of another series, named for a series far from it: ``disjoint``;
* a file that is not an image, and a label of the series without geometry: ``labelNotChecked``;
* one matched by the CSV table only (no UID in its name), a file naming no series, one naming two.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Set

import nibabel
import numpy as np
import pydicom

from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries
from AffineInspectorLib.dicom.syntheticarchive import Archive, writeArchive
from fourddata import FourDSpec, writeClassic, writeEnhanced

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclasses.dataclass
class LabelledArchive:
    archive: Archive
    labels: str
    table: str
    expected: Dict[str, Set[str]]
    """Label image -> the finding kinds align gives it against its series."""
    matchedTo: Dict[str, str]
    """Label image -> the SeriesInstanceUID it is matched to."""
    unmatched: List[str]
    ambiguous: List[str]
    fourDUID: str
    noGeometryUID: str

    def labelsOf(self, uid: str) -> List[str]:
        return sorted(label for label, matched in self.matchedTo.items() if matched == uid)


def sortedDatasets(paths: List[str]) -> List[pydicom.Dataset]:
    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in paths]
    iop = np.asarray(datasets[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(datasets, key=lambda ds: float(np.dot(np.asarray(ds.ImagePositionPatient, float), normal)))


def slicerIJKToRAS(paths: List[str]) -> np.ndarray:
    """Slicer's single affine of a series (i column, j row, k slice; k step (last - first) / (N - 1)), RAS."""
    datasets = sortedDatasets(paths)
    iop = np.asarray(datasets[0].ImageOrientationPatient, float)
    rowSpacing, columnSpacing = (float(value) for value in datasets[0].PixelSpacing)
    first = np.asarray(datasets[0].ImagePositionPatient, float)
    last = np.asarray(datasets[-1].ImagePositionPatient, float)
    matrix = np.eye(4)
    matrix[:3, 0] = iop[:3] * columnSpacing
    matrix[:3, 1] = iop[3:] * rowSpacing
    matrix[:3, 2] = (last - first) / (len(datasets) - 1)
    matrix[:3, 3] = first
    return LPS_TO_RAS @ matrix


def voxelCentresRAS(paths: List[str]) -> np.ndarray:
    """(N * rows * columns, 3) RAS centres of every pixel of every file, each from its own header."""
    centres = []
    for ds in sortedDatasets(paths):
        iop = np.asarray(ds.ImageOrientationPatient, float)
        rowSpacing, columnSpacing = (float(value) for value in ds.PixelSpacing)
        j, i = np.mgrid[0 : ds.Rows, 0 : ds.Columns]
        lps = (
            np.asarray(ds.ImagePositionPatient, float)
            + i[..., None] * iop[:3] * columnSpacing
            + j[..., None] * iop[3:] * rowSpacing
        )
        centres.append(lps.reshape(-1, 3) * [-1.0, -1.0, 1.0])
    return np.concatenate(centres)


def gridShape(paths: List[str]) -> tuple:
    datasets = sortedDatasets(paths)
    return (int(datasets[0].Columns), int(datasets[0].Rows), len(datasets))


def mask(shape: tuple) -> np.ndarray:
    """A block label, [i, j, k] (file order = DICOM order)."""
    data = np.zeros(shape, dtype=np.uint8)
    data[2:-2, 3:-3, 1 : max(2, shape[2] - 1)] = 1
    return data


def saveNIfTI(path: str, data: np.ndarray, affine: np.ndarray) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(data, affine), path)  # sform code 2, qform code 0 (nibabel's default)
    return path


def insideBox(affine: np.ndarray, shape: tuple, points: np.ndarray, marginVoxels: float) -> np.ndarray:
    """Which RAS points lie within the image's voxel centres +- (0.5 + margin) voxels."""
    index = (points - affine[:3, 3]) @ np.linalg.inv(affine[:3, :3]).T
    low, high = -0.5 - marginVoxels, np.asarray(shape, float) - 0.5 + marginVoxels
    return np.all((index >= low) & (index <= high), axis=1)


def writeLabelledArchive(root: str) -> LabelledArchive:
    archive = writeArchive(os.path.join(root, "archive"), series=10, seed=0)
    series = {expected.defect + str(number): expected for number, expected in enumerate(archive.series)}
    regular, split = series["regular0"], series["regular9"]
    assert len(split.folders) == 2  # the last series is the one split across folders
    single, uneven, instance = series["singleSlice4"], series["uneven5"], series["instanceOrder7"]
    oblique, duplicate = series["reversedOblique8"], series["duplicate3"]

    fourD = FourDSpec(positions=5, volumes=3)
    writeClassic(fourD, os.path.join(archive.root, "fourd", "classic"))
    writeEnhanced(fourD, os.path.join(archive.root, "fourd", "enhanced"))
    noGeometry = writeSeries(SeriesSpec(rows=8, columns=8, numberOfSlices=4), os.path.join(archive.root, "nogeo"))
    for path in noGeometry:
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient
        ds.save_as(path)
    noGeometryUID = str(pydicom.dcmread(noGeometry[0]).SeriesInstanceUID)

    labels = os.path.join(root, "labels")
    expected: Dict[str, Set[str]] = {}
    matchedTo: Dict[str, str] = {}

    def add(path: str, uid: str, kinds: Set[str]) -> None:
        expected[path], matchedTo[path] = kinds, uid

    uid = regular.seriesInstanceUID
    add(
        saveNIfTI(os.path.join(labels, f"{uid}.nii.gz"), mask(gridShape(regular.files)), slicerIJKToRAS(regular.files)),
        uid,
        {"same-grid"},
    )

    uid = split.seriesInstanceUID
    centres = voxelCentresRAS(split.files)
    assert np.all(centres[:, 0] < -1.0), "the mirrored series must lie apart from itself"  # RAS x < 0: LPS x > 0
    lpsMatrix = LPS_TO_RAS @ slicerIJKToRAS(split.files)
    add(
        saveNIfTI(os.path.join(labels, f"seg_{uid}_lps.nii.gz"), mask(gridShape(split.files)), lpsMatrix),
        uid,
        {"disjoint", "lps-as-ras"},
    )

    uid = oblique.seriesInstanceUID
    shape = gridShape(oblique.files)
    assert shape[2] not in shape[:2]  # else [k, j, i] has the DICOM's sizes
    kji = np.ascontiguousarray(np.transpose(mask(shape), (2, 1, 0)))
    add(
        saveNIfTI(os.path.join(labels, "numpy", f"{uid}_kji.nii.gz"), kji, slicerIJKToRAS(oblique.files)),
        uid,
        {"different-grid", "kji-array-order"},
    )

    uid = uneven.seriesInstanceUID
    positions = np.array([np.asarray(ds.ImagePositionPatient, float) for ds in sortedDatasets(uneven.files)])
    gaps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    assert abs(gaps[0] - gaps[-1]) < 1e-3 and np.ptp(gaps) > 0.1  # the first gap is regular, one is not
    add(
        saveNIfTI(os.path.join(labels, f"{uid}.nii"), mask(gridShape(uneven.files)), slicerIJKToRAS(uneven.files)),
        uid,
        {"same-slices", "header-approximates-stack", "slice-step-from-first-two-files"},
    )

    uid = single.seriesInstanceUID
    otherAffine, otherShape = slicerIJKToRAS(regular.files), gridShape(regular.files)
    assert not insideBox(otherAffine, otherShape, voxelCentresRAS(single.files), 2.0).any()
    add(saveNIfTI(os.path.join(labels, f"other_{uid}.nii.gz"), mask(otherShape), otherAffine), uid, {"disjoint"})

    uid = duplicate.seriesInstanceUID
    notAnImage = os.path.join(labels, f"{uid}.nii.gz")
    with open(notAnImage, "wb") as stream:
        stream.write(b"not a NIfTI file")
    add(notAnImage, uid, {"labelNotChecked"})

    uid = instance.seriesInstanceUID
    byTable = saveNIfTI(
        os.path.join(labels, "sub", "case_007.nii.gz"), mask(gridShape(instance.files)), slicerIJKToRAS(instance.files)
    )
    add(byTable, uid, {"same-grid"})
    table = os.path.join(labels, "labels.csv")
    with open(table, "w") as stream:
        stream.write(f"label,seriesInstanceUID\nsub/case_007.nii.gz,{uid}\n")

    fourDMatrix = LPS_TO_RAS @ fourD.IJKToLPS()
    shape4 = (fourD.columns, fourD.rows, fourD.positions)
    add(
        saveNIfTI(os.path.join(labels, f"fourd_{fourD.seriesUID}.nii.gz"), mask(shape4), fourDMatrix),
        fourD.seriesUID,
        {"same-grid"},
    )

    add(
        saveNIfTI(os.path.join(labels, f"{noGeometryUID}.nii.gz"), mask((8, 8, 4)), np.eye(4)),
        noGeometryUID,
        {"labelNotChecked"},
    )

    unmatched = saveNIfTI(os.path.join(labels, "scratch.nii.gz"), mask((8, 8, 4)), np.eye(4))
    ambiguous = saveNIfTI(
        os.path.join(labels, f"{regular.seriesInstanceUID}_{split.seriesInstanceUID}.nii.gz"),
        mask((8, 8, 4)),
        np.eye(4),
    )
    return LabelledArchive(
        archive, labels, table, expected, matchedTo, [unmatched], [ambiguous], fourD.seriesUID, noGeometryUID
    )
