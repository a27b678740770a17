"""Every convention matrix against an independent oracle, round trips, --to, and the transform files.

Oracles (test dependencies only, never used by the library for these matrices): nibabel (sform, qform,
``get_best_affine``, ``Spm99AnalyzeImage``'s .mat, ``MGHHeader.get_vox2ras_tkr``, ``orientations`` for
AIMS's reordering), SimpleITK (LPS origin/spacing/direction of files and DICOM series), fslpy
(``Image.getAffine``, ``flirt.toFlirt``/``readFlirt``), scipy.io, and the AIMS documentation's ASA formula
written out here. Tolerance 1e-4 mm: headers hold float32 numbers.
"""

from __future__ import annotations

import doctest
import itertools
import os

import nibabel
import numpy as np
import pytest
import scipy.io
import SimpleITK as sitk
from fsl.data.image import Image as FSLImage
from fsl.transform import flirt as fslFlirt
from hypothesis import example, given, settings
from hypothesis import strategies as st
from nibabel import orientations
from nibabel.affines import from_matvec

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom import transformfiles
from AffineInspectorLib.dicom.imagefiles import readVolumeHeader
from AffineInspectorLib.geometry import affines, conventions
from AffineInspectorLib.geometry.errors import GeometryError
from conftest import case

TOLERANCE_MM = 1e-4
DEVIATIONS: dict = {}
"""Largest deviation per (convention, oracle) over the run; printed by the last test (pytest -s shows it)."""


@pytest.fixture(scope="module", autouse=True)
def _reportDeviations():
    """After the module: the largest deviation measured per convention and oracle (shown with pytest -s)."""
    yield
    for (name, oracle), deviation in sorted(DEVIATIONS.items()):
        print(f"{name:16s} {oracle:45s} {deviation:.3g}")


def _record(name: str, oracle: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    deviation = float(np.max(np.abs(np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float))))
    key = (name, oracle)
    DEVIATIONS[key] = max(DEVIATIONS.get(key, 0.0), deviation)
    assert deviation <= TOLERANCE_MM, f"{name} differs from {oracle} by {deviation:.3g}"


# --------------------------------------------------------------------------- random NIfTI files


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


NIFTI_KINDS = [
    "oblique-right",
    "oblique-left",
    "sheared-sform",
    "axial-ras",
    "axial-las",
    "permuted",
    "qform-only",
    "sform-differs",  # both coded, sform (code 2) elsewhere than the qform: ITK takes the qform, the rest the sform
]


def _niftiFile(folder: str, kind: str, seed: int) -> str:
    """A small NIfTI of one kind: oblique right/left-handed, a sheared sform (qform without the shear), ..."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(value) for value in rng.integers(3, 9, 3))
    zooms = rng.uniform(0.4, 3.5, 3)
    if kind.startswith("axial") or kind == "permuted":
        linear = np.diag(zooms)
        if kind == "axial-las":
            linear[0, 0] *= -1
        if kind == "permuted":  # file i along A, j along -R (left), k along S
            linear = np.array([[0, -zooms[1], 0], [zooms[0], 0, 0], [0, 0, zooms[2]]])
    else:
        linear = _rotation(rng) @ np.diag(zooms)
        if kind == "oblique-left":
            linear[:, 1] *= -1
        if kind == "sheared-sform":
            linear[:, 2] += 0.25 * linear[:, 0] + 0.1 * linear[:, 1]
    affine = from_matvec(linear, rng.uniform(-80, 80, 3))
    image = nibabel.Nifti1Image(np.zeros(shape, dtype=np.int16), affine)
    image.set_qform(affine, 1, strip_shears=True)
    image.set_sform(affine, 0 if kind == "qform-only" else (2 if kind in ("sheared-sform", "sform-differs") else 1))
    if kind == "sform-differs":
        image.set_qform(from_matvec(_rotation(rng) @ np.diag(zooms), rng.uniform(-80, 80, 3)), 1)
    path = os.path.join(folder, f"{kind}-{seed}.nii.gz")
    nibabel.save(image, path)
    return path


def _sitkMatrix(image: sitk.Image) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(image.GetDirection()).reshape(3, 3) * np.asarray(image.GetSpacing())
    matrix[:3, 3] = image.GetOrigin()
    return matrix


def _aimsOracle(affine: np.ndarray, shape, zooms) -> np.ndarray:
    """File voxel -> AIMS mm built with nibabel's orientation tools: reorder to L, P, I, then scale."""
    current = orientations.io_orientation(affine)
    transform = orientations.ornt_transform(current, orientations.axcodes2ornt(("L", "P", "I")))
    newToOld = orientations.inv_ornt_aff(transform, shape)  # reoriented index -> file index
    newZooms = [zooms[int(axis)] for axis in transform[:, 0].argsort()]
    return np.diag([*newZooms, 1.0]) @ np.linalg.inv(newToOld)


