"""``resample`` without a scene (dicom/imageresample.py, dicom/plainseries.py), against Slicer's way.

The scene path (slicer-core: Slicer's DICOM loading or volumes logic, vtkImageReslice) is what ``resample`` did
for every input and still does for a DICOM reference and for series Slicer loads under its acquisition
transform; the direct path, for two volume files or a plain DICOM series onto a volume file, must put the same
voxels on the same grid. Measured differences, asserted here with their bounds: linear into an integer type
differs by at most 1 grey level (ITK truncates, VTK rounds); nearest differs only where the input index of an
output voxel lies within 1e-4 of a half-way point (VTK maps points in single precision), checked voxel by voxel
with an independent double-precision mapping in numpy.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Tuple

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.pixels import apply_modality_lut

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom.imageresample import directProblem
from AffineInspectorLib.dicom.plainseries import plainSeries, readPlainSeries
from AffineInspectorLib.dicom.series import inspectPaths
from conftest import case, modulesAfterCommand


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
    _assertOnlyTiesDiffer(ours, scene, np.linalg.inv(_ijkToLPS(sitk.ReadImage(labels))) @ _ijkToLPS(written))


def _assertOnlyTiesDiffer(ours: np.ndarray, scene: np.ndarray, outputToInput: np.ndarray) -> None:
    """Nearest neighbour: the voxels that differ (at most 0.1%) are ties, each output voxel's input continuous
    index (``outputToInput``: output IJK to input IJK, computed in double precision) within 1e-4 of a half-way
    point, where vtkImageReslice's single precision may take the other neighbour."""
    differing = np.argwhere(ours != scene)  # (k, j, i)
    assert len(differing) <= 0.001 * ours.size
    indices = (np.c_[differing[:, ::-1], np.ones(len(differing))] @ outputToInput.T)[:, :3]
    distanceToTie = np.abs(np.abs(indices - np.floor(indices)) - 0.5).min(axis=1)
    assert np.all(distanceToTie < 1e-4), distanceToTie.max()


def test_files_never_import_slicer_and_dicom_does(tmp_path: Any, volumes: Tuple[str, str, str], dicomRoot: str):
    source, _, reference = volumes

    def modulesAfter(*arguments: str) -> set:
        return {name.split(".")[0] for name in modulesAfterCommand(list(arguments))}

    direct = modulesAfter("resample", source, "--reference", reference, "--output", str(tmp_path / "a.nrrd"))
    assert "SimpleITK" in direct and not direct & {"slicer", "slicer_core", "vtk", "vtkmodules", "pydicom"}
    plain = case("dicom2nifti/hitachi_oblique/001")  # a plain series, onto a grid around it: no scene either
    plainReference = _referenceAround(plain, str(tmp_path / "around-hitachi.nrrd"))
    direct = modulesAfter("resample", plain, "--reference", plainReference, "--output", str(tmp_path / "b.nrrd"))
    assert "SimpleITK" in direct and not direct & {"slicer", "slicer_core", "vtk", "vtkmodules"}
    tilted = case("dcm_qa_ct_GE")  # tilted, uneven steps: Slicer's acquisition transform, so Slicer's scene
    tiltedReference = _referenceAround(tilted, str(tmp_path / "around-ge.nrrd"))
    assert "Slicer's sort warns" in (directProblem(tilted, tiltedReference, "linear") or "")
    scene = modulesAfter("resample", tilted, "--reference", tiltedReference, "--output", str(tmp_path / "c.nrrd"))
    assert "slicer" in scene and "vtk" not in scene  # only the VTK modules slicer-core and the mrml layer use


