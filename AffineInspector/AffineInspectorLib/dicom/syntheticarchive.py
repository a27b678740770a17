"""Writing a synthetic archive whose defects are known by construction: for the audit's tests and benchmark.

:func:`writeArchive` writes series of small CT slices (:mod:`.synthetic`) into a folder tree, one defect
per series from :data:`DEFECTS` in turn, plus one series split across two folders and a few junk files,
and returns what a correct audit must find: every series with its UID, files and the finding kinds its
defect produces.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence

import numpy as np
import pydicom

from .synthetic import SeriesSpec, rotationFromAngles, writeSeries


@dataclasses.dataclass(frozen=True)
class Defect:
    """A defect: how to change a regular spec, how to edit the written files, and the kinds it must produce."""

    name: str
    kinds: FrozenSet[str]
    spec: Callable[[SeriesSpec], SeriesSpec] = lambda spec: spec
    edit: Optional[Callable[[List[str], SeriesSpec], None]] = None
    minimumSlices: int = 6
    """Slices the defect needs to show as its kinds (a gap needs regular neighbours on both sides)."""


def _shiftOnePosition(paths: List[str], spec: SeriesSpec) -> None:
    """Move the middle slice 40 % of a gap along the normal: two irregular gaps (neither a multiple)."""
    dataset = pydicom.dcmread(paths[len(paths) // 2])
    position = np.asarray(dataset.ImagePositionPatient, dtype=float) + 0.4 * spec.spacingMm * spec.rotation[:, 2]
    dataset.ImagePositionPatient = [f"{value:.6g}" for value in position]
    dataset.save_as(paths[len(paths) // 2])


def _turnOneSlice(paths: List[str], spec: SeriesSpec) -> None:
    """Write one slice with a row direction 5 degrees off the others' (a mixed orientation)."""
    dataset = pydicom.dcmread(paths[-2])
    rotated = rotationFromAngles(5.0, 0.0, 0.0) @ spec.rotation
    dataset.ImageOrientationPatient = [f"{value:.6g}" for value in np.concatenate([rotated[:, 0], rotated[:, 1]])]
    dataset.save_as(paths[-2])


def _shuffleInstanceNumbers(paths: List[str], spec: SeriesSpec) -> None:
    """Swap the InstanceNumbers of the second and the second-to-last slice: neither rising nor falling."""
    first, last = pydicom.dcmread(paths[1]), pydicom.dcmread(paths[-2])
    first.InstanceNumber, last.InstanceNumber = last.InstanceNumber, first.InstanceNumber
    first.save_as(paths[1])
    last.save_as(paths[-2])


