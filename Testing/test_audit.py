"""`affine-inspector audit` on a synthetic archive whose defects are known by construction.

One archive (40 series, one split across two folders, junk files) is audited with two local processes and
with a Dask cluster (a real `dask scheduler` and two `dask worker` processes on 127.0.0.1: conftest's
`daskCluster`); both must find every series once with exactly the kinds its defect produces, and agree record for
record. A run killed by SIGKILL leaves valid JSON lines and `--resume` finishes it to the same records.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom import audit, auditstore
from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.dicom.syntheticarchive import DEFECTS, writeArchive
from AffineInspectorLib.geometry import serialize

CHUNK = "40"  # small tasks: the archive's 342 files make about ten, so series meet task boundaries


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return writeArchive(str(tmp_path_factory.mktemp("archive")), series=40)


@pytest.fixture(scope="module")
def localRun(archive, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("local") / "audit")
    assert main(["audit", archive.root, "--out", out, "--workers", "2", "--chunk-files", CHUNK]) == 0
    return out


def records(out):
    lines = open(os.path.join(out, auditstore.SERIES_FILE)).read().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda record: record["seriesInstanceUID"])


def test_series_file_does_not_depend_on_workers_or_task_size(archive, localRun, tmp_path):
    """With 2-file tasks, folders of more than 8 files are cut: their series are read again whole."""
    out = str(tmp_path / "one")
    assert main(["audit", archive.root, "--out", out, "--workers", "1", "--chunk-files", "2"]) == 0
    assert (
        open(os.path.join(out, auditstore.SERIES_FILE)).read()
        == open(os.path.join(localRun, auditstore.SERIES_FILE)).read()
    )


def test_every_series_found_once_with_the_kinds_its_defect_produces(archive, localRun):
    found = records(localRun)
    uids = [record["seriesInstanceUID"] for record in found]
    assert len(uids) == len(set(uids)) == len(archive.series)
    byUID = {record["seriesInstanceUID"]: record for record in found}
    for expected in archive.series:
        record = byUID[expected.seriesInstanceUID]
        assert {finding["kind"] for finding in record["findings"]} == expected.kinds, expected.defect
        assert sorted(record["files"]) == sorted(expected.files), expected.defect
        assert record["status"] == ("findings" if expected.kinds else "ok")
        assert record["manufacturer"] == "AffineInspector synthetic"
        assert sorted(record["folders"]) == sorted(expected.folders)
    assert {expected.defect for expected in archive.series} >= {"tilted", "missingSlice", "duplicate", "uneven"}


def test_the_split_series_is_one_series_from_two_folders(archive, localRun):
    split = archive.series[-1]
    assert len(split.folders) == 2
    (record,) = [record for record in records(localRun) if record["seriesInstanceUID"] == split.seriesInstanceUID]
    assert len(record["folders"]) == 2 and len(record["files"]) == len(split.files)
    assert {finding["kind"] for finding in record["findings"]} == split.kinds


def test_records_equal_what_inspect_gives_for_each_series(archive, localRun):
    """The audit analyses each series exactly as `inspect` does (the same engine through one adapter)."""
    inspected = {series.seriesInstanceUID: series for series in inspectPaths([archive.root]).series}
    for record in records(localRun):
        series = inspected[record["seriesInstanceUID"]]
        assert record["IJKToRAS"] == serialize.plain(series.IJKToRAS)
        assert record["findings"] == serialize.plain(series.findings)
        assert record["steps"] == [None if row.step is None else round(row.step, 4) for row in series.slices]


def test_findings_csv_has_a_row_per_finding_and_per_junk_file(archive, localRun):
    rows = list(csv.DictReader(open(os.path.join(localRun, auditstore.FINDINGS_FILE), newline="")))
    assert len(rows) == sum(len(record["findings"]) for record in records(localRun)) + len(archive.junk)
    junk = [row for row in rows if row["status"] == "unreadable"]
    assert sorted(row["file"] for row in junk) == sorted(archive.junk)
    assert {row["kind"] for row in junk} == {"unreadableFile"}
    for row in rows:
        assert all(os.path.exists(path) for path in row["file"].split("; ")), row


def test_every_output_line_is_strict_json(localRun):
    def refuse(constant):
        pytest.fail(f"{constant} is not JSON")

    for name in (auditstore.SERIES_FILE, auditstore.MANIFEST_FILE):
        for line in open(os.path.join(localRun, name)):
            assert line.endswith("\n"), name
            json.loads(line, parse_constant=refuse)


# --------------------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_same_records_as_local_processes(archive, localRun, daskCluster, tmp_path):
    assert daskCluster.startswith("tcp://127.0.0.1:")
    out = str(tmp_path / "dask")
    assert main(["audit", archive.root, "--out", out, "--scheduler", daskCluster, "--chunk-files", CHUNK]) == 0
    assert records(out) == records(localRun)
    assert len(records(out)) == len(archive.series)
    # Not only the same records: the same bytes, in the same order (series are written in walk order).
    seriesLines = open(os.path.join(out, auditstore.SERIES_FILE)).read()
    assert seriesLines == open(os.path.join(localRun, auditstore.SERIES_FILE)).read()
    csvLines = open(os.path.join(out, auditstore.FINDINGS_FILE)).read()
    assert csvLines == open(os.path.join(localRun, auditstore.FINDINGS_FILE)).read()


def test_unreachable_scheduler_fails_loudly(archive, tmp_path, capsys):
    out = str(tmp_path / "audit")
    assert main(["audit", archive.root, "--out", out, "--scheduler", "tcp://127.0.0.1:9"]) == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(out, auditstore.SERIES_FILE))


# --------------------------------------------------------------------------- kill and resume


def _auditKilledAfter(root, out, calls, labelStart, workersFile):
    """Child process: audit with one worker and SIGKILL itself at the ``calls``-th progress report whose label
    starts with ``labelStart`` (a real kill, at a known point), after writing its workers' process ids."""
    seen = {"count": 0}

    def progress(label, fraction):
        if label.startswith(labelStart):
            seen["count"] += 1
            if seen["count"] == calls:
                with open(workersFile, "w") as stream:
                    json.dump(list(executor._processes), stream)  # the pool's worker pids
                os.kill(os.getpid(), signal.SIGKILL)
        return False

    with audit.localExecutor(1) as executor:
        audit.auditArchive([root], out, executor=executor, chunkFiles=20, progressCallback=progress)


