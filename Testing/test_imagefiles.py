"""The one image-file reader (``dicom/imagefiles.py``): every format both commands read, each file opened once.

Oracles (test dependencies only): nibabel (NIfTI and MGH matrices, ``get_vox2ras_tkr``), SimpleITK (the
geometry ITK gives a NRRD, which the ``affine`` command gave before pynrrd read NRRD for it too).
"""

from __future__ import annotations

import json
import os

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from nibabel.affines import from_matvec

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom.imagefiles import READ_EXTENSIONS, readImageFile, readVolumeHeader
from AffineInspectorLib.geometry import affines, conventions
from AffineInspectorLib.geometry.errors import GeometryError
from conftest import case

TOLERANCE_MM = 1e-4
AFFINE = from_matvec(np.array([[0.9, 0.1, 0.0], [0.0, 1.1, 0.2], [0.1, 0.0, 2.5]]), [10.0, -20.0, 30.0])
"""A sheared, oblique voxel -> RAS matrix (file order)."""


def _data(shape=(4, 5, 6)) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape)


def _write(folder: str, name: str) -> str:
    """The same voxels and voxel -> RAS matrix (AFFINE) in the format ``name`` names."""
    import nrrd

    path = os.path.join(folder, name)
    data = _data()
    if name.endswith((".nii", ".nii.gz", ".hdr", ".img")):
        kind = nibabel.Nifti2Image if "nii2" in name else nibabel.Nifti1Image
        image = (nibabel.Nifti1Pair if name.endswith((".hdr", ".img")) else kind)(data, AFFINE)
        image.set_qform(AFFINE, 1, strip_shears=True)  # ITK needs it beside a sheared sform
        nibabel.save(image, path)
    elif name.endswith((".mgh", ".mgz")):
        nibabel.save(nibabel.MGHImage(data.astype(np.float32), AFFINE), path)
    elif name.endswith((".nrrd", ".nhdr")):
        header = {
            "space": "right-anterior-superior",
            "space directions": AFFINE[:3, :3].T,
            "space origin": AFFINE[:3, 3],
        }
        nrrd.write(path, data, header, detached_header=name.endswith(".nhdr"))
    else:  # MetaImage: ITK's LPS, orthonormal directions only
        image = sitk.GetImageFromArray(np.transpose(data))  # SimpleITK arrays are [z, y, x]
        lps = affines.rasToLPS(_orthogonal(AFFINE))
        spacing = np.linalg.norm(lps[:3, :3], axis=0)
        image.SetSpacing(spacing.tolist())
        image.SetDirection((lps[:3, :3] / spacing).ravel().tolist())
        image.SetOrigin(lps[:3, 3].tolist())
        sitk.WriteImage(image, path)
    return path


def _orthogonal(matrix: np.ndarray) -> np.ndarray:
    """The matrix with its 3x3 replaced by the nearest rotation times its column lengths (ITK keeps no shear)."""
    u, _, vt = np.linalg.svd(matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0))
    result = matrix.copy()
    result[:3, :3] = u @ vt * np.linalg.norm(matrix[:3, :3], axis=0)
    return result


FILES = ["a.nii", "a.nii.gz", "a.nii2.nii", "pair.hdr", "pair.img", "a.mgh", "a.mgz", "a.nrrd", "a.nhdr", "a.mha"]
FILES += ["a.mhd"]


def test_every_extension_read_is_written_by_this_test():
    covered = {extension for extension in READ_EXTENSIONS if any(name.endswith(extension) for name in FILES)}
    assert set(READ_EXTENSIONS) - covered == {".hdr.gz", ".img.gz"}


@pytest.mark.parametrize("name", FILES)
def test_one_read_gives_both_commands_the_same_geometry(tmp_path, name):
    """``align``'s matrix (HeaderAffines.fileToRAS) is the ``affine`` command's best matrix, and the voxels load."""
    path = _write(str(tmp_path), name)
    image = readImageFile(path)
    header = readVolumeHeader(path)
    assert image.notAlignable == []
    assert image.shape == header.shape == (4, 5, 6)
    best, _ = conventions.bestAffine(header)
    assert np.abs(best - image.header.fileToRAS).max() <= TOLERANCE_MM
    expected = _orthogonal(AFFINE) if name.endswith((".mha", ".mhd")) else AFFINE
    assert np.abs(image.header.fileToRAS - expected).max() <= TOLERANCE_MM
    assert np.array_equal(image.data(), _data())
    namespace: dict = {}
    exec("\n".join(image.loadLines), namespace)  # the recipe's first lines, as printed
    assert np.array_equal(np.asarray(namespace["data"]).reshape(image.shape), _data())