@pytest.mark.parametrize("compress", [False, True])
def test_compression_only_when_asked(tmp_path: Any, volumes: Tuple[str, str, str], compress: bool) -> None:
    source, _, reference = volumes
    dicom = case("dicom2nifti/hitachi_oblique/001")
    around = _referenceAround(dicom, str(tmp_path / "around.nrrd"))
    pairs = [[source, reference], [dicom, around], [dicom, dicom]]  # direct, direct from DICOM, scene (DICOM REF)
    for name, pair in zip(("direct.nrrd", "plain.nrrd", "scene.nrrd"), pairs):
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
    dicom = case("dicom2nifti/hitachi_oblique/001")  # a plain series: direct onto a volume file, not onto DICOM
    assert directProblem(dicom, reference, "linear") is None
    assert "is not a volume file" in (directProblem(source, dicom, "linear") or "")


@pytest.mark.parametrize("name, direct", [("dicom2nifti/hitachi_oblique/001", True), ("dcm_qa_ct_GE", False)])
def test_a_dicom_input_off_the_grid_is_refused_on_either_path(
    tmp_path: Any, capsys: Any, dicomRoot: str, name: str, direct: bool
) -> None:
    """A grid 5 m away meets neither head: a plain series (direct path) and a tilted one (Slicer's path) would
    write only zeros, and both are refused in the same words."""
    far = sitk.Image(8, 8, 8, sitk.sitkInt16)
    far.SetOrigin((5000.0, 5000.0, 5000.0))
    reference = str(tmp_path / "far.nrrd")
    sitk.WriteImage(far, reference)
    dicom = case(name)
    assert (directProblem(dicom, reference, "linear") is None) == direct
    output = str(tmp_path / "out.nrrd")
    assert main(["resample", dicom, "--reference", reference, "--output", output]) == 1
    said = capsys.readouterr().err
    assert f"{dicom} does not overlap the grid of {reference}" in said and said.count("\n") == 1
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


# --------------------------------------------------------------------------- a DICOM series as INPUT

PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "dicomdirtests")
PLAIN_SERIES = (
    "dicom2nifti/hitachi_oblique/001",  # Hitachi MR, 38.7 deg oblique, int16
    "dicom2nifti/ge_anatomical/001",  # GE MR, IOP cosines not unit length to the last digit
    "dicom2nifti/failing/slicecount/001",  # two slices, uint16
    "dicom2nifti/failing/gantrytilting/001",  # Siemens CT, a uniform 14 deg tilt: Slicer's grid is sheared
    os.path.join(PYDICOM_FILES, "98892001", "CT5N"),  # CT with RescaleIntercept: int32
)


def _dicom(name: str) -> str:
    return name if os.path.isabs(name) else case(name)


def _referenceAround(dicom: str, path: str) -> str:
    """A grid over the series (engine's IJKToLPS), turned 0.2 rad about an oblique axis, voxels 0.913 / 1.087
    / 0.731 times the series' and shifted by a fraction of a voxel: no voxel of one grid on a voxel of the
    other, and no regular pattern of ties."""
    series = inspectPaths([dicom]).series[0]
    assert series.IJKToLPS is not None and series.dimensions is not None
    steps = np.linalg.norm(series.IJKToLPS[:3, :3], axis=0)
    axes, _ = np.linalg.qr(series.IJKToLPS[:3, :3] / steps)  # orthonormal, near the series' axes
    axis = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    turn = sitk.VersorTransform(tuple(axis), 0.2).GetMatrix()
    direction = np.reshape(turn, (3, 3)) @ axes
    spacing = steps * np.array([0.913, 1.087, 0.731])
    size = np.ceil(steps * np.array(series.dimensions) / spacing).astype(int) + 2
    centre = series.IJKToLPS[:3, :3] @ ((np.array(series.dimensions) - 1) / 2) + series.IJKToLPS[:3, 3]
    origin = centre - direction @ (spacing * (size - 1) / 2) + 0.1234 * spacing
    image = sitk.Image([int(value) for value in size], sitk.sitkInt16)
    image.SetSpacing([float(value) for value in spacing])
    image.SetDirection([float(value) for value in direction.ravel()])
    image.SetOrigin([float(value) for value in origin])
    sitk.WriteImage(image, path)
    return path


