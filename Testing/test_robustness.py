"""Every bad input gets a clear answer (issue 12): minimal reproducers of what the fuzzer found, one per site.

Each test builds its case in a temporary folder from a shared real series (never modified: the copies are
damaged) and checks: no exception, the damaged file is named with the reason, the rest of the series is
analysed, the fast reader and the pydicom path agree, and the inputs are byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

import pytest

from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.dicom.walk import findFiles
from AffineInspectorLib.geometry import serialize
from conftest import case

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz"))
import mutate  # noqa: E402  the fuzzer's case generator (byte-level edits of real files)
import rawdicom  # noqa: E402
import run as fuzzrun  # noqa: E402  its snapshot (hashes without following links or opening FIFOs)

GE = case("dicom2nifti", "ge_anatomical", "001")  # 4 classic slices, explicit VR little endian
ENHANCED = case("dicom2nifti", "philips_enhanced_anatomical", "001")  # one enhanced file, 8 frames


def copySeries(source: str, target) -> str:
    """A writable copy of a shared series folder (shared files are read-only and stay untouched)."""
    folder = str(target)
    os.makedirs(folder, exist_ok=True)
    for name in sorted(os.listdir(source)):
        shutil.copyfile(os.path.join(source, name), os.path.join(folder, name))
    return folder


def files(folder: str):
    """The regular files directly in ``folder``, sorted."""
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    return [path for path in paths if os.path.isfile(path) and not os.path.islink(path)]


def rewrite(path: str, edit) -> None:
    """Apply ``edit(raw) -> bytes`` to the file's bytes (the fuzzer's byte-level walker)."""
    with open(path, "rb") as stream:
        raw = rawdicom.parse(stream.read())
    with open(path, "wb") as stream:
        stream.write(edit(raw))


def bothReaders(paths):
    """inspectPaths with the fast reader and with pydicom only, as plain JSON; asserts they agree."""
    fast = serialize.plain(inspectPaths(paths, fast=True))
    slow = serialize.plain(inspectPaths(paths, fast=False))
    assert fast == slow
    return fast


def unreadable(document, name: str):
    return [finding for finding in document["unreadableFiles"] if name in (finding["file"] or "")]


@pytest.fixture()
def series(tmp_path):
    return copySeries(GE, tmp_path / "series")


def unchanged(folder):
    """Snapshot now; the returned function asserts nothing under ``folder`` changed since."""
    before = fuzzrun.snapshot([folder])
    return lambda: fuzzrun.changedEntries(before, fuzzrun.snapshot([folder])) == []


# --------------------------------------------------------------------------- reading one file


@pytest.mark.parametrize(("depth", "undefined"), [(500, True), (999, True), (10000, False)])
def test_deeply_nested_private_sequence_costs_only_its_file(series, depth, undefined):
    """Fuzz: 164 folders lost to RecursionError in fastreader._skipUndefinedSequence (a private SQ ~500 deep)."""
    damaged = files(series)[1]

    def nest(raw):
        payload = mutate.nestedSequence(depth, undefined=undefined, explicit=raw.explicit, group=0x0009)
        return rawdicom.insertAt(raw, raw.insertionOffset(0x0009 << 16), payload)

    rewrite(damaged, nest)
    check = unchanged(series)
    document = bothReaders([series])
    [geometry] = document["series"]
    if undefined:  # pydicom parses undefined lengths eagerly: too deep to read, that file alone is reported
        assert len(geometry["files"]) == 3
        [finding] = unreadable(document, damaged)
        assert "nested too deeply" in finding["message"]
    else:  # defined lengths are skipped by length: the file is a slice like the others
        assert len(geometry["files"]) == 4
    assert check()


def test_number_of_frames_is_checked_against_the_pixel_data_first(series):
    """Fuzz: NumberOfFrames 2147483647 on a single-frame file never returned (one header per claimed frame)."""
    damaged = files(series)[0]
    rewrite(damaged, lambda raw: rawdicom.setValue(raw, mutate.NUMBER_OF_FRAMES, b"2147483647 "))
    started = time.monotonic()
    document = bothReaders([series])
    assert time.monotonic() - started < 5
    [finding] = unreadable(document, damaged)
    assert "NumberOfFrames (0028,0008) is 2147483647" in finding["message"]
    assert "holds at most 1 frames" in finding["message"]
    assert len(document["series"][0]["files"]) == 3


def test_enhanced_file_claiming_two_billion_frames(tmp_path):
    """Fuzz (enhancedFrames hugeNumberOfFrames): 8 per-frame items, NumberOfFrames 2**31 - 1: a finding."""
    import pydicom

    folder = copySeries(ENHANCED, tmp_path / "enhanced")
    [path] = files(folder)
    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = 2**31 - 1
    dataset.save_as(path, enforce_file_format=False)
    started = time.monotonic()
    document = bothReaders([folder])
    assert time.monotonic() - started < 5
    assert document["series"] == []
    [finding] = unreadable(document, path)
    assert "NumberOfFrames (0028,0008) is 2147483647" in finding["message"]


@pytest.mark.parametrize("offset", ["atPixelData", "beforePixelData", "inPixelDataHeader"])
def test_file_cut_at_or_before_its_pixel_data_is_reported(series, offset):
    """Fuzz: a copy cut at or just before PixelData read as a clean slice, with no finding."""
    damaged = files(series)[2]
    with open(damaged, "rb") as stream:
        raw = rawdicom.parse(stream.read())
    pixel = raw.find(rawdicom.PIXEL_DATA)
    cut = {"atPixelData": pixel.start, "beforePixelData": pixel.start - 1, "inPixelDataHeader": pixel.start + 8}
    with open(damaged, "wb") as stream:
        stream.write(raw.data[: cut[offset]])
    document = bothReaders([series])
    [finding] = unreadable(document, damaged)
    assert finding["severity"] == "warning"
    assert "truncated" in finding["message"] or "damaged" in finding["message"]
    assert len(document["series"][0]["files"]) == 3


def test_every_truncation_of_a_file_is_reported(tmp_path):
    """A copy cut at any element boundary (or inside PixelData) never passes as a slice; both readers agree."""
    with open(files(GE)[0], "rb") as stream:
        raw = rawdicom.parse(stream.read())
    folder = tmp_path / "cuts"
    folder.mkdir()
    offsets = mutate.truncationOffsets(raw)
    for offset in offsets:
        with open(folder / f"cut-{offset:08d}.dcm", "wb") as stream:
            stream.write(raw.data[:offset])
    document = bothReaders([str(folder)])
    assert document["series"] == []
    assert len(document["unreadableFiles"]) == len(offsets)


def test_zero_filled_file_is_not_walked_to_its_end(series):
    """Fuzz: a 1 GiB zero-filled file took > 60 s (pydicom force=True walked it); now refused from its first bytes."""
    big = os.path.join(series, "big.dcm")
    with open(big, "wb") as stream:
        stream.truncate(256 * 1024 * 1024)  # sparse: costs no disk
    started = time.monotonic()
    document = bothReaders([series])
    assert time.monotonic() - started < 5
    [finding] = unreadable(document, big)
    assert finding["severity"] == "info" and "not a DICOM file" in finding["message"]
    assert len(document["series"][0]["files"]) == 4


def test_acr_nema_files_without_preamble_are_still_read():
    """The plausible-first-element gate keeps pydicom's own preamble-less test files readable."""
    import pydicom

    path = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "ExplVR_LitEndNoMeta.dcm")
    result = inspectPaths([path])
    assert not any("not a DICOM file" in finding.message for finding in result.unreadableFiles)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1e154\\1e154\\0\\-1e154\\1e154\\0", "ImageOrientationPatient is out of range"),
        ("1e300\\0\\0\\0\\1e300\\0", "ImageOrientationPatient is out of range"),
    ],
)
def test_huge_finite_orientation_is_missing_geometry_not_a_crash(series, value, words):
    """Fuzz: 15 folders crashed with LinAlgError in aff2axcodes (IOP components of 1e154)."""
    damaged = files(series)[0]
    rewrite(damaged, lambda raw: rawdicom.setValue(raw, mutate.IOP, value.encode()))
    document = bothReaders([series])
    [geometry] = document["series"]
    missing = [finding for finding in geometry["findings"] if finding["kind"] == "missingGeometry"]
    assert len(missing) == 1 and words in missing[0]["message"]
    assert geometry["axisCodes"] is not None