@pytest.mark.parametrize("name", ["a.nii.gz", "pair.hdr", "a.nii2.nii"])
def test_nifti_fields_are_raw_and_nibabel_stays_an_oracle(tmp_path, name):
    path = _write(str(tmp_path), name)
    loaded = nibabel.load(path)
    entries = conventions.conventions(readVolumeHeader(path))
    assert np.abs(entries["nifti-sform"].matrix - loaded.header.get_sform()).max() <= TOLERANCE_MM
    assert np.abs(entries["nifti-qform"].matrix - loaded.header.get_qform()).max() <= TOLERANCE_MM
    assert readVolumeHeader(path).kind == ("NIfTI-2" if "nii2" in name else "NIfTI-1")


@pytest.mark.parametrize("name", ["a.mgh", "a.mgz"])
def test_mgh_vox2ras_from_its_fields_equals_nibabel(tmp_path, name):
    """FreeSurfer's formula on Mdc, delta, Pxyz_c (ours) against nibabel's ``get_affine`` and ``get_vox2ras_tkr``."""
    path = _write(str(tmp_path), name)
    loaded = nibabel.load(path)
    header = readVolumeHeader(path)
    assert header.kind == "MGH"
    entries = conventions.conventions(header)
    assert np.abs(conventions.bestAffine(header)[0] - loaded.header.get_affine()).max() <= TOLERANCE_MM
    assert np.abs(entries["freesurfer-tkr"].matrix - loaded.header.get_vox2ras_tkr()).max() <= TOLERANCE_MM
    assert np.abs(readImageFile(path).header.fileToRAS - loaded.affine).max() <= TOLERANCE_MM


NRRD_HEADERS = {
    "lps": {"space": "left-posterior-superior", "space directions": AFFINE[:3, :3].T, "space origin": AFFINE[:3, 3]},
    "ras": {"space": "right-anterior-superior", "space directions": AFFINE[:3, :3].T, "space origin": AFFINE[:3, 3]},
    "las": {"space": "left-anterior-superior", "space directions": AFFINE[:3, :3].T, "space origin": AFFINE[:3, 3]},
    "no-origin": {"space": "left-posterior-superior", "space directions": AFFINE[:3, :3].T},
    "scanner-xyz": {"space": "scanner-xyz", "space directions": AFFINE[:3, :3].T, "space origin": AFFINE[:3, 3]},
    "3D-right-handed": {"space": "3D-right-handed", "space directions": AFFINE[:3, :3].T},
    "space-dimension-only": {"space dimension": 3, "space directions": AFFINE[:3, :3].T},
    "spacings": {"spacings": [1.5, 2.0, 3.0]},
    "spacings-nan": {"spacings": [1.5, np.nan, 3.0]},
    "axis-mins-cell": {"spacings": [1.5, 2.0, 3.0], "axis mins": [5.0, 6.0, 7.0]},
    "axis-mins-node": {"spacings": [1.5, 2.0, 3.0], "axis mins": [5.0, 6.0, 7.0], "centers": ["node"] * 3},
    "nothing": {},
    "vector": {
        "space": "left-posterior-superior",
        "kinds": ["vector", "domain", "domain", "domain"],
        "space directions": [[np.nan] * 3, *AFFINE[:3, :3].T],
        "space origin": AFFINE[:3, 3],
    },
    "vector-spacings": {"kinds": ["vector", "domain", "domain", "domain"], "spacings": [np.nan, 1.5, 2.0, 3.0]},
}


@pytest.mark.parametrize("name", NRRD_HEADERS)
def test_nrrd_geometry_equals_itks(tmp_path, name):
    """pynrrd's fields give the matrix SimpleITK gives the same file (what ``affine`` printed before)."""
    import nrrd

    path = str(tmp_path / f"{name}.nrrd")
    data = _data((3, 4, 5, 6)) if name.startswith("vector") else _data()
    nrrd.write(path, data, NRRD_HEADERS[name])
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    itk = np.eye(4)
    itk[:3, :3] = np.asarray(reader.GetDirection()).reshape(3, 3) * np.asarray(reader.GetSpacing())
    itk[:3, 3] = reader.GetOrigin()
    header = readVolumeHeader(path)
    assert header.shape == tuple(reader.GetSize())
    assert np.abs(header.IJKToLPS - itk).max() <= 1e-9
    assert np.abs(conventions.conventions(header)["itk"].matrix - itk).max() <= TOLERANCE_MM


