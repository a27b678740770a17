"""`audit --labels`: matching label images to audited series, and the audit comparing each with its series as
`align` does, on an archive whose label images were built here with a known relation (Testing/labelsdata.py).

The audit with labels runs with two local processes, with one process and 2-file tasks, and on a localhost Dask
cluster (conftest's `daskCluster`): the three series.jsonl must be the same bytes. A run killed by SIGKILL after
some label checks finished is resumed without doing any again, to the same bytes.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal

import pytest

from AffineInspectorLib.cli.exitcodes import ExitCode
from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom import audit, auditstore
from AffineInspectorLib.dicom.auditlabels import findLabelFiles, matchLabels, uidsInName
from AffineInspectorLib.dicom.syntheticarchive import writeArchive
from labelsdata import gridShape, mask, saveNIfTI, slicerIJKToRAS, writeLabelledArchive

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


def test_unmatched_files_say_why(tmp_path):
    for name in (f"{A}.nii", "case.nii", "listed.nii"):
        (tmp_path / name).write_bytes(b"")
    table = tmp_path / "labels.csv"
    table.write_text("label,seriesInstanceUID\nlisted.nii,9.9.9\n")
    matches = matchLabels(findLabelFiles(str(tmp_path)), [B], table=str(table))
    reasons = {os.path.basename(path): why for path, why in matches.reasons.items()}
    assert reasons == {
        f"{A}.nii": f"its name holds {A}, none of them an audited SeriesInstanceUID",
        "case.nii": "its name holds no SeriesInstanceUID and no table lists it",
        "listed.nii": "the table gives series 9.9.9, which is not among the audited series",
    }


# --------------------------------------------------------------------------- the audit with label images

CHUNK = "40"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return writeLabelledArchive(str(tmp_path_factory.mktemp("labelled")))


def labelArguments(labelled):
    return ["--labels", labelled.labels, "--labels-table", labelled.table]


@pytest.fixture(scope="module")
def labelledRun(labelled, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("local") / "audit")
    arguments = ["audit", labelled.archive.root, "--out", out, "--workers", "2", "--chunk-files", CHUNK]
    assert main(arguments + labelArguments(labelled)) == 0
    return out


def seriesLines(out):
    return [json.loads(line) for line in open(os.path.join(out, auditstore.SERIES_FILE))]


def labelKinds(record, label):
    return {finding["kind"] for finding in record["findings"] if finding["file"] == label}


def test_each_label_image_gets_the_kinds_its_construction_gives(labelled, labelledRun):
    records = seriesLines(labelledRun)
    byUID = {}
    for record in records:
        byUID.setdefault(record["seriesInstanceUID"], []).append(record)
    for label, kinds in labelled.expected.items():
        uid = labelled.matchedTo[label]
        assert byUID[uid], label
        for record in byUID[uid]:  # the 4D UID gives two records (classic and enhanced): checked against both
            assert record["labels"] == labelled.labelsOf(uid)
            assert labelKinds(record, label) == kinds, os.path.basename(label)
    assert len(byUID[labelled.fourDUID]) == 2
    assert sum(len(record["labels"]) for record in records) == len(labelled.expected) + 1  # the 4D label twice


def test_the_series_own_findings_are_unchanged_and_status_follows_the_label_findings(labelled, labelledRun):
    records = {record["seriesInstanceUID"]: record for record in seriesLines(labelledRun)}
    for expected in labelled.archive.series:
        record = records[expected.seriesInstanceUID]
        own = [finding for finding in record["findings"] if finding["file"] not in record["labels"]]
        assert {finding["kind"] for finding in own} == expected.kinds, expected.defect
        labelSeverities = {finding["severity"] for finding in record["findings"] if finding["file"] in record["labels"]}
        if expected.kinds or labelSeverities - {"info"}:
            assert record["status"] == "findings", expected.defect
        else:
            assert record["status"] == "ok", expected.defect  # a correct mask (info same-grid) keeps a series ok
    regular = labelled.archive.series[0]
    assert records[regular.seriesInstanceUID]["status"] == "ok" and records[regular.seriesInstanceUID]["labels"]
    split = labelled.archive.series[-1]
    assert len(split.folders) == 2 and records[split.seriesInstanceUID]["status"] == "findings"  # lps-as-ras
    assert records[labelled.noGeometryUID]["status"] == "unreadable"
    unlabelled = [
        record for record in records.values() if record["seriesInstanceUID"] not in labelled.matchedTo.values()
    ]
    assert unlabelled and all(record["labels"] == [] for record in unlabelled)


def test_findings_csv_has_the_label_rows_and_the_unmatched_files(labelled, labelledRun):
    rows = list(csv.DictReader(open(os.path.join(labelledRun, auditstore.FINDINGS_FILE), newline="")))
    for label, kinds in labelled.expected.items():
        mine = [row for row in rows if row["file"] == label]
        assert {row["kind"] for row in mine} == kinds, os.path.basename(label)
        assert {row["seriesInstanceUID"] for row in mine} == {labelled.matchedTo[label]}
    unmatched = [row for row in rows if row["status"] == "unmatched"]
    assert [(row["kind"], row["file"]) for row in unmatched] == sorted(
        [("unmatchedLabel", path) for path in labelled.unmatched]
        + [("ambiguousLabel", path) for path in labelled.ambiguous],
        key=lambda pair: pair[1],
    )
    assert all(row["seriesInstanceUID"] == "" and row["severity"] == "warning" for row in unmatched)
    assert "scratch.nii.gz" not in {os.path.basename(row["file"]) for row in rows if row["seriesInstanceUID"]}


def test_the_same_bytes_with_one_process_and_two_file_tasks(labelled, labelledRun, tmp_path):
    """With 2-file tasks every labelled series is met by several reading tasks; its label task reads it whole."""
    out = str(tmp_path / "one")
    arguments = ["audit", labelled.archive.root, "--out", out, "--workers", "1", "--chunk-files", "2"]
    assert main(arguments + labelArguments(labelled)) == 0
    for name in (auditstore.SERIES_FILE, auditstore.FINDINGS_FILE):
        assert open(os.path.join(out, name)).read() == open(os.path.join(labelledRun, name)).read(), name


def test_dask_cluster_gives_the_same_bytes_with_labels(labelled, labelledRun, daskCluster, tmp_path):
    out = str(tmp_path / "dask")
    arguments = ["audit", labelled.archive.root, "--out", out, "--scheduler", daskCluster, "--chunk-files", CHUNK]
    assert main(arguments + labelArguments(labelled)) == 0
    for name in (auditstore.SERIES_FILE, auditstore.FINDINGS_FILE):
        assert open(os.path.join(out, name)).read() == open(os.path.join(labelledRun, name)).read(), name


def _auditKilledAfterLabels(root, out, labels, table, calls):
    """Child process: audit with one worker and SIGKILL itself at the ``calls``-th finished label check."""
    seen = {"count": 0}

    def progress(label, fraction):
        if label.startswith("Label images"):
            seen["count"] += 1
            if seen["count"] == calls:
                os.kill(os.getpid(), signal.SIGKILL)
        return False

    with audit.localExecutor(1) as executor:
        audit.auditArchive(
            [root], out, executor=executor, chunkFiles=20, labels=labels, labelsTable=table, progressCallback=progress
        )


def test_a_killed_run_keeps_its_label_checks_and_resume_does_none_again(labelled, labelledRun, tmp_path):
    out = str(tmp_path / "audit")
    child = multiprocessing.get_context("spawn").Process(
        target=_auditKilledAfterLabels, args=(labelled.archive.root, out, labelled.labels, labelled.table, 3)
    )
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    manifest = [json.loads(line) for line in open(os.path.join(out, auditstore.MANIFEST_FILE))]
    before = [line["labelled"] for line in manifest if "labelled" in line]
    assert len(before) == 3
    assert (
        main(["audit", labelled.archive.root, "--out", out, "--resume", "--workers", "2"] + labelArguments(labelled))
        == 0
    )
    after = [
        json.loads(line)["labelled"]
        for line in open(os.path.join(out, auditstore.MANIFEST_FILE))
        if '"labelled"' in line
    ]
    assert sorted(after) == sorted(set(labelled.matchedTo.values()))  # each series checked once, the first three kept
    assert after[:3] == before
    assert (
        open(os.path.join(out, auditstore.SERIES_FILE)).read()
        == open(os.path.join(labelledRun, auditstore.SERIES_FILE)).read()
    )
    assert len([line for line in open(os.path.join(out, auditstore.MANIFEST_FILE)) if '"labelMatch"' in line]) == 1


def test_resume_refuses_other_label_images(labelled, labelledRun, tmp_path, capsys):
    out = str(tmp_path / "audit")
    shutil.copytree(labelledRun, out)
    before = open(os.path.join(out, auditstore.SERIES_FILE)).read()
    resume = ["audit", labelled.archive.root, "--out", out, "--resume", "--workers", "1"]
    assert main(resume + ["--labels", labelled.labels]) == 1  # the table left out: other label options
    assert "has other labels" in capsys.readouterr().err
    added = os.path.join(labelled.labels, "added.nii.gz")
    shutil.copy(labelled.unmatched[0], added)
    try:
        assert main(resume + labelArguments(labelled)) == 1
        assert "the label images or their table changed" in capsys.readouterr().err
    finally:
        os.remove(added)
    assert open(os.path.join(out, auditstore.SERIES_FILE)).read() == before


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--labels", "missing"], "--labels missing: no such folder"),
        (["--labels", "empty"], "no label image (.seg.nrrd, .nii.gz"),
        (["--labels", "bad", "--labels-table", "bad/labels.csv"], 'needs the columns "label" and "seriesInstanceUID"'),
    ],
)
def test_label_options_are_checked_before_anything_is_written(
    labelled, tmp_path, monkeypatch, capsys, arguments, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.nii").write_bytes(b"")
    (tmp_path / "bad" / "labels.csv").write_text("file,uid\nx.nii,1.2\n")
    out = tmp_path / "out"
    assert main(["audit", labelled.archive.root, "--out", str(out), "--workers", "1"] + arguments) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() or os.listdir(out) == []


def test_a_labels_table_without_labels_is_a_usage_error_before_any_folder_is_made(labelled, tmp_path, capsys):
    """Review: with --mkdir, the missing parents of --out were created before this check (and announced)."""
    out = tmp_path / "new" / "deeper" / "out"
    arguments = ["audit", labelled.archive.root, "--out", str(out), "--mkdir", "--labels-table", "labels.csv"]
    assert main(arguments) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "new").exists()


# --------------------------------------------------------------------------- the report


def test_the_report_lists_unmatched_label_images_and_each_series_its_label_checks(labelled, labelledRun, page):
    page.goto("file://" + os.path.join(labelledRun, auditstore.REPORT_FILE))
    assert page.inner_text("#labels-count") == str(len(labelled.expected) + 2)
    assert page.inner_text("#labels-unmatched") == "2"
    listed = page.locator("#unmatchedLabels tbody tr")
    assert listed.count() == 2
    text = page.inner_text("#unmatchedLabels")
    assert "scratch.nii.gz" in text and os.path.basename(labelled.ambiguous[0]) in text
    assert "unmatchedLabel" in text and "ambiguousLabel" in text
    # The kind table links the label kinds; lps-as-ras filters the series table to the split series.
    page.click('a[data-kind="lps-as-ras"]')
    rows = page.locator("#series tbody tr")
    split = labelled.archive.series[-1].seriesInstanceUID
    assert rows.count() == 1 and rows.first.get_attribute("data-uid") == split
    rows.first.click()
    (label,) = labelled.labelsOf(split)
    row = page.locator(f'#detailBody tr[data-label$="{os.path.basename(label)}"]')
    assert row.count() == 1
    cells = row.locator("td")
    assert cells.nth(1).inner_text() == "disjoint" and cells.nth(1).get_attribute("class") == "error"
    assert cells.nth(2).inner_text().split() == ["lps-as-ras"]
    assert page.externalRequests == [] and page.problems == []


def test_a_correct_mask_keeps_a_series_ok_and_fail_on_counts_label_findings(tmp_path):
    archive = writeArchive(str(tmp_path / "archive"), series=1, junk=False)
    (series,) = archive.series
    labels = tmp_path / "labels"
    saveNIfTI(
        str(labels / f"{series.seriesInstanceUID}.nii.gz"), mask(gridShape(series.files)), slicerIJKToRAS(series.files)
    )
    command = ["audit", archive.root, "--labels", str(labels), "--workers", "1", "--fail-on", "warning", "--out"]
    assert main(command + [str(tmp_path / "correct")]) == ExitCode.OK
    (record,) = seriesLines(str(tmp_path / "correct"))
    assert record["status"] == "ok" and [finding["kind"] for finding in record["findings"]] == ["same-grid"]
    saveNIfTI(str(labels / "scratch.nii.gz"), mask((4, 4, 4)), slicerIJKToRAS(series.files))  # matches no series
    assert main(command + [str(tmp_path / "unmatched")]) == ExitCode.FINDINGS
    (record,) = seriesLines(str(tmp_path / "unmatched"))
    assert record["status"] == "ok"