def _spmOracle(affine: np.ndarray, shape, folder: str) -> np.ndarray:
    """The 'mat' nibabel's SPM99 writer stores for an image with this affine."""
    path = os.path.join(folder, "spm-oracle.img")
    nibabel.save(nibabel.Spm99AnalyzeImage(np.zeros(shape, dtype=np.int16), affine), path)
    return scipy.io.loadmat(path[:-4] + ".mat")["mat"]


def _checkNIfTIFileConventions(path: str, folder: str) -> None:
    entries = conventions.conventions(readVolumeHeader(path))
    image = nibabel.load(path)
    header = image.header
    best = image.affine  # nibabel's get_best_affine: sform, else qform, else the Analyze fallback
    _record("nifti-sform", "nibabel get_sform", entries["nifti-sform"].matrix, header.get_sform())
    _record("nifti-qform", "nibabel get_qform", entries["nifti-qform"].matrix, header.get_qform())
    itkImage = sitk.ReadImage(path)
    _record("itk", "SimpleITK", entries["itk"].matrix, _sitkMatrix(itkImage))
    _record("slicer", "SimpleITK (x, y negated)", entries["slicer"].matrix, affines.lpsToRAS(_sitkMatrix(itkImage)))
    _record("dicom", "nibabel best affine (LPS)", entries["dicom"].matrix, affines.rasToLPS(best))
    fslImage = FSLImage(path)
    _record("fsl", "fslpy voxel->fsl", entries["fsl"].matrix, fslImage.getAffine("voxel", "fsl"))
    _record("fsl", "fslpy fsl->world", entries["fsl"].toWorld, fslImage.getAffine("fsl", "world"))
    _record("spm", "nibabel spm99analyze .mat", entries["spm"].matrix, _spmOracle(best, image.shape, folder))
    tkr = nibabel.MGHImage(np.zeros(image.shape, dtype=np.float32), best).header.get_vox2ras_tkr()
    _record("freesurfer-tkr", "nibabel MGHHeader.get_vox2ras_tkr", entries["freesurfer-tkr"].matrix, tkr)
    aims = _aimsOracle(best, image.shape, header.get_zooms()[:3])
    _record("aims", "nibabel orientations + AIMS rule", entries["aims"].matrix, aims)
    _record("aims-spm", "nibabel best affine . inverse(AIMS)", entries["aims-spm"].matrix, best @ np.linalg.inv(aims))


@pytest.mark.parametrize("kind, seed", [(kind, seed) for kind in NIFTI_KINDS for seed in range(3)])
def test_nifti_conventions_equal_the_oracles(tmp_path, kind, seed):
    _checkNIfTIFileConventions(_niftiFile(str(tmp_path), kind, seed), str(tmp_path))