@pytest.mark.parametrize("value", ["1e300\\1e300\\1e300", "-1e300\\1e300\\0", "1e154\\-1e154\\1e154"])
def test_huge_position_gives_a_finding_and_a_text_report(series, value, capsys):
    """Fuzz: 21 folders crashed the text report (IPP 1e300: spacing inf, axis code None, TypeError)."""
    from AffineInspectorLib.cli.main import main

    rewrite(files(series)[3], lambda raw: rawdicom.setValue(raw, mutate.IPP, value.encode()))
    assert main(["inspect", series]) == 0
    text = capsys.readouterr().out
    assert "ImagePositionPatient is out of range" in text
    document = bothReaders([series])
    assert all(value is None or abs(value) < 1e9 for row in document["series"][0]["IJKToLPS"] for value in row)


@pytest.mark.parametrize(
    ("tag", "value", "words"),
    [
        (mutate.INSTANCE_NUMBER, "99999999999999999999999", "InstanceNumber (0020,0013) is out of range"),
        (mutate.SLICE_THICKNESS, "nan", "SliceThickness (0018,0050) is not finite"),
        (mutate.SLICE_THICKNESS, "1e300", "SliceThickness (0018,0050) is out of range"),
        (mutate.SPACING_BETWEEN, "-inf", "SpacingBetweenSlices (0018,0088) is not finite"),
        (0x00181120, "1e300", "GantryDetectorTilt (0018,1120) is out of range"),
    ],
)
def test_unusable_numbers_are_named_not_dropped_silently(series, tag, value, words):
    damaged = files(series)[1]
    rewrite(damaged, lambda raw: rawdicom.setValue(raw, tag, value.encode()))
    document = bothReaders([series])
    [geometry] = document["series"]
    invalid = [finding for finding in geometry["findings"] if finding["kind"] == "invalidValue"]
    assert len(invalid) == 1 and words in invalid[0]["message"] and invalid[0]["file"] == damaged
    assert len(geometry["files"]) == 4


