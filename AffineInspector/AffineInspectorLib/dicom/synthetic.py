"""Writing small, realistic DICOM series with known geometry, with pydicom.

Used for the built-in sample (a gantry-tilted CT with a missing slice), the
property tests, the Slicer self-test and the benchmark. Every series is
described by a :class:`SeriesSpec`; :meth:`SeriesSpec.IJKToLPS` is the
ground-truth affine (Slicer IJK, LPS) of the slices that are written.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

_ROOT = "1.2.826.0.1.3680043.10.1234."  # example UID root; generate_uid adds a unique suffix


def newPart10Dataset(
    sopClassUID: str, *, instanceUID: Optional[str] = None, implicit: bool = False, filename: Optional[str] = None
) -> FileDataset:
    """An empty DICOM Part 10 data set of ``sopClassUID``: 128-byte preamble, file meta (explicit VR little
    endian unless ``implicit``), SOPClassUID and SOPInstanceUID (``instanceUID`` or a new one) set in both."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sopClassUID)
    meta.MediaStorageSOPInstanceUID = UID(instanceUID) if instanceUID else generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    dataset = FileDataset(filename, {}, file_meta=meta, preamble=b"\0" * 128)
    dataset.SOPClassUID, dataset.SOPInstanceUID = sopClassUID, meta.MediaStorageSOPInstanceUID
    return dataset


@dataclasses.dataclass
class SeriesSpec:
    """Geometry of a synthetic series.

    ``rotation`` is a 3x3 matrix whose columns are the row direction X
    (IOP[0:3]), the column direction Y (IOP[3:6]) and the normal X x Y, in
    LPS. ``spacingMm`` is the distance between planes along the normal and
    ``tiltDeg`` shears each step towards Y, as a tilted CT gantry does.
    ``dropped`` are planned slice indices not written (missing slices),
    ``duplicated`` indices written twice, ``shuffleNames`` writes files under
    names that do not follow position, ``reverseInstanceNumbers`` numbers
    them from the top.
    """

    rows: int = 32
    columns: int = 40
    pixelSpacing: Tuple[float, float] = (0.7, 0.6)
    numberOfSlices: int = 12
    spacingMm: float = 2.5
    tiltDeg: float = 0.0
    rotation: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(3))
    origin: Tuple[float, float, float] = (-12.5, -20.0, 30.0)
    dropped: Sequence[int] = ()
    duplicated: Sequence[int] = ()
    shuffleNames: bool = False
    reverseInstanceNumbers: bool = False
    writeTiltTag: bool = True
    seriesDescription: str = "Synthetic CT"
    seed: int = 0

    @property
    def orientation(self) -> Tuple[float, ...]:
        return tuple(float(v) for v in np.concatenate([self.rotation[:, 0], self.rotation[:, 1]]))

    @property
    def stepVector(self) -> np.ndarray:
        """LPS vector between consecutive planned slices (mm)."""
        normal = self.rotation[:, 2]
        column = self.rotation[:, 1]
        return self.spacingMm * (normal + np.tan(np.radians(self.tiltDeg)) * column)

    def plannedPosition(self, index: int) -> np.ndarray:
        return np.asarray(self.origin, dtype=float) + index * self.stepVector

    def writtenIndices(self) -> List[int]:
        """Planned indices in the order of their positions, with duplicates repeated."""
        indices = []
        for index in range(self.numberOfSlices):
            if index in self.dropped:
                continue
            indices.append(index)
            if index in self.duplicated:
                indices.append(index)
        return indices

    def IJKToLPS(self) -> np.ndarray:
        """Ground truth for a regular series: Slicer IJK to LPS (first written slice at k = 0)."""
        first = self.writtenIndices()[0]
        matrix = np.eye(4)
        matrix[:3, 0] = self.rotation[:, 0] * self.pixelSpacing[1]
        matrix[:3, 1] = self.rotation[:, 1] * self.pixelSpacing[0]
        matrix[:3, 2] = self.stepVector
        matrix[:3, 3] = self.plannedPosition(first)
        return matrix


def rotationFromAngles(first: float, second: float, third: float) -> np.ndarray:
    """A rotation (columns X, Y, normal) from three angles in degrees (z-y-x Euler)."""
    a, b, c = np.radians([first, second, third])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rx = np.array([[1, 0, 0], [0, np.cos(c), -np.sin(c)], [0, np.sin(c), np.cos(c)]])
    return rz @ ry @ rx