@pytest.mark.parametrize("sformCode", [1, 2, 4])
def test_sheared_sform_itk_follows_the_qform_and_says_so(tmp_path, sformCode):
    path = _niftiFile(str(tmp_path), "sheared-sform", 7)
    image = nibabel.load(path)
    image.set_sform(image.get_sform(), sformCode)
    path = str(tmp_path / f"code{sformCode}.nii")
    nibabel.save(image, path)
    entries = conventions.conventions(readVolumeHeader(path))
    header = nibabel.load(path).header
    _record("itk", "SimpleITK", entries["itk"].matrix, _sitkMatrix(sitk.ReadImage(path)))
    assert np.allclose(affines.lpsToRAS(entries["itk"].matrix), header.get_qform(), atol=TOLERANCE_MM)
    assert not np.allclose(entries["itk"].matrix, entries["dicom"].matrix, atol=1e-2)  # the sform is elsewhere
    assert any("sheared" in note and "qform" in note for note in entries["itk"].notes)
    assert entries["itk"].world == "ITK's choice: qform"


def test_both_codes_zero_each_program_uses_its_own_fallback(tmp_path):
    image = nibabel.Nifti1Image(np.zeros((4, 5, 6), dtype=np.int16), np.diag([2.0, 3.0, 4.0, 1.0]))
    image.set_sform(None, 0)
    image.set_qform(None, 0)
    path = str(tmp_path / "nocode.nii")
    nibabel.save(image, path)
    _checkNIfTIFileConventions(path, str(tmp_path))
    entries = conventions.conventions(readVolumeHeader(path))
    assert entries["itk"].world == "ITK's choice: none"


def test_quaternion_of_a_matrix_equals_nibabel_set_qform():
    rng = np.random.default_rng(3)
    for _ in range(20):
        linear = _rotation(rng) @ np.diag(rng.uniform(0.3, 3, 3))
        if rng.random() < 0.5:
            linear[:, 2] *= -1
        affine = from_matvec(linear, rng.uniform(-50, 50, 3))
        header = nibabel.Nifti1Header()
        header.set_qform(affine, 1)
        quaternion, offset, sizes, qfac = conventions.matrixToQuaternion(affine)
        _record("nifti-qform", "nibabel set_qform quaternion", quaternion, header.get_qform_quaternion()[1:])
        assert qfac == header["pixdim"][0]
        _record(
            "nifti-qform", "nibabel get_qform", conventions.quaternionToMatrix(quaternion, offset, sizes, qfac), affine
        )


# --------------------------------------------------------------------------- AIMS formula, Slicer's re-indexing


@pytest.mark.parametrize("seed", range(4))
def test_aims_to_spm_is_the_documented_ASA_for_images_stored_in_SPM_orientation(tmp_path, seed):
    rng = np.random.default_rng(seed)
    shape = [int(value) for value in rng.integers(4, 12, 3)]
    zooms = rng.uniform(0.5, 3, 3)
    origin = rng.integers(1, 10, 3).astype(float)  # the Analyze origin field: 1-based voxel of mm (0, 0, 0)
    affine = from_matvec(np.diag(zooms), -(origin - 1) * zooms)  # stored left->right, back->front, bottom->top
    image = nibabel.Nifti1Image(np.zeros(shape, dtype=np.int16), affine)
    path = str(tmp_path / "spm-oriented.nii")
    nibabel.save(image, path)
    entry = conventions.conventions(readVolumeHeader(path))["aims-spm"]
    T = (np.asarray(shape) - 1) * zooms
    O = (origin - 1) * zooms  # noqa: E741  the AIMS documentation's names
    FA = from_matvec(-np.eye(3), T)
    OA = from_matvec(np.eye(3), -O)
    _record("aims-spm", "AIMS documentation ASA = OA . FA", entry.matrix, OA @ FA)
    _record("aims-spm", "AIMS documentation ASA = OA . FA", conventions.aimsToSPMFormula(shape, zooms, origin), OA @ FA)


