"""Matching label images to audited series (the first half of `audit --labels`; align checks them once merged)."""

from __future__ import annotations

import os

import pytest

from AffineInspectorLib.dicom.auditlabels import findLabelFiles, matchLabels, uidsInName

A, B = "1.2.840.113619.2.55.3.604", "1.3.12.2.1107.5.2.32.35131"


@pytest.mark.parametrize(
    "name, expected",
    [
        (f"{A}.nii.gz", [A]),
        (f"seg_{A}_kidney.nrrd", [A]),
        (f"{A}.seg.nrrd", [A]),
        ("case_001.nii", []),  # a single number is no UID
        (f"{A}__{B}.mha", [A, B]),
    ],
)
def test_uids_in_name(name, expected):
    assert uidsInName(os.path.join("labels", name)) == expected


def test_match_by_name_with_unmatched_and_ambiguous_files(tmp_path):
    names = [f"{A}.nii.gz", f"mask_{B}.nrrd", "1.2.3.4.nii", f"{A}_{B}.nii", "notes.txt", ".hidden.nii"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    files = findLabelFiles(str(tmp_path))
    assert [os.path.basename(path) for path in files] == sorted(names[:4])
    matches = matchLabels(files, [A, B])
    assert {uid: [os.path.basename(path) for path in paths] for uid, paths in matches.bySeries.items()} == {
        A: [f"{A}.nii.gz"],
        B: [f"mask_{B}.nrrd"],
    }
    assert [os.path.basename(path) for path in matches.unmatched] == ["1.2.3.4.nii"]
    assert {os.path.basename(path): uids for path, uids in matches.ambiguous.items()} == {f"{A}_{B}.nii": [A, B]}


def test_a_table_decides_for_the_files_it_lists(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("sub/case1.nii.gz", f"{A}.nii", "case2.nii"):
        (tmp_path / name).write_bytes(b"")
    table = tmp_path / "labels.csv"
    table.write_text(f"label,seriesInstanceUID\nsub/case1.nii.gz,{B}\n{A}.nii,{B}\ncase2.nii,9.9.9\n")
    matches = matchLabels(findLabelFiles(str(tmp_path)), [A, B], table=str(table))
    assert sorted(os.path.basename(path) for path in matches.bySeries[B]) == [f"{A}.nii", "case1.nii.gz"]
    assert A not in matches.bySeries  # the table overrides the UID in the name
    assert [os.path.basename(path) for path in matches.unmatched] == ["case2.nii"]  # a UID not in the archive


def test_a_table_without_the_columns_is_refused(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("file,uid\nx.nii,1.2\n")
    with pytest.raises(ValueError, match='needs the columns "label" and "seriesInstanceUID"'):
        matchLabels([], [A], table=str(table))
