"""Benchmark (run on demand: `make bench`), not a test: the work inside one process, CPU seconds.

1. Scan + sort + check of a generated 1,000-file 512x512 CT series, against
   pydicom.dcmread(stop_before_pixels=True) of every file then sorting by
   position, SimpleITK's GDCM series sorter (GetGDCMSeriesFileNames),
   SimpleITK's per-file header read (ImageFileReader.ReadImageInformation),
   and the read floor: the first 4 KiB of every file, nothing parsed.
2. The JSON of an inspection of 5,000 files: its cost as a share of the scan
   (target <= 15%).
3. Enhanced multi-frame, 2,000 frames: our header path (fast, and pydicom's)
   against benchmarks/naive_frames.py reading the same values, per frame
   (target >= 2x the naive script).

The series are generated once into a cache folder outside the repository
(AFFINE_INSPECTOR_BENCH_CACHE, default ~/.cache/affine-inspector-bench),
with the header of the shared GE CT as template when ../shared is present.
Contenders are interleaved over ROUNDS rounds; medians of CPU seconds.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "AffineInspector"))

from AffineInspectorLib.dicom.series import inspectPaths  # noqa: E402
from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries  # noqa: E402

CACHE = os.environ.get("AFFINE_INSPECTOR_BENCH_CACHE", os.path.expanduser("~/.cache/affine-inspector-bench"))
FILES = 1000
TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "dicom", "dcm_qa_ct_GE", "01.dcm")


def ensureSeries() -> str:
    folder = os.path.join(CACHE, f"ct_{FILES}x512")
    if os.path.isdir(folder) and len(os.listdir(folder)) == FILES:
        return folder
    os.makedirs(folder, exist_ok=True)
    spec = SeriesSpec(rows=512, columns=512, numberOfSlices=FILES, spacingMm=0.625, shuffleNames=True)
    paths = writeSeries(spec, folder, pixelValue=0)
    if os.path.exists(TEMPLATE):
        addRealisticHeader(paths)
    return folder


REALISTIC_HEADER_KEEPS = {
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "InstanceNumber",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
    "Rows",
    "Columns",
    "GantryDetectorTilt",
    "SliceThickness",
}
"""What the synthetic writer decides; the GE CT template never replaces or adds these."""


def addRealisticHeader(paths, alsoKeep=frozenset()):
    """Copy the GE CT's other header elements (private groups included) into each file, as a scanner writes them;
    elements named in ``REALISTIC_HEADER_KEEPS`` or ``alsoKeep`` (keywords) are left as the writer made them."""
    template = pydicom.dcmread(TEMPLATE, stop_before_pixels=True)
    keep = REALISTIC_HEADER_KEEPS | set(alsoKeep)
    for path in paths:
        dataset = pydicom.dcmread(path)
        for element in template:
            if element.keyword not in keep and element.tag.group != 0x0002 and element.tag not in dataset:
                dataset.add(element)
        dataset.save_as(path)


def pydicomHeaders(folder):
    names = os.listdir(folder)
    datasets = [pydicom.dcmread(os.path.join(folder, name), stop_before_pixels=True) for name in names]
    normal = np.cross(*np.reshape(np.asarray(datasets[0].ImageOrientationPatient, float), (2, 3)))
    return sorted(datasets, key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal)))


def gdcm(folder):
    import SimpleITK

    return SimpleITK.ImageSeriesReader.GetGDCMSeriesFileNames(folder)


def simpleITKPerFile(folder):
    import SimpleITK

    reader = SimpleITK.ImageFileReader()
    origins = []
    for name in os.listdir(folder):
        reader.SetFileName(os.path.join(folder, name))
        reader.ReadImageInformation()
        origins.append(reader.GetOrigin())
    return origins


def readFloor(folder):
    """The first 4 KiB of every file (a CT header fits): what any header scan must at least do."""
    total = 0
    for name in os.listdir(folder):
        descriptor = os.open(os.path.join(folder, name), os.O_RDONLY)
        total += len(os.read(descriptor, 4096))
        os.close(descriptor)
    return total


def ours(folder):
    result = inspectPaths([folder])
    assert result.series[0].dimensions[2] == FILES
    return result


ROUNDS = int(os.environ.get("AFFINE_INSPECTOR_BENCH_ROUNDS", "5"))


def measure(functions, argument, rounds=ROUNDS):
    """CPU seconds per round for each function, the functions interleaved within each round (the order turned
    every round), so that the load changes of a shared machine spread over all contenders."""
    seconds = {name: [] for name in functions}
    names = list(functions)
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            start = time.process_time()
            functions[name](argument)
            seconds[name].append(time.process_time() - start)
    return seconds


def scanSection():
    global FILES
    FILES = 1000
    folder = ensureSeries()
    functions = {
        "affine-inspector (scan+sort+check)": ours,
        "pydicom dcmread(stop_before_pixels) + sort": pydicomHeaders,
        "SimpleITK GDCM series sorter": gdcm,
        "SimpleITK per-file header read": simpleITKPerFile,
        "read floor (first 4 KiB of each file)": readFloor,
    }
    for function in functions.values():
        function(folder)  # warm the file cache and imports
    seconds = measure(functions, folder)
    mine = np.median(seconds["affine-inspector (scan+sort+check)"])
    print(f"1. Header scan: {FILES} files of 512x512 CT in {folder} (warm file cache, {ROUNDS} rounds, CPU s)")
    for name, values in seconds.items():
        median = np.median(values)
        if name.startswith("affine"):
            comparison = ""
        elif name.startswith("read floor"):
            comparison = f"ours = {mine / median:.1f}x the floor"
        else:
            comparison = f"speed-up {median / mine:.2f}x"
        print(f"  {name:44s} median {median:7.3f} s  {1e6 * median / FILES:7.1f} us/file  {comparison}")


def jsonSection():
    global FILES
    FILES = 5000
    folder = ensureSeries()
    from AffineInspectorLib.geometry import serialize

    scans, encodings = [], []
    for _ in range(ROUNDS):
        start = time.process_time()
        result = ours(folder)
        scans.append(time.process_time() - start)
        start = time.process_time()
        text = serialize.dumps(result)
        encodings.append(time.process_time() - start)
    share = np.median(encodings) / np.median(scans)
    print(f"2. JSON of the inspection of {FILES} files ({len(text) / 1e6:.1f} MB, compact, C encoder), CPU s")
    print(
        f"  scan {np.median(scans):.3f} s, JSON {np.median(encodings):.3f} s: {100 * share:.1f}% of the scan "
        f"(target <= 15%: {'met' if share <= 0.15 else 'NOT MET'})"
    )


def framesSection():
    sys.path.insert(0, HERE)
    from bench_cli import ensureEnhanced
    from naive_frames import readFrames

    from AffineInspectorLib.dicom.headers import readSliceHeaders

    print("3. Enhanced MR, 2,000 frames of 64x64: every frame's header, CPU us/frame")
    for name, spec, label in (
        ("lean", {"extras": False}, "shared orientation; per-frame position, content"),
        (
            "rich",
            {"orientationPerFrame": True, "undefinedLengths": True},
            "all groups per frame + private, echo, diffusion, VOI; undefined lengths",
        ),
    ):
        path = ensureEnhanced(name, **spec)
        functions = {
            "affine-inspector (fast path)": readSliceHeaders,
            "affine-inspector (pydicom path)": lambda path: readSliceHeaders(path, fast=False),
            "naive pydicom script": readFrames,
        }
        seconds = measure(functions, path)
        mine = np.median(seconds["affine-inspector (fast path)"])
        naive = np.median(seconds["naive pydicom script"])
        print(f"  {label}:")
        for contender, values in seconds.items():
            print(f"    {contender:34s} {1e6 * np.median(values) / 2000:7.1f} us/frame")
        verdict = "met" if naive / mine >= 2 else "NOT MET"
        print(f"    speed-up over the naive script {naive / mine:.2f}x (target >= 2x: {verdict})")


def main():
    scanSection()
    jsonSection()
    framesSection()


if __name__ == "__main__":
    main()
