"""Synthetic 4D MR series written with pydicom from known truth: classic (one file per slice) and enhanced.

A :class:`FourDSpec` is the truth: ``positions`` slice positions along the
normal of ``rotation`` (columns: IOP row, IOP column, normal; LPS), repeated
for ``volumes`` time points. Pixels say where they are: voxel (i, j) of the
slice at position p in volume v holds ``1000 * v + 10 * p + (i + j) % 7``, so a
test can tell which frame a reader put where without trusting the headers.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import EnhancedMRImageStorage, MRImageStorage, generate_uid

from AffineInspectorLib.dicom.synthetic import newPart10Dataset


@dataclasses.dataclass
class FourDSpec:
    positions: int = 5
    volumes: int = 3
    rows: int = 12
    columns: int = 10
    pixelSpacing: Tuple[float, float] = (2.0, 2.5)
    spacingMm: float = 4.0
    rotation: np.ndarray = dataclasses.field(
        default_factory=lambda: np.array(
            [[0.9848077530, 0.0, -0.1736481777], [0.0, 1.0, 0.0], [0.1736481777, 0.0, 0.9848077530]]
        )
    )
    origin: Tuple[float, float, float] = (-12.0, -15.5, 20.25)
    seriesUID: str = dataclasses.field(default_factory=generate_uid)
    studyUID: str = dataclasses.field(default_factory=generate_uid)
    frameOfReferenceUID: str = dataclasses.field(default_factory=generate_uid)

    @property
    def orientation(self) -> List[float]:
        return [float(value) for value in np.concatenate([self.rotation[:, 0], self.rotation[:, 1]])]

    def position(self, index: int) -> np.ndarray:
        """LPS IPP of slice position ``index`` (0 = first along the normal)."""
        return np.asarray(self.origin, dtype=float) + index * self.spacingMm * self.rotation[:, 2]

    def pixels(self, position: int, volume: int) -> np.ndarray:
        j, i = np.mgrid[0 : self.rows, 0 : self.columns]
        return (1000 * volume + 10 * position + (i + j) % 7).astype(np.uint16)

    def IJKToLPS(self) -> np.ndarray:
        """The truth for one volume: Slicer IJK (i column, j row, k along the normal) to LPS."""
        matrix = np.eye(4)
        matrix[:3, 0] = self.rotation[:, 0] * self.pixelSpacing[1]
        matrix[:3, 1] = self.rotation[:, 1] * self.pixelSpacing[0]
        matrix[:3, 2] = self.rotation[:, 2] * self.spacingMm
        matrix[:3, 3] = self.position(0)
        return matrix


def _dataset(spec: FourDSpec, sopClassUID: str, instanceNumber: int, description: str) -> FileDataset:
    ds = newPart10Dataset(sopClassUID)
    ds.Modality, ds.Manufacturer = "MR", "AffineInspector synthetic"
    ds.PatientName, ds.PatientID = "FourD^Synthetic", "FOURD"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = spec.studyUID, spec.seriesUID
    ds.FrameOfReferenceUID = spec.frameOfReferenceUID
    ds.SeriesNumber, ds.SeriesDescription, ds.InstanceNumber = 7, description, instanceNumber
    ds.StudyDate = ds.SeriesDate = "20240101"
    ds.Rows, ds.Columns = spec.rows, spec.columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def writeClassic(
    spec: FourDSpec, folder: str, *, order: Optional[Sequence[Tuple[int, int]]] = None, description: str = "classic"
) -> List[str]:
    """One MR Image Storage file per (position, volume), volumes told apart by TemporalPositionIdentifier.

    ``order`` lists ``(position, volume)`` in the order files are named (and
    numbered), to write them in an order that is neither spatial nor temporal.
    """
    os.makedirs(folder, exist_ok=True)
    pairs = list(order) if order is not None else [(p, v) for v in range(spec.volumes) for p in range(spec.positions)]
    paths = []
    for number, (position, volume) in enumerate(pairs, start=1):
        ds = _dataset(spec, MRImageStorage, number, description)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        ds.TemporalPositionIdentifier = volume + 1
        ds.NumberOfTemporalPositions = spec.volumes
        ds.AcquisitionNumber = 1  # the same for every file: the temporal position is what differs
        ds.AcquisitionTime = f"1200{volume:02d}.000000"
        ds.ImagePositionPatient = [f"{value:.6f}" for value in spec.position(position)]
        ds.ImageOrientationPatient = [f"{value:.10f}" for value in spec.orientation]
        ds.PixelSpacing = [f"{value:g}" for value in spec.pixelSpacing]
        ds.SliceThickness = ds.SpacingBetweenSlices = f"{spec.spacingMm:g}"
        ds.PixelData = spec.pixels(position, volume).tobytes()
        paths.append(os.path.join(folder, f"IM{number:04d}.dcm"))
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def writeEnhanced(
    spec: FourDSpec,
    folder: str,
    *,
    filePerVolume: bool = False,
    frameOrder: Optional[Sequence[Tuple[int, int]]] = None,
    description: str = "enhanced",
) -> List[str]:
    """Enhanced MR Image Storage: all frames in one file (stored in ``frameOrder``, by default volume after
    volume), or one file per volume; geometry in per-frame PlanePositionSequence, shared orientation and
    PixelMeasures (with SpacingBetweenSlices), TemporalPositionIndex in FrameContentSequence."""
    os.makedirs(folder, exist_ok=True)
    if filePerVolume:
        groups = [[(p, v) for p in range(spec.positions)] for v in range(spec.volumes)]
    else:
        groups = [
            list(frameOrder)
            if frameOrder is not None
            else [(p, v) for v in range(spec.volumes) for p in range(spec.positions)]
        ]
    paths = []
    for number, frames in enumerate(groups, start=1):
        ds = _dataset(spec, EnhancedMRImageStorage, number, description)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        ds.NumberOfFrames = len(frames)
        ds.AcquisitionNumber = 1
        shared = Dataset()
        orientation = Dataset()
        orientation.ImageOrientationPatient = [f"{value:.10f}" for value in spec.orientation]
        measures = Dataset()
        measures.PixelSpacing = [f"{value:g}" for value in spec.pixelSpacing]
        measures.SliceThickness = measures.SpacingBetweenSlices = f"{spec.spacingMm:g}"
        shared.PlaneOrientationSequence = DicomSequence([orientation])
        shared.PixelMeasuresSequence = DicomSequence([measures])
        ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
        perFrame = []
        for position, volume in frames:
            item = Dataset()
            plane = Dataset()
            plane.ImagePositionPatient = [f"{value:.6f}" for value in spec.position(position)]
            content = Dataset()
            content.TemporalPositionIndex = volume + 1
            content.InStackPositionNumber = position + 1
            content.DimensionIndexValues = [volume + 1, position + 1]
            item.PlanePositionSequence = DicomSequence([plane])
            item.FrameContentSequence = DicomSequence([content])
            perFrame.append(item)
        ds.PerFrameFunctionalGroupsSequence = DicomSequence(perFrame)
        ds.PixelData = np.stack([spec.pixels(p, v) for p, v in frames]).tobytes()
        paths.append(os.path.join(folder, f"EN{number:04d}.dcm"))
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths
