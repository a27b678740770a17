"""Synthetic mosaic series (Siemens MOSAIC, UIH grid) written with pydicom from known truth, and dcm2niix on a folder.

Shared by the mosaic tests: a :class:`MosaicSpec` holds the truth (slice
centres, direction, acquisition order); the writers put it in files the way
each vendor stores it, and the tests compute what they expect from the spec,
not from the library.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import json
import os
import struct
import subprocess
from typing import List, Optional, Sequence

import nibabel
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import MRImageStorage, generate_uid

from AffineInspectorLib.dicom import csa, uih
from AffineInspectorLib.dicom.synthetic import newPart10Dataset
from conftest import dcm2niixExecutable


def runDcm2niix(inputFolder: str, outputFolder: str):
    """Run dcm2niix on a folder; return ``(image, sidecar dict, log)`` of the single NIfTI it must write."""
    os.makedirs(outputFolder, exist_ok=True)
    completed = subprocess.run(
        [dcm2niixExecutable(), "-b", "y", "-z", "n", "-f", "out", "-o", outputFolder, inputFolder],
        capture_output=True,
        text=True,
        timeout=120,
    )
    written = sorted(glob.glob(os.path.join(outputFolder, "*.nii")))
    assert completed.returncode == 0 and len(written) == 1, completed.stdout + completed.stderr
    with open(written[0][:-4] + ".json") as stream:
        sidecar = json.load(stream)
    return nibabel.load(written[0]), sidecar, completed.stdout


# --------------------------------------------------------------------------- synthetic mosaics


def csaHeaderBytes(tags, *, sv10: bool = True) -> bytes:
    """A CSA header in the documented layout (see dicom/csa.py); ``tags`` are ``(name, vr, vm, [item strings])``.

    For the old layout (``sv10=False``) an item's first int32 is its length plus
    the first tag's item count, the rule SPM documents.
    """
    out = bytearray(b"SV10\x04\x03\x02\x01" if sv10 else b"")
    out += struct.pack("<2I", len(tags), 77)
    firstTagItems = len(tags[0][3])
    for name, vr, vm, items in tags:
        out += struct.pack("<64si4s3i", name.encode(), vm, vr.encode(), 0, len(items), 77 if items else 205)
        for item in items:
            data = item.encode("latin-1") + b"\0" if item else b""
            first = len(data) if sv10 else len(data) + firstTagItems
            out += struct.pack("<4i", first, len(data), 77, len(data))
            out += data + b"\0" * (-len(data) % 4)
    return bytes(out)


def padded(values: Sequence[str], total: int = 6) -> List[str]:
    """Siemens lists a VM-1 value as six items, the unused ones empty."""
    return list(values) + [""] * max(0, total - len(values))


@dataclasses.dataclass
class MosaicSpec:
    """Truth for a synthetic mosaic series: slice centres along a direction, and when each tile was acquired.

    ``rotation`` columns are IOP[0:3], IOP[3:6] and their cross product (LPS).
    ``numbering`` +1 stores tiles along that cross product, -1 against it
    (the console's reversed image numbering). ``order`` is the acquisition
    order in tile order: ascending, descending or interleaved (Siemens starts
    an interleaved series with the second slice when the count is even).
    """

    name: str
    rotation: np.ndarray
    numberOfImages: int
    numbering: int = 1
    order: str = "ascending"
    tileRows: int = 12
    tileColumns: int = 16
    pixelSpacing: tuple = (2.0, 2.5)
    sliceSpacing: float = 3.5
    firstCentre: tuple = (-7.25, 12.5, 30.75)
    volumes: int = 2

    @property
    def direction(self) -> np.ndarray:
        return self.numbering * self.rotation[:, 2]

    @property
    def orientation(self) -> tuple:
        return tuple(float(v) for v in np.concatenate([self.rotation[:, 0], self.rotation[:, 1]]))

    @property
    def centres(self) -> np.ndarray:
        return (
            np.asarray(self.firstCentre) + np.outer(np.arange(self.numberOfImages), self.direction) * self.sliceSpacing
        )

    @property
    def tilePositions(self) -> np.ndarray:
        """Expected IPP of each tile: its centre is voxel (columns / 2, rows / 2)."""
        row, column = self.rotation[:, 0], self.rotation[:, 1]
        shift = row * self.pixelSpacing[1] * self.tileColumns / 2 + column * self.pixelSpacing[0] * self.tileRows / 2
        return self.centres - shift

    @property
    def acquisition(self) -> List[int]:
        tiles = list(range(self.numberOfImages))
        if self.order == "descending":
            return tiles[::-1]
        if self.order == "interleaved":
            start = 1 if self.numberOfImages % 2 == 0 else 0
            return tiles[start::2] + tiles[1 - start :: 2]
        return tiles

    @property
    def sliceTimesMs(self) -> List[float]:
        times = [0.0] * self.numberOfImages
        for rank, tile in enumerate(self.acquisition):
            times[tile] = rank * 62.5
        return times

    @property
    def expectedCode(self) -> str:
        if self.order == "ascending":
            return "SEQ_INC"
        if self.order == "descending":
            return "SEQ_DEC"
        return "ALT_INC2" if self.numberOfImages % 2 == 0 else "ALT_INC"


def rotation(xDeg: float, yDeg: float, zDeg: float, base) -> np.ndarray:
    """``base`` (columns: IOP row, IOP column, normal) turned about x, y and z (degrees)."""
    a, b, c = np.radians([xDeg, yDeg, zDeg])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    base = np.array(base, dtype=float)  # a copy: the module-level bases stay as written
    base[:, 2] = np.cross(base[:, 0], base[:, 1])
    return rz @ ry @ rx @ base


# Columns: IOP row direction, IOP column direction (the normal is filled in by rotation()), LPS.
AXIAL = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)  # row L, column P
CORONAL = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=float)  # row L, column I
SAGITTAL = np.array([[0, 0, 0], [1, 0, 0], [0, -1, 0]], dtype=float)  # row P, column I

SIEMENS_PLANES = {
    "sag": (rotation(0, 0, 0, SAGITTAL), 7),
    "cor": (rotation(0, 0, 0, CORONAL), 8),
    "tra": (rotation(0, 0, 0, AXIAL), 9),
    "oblique": (rotation(12.0, -7.5, 20.0, AXIAL), 5),
}
SIEMENS_SPECS = [
    MosaicSpec(f"{plane}_{'+' if numbering > 0 else '-'}_{order}", matrix, count, numbering, order)
    for (plane, (matrix, count)), numbering, order in itertools.product(
        SIEMENS_PLANES.items(), (1, -1), ("ascending", "descending", "interleaved")
    )
]


def _dicomDataset(spec: MosaicSpec, volume: int, uids: dict, manufacturer: str, imageType, mosaicShape, ipp):
    ds = newPart10Dataset(MRImageStorage)
    ds.ImageType = imageType
    ds.Modality, ds.Manufacturer = "MR", manufacturer
    ds.PatientName, ds.PatientID, ds.PatientPosition = "Mosaic^Synthetic", "MOSAIC", "HFS"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.SeriesNumber, ds.SeriesDescription, ds.ProtocolName = 5, spec.name, spec.name
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = "20240101"
    ds.InstanceNumber = ds.AcquisitionNumber = volume + 1
    ds.AcquisitionTime = ds.ContentTime = f"1200{2 * volume:02d}.000000"
    ds.MRAcquisitionType, ds.EchoTime, ds.RepetitionTime = "2D", "30", "2000"
    ds.InPlanePhaseEncodingDirection = "COL"
    ds.SliceThickness = "3"  # thinner than the spacing: the spacing must come from SpacingBetweenSlices
    ds.SpacingBetweenSlices = f"{spec.sliceSpacing:g}"
    ds.AcquisitionMatrix = [spec.tileColumns, 0, 0, spec.tileRows]
    ds.PixelSpacing = [f"{value:g}" for value in spec.pixelSpacing]
    ds.ImageOrientationPatient = [f"{value:.10f}" for value in spec.orientation]
    ds.ImagePositionPatient = [f"{value:.8f}" for value in ipp]
    ds.Rows, ds.Columns = mosaicShape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = mosaicPixels(spec, mosaicShape).tobytes()
    return ds


def mosaicPixels(spec: MosaicSpec, mosaicShape) -> np.ndarray:
    """Tile t holds 256 * (t + 1) + 16 * j + i: every voxel says which tile and voxel it is."""
    rows, columns = mosaicShape
    image = np.zeros((rows, columns), dtype=np.uint16)
    across = columns // spec.tileColumns
    j, i = np.mgrid[0 : spec.tileRows, 0 : spec.tileColumns]
    for tile in range(spec.numberOfImages):
        top, left = (tile // across) * spec.tileRows, (tile % across) * spec.tileColumns
        image[top : top + spec.tileRows, left : left + spec.tileColumns] = 256 * (tile + 1) + 16 * j + i
    return image


def _ascconv(spec: MosaicSpec) -> str:
    lines = ["### ASCCONV BEGIN ###", 'tProtocolName = ""synthetic""']
    for index, centre in enumerate(spec.centres):
        for axis, value in zip(("Sag", "Cor", "Tra"), centre):
            if abs(value) > 1e-9:  # the console omits zeros
                lines.append(f"sSliceArray.asSlice[{index}].sPosition.d{axis} = {value:.10g}")
        for axis, value in zip(("Sag", "Cor", "Tra"), spec.direction):
            if abs(value) > 1e-9:
                lines.append(f"sSliceArray.asSlice[{index}].sNormal.d{axis} = {value:.10g}")
        lines.append(f"sSliceArray.asSlice[{index}].dThickness = 3")
    lines.append(f"sSliceArray.lSize = {spec.numberOfImages}")
    mode = {"ascending": 1, "descending": 2, "interleaved": 4}[spec.order]
    lines.append(f"sSliceArray.ucMode = 0x{mode:x}")
    if spec.numbering < 0:
        axis = ("Sag", "Cor", "Tra")[int(np.argmax(np.abs(spec.direction)))]
        lines.append(f"sSliceArray.ucImageNumb{axis} = 0x1")
    lines.append("### ASCCONV END ###")
    return "\n".join(lines) + "\n"


def writeSiemensMosaics(spec: MosaicSpec, folder: str) -> List[str]:
    """Write ``spec.volumes`` Siemens MOSAIC files (one volume each) into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    across = int(np.ceil(np.sqrt(spec.numberOfImages)))
    mosaicShape = (across * spec.tileRows, across * spec.tileColumns)
    row, column = spec.rotation[:, 0], spec.rotation[:, 1]
    # The stored IPP: the top-left voxel of a mosaic-sized image centred on the first slice.
    ipp = (
        spec.centres[0]
        - row * spec.pixelSpacing[1] * mosaicShape[1] / 2
        - column * spec.pixelSpacing[0] * mosaicShape[0] / 2
    )
    times = spec.sliceTimesMs
    imageCSA = csaHeaderBytes(
        [
            ("EchoLinePosition", "IS", 1, padded([str(spec.tileRows // 2)])),
            ("ProtocolSliceNumber", "IS", 1, padded(["0"])),
            ("AcquisitionMatrixText", "SH", 1, padded([f"{spec.tileRows}*{spec.tileColumns}"])),
            ("NumberOfImagesInMosaic", "US", 1, padded([str(spec.numberOfImages)])),
            ("SliceNormalVector", "FD", 3, padded([f"{value:.8f}" for value in spec.direction])),
            ("DiffusionGradientDirection", "FD", 3, []),
            ("MosaicRefAcqTimes", "FD", 0, [f"{value:.8f}" for value in times]),
        ]
    )
    seriesCSA = csaHeaderBytes(
        [("UsedPatientWeight", "IS", 1, padded(["70"])), ("MrPhoenixProtocol", "UN", 1, [_ascconv(spec)])]
    )
    uids = {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    paths = []
    for volume in range(spec.volumes):
        ds = _dicomDataset(
            spec, volume, uids, "SIEMENS", ["ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"], mosaicShape, ipp
        )
        header = ds.private_block(0x0019, csa.SIEMENS_MR_CREATOR, create=True)
        header.add_new(0x0A, "US", spec.numberOfImages)
        header.add_new(0x29, "FD", times)
        block = ds.private_block(0x0029, csa.SIEMENS_CSA_CREATOR, create=True)
        block.add_new(0x08, "CS", "IMAGE NUM 4")
        block.add_new(0x10, "OB", imageCSA)
        block.add_new(0x18, "CS", "MR")
        block.add_new(0x20, "OB", seriesCSA)
        text = ds.private_block(0x0051, csa.SIEMENS_MR_CREATOR, create=True)
        text.add_new(0x0B, "SH", f"{spec.tileRows}*{spec.tileColumns}")
        paths.append(os.path.join(folder, f"MR{volume + 1:04d}.dcm"))
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def writeUIHGrids(spec: MosaicSpec, folder: str, *, withFrames: bool = True, frameCount: Optional[int] = None):
    """Write ``spec.volumes`` UIH grid files: (0065,1050) tile count, (0065,1051) one IPP per tile."""
    os.makedirs(folder, exist_ok=True)
    across = int(np.ceil(np.sqrt(spec.numberOfImages)))
    down = int(np.ceil(spec.numberOfImages / across))
    mosaicShape = (down * spec.tileRows, across * spec.tileColumns)
    positions = spec.tilePositions
    uids = {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    paths = []
    for volume in range(spec.volumes):
        ds = _dicomDataset(spec, volume, uids, "UIH", ["ORIGINAL", "PRIMARY", "M", "VFRAME"], mosaicShape, positions[0])
        block = ds.private_block(0x0065, uih.UIH_PRIVATE_CREATOR, create=True)
        block.add_new(0x50, "DS", str(spec.numberOfImages))
        if withFrames:
            items = []
            for tile in range(frameCount if frameCount is not None else spec.numberOfImages):
                item = Dataset()
                item.AcquisitionTime = f"1200{2 * volume:02d}.{int(spec.sliceTimesMs[tile] * 1000):06d}"
                item.ImagePositionPatient = [f"{value:.8f}" for value in positions[tile]]
                item.SliceLocation = f"{float(np.dot(positions[tile], spec.rotation[:, 2])):.6f}"
                items.append(item)
            block.add_new(0x51, "SQ", DicomSequence(items))
        paths.append(os.path.join(folder, f"UIH{volume + 1:04d}.dcm"))
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


UIH_PLANES = {"tra": ("tra", 6), "sag": ("sag", 5), "oblique": ("oblique", 7)}  # 3x2, 3x2 and 3x3 tile grids
UIH_SPECS = [
    MosaicSpec(
        f"uih_{plane}_{'+' if numbering > 0 else '-'}", SIEMENS_PLANES[plane][0], count, numbering, "interleaved"
    )
    for (plane, count), numbering in itertools.product(UIH_PLANES.values(), (1, -1))
]
