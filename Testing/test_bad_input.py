"""Bad input: every file pydicom ships, plus damaged files made here. No exception, each reported, inputs untouched."""

from __future__ import annotations

import glob
import os
import shutil

import pydicom
import pytest

from AffineInspectorLib.dicom import synthetic
from AffineInspectorLib.dicom.fastreader import readSliceHeaderFast
from AffineInspectorLib.dicom.headers import readSliceHeaders
from AffineInspectorLib.dicom.series import inspectPaths
from conftest import case, treeDigest

PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def test_every_pydicom_test_file_is_inspected_without_exception():
    before = treeDigest(PYDICOM_FILES)
    paths = sorted(p for p in glob.glob(os.path.join(PYDICOM_FILES, "**", "*"), recursive=True) if os.path.isfile(p))
    assert len(paths) > 100
    result = inspectPaths([PYDICOM_FILES])
    accounted = {f.file for f in result.unreadableFiles} | {path for s in result.series for path in s.files}
    leftOut = {
        f.file for s in result.series for f in s.findings if f.kind in ("missingGeometry", "orientationMismatch")
    }
    assert set(paths) == accounted | leftOut, "every file is either a slice or reported"
    assert treeDigest(PYDICOM_FILES) == before


@pytest.mark.parametrize("root", [PYDICOM_FILES, "shared"])
def test_fast_reader_equals_pydicom(dicomRoot, root):
    """The fast header path gives exactly what pydicom.dcmread gives, on every file available."""
    folder = dicomRoot if root == "shared" else root
    paths = sorted(p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True) if os.path.isfile(p))
    usedFastPath = 0
    for path in paths:
        usedFastPath += readSliceHeaderFast(path) is not None
        assert outcome(path, fast=True) == outcome(path, fast=False), path
    assert usedFastPath >= 20  # both paths are exercised


def outcome(path, fast):
    try:
        return readSliceHeaders(path, fast=fast)
    except Exception as error:  # UnreadableFileError: compare the message
        return type(error).__name__, str(error)


@pytest.fixture()
def regularSeries(tmp_path):
    spec = synthetic.SeriesSpec(rows=8, columns=8, numberOfSlices=6)
    folder = tmp_path / "series"
    paths = synthetic.writeSeries(spec, str(folder))
    return folder, paths


def rewrite(path, **attributes):
    dataset = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        if value is None:
            delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)
    dataset.save_as(path)


def rawReplace(path, old: bytes, new: bytes):
    """Byte-level edit for values pydicom refuses to write (e.g. IOP with 5 values)."""
    data = open(path, "rb").read()
    assert data.count(old) == 1 and len(old) == len(new)
    open(path, "wb").write(data.replace(old, new))


DAMAGES = {
    "nanPosition": lambda p: rewrite(p, ImagePositionPatient=["nan", "0", "0"]),
    "textPosition": lambda p: rawReplace(p, b"-12.5\\-20\\", b"-12.5\\abc\\"),
    "missingPosition": lambda p: rewrite(p, ImagePositionPatient=None),
    "fiveOrientationValues": lambda p: rawReplace(p, b"1\\0\\0\\0\\1\\0", b"1\\0\\0\\0\\100"),
    "zeroPixelSpacing": lambda p: rewrite(p, PixelSpacing=["0", "0.6"]),
    "negativePixelSpacing": lambda p: rewrite(p, PixelSpacing=["-0.7", "0.6"]),
    "zeroOrientation": lambda p: rewrite(p, ImageOrientationPatient=[0, 0, 0, 0, 1, 0]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_geometry_is_reported_and_left_out(regularSeries, damage):
    folder, paths = regularSeries
    DAMAGES[damage](paths[2])
    before = treeDigest(str(folder))
    series = inspectPaths([str(folder)]).series[0]
    problems = [f for f in series.findings if f.kind == "missingGeometry"]
    assert [f.file for f in problems] == [paths[2]], series.findings
    assert series.dimensions[2] == 5
    assert treeDigest(str(folder)) == before


def test_five_orientation_values_message(regularSeries):
    folder, paths = regularSeries
    DAMAGES["fiveOrientationValues"](paths[0])
    series = inspectPaths([str(folder)]).series[0]
    message = next(f.message for f in series.findings if f.kind == "missingGeometry")
    assert "ImageOrientationPatient has 5 values instead of 6" in message


@pytest.mark.parametrize(
    "name,content,severity,text",
    [
        ("empty.dcm", b"", "info", "not a DICOM file"),
        ("notes.txt", b"just some text\n" * 20, "info", "not a DICOM file"),
        ("garbage.dcm", b"\0" * 128 + b"DICM" + b"\xff" * 50, "warning", ""),
    ],
)
def test_non_dicom_files_are_reported(tmp_path, name, content, severity, text):
    path = tmp_path / name
    path.write_bytes(content)
    result = inspectPaths([str(tmp_path)])
    assert result.series == []
    assert [(f.kind, f.severity) for f in result.unreadableFiles] == [("unreadableFile", severity)]
    assert text in result.unreadableFiles[0].message


@pytest.mark.parametrize("cutBytes", [1, 64, 500, 900])
def test_truncated_files_are_reported(regularSeries, cutBytes):
    """Cut in the pixel data (1, 64 bytes) or in the header (500, 900 bytes of a ~1.2 kB file)."""
    folder, paths = regularSeries
    data = open(paths[1], "rb").read()
    open(paths[1], "wb").write(data[: len(data) - cutBytes])
    result = inspectPaths([str(folder)])
    reported = [f for f in result.unreadableFiles if f.file == paths[1]]
    assert len(reported) == 1 and reported[0].kind == "unreadableFile"
    assert reported[0].severity == "warning"
    assert result.series[0].dimensions[2] == 5


def test_missing_path_is_reported(tmp_path):
    result = inspectPaths([str(tmp_path / "nowhere")])
    assert result.unreadableFiles[0].kind == "unreadableFile" and "no such file" in result.unreadableFiles[0].message


def test_shared_data_untouched_by_inspection(dicomRoot):
    folder = case("dcm_qa_ct_GE")
    before = treeDigest(folder)
    inspectPaths([folder])
    assert treeDigest(folder) == before


def test_damaged_copy_of_real_series(tmp_path, dicomRoot):
    """A damaged copy of real data (not the original) shows a missing slice and a truncation."""
    copy = tmp_path / "ge"
    shutil.copytree(case("dcm_qa_ct_GE"), copy)
    os.remove(copy / "05.dcm")
    open(copy / "10.dcm", "r+b").truncate(5000)
    result = inspectPaths([str(copy)])
    series = result.series[0]
    assert series.dimensions[2] == 26
    assert [f.file for f in result.unreadableFiles] == [str(copy / "10.dcm")]
    assert any(f.kind == "missingSlice" and f.slice == 4 for f in series.findings)


def test_slices_in_one_plane_give_a_report_not_a_crash(tmp_path, capsys):
    """Three slices whose positions lie in their own plane: the affine has no third axis (axis codes None)."""
    from AffineInspectorLib.cli.main import main

    spec = synthetic.SeriesSpec(rows=8, columns=8, numberOfSlices=3, spacingMm=1.0, seriesDescription="in plane")
    paths = synthetic.writeSeries(spec, str(tmp_path))
    for path, x in zip(paths, (0.0, 10.0, 0.0)):
        dataset = pydicom.dcmread(path)
        dataset.ImagePositionPatient = [x, 0.0, 0.0]
        dataset.save_as(path)
    assert main(["inspect", str(tmp_path)]) == 0
    assert "Axis codes (i, j, k): none (degenerate axes)" in capsys.readouterr().out
