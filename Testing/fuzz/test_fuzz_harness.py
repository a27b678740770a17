"""The fuzzer itself: generation is deterministic, the byte walker is exact, the classifier reads the contract.

These run in ``make test`` (a few seconds), as does the fixed-seed smoke run
(``test_fuzz_smoke.py``, also ``make fuzz-smoke``); longer runs: ``make fuzz SEED=... N=...``.
"""

from __future__ import annotations

import json
import os
import stat

import classify
import mutate
import pytest
import rawdicom
import run

from conftest import DICOM


def treeOf(root: str) -> dict:
    """Every entry under ``root``: type, mode, bytes or link target (FIFOs and big files by size only)."""
    entries = {}
    for path, (kind, *rest) in run.snapshot([root]).items():
        entries[os.path.relpath(path, root)] = (kind, *rest)
    return entries


def test_same_seed_and_index_give_identical_folders(tmp_path):
    options = mutate.Options(bigFileBytes=1 << 20)
    indices = range(len(mutate.MUTATORS) + 4)  # every family once, then weighted draws
    for root in ("a", "b"):
        for index in indices:
            mutate.generateCase(11, index, str(tmp_path / root), options, DICOM)
    assert treeOf(str(tmp_path / "a")) == treeOf(str(tmp_path / "b"))
    families = {json.load(open(tmp_path / "a" / mutate.caseFolderName(i) / "manifest.json"))["family"] for i in indices}
    assert families == {item.name for item in mutate.MUTATORS}
    mutate.removeTree(str(tmp_path / "a"))
    assert not os.path.exists(tmp_path / "a")


def test_other_seed_gives_other_folders(tmp_path):
    options = mutate.Options(bigFileBytes=1 << 20)
    first = [mutate.generateCase(1, index, str(tmp_path / "1"), options, DICOM) for index in range(30, 40)]
    second = [mutate.generateCase(2, index, str(tmp_path / "2"), options, DICOM) for index in range(30, 40)]
    assert [case["mutations"] for case in first] != [case["mutations"] for case in second]


def test_walker_finds_every_element_of_the_real_files():
    for base in mutate.findBases(DICOM):
        data = open(base.files[0], "rb").read()
        raw = rawdicom.parse(data)
        assert raw.elements[-1].end == len(data), base.name
        assert raw.find(rawdicom.PIXEL_DATA) is not None, base.name
        rows = raw.find(mutate.ROWS)
        assert rawdicom.setValue(raw, mutate.ROWS, data[rows.valueStart : rows.end]) == data  # a no-op edit


@pytest.mark.parametrize("undefined", [True, False])
@pytest.mark.parametrize("explicit", [True, False])
def test_nested_sequence_is_one_well_formed_element_pair(undefined, explicit):
    payload = mutate.nestedSequence(10000, undefined=undefined, explicit=explicit, group=0x0009)
    data = bytes(128) + b"DICM" + _meta(explicit) + payload
    raw = rawdicom.parse(data)
    assert [element.tag for element in raw.elements] == [0x00090010, 0x00091010]
    assert raw.elements[-1].end == len(data)


def _meta(explicit: bool) -> bytes:
    syntax = b"1.2.840.10008.1.2.1\0" if explicit else b"1.2.840.10008.1.2\0"
    return rawdicom.elementHeader(0x00020010, b"UI", len(syntax), explicit=True) + syntax


def test_truncation_offsets_cover_every_boundary_and_pixel_data():
    data = open(mutate.findBases(DICOM)[0].files[0], "rb").read()
    raw = rawdicom.parse(data)
    offsets = mutate.truncationOffsets(raw)
    pixel = raw.find(rawdicom.PIXEL_DATA)
    assert set(raw.boundaries[:-1]) <= set(offsets)
    assert {pixel.start - 1, pixel.valueStart, pixel.end - 1} <= set(offsets)


TRACEBACK = """Traceback (most recent call last):
  File "/x/AffineInspectorLib/cli.py", line 139, in main
    return _inspect(arguments)
  File "/x/AffineInspectorLib/fastreader.py", line 214, in _skipUndefinedSequence
    offset = self._skipUndefinedItem(offset, explicit)
  File "/x/AffineInspectorLib/fastreader.py", line 230, in _skipUndefinedItem
    offset = self._skipUndefinedSequence(valueOffset, explicit)
  File "/x/AffineInspectorLib/fastreader.py", line 214, in _skipUndefinedSequence
    offset = self._skipUndefinedItem(offset, explicit)
  [Previous line repeated 400 more times]
  File "/x/AffineInspectorLib/fastreader.py", line 136, in bytesAt
    return self.buffer[start:end]
RecursionError: maximum recursion depth exceeded in comparison
"""


def test_a_recursion_is_named_by_the_recursing_function():
    site = classify.crashSite(TRACEBACK)
    assert site["exception"] == "RecursionError"
    assert site["projectSite"] == "AffineInspectorLib/fastreader.py:214 (_skipUndefinedSequence)"