@pytest.mark.parametrize(
    "calls, labelStart",
    [
        (4, "Reading headers"),  # killed while reading: no series is final yet, four tasks are journaled
        (1, "Series split"),  # killed once every file was read, while writing the series (walk order)
    ],
)
def test_killed_run_leaves_valid_lines_and_resume_finishes_it(archive, localRun, tmp_path, calls, labelStart):
    out = str(tmp_path / "audit")
    workersFile = str(tmp_path / "workers.json")
    child = multiprocessing.get_context("spawn").Process(
        target=_auditKilledAfter, args=(archive.root, out, calls, labelStart, workersFile)
    )
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    workers = json.load(open(workersFile))
    assert workers and _ended(workers, within=15)  # orphaned workers end themselves (no process left behind)
    manifest = [json.loads(line) for line in open(os.path.join(out, auditstore.MANIFEST_FILE))]
    partial = [json.loads(line) for line in open(os.path.join(out, auditstore.SERIES_FILE))]
    reads = [line for line in manifest if "read" in line]
    if labelStart == "Reading headers":
        assert len(reads) == calls and partial == []
    else:
        assert len(partial) < len(archive.series)
        assert not os.path.exists(os.path.join(out, auditstore.REPORT_FILE))
    assert main(["audit", archive.root, "--out", out, "--resume", "--workers", "2"]) == 0
    assert records(out) == records(localRun)
    assert os.path.exists(os.path.join(out, auditstore.REPORT_FILE))
    resumedReads = [json.loads(line) for line in open(os.path.join(out, auditstore.MANIFEST_FILE)) if '"read"' in line]
    assert len(resumedReads) == len({line["read"] for line in resumedReads})  # no task done twice
    if labelStart == "Series split":
        assert len(resumedReads) == len(reads)  # every file had been read: nothing read again but the split series