DEFECTS = (
    Defect("regular", frozenset()),
    Defect("tilted", frozenset({"gantryTilt"}), lambda spec: dataclasses.replace(spec, tiltDeg=12.0)),
    Defect(
        "missingSlice",
        frozenset({"missingSlice"}),
        lambda spec: dataclasses.replace(spec, dropped=(spec.numberOfSlices // 2,)),
    ),
    Defect("duplicate", frozenset({"duplicatePosition"}), lambda spec: dataclasses.replace(spec, duplicated=(3,))),
    Defect(
        "singleSlice", frozenset({"singleSlice"}), lambda spec: dataclasses.replace(spec, numberOfSlices=1), None, 1
    ),
    Defect("uneven", frozenset({"nonUniformSpacing"}), edit=_shiftOnePosition),
    # The turned slice is left out of the volume, so its neighbours' gap is two steps: a missing slice too.
    Defect("mixedOrientation", frozenset({"orientationMismatch", "missingSlice"}), edit=_turnOneSlice),
    Defect("instanceOrder", frozenset({"instanceOrderNotSpatial"}), edit=_shuffleInstanceNumbers),
    Defect(
        "reversedOblique",
        frozenset(),
        lambda spec: dataclasses.replace(
            spec, rotation=rotationFromAngles(20.0, -10.0, 5.0), reverseInstanceNumbers=True, shuffleNames=True
        ),
    ),
)
"""The defects, in the order they are dealt to the series; ``kinds`` is exactly what the checks report."""

DEFECTS_BY_NAME: Dict[str, Defect] = {defect.name: defect for defect in DEFECTS}


@dataclasses.dataclass
class ExpectedSeries:
    """One series of the archive as a correct audit must report it."""

    seriesInstanceUID: str
    defect: str
    kinds: FrozenSet[str]
    files: List[str]
    folders: List[str]


@dataclasses.dataclass
class Archive:
    root: str
    series: List[ExpectedSeries]
    junk: List[str]
    """Files that give no slice (not DICOM, empty, truncated)."""

    @property
    def files(self) -> int:
        return sum(len(series.files) for series in self.series) + len(self.junk)


def writeArchive(
    root: str,
    *,
    series: int = 40,
    slices: Sequence[int] = (6, 12),
    size: int = 16,
    seed: int = 0,
    junk: bool = True,
    defects: Sequence[str] = tuple(DEFECTS_BY_NAME),
) -> Archive:
    """Write ``series`` series into ``root`` (one folder per patient, one per series), defects dealt in turn
    from ``defects``; the last series is written half in its own folder, half in another patient's.

    ``slices`` bounds the slices per series (drawn with ``seed``; raised to what a defect needs to show, 6
    for most), ``size`` the rows and columns.
    """
    if not 1 <= slices[0] <= slices[1]:
        raise ValueError(f'Argument "slices" must be (low, high) with 1 <= low <= high, got {slices}')
    random = np.random.default_rng(seed)
    expected: List[ExpectedSeries] = []
    for number in range(series):
        defect = DEFECTS_BY_NAME[defects[number % len(defects)]]
        spec = defect.spec(
            SeriesSpec(
                rows=size,
                columns=size,
                numberOfSlices=max(defect.minimumSlices, int(random.integers(slices[0], slices[1] + 1))),
                spacingMm=float(random.choice([1.0, 2.5, 5.0])),
                origin=(float(random.uniform(-50, 50)), float(random.uniform(-50, 50)), float(random.uniform(-50, 50))),
                seriesDescription=f"synthetic {defect.name} {number}",
                seed=number,
            )
        )
        folder = os.path.join(root, f"patient{number // 4:03d}", f"series{number:04d}")
        paths = writeSeries(spec, folder, pixelValue=0)
        if defect.edit is not None:
            defect.edit(paths, spec)  # paths are in position order
        uid = str(pydicom.dcmread(paths[0], stop_before_pixels=True).SeriesInstanceUID)
        expected.append(ExpectedSeries(uid, defect.name, defect.kinds, sorted(paths), [folder]))
    if series > 4:
        _splitAcrossFolders(expected[-1], os.path.join(root, "patient000", "series-continued"))
    junkFiles = _writeJunk(root, expected[0].files[0]) if junk else []
    return Archive(root, expected, junkFiles)


def _splitAcrossFolders(series: ExpectedSeries, other: str) -> None:
    """Move every second file of the series into another folder (as a PACS export split in two does)."""
    os.makedirs(other, exist_ok=True)
    moved = []
    for index, path in enumerate(sorted(series.files)):
        if index % 2:
            target = os.path.join(other, os.path.basename(path))
            os.rename(path, target)
            path = target
        moved.append(path)
    series.files = sorted(moved)
    series.folders = series.folders + [other]


def _writeJunk(root: str, dicomFile: str) -> List[str]:
    """A text file, an empty file and a truncated copy of a DICOM slice, in a folder of their own."""
    folder = os.path.join(root, "misc")
    os.makedirs(folder, exist_ok=True)
    text, empty, truncated = (os.path.join(folder, name) for name in ("notes.txt", "empty.dcm", "truncated.dcm"))
    with open(text, "w") as stream:
        stream.write("exported by the PACS on request\n")
    open(empty, "wb").close()
    with open(dicomFile, "rb") as stream:
        data = stream.read()
    with open(truncated, "wb") as stream:
        stream.write(data[: len(data) // 2])
    return [text, empty, truncated]