@pytest.mark.parametrize("kind", ["axial-ras", "axial-las", "oblique-left", "permuted"])
def test_slicer_loaded_equals_slicer_core(tmp_path, kind):
    from AffineInspectorLib.mrml.host import StandaloneHost
    from AffineInspectorLib.mrml.nodes import ijkToRAS

    path = _niftiFile(str(tmp_path), kind, 11)
    entry = conventions.conventions(readVolumeHeader(path))["slicer-loaded"]
    node = StandaloneHost(setGlobalScene=False).loadVolume(path)
    _record("slicer-loaded", "slicer-core IJKToRAS", entry.matrix, ijkToRAS(node))
    leftHanded = np.linalg.det(nibabel.load(path).affine[:3, :3]) < 0
    assert (entry.indexFromFile[2, 2] == -1) == leftHanded


# --------------------------------------------------------------------------- the shared DICOM series

DICOM_CASES = ["dicom2nifti/ge_anatomical/001", "dicom2nifti/hitachi_oblique/001"]


@pytest.mark.parametrize("name", DICOM_CASES)
def test_dicom_series_conventions_equal_the_oracles(dicomRoot, tmp_path, name):
    """SimpleITK reads the series (GDCM's sort = Slicer's here); its NIfTI copy is the other oracles' input."""
    folder = case(name)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    itkImage = reader.Execute()
    entries = conventions.conventions(readVolumeHeader(folder))
    _record("itk", "SimpleITK series reader", entries["itk"].matrix, _sitkMatrix(itkImage))
    _record("dicom", "SimpleITK series reader", entries["dicom"].matrix, _sitkMatrix(itkImage))
    _record("slicer", "SimpleITK series reader", entries["slicer"].matrix, affines.lpsToRAS(_sitkMatrix(itkImage)))
    copy = str(tmp_path / "series.nii")
    sitk.WriteImage(itkImage, copy)
    image = nibabel.load(copy)
    _record("nifti-sform", "ITK-written NIfTI, nibabel", entries["nifti-sform"].matrix, image.header.get_sform())
    _record("nifti-qform", "ITK-written NIfTI, nibabel", entries["nifti-qform"].matrix, image.header.get_qform())
    fslImage = FSLImage(copy)
    _record("fsl", "fslpy voxel->fsl", entries["fsl"].matrix, fslImage.getAffine("voxel", "fsl"))
    _record("fsl", "fslpy fsl->world", entries["fsl"].toWorld, fslImage.getAffine("fsl", "world"))
    _record(
        "spm", "nibabel spm99analyze .mat", entries["spm"].matrix, _spmOracle(image.affine, image.shape, str(tmp_path))
    )
    tkr = nibabel.MGHImage(np.zeros(image.shape, dtype=np.float32), image.affine).header.get_vox2ras_tkr()
    _record("freesurfer-tkr", "nibabel MGHHeader.get_vox2ras_tkr", entries["freesurfer-tkr"].matrix, tkr)
    aims = _aimsOracle(image.affine, image.shape, image.header.get_zooms()[:3])
    _record("aims", "nibabel orientations + AIMS rule", entries["aims"].matrix, aims)


def test_tilted_dicom_says_itk_builds_another_grid(dicomRoot):
    entries = conventions.conventions(readVolumeHeader(case("dcm_qa_ct_GE")))
    assert any("sheared" in note for note in entries["itk"].notes)
    assert entries["dicom"].world == "DICOM"


# --------------------------------------------------------------------------- conversions and round trips