def test_a_bug_met_on_one_file_costs_only_that_file(series, monkeypatch):
    """Per-file isolation: an unexpected exception reading one file is an internalError finding for it."""
    from AffineInspectorLib.dicom import headers

    damaged = files(series)[0]
    original = headers.readSliceHeaders

    def failing(path, *, fast=True):
        if path == damaged:
            raise KeyError("a bug")
        return original(path, fast=fast)

    monkeypatch.setattr(headers, "readSliceHeaders", failing)
    result = inspectPaths([series])
    [finding] = result.unreadableFiles
    assert finding.kind == "internalError" and finding.severity == "error" and finding.file == damaged
    assert "KeyError" in finding.message and "This is a bug" in finding.message
    assert len(result.series[0].files) == 3


def test_time_budget_turns_a_slow_file_into_a_finding(series, monkeypatch):
    from AffineInspectorLib.dicom import filechecks, headers

    damaged = files(series)[0]
    original = headers.readSliceHeaders

    def slow(path, *, fast=True):
        if path == damaged:
            time.sleep(5)
        return original(path, fast=fast)

    monkeypatch.setattr(headers, "readSliceHeaders", slow)
    monkeypatch.setattr(filechecks, "FILE_SECONDS", 0.2)
    started = time.monotonic()
    result = inspectPaths([series])
    assert time.monotonic() - started < 3
    [finding] = result.unreadableFiles
    assert finding.file == damaged and "took longer than 0.2 s" in finding.message
    assert len(result.series[0].files) == 3


# --------------------------------------------------------------------------- walking