ALIGN_REFUSES = {
    "4D NIfTI": ("4d.nii.gz", "split the volumes first"),
    "vector NRRD": ("vector.nrrd", "non-spatial axes"),
    "NRRD without a space": ("spacings.nrrd", "no patient space"),
    "vector MetaImage": ("vector.mha", "3 components per voxel"),
}


def _refused(folder: str, name: str) -> str:
    import nrrd

    path = os.path.join(folder, name)
    if name == "4d.nii.gz":
        nibabel.save(nibabel.Nifti1Image(_data((4, 5, 6, 2)), AFFINE), path)
    elif name == "vector.nrrd":
        nrrd.write(path, _data((3, 4, 5, 6)), NRRD_HEADERS["vector"])
    elif name == "spacings.nrrd":
        nrrd.write(path, _data(), NRRD_HEADERS["spacings"])
    else:
        sitk.WriteImage(sitk.GetImageFromArray(_data((6, 5, 4, 3)), isVector=True), path)
    return path


@pytest.mark.parametrize("case_", ALIGN_REFUSES)
def test_align_refuses_what_affine_reads_with_the_same_reason(tmp_path, case_):
    name, reason = ALIGN_REFUSES[case_]
    path = _refused(str(tmp_path), name)
    lenient = readImageFile(path, headerOnly=True)
    assert lenient.volumeHeader.shape == (4, 5, 6) and reason in lenient.notAlignable[0]
    with pytest.raises(GeometryError) as raised:
        readImageFile(path)
    assert str(raised.value) == lenient.notAlignable[0] and str(raised.value).startswith(path + ": ")
    assert readVolumeHeader(path).shape == (4, 5, 6)


@pytest.mark.parametrize("name", ["bad.nii", "bad.hdr", "bad.mgz", "bad.nrrd", "bad.mha", "bad.vtk"])
def test_errors_are_one_line_with_the_path(tmp_path, name):
    path = str(tmp_path / name)
    with open(path, "wb") as stream:
        stream.write(b"not an image\n" * 40)
    for read in (readImageFile, readVolumeHeader):
        with pytest.raises(GeometryError) as raised:
            read(path)
        message = str(raised.value)
        assert message.startswith(path + ": ") and "\n" not in message, message


def test_other_simpleitk_formats_are_read_for_affine_only(tmp_path):
    path = str(tmp_path / "a.vtk")
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((6, 5, 4), np.uint8)), path)
    header = readVolumeHeader(path)
    assert header.kind == "image (SimpleITK)" and header.shape == (4, 5, 6)
    assert readImageFile(path, headerOnly=True).format == "image"
    with pytest.raises(GeometryError, match="not an image file this command reads"):
        readImageFile(path)


def test_freesurfer_vox2ras_names_a_wrong_argument():
    with pytest.raises(ValueError, match='"directions"'):
        conventions.freesurferVox2RAS(np.eye(2), [1, 1, 1], [0, 0, 0], [2, 2, 2])
    with pytest.raises(ValueError, match='"centre"'):
        conventions.freesurferVox2RAS(np.eye(3), [1, 1, 1], [0, 0], [2, 2, 2])


def test_affine_command_reads_an_mgz(tmp_path, capsys):
    path = _write(str(tmp_path), "a.mgz")
    assert main(["affine", path, "--json", "--convention", "freesurfer-tkr"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "MGH" and report["shape"] == [4, 5, 6]


def test_align_reads_a_nifti_pair_as_its_nii(tmp_path, capsys, dicomRoot):
    """The HITACHI ground truth as .nii.gz and as a .hdr/.img pair: the same alignment."""
    folder = case("dicom2nifti/hitachi_oblique/001")
    truth = case("dicom2nifti/hitachi_oblique/001_ground_truth.nii.gz")
    source = nibabel.load(truth)
    pair = str(tmp_path / "truth.hdr")
    nibabel.save(nibabel.Nifti1Pair(np.asanyarray(source.dataobj), source.affine, source.header), pair)
    results = []
    for path in (truth, pair):
        assert main(["align", path, folder, "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[1]["image"]["format"] == "nifti"
    assert results[0]["relation"] == results[1]["relation"]
    assert results[0]["axisMap"] == results[1]["axisMap"]
    assert np.allclose(results[0]["image"]["fileToRAS"], results[1]["image"]["fileToRAS"], atol=TOLERANCE_MM)