@pytest.mark.parametrize("kind", ["oblique-right", "oblique-left", "sheared-sform", "permuted"])
def test_every_pair_round_trips(tmp_path, kind):
    entries = conventions.conventions(readVolumeHeader(_niftiFile(str(tmp_path), kind, 5)))
    point = np.array([1.25, -2.0, 3.5])
    for first, second in itertools.permutations(entries.values(), 2):
        there = conventions.conversion(first, second)
        back = conventions.conversion(second, first)
        assert np.abs(back @ there - np.eye(4)).max() <= 1e-9, (first.name, second.name)
        assert np.abs(conventions.mapPoint(back, conventions.mapPoint(there, point)) - point).max() <= 1e-9
        # The conversion takes a voxel's position in one space to the same voxel's position in the other.
        inFirst = conventions.mapPoint(first.fromFileVoxels(), point)
        inSecond = conventions.mapPoint(second.fromFileVoxels(), point)
        assert np.abs(conventions.mapPoint(there, inFirst) - inSecond).max() <= 1e-9


@settings(max_examples=60, deadline=None)
@example(seed=226, shape=(1, 1, 1), leftHanded=True, shear=0.00390625)  # 1 - |q|^2 = 4.8e-8: read as a = 0
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)),
    leftHanded=st.booleans(),
    shear=st.floats(-0.5, 0.5),
)
def test_property_every_pair_round_trips_on_random_headers(seed, shape, leftHanded, shear):
    """In memory (no file): any header, any pair of conventions, there and back is the identity to 1e-9."""
    rng = np.random.default_rng(seed)
    linear = _rotation(rng) @ np.diag(rng.uniform(0.2, 5, 3))
    if leftHanded:
        linear[:, 0] *= -1
    linear[:, 2] += shear * linear[:, 1]
    IJKToLPS = from_matvec(linear, rng.uniform(-200, 200, 3))
    entries = conventions.conventions(conventions.headerFromIJKToLPS("random", IJKToLPS, shape))
    point = rng.uniform(-5, 45, 3)
    for first, second in itertools.permutations(entries.values(), 2):
        there = conventions.conversion(first, second)
        back = conventions.conversion(second, first)
        assert np.abs(back @ there - np.eye(4)).max() <= 1e-9 * max(1.0, np.abs(there).max())
        assert np.abs(conventions.mapPoint(back, conventions.mapPoint(there, point)) - point).max() <= 1e-9
    quaternion, offset, sizes, qfac = conventions.matrixToQuaternion(affines.lpsToRAS(IJKToLPS))
    again = conventions.matrixToQuaternion(conventions.quaternionToMatrix(quaternion, offset, sizes, qfac))
    assert again[3] == qfac
    expected = np.asarray(quaternion)
    if 1 - expected @ expected < 1e-7:
        # nifti1_io reads a = 0 here (b, c, d renormalised): a half-turn, whose quaternion has either sign.
        expected = expected / np.linalg.norm(expected)
        expected = expected if np.allclose(again[0], expected, atol=1e-9) else -expected
    assert np.allclose(again[0], expected, atol=1e-9)


def test_to_on_one_grid_with_another_index_order_is_the_exact_permutation(tmp_path):
    rng = np.random.default_rng(2)
    affine = from_matvec(_rotation(rng) @ np.diag([0.9, 1.1, 2.5]), [10.0, -20.0, 30.0])
    image = nibabel.Nifti1Image(np.zeros((5, 6, 7), dtype=np.int16), affine)
    image.set_sform(affine, 1)
    # The same voxels stored in another order: j first, then k reversed, then i.
    transform = np.array([[1, 1], [2, -1], [0, 1]])
    other = image.as_reoriented(transform)
    pathA, pathB = str(tmp_path / "a.nii"), str(tmp_path / "b.nii")
    nibabel.save(image, pathA)
    nibabel.save(other, pathB)
    expected = np.linalg.inv(orientations.inv_ornt_aff(transform, image.shape))  # nibabel: new index -> old
    worldA = conventions.bestAffine(readVolumeHeader(pathA))[0]
    worldB = conventions.bestAffine(readVolumeHeader(pathB))[0]
    mapping = conventions.voxelMapping(worldA, worldB)
    assert mapping.kind == "permutation/flip"
    assert np.array_equal(mapping.matrix, expected)
    back = conventions.voxelMapping(worldB, worldA)
    assert np.array_equal(back.matrix @ mapping.matrix, np.eye(4))