def test_fifo_device_and_broken_links_are_named_never_opened(series):
    """Fuzz: a FIFO named x.dcm blocked forever; /dev/zero behind a link never ended."""
    os.mkfifo(os.path.join(series, "x.dcm"))
    os.symlink("/dev/zero", os.path.join(series, "zero.dcm"))
    os.symlink("does-not-exist.dcm", os.path.join(series, "gone.dcm"))
    os.symlink("self.dcm", os.path.join(series, "self.dcm"))
    check = unchanged(series)
    started = time.monotonic()
    document = bothReaders([series, os.path.join(series, "x.dcm")])
    assert time.monotonic() - started < 5
    messages = {os.path.basename(f["file"]): f["message"] for f in document["unreadableFiles"]}
    assert "not a regular file (a FIFO)" in messages["x.dcm"]
    assert "not a regular file (a character device)" in messages["zero.dcm"]
    assert "a link to a missing target (does-not-exist.dcm)" in messages["gone.dcm"]
    assert "a link that loops" in messages["self.dcm"]
    assert len(document["series"][0]["files"]) == 4
    assert check()


def test_directory_links_are_followed_once_and_loops_named(tmp_path):
    """Fuzz: files behind a directory symlink were silently dropped (the folder reported 0 files)."""
    outside = copySeries(GE, tmp_path / "outside")
    top = tmp_path / "top"
    top.mkdir()
    os.symlink(outside, top / "linked")
    os.symlink(".", top / "loop")
    (top / "a").mkdir()
    os.symlink("../..", top / "a" / "up")
    found, findings = findFiles([str(top)])
    # a/up leads to tmp_path, which holds outside (read there first: "a" < "linked") and top itself again
    assert found == [str(top / "a" / "up" / "outside" / name) for name in sorted(os.listdir(GE))]
    skipped = [finding for finding in findings if finding.kind == "skippedPath"]
    assert sorted(os.path.basename(finding.file) for finding in skipped) == ["linked", "loop", "top"]
    assert all("read once" in finding.message for finding in skipped)
    found, findings = findFiles([str(top / "linked")])
    assert len(found) == 4 and findings == []


def test_hidden_entries_are_counted_and_a_hidden_path_given_is_read(series):
    hidden = os.path.join(series, ".series")
    os.makedirs(hidden)
    shutil.copyfile(files(series)[0], os.path.join(series, ".hidden.dcm"))
    shutil.copyfile(files(series)[0], os.path.join(hidden, "x.dcm"))
    found, findings = findFiles([series])
    assert len(found) == 4
    [finding] = findings
    assert finding.kind == "skippedPath" and finding.severity == "info"
    assert "2 hidden entries not read (.hidden.dcm, .series)" in finding.message
    found, findings = findFiles([hidden])
    assert found == [os.path.join(hidden, "x.dcm")] and findings == []


