"""Outputs (issue 12): nothing that existed is ever replaced, followed through a link or silently created, and an
output that would be all 0 / NaN from an unusable input is refused, saying why. One helper
(``dicom/outputs.py``) for resample, gui --screenshot, align --output/--map, affine --trm/--tfm/... and audit
--out; each command's refusals are checked here through the command line."""

from __future__ import annotations

import errno
import gzip
import os

import nibabel
import numpy as np
import pytest

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom import outputs
from AffineInspectorLib.dicom.imagefiles import truncationProblem
from AffineInspectorLib.geometry.errors import GeometryError
from conftest import case

GE = case("dicom2nifti", "ge_anatomical", "001")
BYSTANDER = b"bystander: this file was here before the run\n"


def bystander(path) -> str:
    path = str(path)
    with open(path, "wb") as stream:
        stream.write(BYSTANDER)
    return path


def untouched(path) -> bool:
    with open(path, "rb") as stream:
        return stream.read() == BYSTANDER


@pytest.fixture()
def volume(tmp_path):
    """A small NIfTI volume with data (the input and reference of resample)."""
    path = str(tmp_path / "volume.nii")
    data = np.arange(8 * 8 * 4, dtype=np.int16).reshape(8, 8, 4) + 1
    nibabel.save(nibabel.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), path)
    return path


# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    ("name", "prepare", "words"),
    [
        ("out.nrrd", lambda folder: bystander(folder / "out.nrrd"), "exists: refusing to replace it"),
        ("out.nrrd", lambda folder: os.symlink("elsewhere.nrrd", folder / "out.nrrd"), "is a symbolic link"),
        ("out.nrrd", lambda folder: os.symlink(bystander(folder / "victim"), folder / "out.nrrd"), "symbolic link"),
        ("out.mhd", lambda folder: bystander(folder / "out.zraw"), "out.zraw exists (not written by this run)"),
        ("out.mhd", lambda folder: bystander(folder / "out.raw"), "out.raw exists"),
        ("out.nhdr", lambda folder: bystander(folder / "out.raw.gz"), "out.raw.gz exists"),
        ("out.hdr", lambda folder: bystander(folder / "out.img"), "out.img exists"),
        ("out.zraw", lambda folder: None, "a data file name of another image's header"),
        ("new/deeper/out.nrrd", lambda folder: None, "no such folder"),
    ],
)
def test_refused_outputs(tmp_path, name, prepare, words):
    prepare(tmp_path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(GeometryError, match="[Nn]othing written") as raised:
        outputs.refuseOutput(str(tmp_path / name))
    assert words in str(raised.value)
    assert sorted(os.listdir(tmp_path)) == before


def test_an_input_is_refused_and_mkdir_allows_a_new_folder(tmp_path):
    given = bystander(tmp_path / "in.nii")
    with pytest.raises(GeometryError, match="is an input"):
        outputs.refuseOutput(given, inputs=[given])
    outputs.refuseOutput(str(tmp_path / "new" / "out.nrrd"), mkdir=True)  # allowed, nothing made yet
    assert not (tmp_path / "new").exists()


def test_new_files_publishes_every_file_the_writer_made(tmp_path):
    target = str(tmp_path / "new" / "out.mhd")
    with outputs.newFiles(target, mkdir=True) as written:
        assert os.path.dirname(written.staged) != str(tmp_path / "new")  # a private folder beside the target
        for name in ("out.mhd", "out.zraw"):
            with open(os.path.join(os.path.dirname(written.staged), name), "w") as stream:
                stream.write(name)
    assert written.createdFolder == str(tmp_path / "new")
    assert sorted(os.listdir(tmp_path / "new")) == ["out.mhd", "out.zraw"]


def test_new_files_never_replaces_a_name_that_appears_meanwhile(tmp_path):
    target = str(tmp_path / "out.mhd")
    with pytest.raises(GeometryError, match="appeared while writing"):
        with outputs.newFiles(target) as written:
            for name in ("out.mhd", "out.zraw"):
                open(os.path.join(os.path.dirname(written.staged), name), "w").close()
            bystander(tmp_path / "out.zraw")  # another process, between the check and the write
    assert sorted(os.listdir(tmp_path)) == ["out.zraw"] and untouched(tmp_path / "out.zraw")


def test_a_full_disk_leaves_nothing_behind(tmp_path):
    with pytest.raises(GeometryError, match="could not be written \\(No space left on device\\)"):
        with outputs.newFiles(str(tmp_path / "out.nrrd")) as written:
            open(written.staged, "w").close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- resample


@pytest.mark.parametrize("scenario", ["exists", "companion", "danglingSymlink", "symlinkToFile", "missingFolder"])
def test_resample_refuses_before_any_work(tmp_path, volume, capsys, scenario):
    """Fuzz: a .mhd output replaced an unrelated .zraw; a dangling-symlink output was replaced; missing output
    folders were created silently."""
    out = tmp_path / "out"
    out.mkdir()
    target = {"companion": out / "result.mhd", "missingFolder": out / "new" / "deeper" / "result.nrrd"}.get(
        scenario, out / "result.nrrd"
    )
    if scenario == "exists":
        bystander(target)
    elif scenario == "companion":
        bystander(out / "result.zraw")
    elif scenario == "danglingSymlink":
        os.symlink("elsewhere.nrrd", target)
    elif scenario == "symlinkToFile":
        os.symlink(bystander(out / "victim.nrrd"), target)
    before = {name: os.readlink(out / name) if os.path.islink(out / name) else None for name in os.listdir(out)}
    assert main(["resample", volume, "--reference", volume, "--output", str(target)]) == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "Nothing written" in stderr or "nothing written" in stderr
    after = {name: os.readlink(out / name) if os.path.islink(out / name) else None for name in os.listdir(out)}
    assert after == before
    assert all(untouched(out / name) for name in os.listdir(out) if not os.path.islink(out / name))


@pytest.mark.parametrize("compress, dataFile", [(False, "result.raw"), (True, "result.zraw")])
def test_resample_writes_a_header_and_its_data_file_and_announces_a_created_folder(
    tmp_path, volume, capsys, compress, dataFile
):
    target = tmp_path / "new" / "deeper" / "result.mhd"
    flags = ["--compress"] if compress else []
    assert main(["resample", volume, "--reference", volume, "--output", str(target), "--mkdir", *flags]) == 0
    said = capsys.readouterr().err
    assert f"created the folder {tmp_path / 'new'} for --output" in said
    assert sorted(os.listdir(target.parent)) == ["result.mhd", dataFile]


@pytest.mark.parametrize("damage", ["nan", "truncated", "truncatedGzip", "headerOnly"])
def test_resample_refuses_an_unusable_input_saying_why(tmp_path, volume, capsys, damage):
    """Fuzz: a truncated or all-NaN NIfTI input gave an all-zero output with exit 0."""
    path = str(tmp_path / ("bad.nii.gz" if damage == "truncatedGzip" else "bad.nii"))
    data = open(volume, "rb").read()
    if damage == "nan":
        nibabel.save(nibabel.Nifti1Image(np.full((8, 8, 4), np.nan, np.float32), np.diag([2.0, 2, 3, 1])), path)
    elif damage == "truncated":
        open(path, "wb").write(data[: len(data) // 2])
    elif damage == "truncatedGzip":
        compressed = gzip.compress(data)
        open(path, "wb").write(compressed[: len(compressed) // 2])
    else:
        open(path, "wb").write(data[:352])
    target = tmp_path / "result.nrrd"
    assert main(["resample", path, "--reference", volume, "--output", str(target)]) == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1
    expected = {"nan": "holds no nonzero finite voxel", "truncatedGzip": "not a readable NIfTI file"}.get(damage)
    assert (expected or "truncated") in stderr  # a gzip cut inside the NIfTI header: nibabel cannot read it
    assert not target.exists()


def test_resample_refuses_a_result_outside_the_input(tmp_path, volume, capsys):
    far = str(tmp_path / "far.nii")
    nibabel.save(
        nibabel.Nifti1Image(
            np.ones((8, 8, 4), np.int16),
            np.diag([2.0, 2, 3, 1]) + np.array([[0, 0, 0, 1e5], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
        ),
        far,
    )
    assert main(["resample", far, "--reference", volume, "--output", str(tmp_path / "r.nrrd")]) == 1
    assert "does not overlap the grid of" in capsys.readouterr().err


def test_truncation_of_volume_files_is_measured(tmp_path, volume):
    assert truncationProblem(volume) is None
    compressed = str(tmp_path / "whole.nii.gz")
    with open(volume, "rb") as source, gzip.open(compressed, "wb") as target:
        target.write(source.read())
    assert truncationProblem(compressed) is None


# --------------------------------------------------------------------------- the other commands


def test_gui_screenshot_never_writes_through_a_link(tmp_path, capsys):
    victim = bystander(tmp_path / "victim.png")
    os.symlink(victim, tmp_path / "shot.png")
    assert main(["gui", "--offscreen", "--screenshot", str(tmp_path / "shot.png"), GE]) == 1
    assert "is a symbolic link" in capsys.readouterr().err and untouched(victim)
    assert main(["gui", "--offscreen", "--screenshot", str(tmp_path / "missing" / "shot.png"), GE]) == 1
    assert "add --mkdir" in capsys.readouterr().err and not (tmp_path / "missing").exists()


def test_affine_outputs_are_refused_before_any_work(tmp_path, volume, capsys):
    victim = bystander(tmp_path / "victim.trm")
    os.symlink(victim, tmp_path / "link.trm")
    assert main(["affine", volume, "--convention", "slicer", "--trm", str(tmp_path / "link.trm")]) == 1
    assert "--trm" in capsys.readouterr().err and untouched(victim)
    target = tmp_path / "new" / "x.tfm"
    assert main(["affine", volume, "--convention", "itk", "--tfm", str(target)]) == 1
    assert "add --mkdir" in capsys.readouterr().err
    assert main(["affine", volume, "--convention", "itk", "--tfm", str(target), "--mkdir"]) == 0
    assert target.exists() and f"created the folder {tmp_path / 'new'} for --tfm" in capsys.readouterr().err


def test_align_map_and_output_are_refused_before_any_work(tmp_path, volume, capsys):
    victim = bystander(tmp_path / "victim.csv")
    os.symlink(victim, tmp_path / "map.csv")
    assert main(["align", volume, GE, "--map", str(tmp_path / "map.csv")]) == 1
    assert "--map" in capsys.readouterr().err and untouched(victim)
    assert main(["align", volume, GE, "--output", str(tmp_path / "none" / "x.nii.gz")]) == 1
    assert "add --mkdir" in capsys.readouterr().err and not (tmp_path / "none").exists()


def test_audit_out_may_not_be_a_link_or_lack_its_parent(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert main(["audit", GE, "--out", str(tmp_path / "link"), "--workers", "1"]) == 1
    assert "is a symbolic link" in capsys.readouterr().err and os.listdir(tmp_path / "real") == []
    assert main(["audit", GE, "--out", str(tmp_path / "a" / "b"), "--workers", "1"]) == 1
    assert "add --mkdir" in capsys.readouterr().err and not (tmp_path / "a").exists()