@pytest.mark.parametrize("name", PLAIN_SERIES)
@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_a_plain_series_takes_the_direct_path_and_gives_the_scene_paths_result(
    tmp_path: Any, dicomRoot: str, name: str, interpolation: str
) -> None:
    dicom = _dicom(name)
    reference = _referenceAround(dicom, str(tmp_path / "reference.nrrd"))
    assert directProblem(dicom, reference, interpolation) is None
    written = _resample(tmp_path, "out.nrrd", dicom, "--reference", reference, "--interpolation", interpolation)
    scene, IJKToRAS = _inScene(dicom, reference, interpolation, False)
    ours = sitk.GetArrayFromImage(written)
    np.testing.assert_allclose(np.diag([-1, -1, 1, 1]) @ _ijkToLPS(written), IJKToRAS, rtol=0, atol=1e-6)
    assert ours.dtype == scene.dtype and ours.shape == scene.shape
    assert np.count_nonzero(scene) > max(1000, 0.01 * scene.size)  # the grids overlap: voxels were compared
    if interpolation == "nearest":
        series, _ = plainSeries(dicom)
        assert series is not None
        _assertOnlyTiesDiffer(ours, scene, np.linalg.inv(series.IJKToLPS) @ _ijkToLPS(written))
    else:
        assert np.abs(ours.astype(float) - scene.astype(float)).max() <= 1


def test_a_plain_series_is_read_as_its_files_say(dicomRoot: str) -> None:
    """Independent of ITK: pydicom's pixels with RescaleSlope/Intercept, in the files' spatial order, and the
    grid from each file's IPP, IOP and PixelSpacing."""
    for name in PLAIN_SERIES:
        series, why = plainSeries(_dicom(name))
        assert series is not None, why
        image = readPlainSeries(series)
        datasets = [pydicom.dcmread(path) for path in series.files]
        expected = np.stack([apply_modality_lut(each.pixel_array, each) for each in datasets])
        assert np.array_equal(sitk.GetArrayFromImage(image), expected)
        positions = np.array([[float(value) for value in each.ImagePositionPatient] for each in datasets])
        normal = np.cross(*np.reshape([float(value) for value in datasets[0].ImageOrientationPatient], (2, 3)))
        assert np.all(np.diff(positions @ normal) > 0)  # k runs along the slice normal, first file at k = 0
        first = datasets[0]
        rows, columns = (float(value) for value in first.PixelSpacing)
        cosines = np.reshape([float(value) for value in first.ImageOrientationPatient], (2, 3))
        cosines /= np.linalg.norm(cosines, axis=1, keepdims=True)
        expectedGrid = np.eye(4)
        expectedGrid[:3, 0], expectedGrid[:3, 1] = cosines[0] * columns, cosines[1] * rows
        expectedGrid[:3, 2] = (positions[-1] - positions[0]) / (len(positions) - 1)
        expectedGrid[:3, 3] = positions[0]
        np.testing.assert_allclose(_ijkToLPS(image), expectedGrid, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("dcm_qa_ct_GE", "Slicer's sort warns"),  # 18.5 deg tilt and steps of 1.1 to 7 mm
        ("tcia_kits_duplicate_positions", "left out or repeated"),
        ("dicom2nifti/failing/sliceincrement/001", "Slicer's sort warns"),
        ("dicom2nifti/ge_single_slice/001_single_slice", "a single slice"),
        ("dicom2nifti/philips_enhanced_anatomical/001", "multi-frame"),
        ("dcm_qa_enh/In/Siemens/XA10", "multi-frame"),
        ("dcm_qa_mosaic/In/ax/axdesc36", "mosaic"),
        (os.path.join(PYDICOM_FILES, "98892003", "MR2"), "holds 3 series"),
        ("", "files are not DICOM images"),  # the shared folder: README, NIfTI references, licences
    ],
)
def test_what_else_takes_the_scene_path(tmp_path: Any, dicomRoot: str, name: str, reason: str) -> None:
    reference = _referenceAround(case("dicom2nifti/hitachi_oblique/001"), str(tmp_path / "reference.nrrd"))
    said = directProblem(_dicom(name) if name else dicomRoot, reference, "linear") or ""
    assert "is not a plain DICOM series" in said and reason in said, said