def test_hang_site_is_the_function_all_samples_share():
    def sample(header, inner):
        return (
            f"{header} (most recent call first):\n"
            f'  File "/x/AffineInspectorLib/{inner}", line 9 in leaf\n'
            '  File "/x/AffineInspectorLib/headers.py", line 231 in _framesFromFunctionalGroups\n'
            '  File "/x/AffineInspectorLib/cli.py", line 139 in main\n\n'
        )

    text = sample("Stack", "sliceheader.py") + sample("Stack", "headers.py") + "Fatal Python error: Aborted\n\n"
    text += sample("Current thread 0x00007f", "pydicom.py")
    site = classify.hangSite(text)
    assert site["samples"] == 3
    assert site["projectSite"] == "AffineInspectorLib/headers.py (_framesFromFunctionalGroups)"


@pytest.mark.parametrize(
    "exitCode,stdout,stderr,failOn,expected",
    [
        (0, '{"series": []}', "", None, set()),
        (0, '{"a": NaN}', "", None, {"nonStrictJSON"}),
        (1, "", "affine-inspector: nothing in X\n", None, set()),
        (1, "", "affine-inspector: nothing in X\n  X/a.dcm: skipped\n", None, {"exitContract"}),
        (1, "", TRACEBACK, None, {"crash", "exitContract"}),
        (2, "", "usage: ...\n", None, {"exitContract"}),
        (0, '{"series": [{"findings": [{"severity": "warning"}]}]}', "", "warning", {"exitContract"}),
        (3, '{"series": [{"findings": [{"severity": "warning"}]}]}', "", "warning", set()),
        (3, '{"series": [{"findings": [{"severity": "info"}]}]}', "", "warning", {"exitContract"}),
        (-11, "", "", None, {"signal"}),
        (0, '{"series": []}', "UserWarning: bad DS\n", None, {"noisyStderr"}),
    ],
)
def test_contract_classes(exitCode, stdout, stderr, failOn, expected):
    problems = classify.checkRun(
        exitCode=exitCode, stdout=stdout, stderr=stderr, timedOut=False, wantsJSON=True, failOn=failOn
    )
    assert {name for name, _ in problems} == expected


def test_quiet_end_of_a_broken_pipe():
    assert classify.checkQuietEnd(exitCode=0, stderr="", timedOut=False) == []
    noisy = "Exception ignored in: <_io.TextIOWrapper name='<stdout>'>\nBrokenPipeError: [Errno 32] Broken pipe\n"
    assert classify.primaryClass(classify.checkQuietEnd(exitCode=120, stderr=noisy, timedOut=False)) == "brokenPipe"


@pytest.mark.parametrize("scenario", ["exists", "danglingSymlink", "symlinkToFile", "missingFolder", "companions"])
def test_output_checks_catch_a_writer_that_ignores_what_is_there(tmp_path, scenario):
    plan = run.prepareOutput(str(tmp_path / "out"), scenario, ".nhdr")
    before = run.snapshot([plan.folder])
    os.makedirs(os.path.dirname(plan.path), exist_ok=True)  # a careless writer: folders, symlinks, companions
    with open(plan.path, "wb") as stream:
        stream.write(b"header")
    with open(plan.path[: -len(".nhdr")] + ".raw.gz", "wb") as stream:
        stream.write(b"pixels")
    outcome = run.Outcome(exitCode=0, stdout="Wrote it\n", stderr="", timedOut=False, seconds=0.1)
    problems = {name for name, _ in run.outputProblems(plan, before, run.snapshot([plan.folder]), outcome, False)}
    expected = {
        "exists": {"outputReplaced", "exitContract"},
        "danglingSymlink": {"symlinkWrite", "exitContract"},
        "symlinkToFile": {"symlinkWrite", "exitContract"},
        "missingFolder": {"folderCreated"},
        "companions": {"outputReplaced"},
    }[scenario]
    assert problems == expected


def test_snapshot_sees_modes_and_does_not_follow_links(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    os.symlink(".", tmp_path / "loop")
    os.mkfifo(tmp_path / "fifo")
    before = run.snapshot([str(tmp_path)])
    os.chmod(tmp_path / "a", 0)
    after = run.snapshot([str(tmp_path)])
    assert run.changedEntries(before, after) == [str(tmp_path / "a")]
    assert after[str(tmp_path / "fifo")][:2] == ("special", stat.S_IFIFO)


def test_an_unreadable_entry_must_be_named_with_the_reason():
    said = "affine-inspector: no DICOM image found in /c/input (0 file(s) looked at and skipped).\n"
    assert classify.isMentioned("input", said, withReason=False)
    assert not classify.isMentioned("input", said, withReason=True)
    assert classify.isMentioned("locked", "/c/input/locked: permission denied; skipped\n", withReason=True)


def test_a_memory_error_chain_is_named_by_the_project_frame_that_ran_out():
    text = (
        "Traceback (most recent call last):\n"
        '  File "/x/AffineInspectorLib/headers.py", line 218, in _framesFromFunctionalGroups\n'
        '  File "/y/lib/python3.11/dataclasses.py", line 1501, in replace\n'
        "MemoryError\n\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/y/lib/python3.11/logging/__init__.py", line 9, in emit\n'
        "MemoryError\n"
    )
    assert classify.crashSite(text)["projectSite"] == "AffineInspectorLib/headers.py:218 (_framesFromFunctionalGroups)"
