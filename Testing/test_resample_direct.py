"""``resample`` of two volume files: SimpleITK without a scene (dicom/imageresample.py), against Slicer's way.

The scene path (slicer-core: volumes logic, vtkImageReslice) is what ``resample`` did for every input and still
does for DICOM; the direct path must put the same voxels on the same grid. Measured differences, asserted here
with their bounds: linear into an integer type differs by at most 1 grey level (ITK truncates, VTK rounds);
nearest differs only where the input index of an output voxel lies within 1e-4 of a half-way point (VTK maps
points in single precision), checked voxel by voxel with an independent double-precision mapping in numpy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Tuple

import numpy as np
import pytest
import SimpleITK as sitk

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom.imageresample import directProblem
from conftest import ROOT, case


def _ijkToLPS(image: Any) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = np.reshape(image.GetDirection(), (3, 3)) @ np.diag(image.GetSpacing())
    matrix[:3, 3] = image.GetOrigin()
    return matrix


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, str, str]:
    """(scalar input, label input, oblique reference with content): the benchmark's shapes, smaller."""
    folder = tmp_path_factory.mktemp("resample")
    random = np.random.default_rng(0)
    values = random.normal(0, 200, (40, 64, 72)).astype(np.int16)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.7, 0.7, 1.25))
    image.SetOrigin((-25.0, -22.0, -20.0))
    labels = sitk.GetImageFromArray(((values > 150) * 3).astype(np.uint8))
    labels.CopyInformation(image)
    reference = sitk.GetImageFromArray(random.normal(0, 5, (30, 40, 44)).astype(np.int16))
    reference.SetSpacing((1.0, 1.1, 1.3))
    reference.SetOrigin((-20.0, -18.0, -15.0))
    cosine, sine = np.cos(0.2), np.sin(0.2)
    reference.SetDirection((cosine, -sine, 0, sine, cosine, 0, 0, 0, 1))
    paths = str(folder / "input.nrrd"), str(folder / "labels.nrrd"), str(folder / "reference.nii.gz")
    for written, path in zip((image, labels, reference), paths):
        sitk.WriteImage(written, path)
    return paths


def _resample(tmp_path: Any, name: str, *arguments: str) -> Any:
    output = str(tmp_path / name)
    assert main(["resample", *arguments, "--output", output]) == 0
    return sitk.ReadImage(output)


def _inScene(source: str, reference: str, interpolation: str, labelmap: bool) -> Any:
    """The scene path on the same files (what ``resample`` did for every input before)."""
    from AffineInspectorLib.cli.slicerhost import hostAndLogic
    from AffineInspectorLib.mrml.nodes import ijkToRAS

    host, logic = hostAndLogic(displayNodes=False)
    node = logic.resample(
        host.load(source, labelmap=labelmap),
        host.load(reference),
        interpolation=interpolation,
        labelmap=labelmap,
        displayNodes=False,
    )
    import slicer.util

    return slicer.util.arrayFromVolume(node), ijkToRAS(node)


def _peer(source: str, reference: str, interpolation: str) -> np.ndarray:
    """The benchmark's SimpleITK script (benchmarks/sitk_resample.py), in process."""
    image, grid = sitk.ReadImage(source), sitk.ReadImage(reference)
    mode = sitk.sitkNearestNeighbor if interpolation == "nearest" else sitk.sitkLinear
    return sitk.GetArrayFromImage(sitk.Resample(image, grid, sitk.Transform(), mode, 0, image.GetPixelID()))


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_direct_path_equals_the_simpleitk_script(tmp_path: Any, volumes: Tuple[str, str, str], interpolation: str):
    source, labels, reference = volumes
    source = labels if interpolation == "nearest" else source
    written = _resample(tmp_path, "out.nrrd", source, "--reference", reference, "--interpolation", interpolation)
    assert np.array_equal(sitk.GetArrayFromImage(written), _peer(source, reference, interpolation))
    assert np.allclose(_ijkToLPS(written), _ijkToLPS(sitk.ReadImage(reference)))


def test_direct_linear_is_the_scene_path_within_one_grey_level(tmp_path: Any, volumes: Tuple[str, str, str]):
    source, _, reference = volumes
    written = _resample(tmp_path, "out.nrrd", source, "--reference", reference)
    scene, IJKToRAS = _inScene(source, reference, "linear", False)
    ours = sitk.GetArrayFromImage(written).astype(int)
    assert np.allclose(np.diag([-1, -1, 1, 1]) @ _ijkToLPS(written), IJKToRAS, atol=1e-6)
    difference = np.abs(ours - scene.astype(int))
    assert difference.max() <= 1 and np.count_nonzero(ours) > 0.5 * ours.size


def test_direct_nearest_is_the_scene_path_but_for_ties(tmp_path: Any, volumes: Tuple[str, str, str]):
    _, labels, reference = volumes
    written = _resample(tmp_path, "out.nrrd", labels, "--label", "--reference", reference)
    scene, _ = _inScene(labels, reference, "nearest", True)
    ours = sitk.GetArrayFromImage(written)
    assert ours.dtype == scene.dtype == np.uint8 and np.count_nonzero(ours) > 0
    differing = np.argwhere(ours != scene)  # (k, j, i)
    assert len(differing) <= 0.001 * ours.size
    # Each one is a tie: its input continuous index, in double precision, is within 1e-4 of a half-way point.
    toInput = np.linalg.inv(_ijkToLPS(sitk.ReadImage(labels))) @ _ijkToLPS(sitk.ReadImage(reference))
    indices = (np.c_[differing[:, ::-1], np.ones(len(differing))] @ toInput.T)[:, :3]
    distanceToTie = np.abs(np.abs(indices - np.floor(indices)) - 0.5).min(axis=1)
    assert np.all(distanceToTie < 1e-4), distanceToTie.max()