def test_to_classifies_shift_and_interpolation():
    a = np.diag([2.0, 2.0, 2.0, 1.0])
    assert conventions.voxelMapping(a, a).kind == "identity"
    shifted = a.copy()
    shifted[:3, 3] = [-4.0, 2.0, 0.0]
    assert conventions.voxelMapping(a, shifted).kind == "integer shift"
    half = a.copy()
    half[:3, 3] = [1.0, 0.0, 0.0]
    assert conventions.voxelMapping(a, half).kind == "interpolation"
    assert conventions.voxelMapping(a, np.diag([1.0, 2.0, 2.0, 1.0])).kind == "interpolation"


def test_flirt_matrix_between_two_images_equals_fslpy(tmp_path):
    pathA = _niftiFile(str(tmp_path), "oblique-right", 21)
    pathB = _niftiFile(str(tmp_path), "oblique-left", 22)
    headerA, headerB = readVolumeHeader(pathA), readVolumeHeader(pathB)
    worldA, worldB = conventions.bestAffine(headerA)[0], conventions.bestAffine(headerB)[0]
    ours = conventions.transformBetween(
        conventions.conventions(headerA)["fsl"], worldA, conventions.conventions(headerB)["fsl"], worldB
    )
    voxels = np.linalg.inv(nibabel.load(pathB).affine) @ nibabel.load(pathA).affine
    theirs = fslFlirt.toFlirt(voxels, FSLImage(pathA), FSLImage(pathB), from_="voxel", to="voxel")
    _record("fsl", "fslpy flirt.toFlirt", ours, theirs)


