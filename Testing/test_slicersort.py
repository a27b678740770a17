"""Sorting parity: the port against an independent re-implementation of Slicer's rule written here.

The oracle below is written from the rule's description (DICOMUtils.py
getSortedImageFiles): first file's IOP as given, cross product, dot with
IPP - IPP_first, stable ascending sort, first gap compared with each gap at
epsilon 0.01 mm absolute. It reads files with plain pydicom.dcmread.
"""

from __future__ import annotations

import glob
import os
import random

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from AffineInspectorLib.dicom.headers import readSliceHeaders
from AffineInspectorLib.dicom.slicersort import sortLikeSlicer
from conftest import case


def oracleSort(paths, epsilon=0.01):
    """Slicer's order by an independent route: pure Python, no numpy, pydicom datasets."""
    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in paths]
    x = [float(v) for v in datasets[0].ImageOrientationPatient[:3]]
    y = [float(v) for v in datasets[0].ImageOrientationPatient[3:]]
    axis = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]
    origin = [float(v) for v in datasets[0].ImagePositionPatient]
    keyed = []
    for path, dataset in zip(paths, datasets):
        position = [float(v) for v in dataset.ImagePositionPatient]
        keyed.append((sum((p - o) * a for p, o, a in zip(position, origin, axis)), path))
    ordered = sorted(keyed, key=lambda pair: pair[0])  # stable, like Slicer's sorted()
    gaps = [b[0] - a[0] for a, b in zip(ordered[:-1], ordered[1:])]
    firstBad = next((n + 1 for n, gap in enumerate(gaps) if abs(gap - gaps[0]) > epsilon), None)
    return [path for _, path in ordered], [distance for distance, _ in ordered], firstBad


def portSort(paths):
    headers = [readSliceHeaders(path)[0] for path in paths]
    return sortLikeSlicer(paths, [h.position for h in headers], [h.orientation for h in headers])


SORT_CASES = [
    "dcm_qa_ct_GE",
    "dicom2nifti/failing/gantrytilting/001",
    "dicom2nifti/failing/sliceincrement/001",
    "dicom2nifti/failing/sliceincrement/002",
    "dicom2nifti/failing/notavolume/001",
    "dicom2nifti/hitachi_oblique/001",
    "dicom2nifti/ge_anatomical/001",
    "tcia_kits_duplicate_positions",
]


def dicomFiles(folder):
    return sorted(glob.glob(os.path.join(case(folder), "*.dcm")))


@pytest.mark.parametrize("folder", SORT_CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_port_matches_oracle_on_real_series(dicomRoot, folder, seed):
    paths = dicomFiles(folder)
    random.Random(seed).shuffle(paths)
    expectedOrder, expectedDistances, firstBad = oracleSort(paths)
    order, distances, warning = portSort(paths)
    assert order == expectedOrder
    assert distances == pytest.approx(expectedDistances, abs=1e-9)
    if firstBad is None:
        assert "not equally spaced" not in warning
    else:
        assert f"between files {expectedOrder[firstBad]} and {expectedOrder[firstBad - 1]}" in warning


def test_missing_geometry_returns_input_order():
    order, distances, warning = sortLikeSlicer(["a", "b"], [(0, 0, 1), None], [(1, 0, 0, 0, 1, 0), None])
    assert order == ["a", "b"] and distances == []
    assert "One or more images is missing geometry information" in warning


def test_first_file_without_geometry():
    order, _, warning = sortLikeSlicer(["a", "b"], [None, (0, 0, 1)], [None, (1, 0, 0, 0, 1, 0)])
    assert order == ["a", "b"]
    assert warning.startswith("Reference image in series does not contain geometry information")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-500, 500, allow_nan=False), min_size=1, max_size=30),
    st.sampled_from([(1, 0, 0, 0, 1, 0), (0, 1, 0, 0, 0, -1), (1, 0, 0, 0, 0.9483, -0.3173)]),
)
def test_port_is_a_stable_sort_by_distance(zs, orientation):
    names = [f"f{n}" for n in range(len(zs))]
    positions = [(0.0, 0.0, z) for z in zs]
    order, distances, _ = sortLikeSlicer(names, positions, [orientation] * len(zs))
    x, y = orientation[:3], orientation[3:]
    axisZ = x[0] * y[1] - x[1] * y[0]
    keyed = sorted(enumerate(zs), key=lambda pair: (pair[1] - zs[0]) * axisZ)
    assert order == [names[index] for index, _ in keyed]
    assert distances == sorted(distances)
