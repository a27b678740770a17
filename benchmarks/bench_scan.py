"""Benchmark (run on demand: `make bench`), not a test.

Scan + sort + check of a generated 1,000-file 512x512 CT series, against
(a) plain pydicom.dcmread of every file then sorting by position, and
(b) SimpleITK's GDCM series sorter (ImageSeriesReader.GetGDCMSeriesFileNames).
The series is generated once into a cache folder outside the repository
(AFFINE_INSPECTOR_BENCH_CACHE, default ~/.cache/affine-inspector-bench),
with the header of the shared GE CT as template when ../shared is present.
Prints seconds and ratios; the target is >= 10x plain pydicom and no slower
than GDCM.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "AffineInspector"))

from AffineInspectorLib.series import inspectPaths  # noqa: E402
from AffineInspectorLib.synthetic import SeriesSpec, writeSeries  # noqa: E402

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


def best(function, folder, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(folder)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    folder = ensureSeries()
    print(f"{FILES} files of 512x512 in {folder} (warm file cache, best of 3)")
    timings = {
        "affine-inspector (scan+sort+check)": best(ours, folder),
        "plain pydicom.dcmread + sort": best(plainPydicom, folder),
    }
    try:
        timings["SimpleITK GDCM series sorter"] = best(gdcm, folder)
    except ImportError:
        print("SimpleITK not installed (pip install .[bench]): GDCM comparison skipped")
    for name, seconds in timings.items():
        print(f"  {name:38s} {seconds:7.3f} s  {1000 * seconds / FILES:6.3f} ms/file")
    mine = timings["affine-inspector (scan+sort+check)"]
    for name, seconds in timings.items():
        if not name.startswith("affine"):
            print(f"  speed-up over {name}: {seconds / mine:.2f}x")


if __name__ == "__main__":
    main()
