"""Benchmark (run on demand: `make bench`), not a test.

Scan + sort + check of a generated 1,000-file 512x512 CT series, against
(a) plain pydicom.dcmread of every file then sorting by position, and
(b) SimpleITK's GDCM series sorter (ImageSeriesReader.GetGDCMSeriesFileNames).
The series is generated once into a cache folder outside the repository
(AFFINE_INSPECTOR_BENCH_CACHE, default ~/.cache/affine-inspector-bench),
with the header of the shared GE CT as template when ../shared is present.
Prints seconds and per-round ratios (contenders interleaved); the target is
>= 10x plain pydicom and no slower than GDCM.
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
        _addRealisticHeader(paths)
    return folder


def _addRealisticHeader(paths):
    """Copy the GE CT's other header elements (private groups included) into each file, as a scanner writes them."""
    template = pydicom.dcmread(TEMPLATE, stop_before_pixels=True)
    keep = {
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
    for path in paths:
        dataset = pydicom.dcmread(path)
        for element in template:
            if element.keyword not in keep and element.tag.group != 0x0002 and element.tag not in dataset:
                dataset.add(element)
        dataset.save_as(path)


def plainPydicom(folder):
    datasets = [pydicom.dcmread(os.path.join(folder, name)) for name in os.listdir(folder)]
    normal = np.cross(*np.reshape(np.asarray(datasets[0].ImageOrientationPatient, float), (2, 3)))
    return sorted(datasets, key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal)))


def gdcm(folder):
    import SimpleITK

    return SimpleITK.ImageSeriesReader.GetGDCMSeriesFileNames(folder)


def ours(folder):
    result = inspectPaths([folder])
    assert result.series[0].dimensions[2] == FILES
    return result


def measure(functions, folder, rounds=5):
    """Seconds per round for each function, the functions interleaved within each round.

    Interleaving spreads the load changes of a shared machine over all
    contenders, so the ratios of one round compare like with like.
    """
    seconds = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function(folder)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def main():
    folder = ensureSeries()
    functions = {"affine-inspector (scan+sort+check)": ours, "plain pydicom.dcmread + sort": plainPydicom}
    try:
        import SimpleITK  # noqa: F401

        functions["SimpleITK GDCM series sorter"] = gdcm
    except ImportError:
        print("SimpleITK not installed (pip install .[bench]): GDCM comparison skipped")
    ours(folder)  # warm the file cache and imports
    seconds = measure(functions, folder)
    print(f"{FILES} files of 512x512 in {folder} (warm file cache, {len(seconds[next(iter(seconds))])} rounds)")
    for name, values in seconds.items():
        print(
            f"  {name:38s} best {min(values):7.3f} s  median {np.median(values):7.3f} s  "
            f"{1000 * np.median(values) / FILES:6.3f} ms/file"
        )
    mine = np.asarray(seconds["affine-inspector (scan+sort+check)"])
    for name, values in seconds.items():
        if not name.startswith("affine"):
            ratios = np.asarray(values) / mine
            print(
                f"  speed-up over {name}: median {np.median(ratios):.2f}x "
                f"(rounds: {', '.join(f'{ratio:.1f}' for ratio in ratios)})"
            )


if __name__ == "__main__":
    main()