def test_files_never_import_slicer_and_dicom_does(tmp_path: Any, volumes: Tuple[str, str, str], dicomRoot: str):
    source, _, reference = volumes

    def modulesAfter(*arguments: str) -> set:
        code = (
            "import sys, json, io, contextlib\n"
            "from AffineInspectorLib.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main({list(arguments)!r})\n"
            "sys.stderr.write(json.dumps([status, sorted(sys.modules)]))\n"
        )
        environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "AffineInspector"))
        completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
        status, modules = json.loads(completed.stderr.strip().splitlines()[-1])
        assert status == 0, completed.stderr
        return {name.split(".")[0] for name in modules}

    direct = modulesAfter("resample", source, "--reference", reference, "--output", str(tmp_path / "a.nrrd"))
    assert "SimpleITK" in direct and not direct & {"slicer", "slicer_core", "vtk", "vtkmodules", "pydicom"}
    dicom = case("dicom2nifti/hitachi_oblique/001")  # onto itself: a reference it overlaps
    scene = modulesAfter("resample", dicom, "--reference", dicom, "--output", str(tmp_path / "b.nrrd"))
    assert "slicer" in scene and "vtk" not in scene  # only the VTK modules slicer-core and the mrml layer use


@pytest.mark.parametrize("compress", [False, True])
def test_compression_only_when_asked(tmp_path: Any, volumes: Tuple[str, str, str], compress: bool) -> None:
    source, _, reference = volumes
    dicom = case("dicom2nifti/hitachi_oblique/001")
    for name, pair in (("direct.nrrd", [source, reference]), ("scene.nrrd", [dicom, dicom])):
        output = str(tmp_path / name)
        flags = ["--compress"] if compress else []
        assert main(["resample", pair[0], "--reference", pair[1], "--output", output, *flags]) == 0
        with open(output, "rb") as stream:
            header = stream.read(1000).split(b"\n\n")[0]
        assert (b"encoding: gzip" in header) == compress, header


def test_direct_path_refuses_an_empty_output(tmp_path: Any, volumes: Tuple[str, str, str], capsys: Any) -> None:
    source, _, _ = volumes
    far = sitk.Image(8, 8, 8, sitk.sitkInt16)
    far.SetOrigin((5000.0, 5000.0, 5000.0))
    sitk.WriteImage(far, str(tmp_path / "far.nrrd"))
    output = str(tmp_path / "out.nrrd")
    assert main(["resample", source, "--reference", str(tmp_path / "far.nrrd"), "--output", output]) == 1
    said = capsys.readouterr().err
    assert f"does not overlap the grid of {tmp_path / 'far.nrrd'}" in said and not os.path.exists(output)


def test_what_takes_the_scene_path(volumes: Tuple[str, str, str], dicomRoot: str) -> None:
    source, _, reference = volumes
    assert directProblem(source, reference, "linear") is None
    assert "cubic" in (directProblem(source, reference, "cubic") or "")
    assert "not a volume file" in (directProblem(case("dicom2nifti/hitachi_oblique/001"), reference, "linear") or "")


def test_scene_path_refuses_an_empty_output(tmp_path: Any, volumes: Tuple[str, str, str], capsys: Any) -> None:
    """The Hitachi head and the small oblique test grid do not meet: Slicer's path would write only zeros."""
    _, _, reference = volumes
    dicom = case("dicom2nifti/hitachi_oblique/001")
    output = str(tmp_path / "out.nrrd")
    assert main(["resample", dicom, "--reference", reference, "--output", output]) == 1
    said = capsys.readouterr().err
    assert f"does not overlap the grid of {reference}" in said and said.count("\n") == 1
    assert not os.path.exists(output)


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_a_left_handed_reference_gives_slicers_reversed_grid(
    tmp_path: Any, volumes: Tuple[str, str, str], interpolation: str
) -> None:
    """Slicer's volumes logic loads a left-handed file with k reversed (right-handed IJK), and the scene path's
    output takes that grid: the direct path writes the same file, not the reference's own voxel order."""
    source, labels, _ = volumes
    source = labels if interpolation == "nearest" else source
    reference = sitk.Image(44, 40, 30, sitk.sitkInt16)
    reference.SetSpacing((1.0, 1.1, 1.3))
    reference.SetOrigin((-20.0, -18.0, 15.0))
    cosine, sine = np.cos(0.2), np.sin(0.2)
    reference.SetDirection((cosine, -sine, 0, sine, cosine, 0, 0, 0, -1))  # k towards the feet: left-handed
    referencePath = str(tmp_path / "left.nii.gz")
    sitk.WriteImage(reference, referencePath)
    written = _resample(tmp_path, "out.nrrd", source, "--reference", referencePath, "--interpolation", interpolation)
    scene, IJKToRAS = _inScene(source, referencePath, interpolation, interpolation == "nearest")
    np.testing.assert_allclose(np.diag([-1, -1, 1, 1]) @ _ijkToLPS(written), IJKToRAS, rtol=0, atol=1e-6)
    assert np.linalg.det(IJKToRAS[:3, :3]) > 0 and np.linalg.det(_ijkToLPS(reference)[:3, :3]) < 0
    ours = sitk.GetArrayFromImage(written).astype(int)
    assert np.count_nonzero(ours) > 0.01 * ours.size
    assert np.abs(ours - scene.astype(int)).max() <= (0 if interpolation == "nearest" else 1)