@pytest.mark.parametrize("shiftMm, transform", [(0.0005, False), (0.005, True)])
def test_the_plain_test_is_slicers_acquisition_transform_test(
    tmp_path: Any, dicomRoot: str, shiftMm: float, transform: bool
) -> None:
    """One slice moved within its plane (Slicer's sort, along the normal, sees nothing): below Slicer's 1e-3 mm
    corner tolerance the series stays plain and Slicer adds no transform; above it, the reverse."""
    from AffineInspectorLib.cli.slicerhost import hostAndLogic

    folder = tmp_path / "series"
    shutil.copytree(case("dicom2nifti/hitachi_oblique/001"), folder)
    moved = sorted(str(path) for path in folder.iterdir())[1]
    dataset = pydicom.dcmread(moved)
    sideways = np.array([float(value) for value in dataset.ImageOrientationPatient[:3]]) * shiftMm
    dataset.ImagePositionPatient = [f"{float(a) + b:.6f}" for a, b in zip(dataset.ImagePositionPatient, sideways)]
    dataset.save_as(moved)
    series, why = plainSeries(str(folder))
    assert (series is None) == transform and ("Slicer adds its acquisition transform" in why) == transform
    host, _ = hostAndLogic(displayNodes=False)
    assert (host.load(str(folder)).GetParentTransformNode() is not None) == transform


def test_a_series_gdcm_cannot_read_goes_to_slicers_reader(tmp_path: Any, dicomRoot: str, monkeypatch: Any) -> None:
    """Slicer's reader tries DCMTK after GDCM: a GDCM failure on the direct path is not the answer."""
    from AffineInspectorLib.dicom import imageresample
    from AffineInspectorLib.dicom.plainseries import SeriesReadError

    def failing(series: Any) -> Any:
        raise SeriesReadError("GDCM could not read the series (simulated)")

    monkeypatch.setattr(imageresample, "readPlainSeries", failing)
    dicom = case("dicom2nifti/hitachi_oblique/001")
    reference = _referenceAround(dicom, str(tmp_path / "reference.nrrd"))
    output = str(tmp_path / "out.nrrd")
    assert main(["--debug", "resample", dicom, "--reference", reference, "--output", output]) == 0
    scene, _ = _inScene(dicom, reference, "linear", False)
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(output)), scene)


def test_a_plain_series_written_with_a_data_file_and_a_new_folder(tmp_path: Any, dicomRoot: str, capsys: Any) -> None:
    """The child writes the output and its data file privately; they are published as every output is, the
    folder --mkdir creates announced, and a refused (empty) result creates no folder."""
    dicom = case("dicom2nifti/hitachi_oblique/001")
    reference = _referenceAround(dicom, str(tmp_path / "reference.nrrd"))
    target = tmp_path / "new" / "out.mhd"
    assert main(["resample", dicom, "--reference", reference, "--output", str(target), "--mkdir"]) == 0
    assert f"created the folder {tmp_path / 'new'} for --output" in capsys.readouterr().err
    assert sorted(os.listdir(target.parent)) == ["out.mhd", "out.raw"]
    single = _resample(tmp_path, "out.nrrd", dicom, "--reference", reference)
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(target))), sitk.GetArrayFromImage(single))
    far = sitk.Image(8, 8, 8, sitk.sitkInt16)
    far.SetOrigin((5000.0, 5000.0, 5000.0))
    sitk.WriteImage(far, str(tmp_path / "far.nrrd"))
    refused = tmp_path / "other" / "out.nrrd"
    assert (
        main(["resample", dicom, "--reference", str(tmp_path / "far.nrrd"), "--output", str(refused), "--mkdir"]) == 1
    )
    assert not refused.parent.exists()
    assert sorted(os.listdir(tmp_path)) == ["far.nrrd", "new", "out.nrrd", "reference.nrrd"]  # no scratch left
