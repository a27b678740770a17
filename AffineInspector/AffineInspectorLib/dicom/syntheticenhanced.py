"""Writing enhanced multi-frame DICOM files with pydicom, shaped like scanners write them.

For the equality tests of the two header paths (:mod:`.fastframes` against
pydicom) and the multi-frame benchmark. An :class:`EnhancedSpec` says how the
file is encoded (explicit or implicit VR, defined or undefined lengths),
which groups are per frame (Philips puts every group in every frame's item,
Siemens XA shares orientation and spacing), and what else each frame's item
holds (a private sequence, echo, diffusion, frame type, VOI LUT).
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import EnhancedCTImageStorage, EnhancedMRImageStorage, generate_uid

from .synthetic import newPart10Dataset


@dataclasses.dataclass
class EnhancedSpec:
    """One enhanced file: ``positions`` x ``volumes`` frames, volume after volume.

    ``rotation`` columns are IOP row, IOP column and the normal (LPS);
    positions step ``spacingMm`` along the normal from ``origin``.
    ``orientationPerFrame``: PlaneOrientation and PixelMeasures in every
    frame's item (Philips) instead of the shared item (Siemens XA).
    ``undefinedLengths``: every sequence and item with undefined length and
    delimiters. ``extras``: the per-frame item also holds a private sequence,
    MR echo and frame type, VOI LUT and, for MR, diffusion groups.
    ``values`` overrides single attributes of frame ``f``:
    ``(f, keyword, value)`` in its plane position (ImagePositionPatient), pixel measures or frame content item.
    """

    positions: int = 10
    volumes: int = 2
    rows: int = 8
    columns: int = 6
    modality: str = "MR"
    pixelSpacing: Tuple[float, float] = (0.9375, 0.9375)
    spacingMm: float = 3.3
    rotation: np.ndarray = dataclasses.field(
        default_factory=lambda: np.array([[0.9986295, 0.0, -0.0523360], [0.0, 1.0, 0.0], [0.0523360, 0.0, 0.9986295]])
    )
    origin: Tuple[float, float, float] = (-120.5, -98.25, 40.0)
    orientationPerFrame: bool = False
    undefinedLengths: bool = False
    implicit: bool = False
    extras: bool = True
    values: Sequence[Tuple[int, str, Any]] = ()
    seed: int = 0

    @property
    def frames(self) -> int:
        return self.positions * self.volumes

    def position(self, frame: int) -> np.ndarray:
        return np.asarray(self.origin, dtype=float) + (frame % self.positions) * self.spacingMm * self.rotation[:, 2]


def writeEnhanced(spec: EnhancedSpec, path: str, *, pixelData: Optional[bytes] = None) -> str:
    """Write ``spec`` to ``path`` (16-bit zero pixels unless ``pixelData`` is given); return ``path``."""
    sopClass = EnhancedMRImageStorage if spec.modality == "MR" else EnhancedCTImageStorage
    ds = newPart10Dataset(sopClass, implicit=spec.implicit, filename=path)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.Modality, ds.Manufacturer = spec.modality, "AffineInspector synthetic"
    ds.PatientName, ds.PatientID = "Enhanced^Synthetic", "ENHANCED"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid(), generate_uid()
    ds.SeriesNumber, ds.SeriesDescription, ds.InstanceNumber, ds.AcquisitionNumber = 5, "enhanced", 1, 1
    ds.ContentDate, ds.AcquisitionDateTime = "20240101", "20240101120000.000000"
    ds.Rows, ds.Columns, ds.NumberOfFrames = spec.rows, spec.columns, spec.frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SharedFunctionalGroupsSequence = _sequence(spec, [_sharedItem(spec)])
    ds.PerFrameFunctionalGroupsSequence = _sequence(spec, [_frameItem(spec, frame) for frame in range(spec.frames)])
    ds.PixelData = pixelData if pixelData is not None else bytes(2 * spec.frames * spec.rows * spec.columns)
    ds.save_as(path, enforce_file_format=True)
    return path


def _sequence(spec: EnhancedSpec, items: List[Dataset]) -> DicomSequence:
    for item in items:
        item.is_undefined_length_sequence_item = spec.undefinedLengths
    return DicomSequence(items)


def _group(spec: EnhancedSpec, parent: Dataset, keyword: str, item: Dataset) -> None:
    setattr(parent, keyword, _sequence(spec, [item]))
    parent[keyword].is_undefined_length = spec.undefinedLengths


def _ds(values: Any) -> List[str]:
    return [f"{value:.8g}" for value in values]


def _orientation(spec: EnhancedSpec) -> Dataset:
    item = Dataset()
    item.ImageOrientationPatient = _ds(np.concatenate([spec.rotation[:, 0], spec.rotation[:, 1]]))
    return item


def _measures(spec: EnhancedSpec) -> Dataset:
    item = Dataset()
    item.PixelSpacing = _ds(spec.pixelSpacing)
    item.SliceThickness = f"{spec.spacingMm:g}"
    item.SpacingBetweenSlices = f"{spec.spacingMm:g}"
    return item


def _sharedItem(spec: EnhancedSpec) -> Dataset:
    shared = Dataset()
    if not spec.orientationPerFrame:
        _group(spec, shared, "PlaneOrientationSequence", _orientation(spec))
        _group(spec, shared, "PixelMeasuresSequence", _measures(spec))
    timing = Dataset()
    timing.RepetitionTime, timing.FlipAngle = 2000.0, 90.0
    if spec.modality == "MR":
        _group(spec, shared, "MRTimingAndRelatedParametersSequence", timing)
    return shared


def _frameItem(spec: EnhancedSpec, frame: int) -> Dataset:
    item = Dataset()
    content = Dataset()
    content.FrameAcquisitionNumber = frame // spec.positions + 1
    content.FrameAcquisitionDateTime = f"20240101120{frame // spec.positions % 10}00.000000"
    content.StackID = "1"
    content.InStackPositionNumber = frame % spec.positions + 1
    content.TemporalPositionIndex = frame // spec.positions + 1
    content.DimensionIndexValues = [frame // spec.positions + 1, frame % spec.positions + 1]
    plane = Dataset()
    plane.ImagePositionPatient = _ds(spec.position(frame))
    measures = _measures(spec)
    for index, keyword, value in spec.values:
        if index == frame:
            target = plane if keyword == "ImagePositionPatient" else measures if keyword in measures else content
            setattr(target, keyword, value)
    _group(spec, item, "FrameContentSequence", content)
    _group(spec, item, "PlanePositionSequence", plane)
    if spec.orientationPerFrame:
        _group(spec, item, "PlaneOrientationSequence", _orientation(spec))
        _group(spec, item, "PixelMeasuresSequence", measures)
    if spec.extras:
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = "600", "1200"
        _group(spec, item, "FrameVOILUTSequence", voi)
        frameType = Dataset()
        frameType.FrameType = ["ORIGINAL", "PRIMARY", "M", "NONE"] if frame % 3 else ["DERIVED", "PRIMARY", "M", "NONE"]
        frameType.PixelPresentation, frameType.VolumetricProperties = "MONOCHROME", "VOLUME"
        _group(
            spec, item, "MRImageFrameTypeSequence" if spec.modality == "MR" else "CTImageFrameTypeSequence", frameType
        )
        if spec.modality == "MR":
            echo = Dataset()
            echo.EffectiveEchoTime = 4.5 + 0.25 * (frame // spec.positions)
            _group(spec, item, "MREchoSequence", echo)
            diffusion = Dataset()
            diffusion.DiffusionBValue = float(500 * (frame // spec.positions))
            diffusion.DiffusionDirectionality = "DIRECTIONAL"
            direction = Dataset()
            direction.DiffusionGradientOrientation = [0.0, 0.70710678, 0.70710678]
            _group(spec, diffusion, "DiffusionGradientDirectionSequence", direction)
            _group(spec, item, "MRDiffusionSequence", diffusion)
        private = Dataset()
        private.add_new(0x00210010, "LO", "SIEMENS MR SDI 02")
        private.add_new(0x00211012, "FD", [1.5, 2.5])
        private.add_new(0x00211013, "OB", bytes(range(16)))
        item.add_new(0x00210010, "LO", "SIEMENS MR SDI 02")
        item.add_new(0x002111FE, "SQ", _sequence(spec, [private]))
        item[0x002111FE].is_undefined_length = spec.undefinedLengths
    return item