def writeSeries(spec: SeriesSpec, folder: str, *, pixelValue: Optional[int] = None) -> List[str]:
    """Write the series into ``folder`` (created if needed); return the file paths in position order.

    Pixels are a sphere phantom (or a constant ``pixelValue``), 16-bit.
    """
    os.makedirs(folder, exist_ok=True)
    random = np.random.default_rng(spec.seed)
    seriesUID = generate_uid(_ROOT)
    studyUID = generate_uid(_ROOT)
    frameOfReferenceUID = generate_uid(_ROOT)
    indices = spec.writtenIndices()
    names = [f"IM{number:05d}.dcm" for number in range(1, len(indices) + 1)]
    if spec.shuffleNames:
        names = [names[i] for i in random.permutation(len(names))]
    paths = []
    for order, (index, name) in enumerate(zip(indices, names)):
        instanceNumber = len(indices) - order if spec.reverseInstanceNumbers else order + 1
        dataset = _sliceDataset(spec, index, instanceNumber, seriesUID, studyUID, frameOfReferenceUID, pixelValue)
        path = os.path.join(folder, name)
        dataset.save_as(path, enforce_file_format=True) if _pydicom3() else dataset.save_as(
            path, write_like_original=False
        )
        paths.append(path)
    return paths


def _pydicom3() -> bool:
    return int(pydicom.__version__.split(".")[0]) >= 3


def _sliceDataset(
    spec: SeriesSpec,
    index: int,
    instanceNumber: int,
    seriesUID: str,
    studyUID: str,
    frameOfReferenceUID: str,
    pixelValue: Optional[int],
) -> FileDataset:
    dataset = newPart10Dataset(CTImageStorage, instanceUID=generate_uid(_ROOT))
    dataset.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    dataset.Modality = "CT"
    dataset.Manufacturer = "AffineInspector synthetic"
    dataset.PatientName = "Phantom^Synthetic"
    dataset.PatientID = "SYNTHETIC"
    dataset.StudyInstanceUID = studyUID
    dataset.SeriesInstanceUID = seriesUID
    dataset.FrameOfReferenceUID = frameOfReferenceUID
    dataset.SeriesDescription = spec.seriesDescription
    dataset.SeriesNumber = 1
    dataset.InstanceNumber = instanceNumber
    dataset.SliceThickness = f"{spec.spacingMm:g}"
    if spec.writeTiltTag:
        dataset.GantryDetectorTilt = f"{spec.tiltDeg:.1f}"
    position = spec.plannedPosition(index)
    dataset.ImagePositionPatient = [_ds(value) for value in position]
    dataset.ImageOrientationPatient = [_ds(value) for value in spec.orientation]
    dataset.PixelSpacing = [_ds(value) for value in spec.pixelSpacing]
    dataset.Rows = spec.rows
    dataset.Columns = spec.columns
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 16
    dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.PixelRepresentation = 1
    dataset.RescaleIntercept = "-1024"
    dataset.RescaleSlope = "1"
    dataset.PixelData = _phantom(spec, index, pixelValue).tobytes()
    return dataset


def _ds(value: float) -> str:
    """A DS string of at most 16 characters that keeps as many digits as fit."""
    for digits in range(15, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    return f"{value:.1f}"


def _phantom(spec: SeriesSpec, index: int, pixelValue: Optional[int]) -> np.ndarray:
    if pixelValue is not None:
        return np.full((spec.rows, spec.columns), pixelValue, dtype=np.int16)
    j, i = np.mgrid[0 : spec.rows, 0 : spec.columns]
    k = index - spec.numberOfSlices / 2.0
    radius2 = ((i - spec.columns / 2.0) * spec.pixelSpacing[1]) ** 2 + (
        (j - spec.rows / 2.0) * spec.pixelSpacing[0]
    ) ** 2
    radius2 = radius2 + (k * spec.spacingMm) ** 2
    limit = (0.4 * min(spec.rows * spec.pixelSpacing[0], spec.columns * spec.pixelSpacing[1])) ** 2
    return np.where(radius2 < limit, 1040, 1024 - 1000).astype(np.int16)


def builtInSampleSpec() -> SeriesSpec:
    """The built-in sample: a 64x64 head CT with 18.5 deg gantry tilt, 2.5 mm slices and slice 9 missing."""
    tilt = np.radians(18.5)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(tilt), np.sin(tilt)], [0.0, -np.sin(tilt), np.cos(tilt)]])
    return SeriesSpec(
        rows=64,
        columns=64,
        pixelSpacing=(0.9, 0.9),
        numberOfSlices=16,
        spacingMm=2.5,
        tiltDeg=-18.5,
        rotation=rotation,
        origin=(-28.8, -40.0, 10.0),
        dropped=(9,),
        shuffleNames=True,
        seriesDescription="Sample head CT, 18.5 deg gantry tilt, one slice missing",
    )