def _ended(pids, within):
    """Whether every process in ``pids`` is gone (or a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(audit._isRunning(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


def test_resume_cuts_records_written_after_the_last_journaled_series(archive, localRun, tmp_path):
    """A run stopped while writing: a torn line in both files, a record whose 'done' line never came."""
    out = str(tmp_path / "audit")
    assert main(["audit", archive.root, "--out", out, "--workers", "1", "--chunk-files", CHUNK]) == 0
    manifestPath, seriesPath = (os.path.join(out, name) for name in (auditstore.MANIFEST_FILE, "series.jsonl"))
    lines = open(manifestPath).read().splitlines(keepends=True)
    doneAt = [index for index, line in enumerate(lines) if '"done"' in line]
    keep = lines[: doneAt[len(doneAt) // 2]]  # half the series journaled as written
    open(manifestPath, "w").write("".join(keep) + lines[doneAt[len(doneAt) // 2]][:10])
    with open(seriesPath, "a") as stream:
        stream.write('{"seriesInstanceUID": "torn')
    assert main(["audit", archive.root, "--out", out, "--resume", "--workers", "1"]) == 0
    assert records(out) == records(localRun)


# --------------------------------------------------------------------------- the output folder


def test_refuses_a_folder_with_other_files_and_leaves_it_alone(archive, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("keep me")
    assert main(["audit", archive.root, "--out", str(out), "--workers", "1"]) == 1
    assert "holds files that are not from an audit (thesis.docx)" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["thesis.docx"]


def test_refuses_output_names_without_an_audit_manifest(archive, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.html").write_text("someone else's report")
    assert main(["audit", archive.root, "--out", str(out), "--workers", "1"]) == 1
    assert "no audit manifest" in capsys.readouterr().err
    assert (out / "report.html").read_text() == "someone else's report"


def test_resume_needs_an_audit_of_the_same_roots(archive, localRun, tmp_path, capsys):
    assert main(["audit", archive.root, "--out", str(tmp_path / "new"), "--resume", "--workers", "1"]) == 1
    assert "holds no audit to resume" in capsys.readouterr().err
    other = os.path.join(archive.root, "misc")
    before = open(os.path.join(localRun, auditstore.SERIES_FILE)).read()
    assert main(["audit", other, "--out", localRun, "--resume", "--workers", "1"]) == 1
    assert "has other roots" in capsys.readouterr().err
    assert open(os.path.join(localRun, auditstore.SERIES_FILE)).read() == before


def test_an_earlier_audit_is_replaced_and_outputs_are_whole_files(archive, tmp_path):
    out = str(tmp_path / "audit")
    junk = os.path.join(archive.root, "misc")
    assert main(["audit", junk, "--out", out, "--workers", "1"]) == 1  # no series there: exit 1, report written
    assert os.path.exists(os.path.join(out, auditstore.REPORT_FILE))
    assert main(["audit", archive.root, "--out", out, "--workers", "1", "--chunk-files", CHUNK]) == 0
    assert len(records(out)) == len(archive.series)
    assert not [name for name in os.listdir(out) if name.startswith(auditstore.TEMP_PREFIX)]


def test_output_folder_inside_a_root_is_not_audited(archive, tmp_path):
    import shutil

    root = str(tmp_path / "copy")
    shutil.copytree(os.path.join(archive.root, "patient000"), root)
    out = os.path.join(root, "audit")
    assert main(["audit", root, "--out", out, "--workers", "1"]) == 0
    assert main(["audit", root, "--out", out, "--workers", "1", "--resume"]) == 0  # same files: resumable
    assert all(not path.startswith(out) for record in records(out) for path in record["files"])


@pytest.mark.parametrize(
    "files, chunk, expected",
    [
        (["a/1", "a/2", "b/1", "c/1", "c/2", "c/3"], 3, [(0, 3), (3, 3)]),  # whole folders packed
        (["a/1", "a/2", "a/3", "a/4", "a/5"], 2, [(0, 5)]),  # up to 4 x chunk: one folder, one task
        ([f"a/{n}" for n in range(9)] + ["b/1"], 2, [(0, 2), (2, 2), (4, 2), (6, 2), (8, 1), (9, 1)]),  # cut
        ([], 5, []),
    ],
)
def test_plan_chunks(files, chunk, expected):
    assert audit.planChunks(files, chunk) == expected
    covered = [index for first, count in expected for index in range(first, first + count)]
    assert covered == list(range(len(files)))


def test_inspect_never_imports_dask(archive):
    """Only the audit's --scheduler imports dask (tqdm is not checked: pydicom imports it when installed)."""
    code = (
        "import sys; from AffineInspectorLib.cli.main import main; "
        f"main(['inspect', '--json', {archive.series[0].folders[0]!r}]); "
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stderr.strip().endswith("[]"), completed.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_archive_defects_show_with_few_slices(tmp_path, seed):
    """The generator's promise (each defect gives exactly its kinds) holds for any slice count it is given."""
    archive = writeArchive(str(tmp_path), series=len(DEFECTS), slices=(1, 7), seed=seed, junk=False)
    found = {series.seriesInstanceUID: series for series in inspectPaths([archive.root]).series}
    for expected in archive.series:
        assert {finding.kind.value for finding in found[expected.seriesInstanceUID].findings} == expected.kinds


def test_classic_and_enhanced_copies_get_the_split_warning_as_in_inspect(tmp_path):
    """One SeriesInstanceUID holding classic and enhanced copies: two series, each with inspect's seriesSplit."""
    from fourddata import FourDSpec, writeClassic, writeEnhanced

    spec = FourDSpec(positions=6, volumes=1)
    writeClassic(spec, str(tmp_path / "in" / "classic"))
    writeEnhanced(spec, str(tmp_path / "in" / "enhanced"))
    out = tmp_path / "out"
    assert main(["audit", str(tmp_path / "in"), "--out", str(out), "--workers", "1"]) == 0
    found = records(str(out))
    assert len(found) == 2
    for record in found:
        assert [finding["kind"] for finding in record["findings"]].count("seriesSplit") == 1


def test_a_failing_analysis_is_kept_as_an_unreadable_record(archive, monkeypatch):
    """A bug in the analysis of one UID costs that record, not the run: the record says which error."""
    from AffineInspectorLib.dicom import auditadapter
    from AffineInspectorLib.dicom.headers import readSliceHeaders
    from AffineInspectorLib.geometry.findings import Tolerances

    slices = [header for path in archive.series[0].files for header in readSliceHeaders(path)]
    limits = Tolerances()
    assert all(record.status != "unreadable" for record in audit.recordsOf(slices, limits))

    def planted(slices, limits):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(auditadapter, "analyse", planted)
    (failed,) = audit.recordsOf(slices, limits)
    assert failed.status == "unreadable" and failed.error == "analysis failed (ZeroDivisionError: planted)"
    assert failed.seriesInstanceUID == slices[0].seriesInstanceUID and failed.files and failed.folders