def test_a_flirt_registration_reexpressed_in_world_equals_fslpy_fromFlirt(tmp_path, capsys):
    import json

    pathA = _niftiFile(str(tmp_path), "oblique-left", 41)
    pathB = _niftiFile(str(tmp_path), "permuted", 42)
    rng = np.random.default_rng(43)
    flirtMatrix = from_matvec(_rotation(rng) @ np.diag(rng.uniform(0.8, 1.2, 3)), rng.uniform(-10, 10, 3))
    registration = str(tmp_path / "reg.mat")
    fslFlirt.writeFlirt(flirtMatrix, registration)  # FSL's own writer, not ours
    arguments = ["affine", pathA, "--to", pathB, "--transform", registration, "--transform-convention", "fsl"]
    assert main([*arguments, "--convention", "nifti-sform", "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)["to"]["transform"]
    theirs = fslFlirt.fromFlirt(flirtMatrix, FSLImage(pathA), FSLImage(pathB), from_="world", to="world")
    _record("fsl", "fslpy flirt.fromFlirt (world to world)", ours, theirs)
    # Into AIMS and back into FSL: the same FLIRT matrix.
    entriesA = conventions.conventions(readVolumeHeader(pathA))
    entriesB = conventions.conventions(readVolumeHeader(pathB))
    aims = conventions.reexpress(flirtMatrix, entriesA["fsl"], entriesB["fsl"], entriesA["aims"], entriesB["aims"])
    back = conventions.reexpress(aims, entriesA["aims"], entriesB["aims"], entriesA["fsl"], entriesB["fsl"])
    assert np.abs(back - flirtMatrix).max() <= 1e-9


def test_transform_files_of_other_writers_are_recognised(tmp_path):
    matrix = _someAffine()
    transform = sitk.AffineTransform(3)
    transform.SetMatrix(matrix[:3, :3].ravel().tolist())
    transform.SetTranslation(matrix[:3, 3].tolist())
    sitk.WriteTransform(transform, str(tmp_path / "itk.tfm"))
    found, formatName = transformfiles.readAnyTransform(str(tmp_path / "itk.tfm"))
    assert formatName == "itk" and np.allclose(found, matrix, atol=1e-12)
    nibabel.save(nibabel.Spm99AnalyzeImage(np.zeros((3, 4, 5), dtype=np.int16), matrix), str(tmp_path / "v.img"))
    found, formatName = transformfiles.readAnyTransform(str(tmp_path / "v.mat"))  # nibabel writes MATLAB v4
    assert formatName == "spm-mat"
    assert np.allclose(found, scipy.io.loadmat(str(tmp_path / "v.mat"))["mat"], atol=0)
    fslFlirt.writeFlirt(matrix, str(tmp_path / "flirt.mat"))
    found, formatName = transformfiles.readAnyTransform(str(tmp_path / "flirt.mat"))
    assert formatName == "flirt" and np.allclose(found, matrix, atol=1e-6)


# --------------------------------------------------------------------------- transform files


def _someAffine() -> np.ndarray:
    rng = np.random.default_rng(9)
    return from_matvec(_rotation(rng) @ np.diag([1.1, 0.7, 2.3]), [12.5, -3.25, 100.125])


def test_trm_is_translation_then_rows_and_reads_back(tmp_path):
    matrix = _someAffine()
    path = str(tmp_path / "a.trm")
    transformfiles.writeTransform("trm", path, matrix)
    rows = [[float(value) for value in line.split()] for line in open(path)]
    assert len(rows) == 4 and all(len(row) == 3 for row in rows)
    assert np.array_equal(rows[0], matrix[:3, 3]) and np.array_equal(rows[1:], matrix[:3, :3])
    assert np.array_equal(transformfiles.readTransform("trm", path), matrix)


def test_spm_mat_reads_back_with_scipy_and_as_nibabel_sidecar(tmp_path):
    matrix = _someAffine()
    path = str(tmp_path / "a.mat")
    transformfiles.writeTransform("spm-mat", path, matrix)
    assert np.array_equal(scipy.io.loadmat(path)["mat"], matrix)
    # As an Analyze image's sidecar, nibabel's SPM99 reader turns 'mat' (1-based) back into the 0-based affine.
    nibabel.save(nibabel.AnalyzeImage(np.zeros((3, 4, 5), dtype=np.int16), np.eye(4)), str(tmp_path / "a.img"))
    loaded = nibabel.Spm99AnalyzeImage.load(str(tmp_path / "a.img"))
    assert np.allclose(loaded.affine, matrix @ conventions.translation([1.0, 1.0, 1.0]), atol=1e-12)


def test_flirt_file_reads_back_with_fslpy(tmp_path):
    matrix = _someAffine()
    path = str(tmp_path / "a_flirt.mat")
    transformfiles.writeTransform("flirt", path, matrix)
    assert np.array_equal(fslFlirt.readFlirt(path), matrix)


@pytest.mark.parametrize("name", ["a.tfm", "a.h5"])
def test_itk_transform_reads_back_with_simpleitk(tmp_path, name):
    matrix = _someAffine()
    path = str(tmp_path / name)
    transformfiles.writeTransform("itk", path, matrix)
    transform = sitk.AffineTransform(sitk.ReadTransform(path) if name.endswith("tfm") else _first(path))
    point = (3.0, -7.0, 11.0)
    assert np.allclose(transform.TransformPoint(point), conventions.mapPoint(matrix, point), atol=1e-12)


def _first(path: str) -> sitk.Transform:
    transform = sitk.ReadTransform(path)
    return (
        sitk.CompositeTransform(transform).GetNthTransform(0)
        if transform.GetName() == "CompositeTransform"
        else transform
    )


def test_an_existing_file_is_never_replaced_and_no_temporary_is_left(tmp_path):
    path = tmp_path / "exists.trm"
    path.write_text("mine\n")
    with pytest.raises(GeometryError, match="refusing to replace"):
        transformfiles.writeTransform("trm", str(path), np.eye(4))
    assert path.read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path)) == ["exists.trm"]
    with pytest.raises(GeometryError, match="not a finite affine"):
        transformfiles.writeTransform("flirt", str(tmp_path / "bad.mat"), np.ones((4, 4)))
    assert sorted(os.listdir(tmp_path)) == ["exists.trm"]