def test_unreadable_folder_is_named_with_the_reason(series, monkeypatch):
    """Fuzz (run without CAP_DAC_OVERRIDE): a mode-000 sub-folder was skipped without a word."""
    locked = os.path.join(series, "locked")
    os.makedirs(locked)
    original = os.scandir

    def scandir(path):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return original(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, findings = findFiles([series])
    assert len(found) == 4
    [finding] = findings
    assert finding.kind == "unreadableFile" and finding.file == locked
    assert "folder cannot be read (permission denied)" in finding.message


def test_a_tree_deeper_than_the_recursion_limit(series):
    top = folder = os.path.join(series, "d")
    try:
        for _ in range(1200):
            os.mkdir(folder)
            folder = os.path.join(folder, "d")
        shutil.move(files(series)[0], os.path.join(os.path.dirname(folder), "deep.dcm"))
        found, findings = findFiles([series])
        assert len(found) == 4 and found[-1].endswith("deep.dcm") and findings == []
    finally:
        mutate.removeTree(top)  # iteratively: pytest's own clean-up of old temporary folders recurses


def test_walk_order_is_os_walk_order(tmp_path):
    """The iterative walk hands files on in os.walk's top-down order (results do not change)."""
    for relative in ("b/2.dcm", "a/x/1.dcm", "a/0.dcm", "z.dcm", "a/x/y/3.dcm", "c.dcm"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    expected = []
    for root, directories, names in os.walk(tmp_path):
        directories.sort()
        expected.extend(os.path.join(root, name) for name in sorted(names))
    assert findFiles([str(tmp_path)])[0] == expected


# --------------------------------------------------------------------------- Slicer's native reader


def enhancedWithEmptyFirstPosition(folder) -> str:
    """The enhanced file with frame 1's PlanePositionSequence empty: GDCM kills the process reading it."""
    import pydicom
    from pydicom.sequence import Sequence as DicomSequence

    folder = copySeries(ENHANCED, folder)
    [path] = files(folder)
    dataset = pydicom.dcmread(path)
    dataset.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence = DicomSequence([])
    dataset.save_as(path, enforce_file_format=False)
    return folder


def seriesWithDeepDefinedSequence(folder) -> str:
    """Every file with a private sequence nested 10,000 deep (defined lengths): GDCM's stack overflows."""
    folder = copySeries(GE, folder)
    for path in files(folder):
        rewrite(
            path,
            lambda raw: rawdicom.insertAt(
                raw,
                raw.insertionOffset(0x0009 << 16),
                mutate.nestedSequence(10000, undefined=False, explicit=raw.explicit, group=0x0009),
            ),
        )
    return folder


@pytest.mark.parametrize("build", [enhancedWithEmptyFirstPosition, seriesWithDeepDefinedSequence])
def test_native_reader_crash_is_reported_on_its_series(tmp_path, build, capsys):
    """Fuzz: SIGABRT / SIGSEGV inside vtkITK/GDCM killed gui, compare, resample and inspect --slicer."""
    from AffineInspectorLib.cli.main import main

    folder = build(tmp_path / "case")
    check = unchanged(folder)
    assert main(["inspect", "--slicer", "--json", folder]) == 0
    document = json.loads(capsys.readouterr().out)
    [entry] = document["series"]
    assert "Slicer's DICOM reader (vtkITK with GDCM/DCMTK) crashed (SIG" in entry["slicer"]["error"]
    assert main(["compare", folder, GE]) == 1
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "crashed (SIG" in line and folder in line
    assert check()


def test_gdcm_crashing_on_a_plain_series_is_answered_by_slicers_path(tmp_path, capsys):
    """The direct read of a plain series (resample onto a volume file) is GDCM too, in a child process: its
    stack overflow on a private sequence nested 10,000 deep (defined lengths: the header readers skip it, so the
    series is plain) ends that child, not the command, and Slicer's path answers, as for compare."""
    import SimpleITK as sitk

    from AffineInspectorLib.cli.main import main
    from AffineInspectorLib.dicom.plainseries import plainSeries

    folder = seriesWithDeepDefinedSequence(tmp_path / "case")
    assert plainSeries(folder)[0] is not None
    reference = sitk.Image(8, 8, 8, sitk.sitkInt16)
    reference.SetOrigin([float(value) for value in inspectPaths([folder]).series[0].IJKToLPS[:3, 3]])  # on it
    referencePath = str(tmp_path / "reference.nrrd")
    sitk.WriteImage(reference, referencePath)
    check = unchanged(folder)
    output = tmp_path / "out.nrrd"
    assert main(["--debug", "resample", folder, "--reference", referencePath, "--output", str(output)]) == 1
    said = capsys.readouterr().err
    assert "resample takes Slicer's scene path: GDCM crashed (SIG" in said
    assert "Slicer's DICOM reader (vtkITK with GDCM/DCMTK) crashed (SIG" in said.splitlines()[-1]
    assert not output.exists() and check()


# --------------------------------------------------------------------------- the command line's contract

CLI = os.path.join(os.path.dirname(sys.executable), "affine-inspector")


def runCLI(*arguments, stdout=None, **keywords):
    """The installed command in a subprocess: (exit status, stdout, stderr)."""
    import subprocess

    process = subprocess.run(
        [CLI, *arguments],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        **keywords,
    )
    return process.returncode, (process.stdout or b"").decode(), process.stderr.decode()


def test_closed_stdout_ends_quietly_with_the_status():
    """Fuzz: sys.stdout is None when file descriptor 1 is closed: common.write raised AttributeError (exit 70)."""
    import subprocess

    process = subprocess.run(
        [CLI, "inspect", case("dcm_qa_ct_GE"), "--json", "--fail-on", "info"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )
    assert (process.returncode, process.stderr) == (3, b"")


def test_broken_pipe_ends_quietly_with_the_status():
    import subprocess

    reading, writing = os.pipe()
    os.close(reading)
    try:
        process = subprocess.run(
            [CLI, "inspect", case("dcm_qa_ct_GE"), "--fail-on", "info"], stdout=writing, stderr=subprocess.PIPE
        )
    finally:
        os.close(writing)
    assert (process.returncode, process.stderr) == (3, b"")


def test_full_disk_on_stdout_is_one_line_exit_1():
    with open("/dev/full", "wb") as full:
        status, _, stderr = runCLI("inspect", GE, "--json", stdout=full)
    assert status == 1
    assert stderr == "affine-inspector: cannot write the output to stdout (No space left on device).\n"


def test_refused_run_prints_exactly_one_line_whatever_the_libraries_say(tmp_path):
    """pydicom warns about each bad value: on a run that finds nothing, stderr holds our one line only."""
    folder = copySeries(GE, tmp_path / "bad")

    def implicitSaidCutAtPixels(raw):  # pydicom warns "Expected implicit VR, but found explicit VR"
        meta = rawdicom.RawFile(raw.data, [], raw.meta, explicit=True)
        said = rawdicom.fixMetaGroupLength(
            rawdicom.setValue(meta, mutate.TRANSFER_SYNTAX, b"1.2.840.10008.1.2", vr=b"UI")
        )
        cut = raw.find(rawdicom.PIXEL_DATA).start + len(said) - len(raw.data)  # the meta group's length changed
        return said[:cut]  # and no pixel data: nothing usable

    for path in files(folder):
        rewrite(path, implicitSaidCutAtPixels)
    status, stdout, stderr = runCLI("inspect", folder, "--json")
    assert status == 1 and stderr.count("\n") == 1 and stderr.startswith("affine-inspector: no DICOM image found")
    assert json.loads(stdout)["series"] == []
    status, _, stderr = runCLI("inspect", folder, "--debug")
    assert status == 1 and "UserWarning" in stderr  # the libraries' words are kept for --debug


def test_a_bug_on_one_file_gives_the_whole_output_then_exit_70(series, monkeypatch, capsys):
    from AffineInspectorLib.cli.main import main
    from AffineInspectorLib.dicom import headers

    damaged = files(series)[0]
    original = headers.readSliceHeaders
    monkeypatch.setattr(
        headers, "readSliceHeaders", lambda path, *, fast=True: [][0] if path == damaged else original(path, fast=fast)
    )
    assert main(["inspect", series, "--json"]) == 70
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert len(document["series"][0]["files"]) == 3
    assert [finding["kind"] for finding in document["unreadableFiles"]] == ["internalError"]
    assert captured.err.count("\n") == 1 and "internal error: 1 file(s) were left out" in captured.err
    assert "This is a bug" in captured.err and "Traceback" not in captured.err


def test_a_series_slicers_plugin_cannot_examine_costs_only_that_series(tmp_path, capsys):
    """Fuzz: IPP 'abc\\def\\ghi' made the port of getSortedImageFiles raise ValueError and killed gui/compare."""
    from AffineInspectorLib.cli.main import main
    from AffineInspectorLib.mrml.host import StandaloneHost

    broken = copySeries(GE, tmp_path / "top" / "broken")
    rewrite(files(broken)[1], lambda raw: rawdicom.setValue(raw, mutate.IPP, b"abc\\def\\ghi "))
    copySeries(case("dicom2nifti", "hitachi_oblique", "001"), tmp_path / "top" / "good")
    host = StandaloneHost(setGlobalScene=False)
    nodes = host.loadDICOM([str(tmp_path / "top")])
    assert len(nodes) == 1
    [why] = host.loadErrors.values()
    assert "cannot examine it" in why and "could not convert string to float" in why
    assert main(["compare", broken, GE]) == 1
    assert "cannot examine it" in capsys.readouterr().err


def test_resampling_through_a_transform_that_cannot_be_inverted_is_refused_at_once(tmp_path, capsys):
    """Fuzz (resample, all slices at one position as INPUT): VTK's iterative inverse of the acquisition
    transform failed to converge at every voxel: 14 s alone, past the 30 s limit under load."""
    from AffineInspectorLib.cli.main import main

    notAVolume = copySeries(case("dicom2nifti", "failing", "notavolume", "001"), tmp_path / "notavolume")
    started = time.monotonic()
    status = main(["resample", notAVolume, "--reference", GE, "--output", str(tmp_path / "out.nrrd")])
    assert status == 1 and time.monotonic() - started < 10
    assert "transform cannot be inverted where its voxels are" in capsys.readouterr().err
    assert not (tmp_path / "out.nrrd").exists()


@pytest.mark.parametrize("value", [b"0.5\\", b"1 "])
def test_pixel_spacing_the_acquisition_modeling_cannot_read_fails_that_series_only(tmp_path, capsys, value):
    """Fuzz (resample, compare): PixelSpacing '0.5\\' or '1' reached float('') / an index in the port of Slicer's
    acquisition modeling: exit 70. Now that series is not loaded, and the message names instance and attribute."""
    from AffineInspectorLib.cli.main import main

    folder = copySeries(GE, tmp_path / "series")
    rewrite(files(folder)[2], lambda raw: rawdicom.setValue(raw, mutate.PIXEL_SPACING, value))
    assert main(["compare", folder, GE]) == 1
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and "PixelSpacing" in line and "is not 2 finite numbers" in line
    assert main(["compare", folder, GE, "--no-regularization", "--json"]) == 0


def test_debug_before_or_after_the_command_shows_the_traceback(capsys, monkeypatch):
    """--debug given before the command name was reset by the command's own copy of the option."""
    from AffineInspectorLib.cli import inspectcmd
    from AffineInspectorLib.cli.main import main

    def broken(arguments):
        raise KeyError("a bug")

    monkeypatch.setattr(inspectcmd, "run", broken)
    for argv in (["--debug", "inspect", GE], ["inspect", GE, "--debug"], ["inspect", GE]):
        assert main(argv) == 70
        stderr = capsys.readouterr().err
        assert ("Traceback" in stderr) == ("--debug" in argv)
        assert stderr.strip().splitlines()[-1].startswith("affine-inspector: internal error (KeyError")


@pytest.mark.parametrize("value", [b"abc ", b"0 ", b"-1", b"1.5 ", b"1\\2 "])
def test_a_number_of_frames_that_is_not_a_count_is_named(series, value):
    damaged = files(series)[0]
    rewrite(damaged, lambda raw: rawdicom.setValue(raw, mutate.NUMBER_OF_FRAMES, value))
    document = bothReaders([series])
    [geometry] = document["series"]
    assert len(geometry["files"]) == 4
    [finding] = [finding for finding in geometry["findings"] if finding["kind"] == "invalidValue"]
    assert "NumberOfFrames (0028,0008)" in finding["message"] and finding["file"] == damaged


MOSAIC = case("dcm_qa_mosaic", "In", "ax", "axdesc36")  # Siemens MOSAIC, 2 files of 36 tiles


@pytest.mark.parametrize(("tag", "value"), [(mutate.SPACING_BETWEEN, b"1e300 "), (mutate.IPP, b"1e300\\1e300\\1e300 ")])
def test_mosaic_tiles_are_placed_only_from_values_in_range(tmp_path, tag, value, capsys):
    """Fuzz (gui, seed 2702046963 case 10): SpacingBetweenSlices 1e300 on a mosaic put its tiles 1e300 mm apart;
    the conventions tab's SVD of that matrix did not converge (exit 70)."""
    from AffineInspectorLib.cli.main import main

    folder = copySeries(MOSAIC, tmp_path / "mosaic")
    for path in files(folder):
        rewrite(path, lambda raw: rawdicom.setValue(raw, tag, value))
    document = bothReaders([folder])
    [geometry] = document["series"]
    kinds = {finding["kind"] for finding in geometry["findings"]}
    if tag == mutate.SPACING_BETWEEN:  # not used: SliceThickness gives the step, and the finding says so
        assert "invalidValue" in kinds and max(geometry["spacing"]) < 100
    else:  # the tiles cannot be placed: one finding, nothing stacked
        assert "unsupportedMosaic" in kinds and geometry["IJKToRAS"] is None
    shot = str(tmp_path / "shot.png")
    # Slicer's reader loads a mosaic as one image at the file's IPP: at 1e300 mm, a grid it refuses to use
    expected = 0 if tag == mutate.SPACING_BETWEEN else 1
    assert main(["gui", "--offscreen", "--screenshot", shot, folder]) == expected
    stderr = capsys.readouterr().err
    assert "internal error" not in stderr and (expected == 0 or "voxel grid is not usable" in stderr)


def test_a_series_slicers_reader_places_far_away_is_refused_not_inverted(tmp_path, capsys):
    """Fuzz (compare, seed 1541834925 case 150): every IPP shifted by 1e150 mm; Slicer's reader loads that as it
    is, and comparing the grids inverted a singular matrix (LinAlgError, exit 70)."""
    from AffineInspectorLib.cli.main import main

    folder = copySeries(GE, tmp_path / "far")
    for path in files(folder):
        with open(path, "rb") as stream:
            raw = rawdicom.parse(stream.read())
        element = raw.find(mutate.IPP)
        position = raw.data[element.valueStart : element.end].decode().strip(" \0").split("\\")
        shifted = "\\".join(f"{float(value) + 1e150:.10g}" for value in position)
        rewrite(path, lambda raw, shifted=shifted: rawdicom.setValue(raw, mutate.IPP, shifted.encode()))
    for argv in (["compare", GE, folder], ["compare", folder, GE, "--no-regularization"]):
        assert main(argv) == 1
        line = capsys.readouterr().err
        assert line.count("\n") == 1 and "its voxel grid is not usable (origin beyond 1e+07 mm" in line


def test_the_one_line_stays_one_line_whatever_a_file_name_or_value_holds(capsys, monkeypatch):
    """Fuzz (resample, seed 2939533775 case 9): a SeriesDescription whose length field claims 4 GiB named the
    series with the rest of the file (a protocol of 1,300 lines); the refusal printed all of it."""
    from AffineInspectorLib.cli import inspectcmd
    from AffineInspectorLib.cli.main import main
    from AffineInspectorLib.geometry.errors import GeometryError

    def refuse(arguments):
        raise GeometryError("series 'a\nb\r\nc\x1b[31m' " + "x" * 5000)

    monkeypatch.setattr(inspectcmd, "run", refuse)
    assert main(["inspect", GE]) == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "series 'a b c [31m'" in stderr and len(stderr) < 2100


@pytest.mark.parametrize("tag", [0x00280010, 0x00280011, 0x00280100])
def test_an_odd_length_size_value_in_an_enhanced_file_is_a_damaged_header_for_both_readers(tmp_path, tag):
    """Fuzz (seed 2149219302, case 127): Rows of 3 bytes in an enhanced file; the fast reader's pydicom-header
    variant met pydicom's BytesLengthException while the pydicom path reported a damaged header."""
    folder = copySeries(ENHANCED, tmp_path / "enhanced")
    [damaged] = files(folder)

    def oddValue(raw):
        [element] = [element for element in raw.elements if element.tag == tag]
        value = raw.data[element.valueStart : element.end] + b"7"
        return rawdicom.setValue(raw, tag, value, vr=element.vr, pad=False)

    rewrite(damaged, oddValue)
    document = bothReaders([folder])
    [finding] = unreadable(document, damaged)
    assert finding["kind"] == "unreadableFile" and "damaged DICOM header" in finding["message"]