# --------------------------------------------------------------------------- the command


def test_affine_command_json(tmp_path, capsys):
    import json

    path = _niftiFile(str(tmp_path), "oblique-left", 4)
    assert main(["affine", path, "--json", "--point", "1", "2", "3", "--inverse"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["conventions"]) == sorted(conventions.CONVENTION_NAMES)
    fsl = report["conventions"]["fsl"]
    assert {"matrix", "from", "to", "axisCodes", "handedness", "inverse"} <= set(fsl)
    expected = FSLImage(path).getAffine("voxel", "fsl") @ [1, 2, 3, 1]
    assert np.allclose(report["points"]["fsl"], expected[:3], atol=TOLERANCE_MM)
    spm = np.asarray(report["conventions"]["spm"]["matrix"]) @ [2, 3, 4, 1]  # SPM counts from 1
    assert np.allclose(report["points"]["spm"], spm[:3], atol=1e-9)


def test_affine_command_to_writes_trm_flirt_and_tfm(tmp_path, capsys):
    pathA = _niftiFile(str(tmp_path), "oblique-right", 31)
    pathB = _niftiFile(str(tmp_path), "axial-las", 32)
    trm, flirtPath = str(tmp_path / "a_to_b.trm"), str(tmp_path / "a_to_b.mat")
    assert main(["affine", pathA, "--to", pathB, "--convention", "aims", "--trm", trm]) == 0
    assert main(["affine", pathA, "--to", pathB, "--convention", "fsl", "--flirt", flirtPath]) == 0
    out = capsys.readouterr().out
    assert "interpolation" in out and "Wrote" in out
    voxels = np.linalg.inv(nibabel.load(pathB).affine) @ nibabel.load(pathA).affine
    theirs = fslFlirt.toFlirt(voxels, FSLImage(pathA), FSLImage(pathB), from_="voxel", to="voxel")
    _record("fsl", "fslpy flirt.toFlirt (written file)", fslFlirt.readFlirt(flirtPath), theirs)
    aimsA = _aimsOracle(nibabel.load(pathA).affine, nibabel.load(pathA).shape, nibabel.load(pathA).header.get_zooms())
    aimsB = _aimsOracle(nibabel.load(pathB).affine, nibabel.load(pathB).shape, nibabel.load(pathB).header.get_zooms())
    _record(
        "aims",
        "AIMS A -> B from the oracle",
        transformfiles.readTransform("trm", trm),
        aimsB @ voxels @ np.linalg.inv(aimsA),
    )


def test_affine_command_refusals(tmp_path, capsys):
    path = _niftiFile(str(tmp_path), "axial-ras", 1)
    assert main(["affine", path, "--trm", str(tmp_path / "x.trm")]) == 2  # which matrix? all conventions
    assert main(["affine", path, "--transform", path, "--convention", "fsl"]) == 2  # no --to, no convention of it
    assert main(["affine", str(tmp_path / "missing.nii"), "--convention", "spm"]) == 1
    existing = tmp_path / "kept.tfm"
    existing.write_text("x")
    assert main(["affine", path, "--convention", "itk", "--tfm", str(existing)]) == 1
    assert existing.read_text() == "x"
    assert "refusing to replace" in capsys.readouterr().err


def test_affine_command_on_a_dicom_folder(dicomRoot, capsys):
    assert main(["affine", case("dicom2nifti/hitachi_oblique/001"), "--convention", "slicer"]) == 0
    assert "slicer: file voxel" in capsys.readouterr().out


def test_doctest_examples_run():
    for module in (conventions, transformfiles):
        failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failures == 0, module.__name__
