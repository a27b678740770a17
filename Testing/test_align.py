"""``align`` on masks built the way users build them, from the shared real series (regular oblique Hitachi MR and
the 18.5 deg tilted, irregularly spaced GE CT).

The truth is made here, independently of the library: every DICOM voxel centre is computed with pydicom from
each file's own IPP/IOP/PixelSpacing, the files sorted by IPP . (IOP[0:3] x IOP[3:6]) (Slicer's rule), and a
two-label mask is drawn in patient space on those centres: ``truth`` is [k, j, i] in that order. Each user
story then writes a file from ``truth`` the way that pipeline does (dcm2niix run on a DICOM copy whose pixels
are the mask, notebook affines, numpy orders, header copies), and the test checks what ``align`` says, that
its printed numpy recipe, executed, gives ``truth`` exactly, and the Dice of ``--output`` against ``truth``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess

import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.geometry import serialize
from conftest import case, dcm2niixExecutable, treeDigest

HITACHI = "dicom2nifti/hitachi_oblique/001"
GE = "dcm_qa_ct_GE"
CASES = (HITACHI, GE)


# --------------------------------------------------------------------------- the independent truth


def dicomFiles(folder):
    """(file, dataset) sorted as Slicer sorts: by IPP . (row x column direction), ascending."""
    datasets = [
        (os.path.join(folder, name), pydicom.dcmread(os.path.join(folder, name))) for name in os.listdir(folder)
    ]
    normal = np.cross(*np.reshape(np.asarray(datasets[0][1].ImageOrientationPatient, float), (2, 3)))
    return sorted(datasets, key=lambda item: float(np.dot(np.asarray(item[1].ImagePositionPatient, float), normal)))


def voxelCentresLPS(dataset):
    """(rows, columns, 3) LPS centres of one file's pixels, from its own header (DICOM PS3.3 C.7.6.2.1.1)."""
    iop = np.asarray(dataset.ImageOrientationPatient, float)
    rowSpacing, columnSpacing = (float(value) for value in dataset.PixelSpacing)
    j, i = np.mgrid[0 : dataset.Rows, 0 : dataset.Columns]
    return (
        np.asarray(dataset.ImagePositionPatient, float)
        + i[..., None] * iop[:3] * columnSpacing
        + j[..., None] * iop[3:] * rowSpacing
    )


def drawTruth(files):
    """Two labels in patient space on the DICOM voxel centres: [k, j, i] uint8."""
    centres = np.stack([voxelCentresLPS(dataset) for _, dataset in files])
    iop = np.asarray(files[0][1].ImageOrientationPatient, float)
    x, y = iop[:3], iop[3:]
    normal = np.cross(x, y)
    middle = (centres.reshape(-1, 3).min(axis=0) + centres.reshape(-1, 3).max(axis=0)) / 2
    extent = centres.reshape(-1, 3).max(axis=0) - centres.reshape(-1, 3).min(axis=0)
    span = abs(float(np.dot(centres[-1, 0, 0] - centres[0, 0, 0], normal)))
    fov = min(float(np.linalg.norm(centres[0, 0, -1] - centres[0, 0, 0])), float(np.linalg.norm(extent[:2])))
    offset = centres - middle
    u, v, w = offset @ x, offset @ y, offset @ normal
    depth = max(0.45 * span, 3.0)
    labels = np.zeros(centres.shape[:3], dtype=np.uint8)
    labels[(u / (0.3 * fov)) ** 2 + (v / (0.22 * fov)) ** 2 + (w / depth) ** 2 <= 1] = 1
    labels[((u - 0.22 * fov) / (0.1 * fov)) ** 2 + ((v + 0.12 * fov) / (0.1 * fov)) ** 2 + (w / depth) ** 2 <= 1] = 2
    assert labels[0].any() or labels[-1].any() or labels.any()
    return labels


@pytest.fixture(scope="module", params=CASES)
def series(request, tmp_path_factory, dicomRoot):
    """One shared series: its sorted files, the truth mask, a DICOM copy whose pixels are the mask, and dcm2niix's
    conversions of that copy (folder ``dcm2niix``) and of the original (``original``)."""
    folder = case(request.param)
    files = dicomFiles(folder)
    truth = drawTruth(files)
    work = tmp_path_factory.mktemp(request.param.replace("/", "_"))
    maskFolder = work / "maskdicom"
    maskFolder.mkdir()
    for k, (path, dataset) in enumerate(files):
        dataset = pydicom.dcmread(path)
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.RescaleIntercept, dataset.RescaleSlope = "0", "1"
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 1
        dataset.PixelData = truth[k].astype(np.int16).tobytes()
        dataset.save_as(str(maskFolder / os.path.basename(path)), enforce_file_format=True)
    converted = {}
    for name, source in (("dcm2niix", maskFolder), ("original", folder)):
        out = work / name
        out.mkdir()
        subprocess.run(
            [dcm2niixExecutable(), "-z", "n", "-f", "out", "-o", str(out), str(source)],
            check=True,
            capture_output=True,
        )
        converted[name] = sorted(str(out / file) for file in os.listdir(out) if file.endswith(".nii"))
    return dict(name=request.param, folder=folder, files=files, truth=truth, work=work, converted=converted)


def regularGrid(files):
    """What a notebook builds: IJK (i column, j row, k in the given file order) -> LPS, origin the first file,
    step (last - first) / (N - 1)."""
    iop = np.asarray(files[0][1].ImageOrientationPatient, float)
    rowSpacing, columnSpacing = (float(value) for value in files[0][1].PixelSpacing)
    first = np.asarray(files[0][1].ImagePositionPatient, float)
    last = np.asarray(files[-1][1].ImagePositionPatient, float)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1] = iop[:3] * columnSpacing, iop[3:] * rowSpacing
    matrix[:3, 2] = (last - first) / (len(files) - 1)
    matrix[:3, 3] = first
    return matrix


LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def saveNIfTI(path, array, affine, header=None):
    image = nibabel.Nifti1Image(array, affine, header=header)
    image.set_data_dtype(np.uint8)
    nibabel.save(image, str(path))
    return str(path)


def runAlign(capsys, *arguments):
    status = main(["align", *map(str, arguments), "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)


def recipeResult(recipe):
    """Execute the printed recipe exactly as printed, in a fresh namespace."""
    namespace = {}
    exec(compile(recipe, "<recipe>", "exec"), namespace)
    return namespace["dicom_order"]


def axisMapOracle(data, truth):
    """The (file axis, DICOM axis, reversed) triples under which the file array equals truth: found by trying
    every transpose and flip (independent of the library)."""
    found = []
    for permutation in itertools.permutations(range(3)):
        view = np.transpose(data, permutation)  # view axes = file axes permutation[0..2] as (k, j, i)
        if view.shape != truth.shape:
            continue
        for flips in itertools.product((False, True), repeat=3):
            candidate = view[tuple(slice(None, None, -1) if flip else slice(None) for flip in flips)]
            if np.array_equal(candidate, truth):
                entries = [{"imageAxis": permutation[n], "dicomAxis": "kji"[n], "reversed": flips[n]} for n in range(3)]
                found.append(sorted(entries, key=lambda entry: entry["imageAxis"]))
    return found


def dice(a, b):
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def mistakeKinds(result):
    return {mistake["kind"] for mistake in result["mistakes"]}


def checkExactCopy(capsys, series, path, result, tmp_path):
    """The recipe and --output both give truth exactly (Dice 1.0)."""
    assert result["numpy"] is not None
    assert np.array_equal(recipeResult(result["numpy"]), series["truth"])
    out = tmp_path / "aligned.npy"
    written = runAlign(capsys, path, series["folder"], "--output", out)
    assert written["output"]["method"] == "copied"
    assert np.array_equal(np.load(out), series["truth"])
    return dice(np.load(out), series["truth"])


# --------------------------------------------------------------------------- the stories


def test_dcm2niix_output_is_reindexed_or_same_slices(capsys, series, tmp_path):
    """dcm2niix (qfac -1, rows flipped). Regular MR: same voxels, axes differ; tilted irregular CT: same slices."""
    plain = next(path for path in series["converted"]["dcm2niix"] if "Tilt" not in path and "Eq" not in path)
    data = np.asanyarray(nibabel.load(plain).dataobj)
    assert nibabel.load(plain).header["pixdim"][0] == -1  # the qfac -1 story
    result = runAlign(capsys, plain, series["folder"])
    assert result["axisMap"] == axisMapOracle(data, series["truth"])[0]
    if series["name"] == HITACHI:
        assert result["relation"] == "same-grid-reindexed"
        assert result["verdict"].startswith("same voxels, axes differ")
        assert mistakeKinds(result) == set()
    else:
        assert result["relation"] == "same-slices"
        assert "header-approximates-stack" in mistakeKinds(result)
        assert result["maxSlicePositionDeviationMm"] > 10
    assert checkExactCopy(capsys, series, plain, result, tmp_path) == 1.0


def test_totalsegmentator_style_header_copy(capsys, series, tmp_path):
    """A segmentation saved with the header of dcm2niix's CT NIfTI (as TotalSegmentator does)."""
    plain = next(path for path in series["converted"]["dcm2niix"] if "Tilt" not in path and "Eq" not in path)
    original = nibabel.load(next(p for p in series["converted"]["original"] if "Tilt" not in p and "Eq" not in p))
    mask = np.asanyarray(nibabel.load(plain).dataobj).astype(np.uint8)
    path = saveNIfTI(tmp_path / "seg.nii.gz", mask, original.affine, original.header)
    result = runAlign(capsys, path, series["folder"])
    assert result["relation"] == ("same-grid-reindexed" if series["name"] == HITACHI else "same-slices")
    assert result["axisMap"] == axisMapOracle(mask, series["truth"])[0]
    assert checkExactCopy(capsys, series, path, result, tmp_path) == 1.0


def test_notebook_lps_affine_stored_as_ras(capsys, series, tmp_path):
    files, truth = series["files"], series["truth"]
    path = saveNIfTI(tmp_path / "lps.nii.gz", np.transpose(truth, (2, 1, 0)), regularGrid(files))
    result = runAlign(capsys, path, series["folder"])
    assert "lps-as-ras" in mistakeKinds(result)
    assert result["relation"] in ("disjoint", "different-grid")
    expected = "same-grid" if series["name"] == HITACHI else "same-slices"
    assert result["correctedRelation"] == expected and result["correctedBy"] == "lps-as-ras"
    assert result["axisMap"] == [{"imageAxis": n, "dicomAxis": "ijk"[n], "reversed": False} for n in range(3)]
    assert checkExactCopy(capsys, series, path, result, tmp_path) == 1.0


def test_numpy_kji_array_saved_as_is(capsys, series, tmp_path):
    files, truth = series["files"], series["truth"]
    path = saveNIfTI(tmp_path / "kji.nii.gz", truth, LPS_TO_RAS @ regularGrid(files))
    result = runAlign(capsys, path, series["folder"])
    assert "kji-array-order" in mistakeKinds(result)
    assert result["relation"] in ("disjoint", "different-grid")
    assert result["axisMap"] == [
        {"imageAxis": 0, "dicomAxis": "k", "reversed": False},
        {"imageAxis": 1, "dicomAxis": "j", "reversed": False},
        {"imageAxis": 2, "dicomAxis": "i", "reversed": False},
    ]
    assert checkExactCopy(capsys, series, path, result, tmp_path) == 1.0


def test_slices_stacked_top_first_with_an_ascending_step(capsys, series, tmp_path):
    """Reversed where the header shows it: origin at the top slice, step pointing up."""
    files, truth = series["files"], series["truth"]
    matrix = regularGrid(files)
    matrix[:3, 3] = np.asarray(files[-1][1].ImagePositionPatient, float)  # the first stacked slice: the top one
    path = saveNIfTI(tmp_path / "reversed.nii.gz", np.transpose(truth[::-1], (2, 1, 0)), LPS_TO_RAS @ matrix)
    result = runAlign(capsys, path, series["folder"])
    assert "slice-order-reversed" in mistakeKinds(result)
    assert result["axisMap"][2] == {"imageAxis": 2, "dicomAxis": "k", "reversed": True}
    assert result["sliceOrder"] == "reversed"
    assert checkExactCopy(capsys, series, path, result, tmp_path) == 1.0


def test_reversed_in_the_array_only_is_found_by_the_content(capsys, series, tmp_path):
    """The header cannot show it: the intensities, compared with the DICOM pixels, do."""
    files = series["files"]
    pixels = np.stack([dataset.pixel_array for _, dataset in files]).astype(np.int16)
    path = tmp_path / "flipped_ct.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.transpose(pixels[::-1], (2, 1, 0)), LPS_TO_RAS @ regularGrid(files)), path)
    plain = runAlign(capsys, path, series["folder"])
    assert "content-header-disagree" not in mistakeKinds(plain)
    result = runAlign(capsys, path, series["folder"], "--check-content")
    assert "content-header-disagree" in mistakeKinds(result)
    assert result["sliceOrder"] == "reversed"
    assert np.array_equal(recipeResult(result["numpy"]), pixels)


def test_interleaved_series_stacked_by_instance_number(capsys, series, tmp_path):
    """A copy of the series numbered as an interleaved acquisition; a notebook stacks by InstanceNumber and takes
    origin and step from the first two files so stacked."""
    files = series["files"]
    count = len(files)
    acquisition = list(range(0, count, 2)) + list(range(1, count, 2))  # positions in the order they were acquired
    folder = tmp_path / "interleaved"
    folder.mkdir()
    for number, position in enumerate(acquisition, start=1):
        dataset = pydicom.dcmread(files[position][0])
        dataset.InstanceNumber = number
        dataset.save_as(str(folder / f"{number:03d}.dcm"))
    stacked = [files[position] for position in acquisition]  # sorted by InstanceNumber
    matrix = regularGrid(stacked)
    first, second = (np.asarray(item[1].ImagePositionPatient, float) for item in stacked[:2])
    matrix[:3, 2] = second - first
    array = np.stack([series["truth"][position] for position in acquisition])
    path = saveNIfTI(tmp_path / "by_instance.nii.gz", np.transpose(array, (2, 1, 0)), LPS_TO_RAS @ matrix)
    result = runAlign(capsys, path, folder)
    assert "instance-number-order" in mistakeKinds(result)
    assert result["sliceOrder"] == "permuted"
    assert [entry["imageSlice"] for entry in result["sliceMap"]] == [acquisition.index(k) for k in range(count)]
    assert np.array_equal(recipeResult(result["numpy"]), series["truth"])
    out = tmp_path / "fixed.npy"
    runAlign(capsys, path, folder, "--output", out)
    assert dice(np.load(out), series["truth"]) == 1.0


def test_slice_step_from_the_first_two_files(capsys, series, tmp_path):
    files, truth = series["files"], series["truth"]
    matrix = regularGrid(files)
    first, second = (np.asarray(item[1].ImagePositionPatient, float) for item in files[:2])
    matrix[:3, 2] = second - first
    path = saveNIfTI(tmp_path / "first_two.nii.gz", np.transpose(truth, (2, 1, 0)), LPS_TO_RAS @ matrix)
    result = runAlign(capsys, path, series["folder"])
    if series["name"] == HITACHI:  # regular: the first step is the step
        assert result["relation"] == "same-grid" and result["mistakes"] == []
    else:
        assert result["relation"] == "same-slices"
        assert {"slice-step-from-first-two-files", "header-approximates-stack"} <= mistakeKinds(result)
    assert checkExactCopy(capsys, series, path, result, tmp_path) == 1.0


def test_dcm2niix_tilt_corrected_output_is_sampled_at_each_slice(capsys, series, tmp_path):
    corrected = [path for path in series["converted"]["dcm2niix"] if "Tilt" in path or "Eq" in path]
    if series["name"] == HITACHI:
        assert corrected == []  # a regular series gets no _Tilt / _Eq copy
        return
    (path,) = corrected
    result = runAlign(capsys, path, series["folder"])
    assert result["relation"] == "different-grid"
    assert "tilt-corrected-grid" in mistakeKinds(result)
    assert result["axisMap"] is None and result["numpy"] is None
    out = tmp_path / "tilt.npy"
    written = runAlign(capsys, path, series["folder"], "--output", out)
    assert written["output"]["method"] == "sampled"
    score = dice(np.load(out), series["truth"])
    # dcm2niix interpolated the mask once to correct the tilt; sampling it back at each slice's IPP loses little.
    assert score >= 0.9, score
    print(f"Dice of the _Tilt_Eq mask sampled back onto the GE CT: {score:.3f}")


def test_dicom2nifti_reference_output(capsys, dicomRoot):
    """dicom2nifti's own output (shared reference): its intensities equal pydicom's pixels through the recipe."""
    folder = case(HITACHI)
    path = case("dicom2nifti/hitachi_oblique/001_ground_truth.nii.gz")
    result = runAlign(capsys, path, folder)
    pixels = np.stack([dataset.pixel_array for _, dataset in dicomFiles(folder)])
    data = np.asanyarray(nibabel.load(path).dataobj)
    assert result["relation"] == "same-grid-reindexed"
    assert result["axisMap"] == axisMapOracle(data, pixels)[0]
    assert np.array_equal(recipeResult(result["numpy"]), pixels)
    assert result["sliceMap"][0]["file"] == dicomFiles(folder)[0][0]


# --------------------------------------------------------------------------- formats, headers, contract


def test_nrrd_and_metaimage_are_read_through_their_own_headers(capsys, series, tmp_path):
    import nrrd
    import SimpleITK

    files, truth = series["files"], series["truth"]
    matrix = regularGrid(files)  # LPS, i j k
    nrrdPath = tmp_path / "mask.nrrd"
    nrrd.write(
        str(nrrdPath),
        np.transpose(truth, (2, 1, 0)),
        {"space": "left-posterior-superior", "space directions": matrix[:3, :3].T, "space origin": matrix[:3, 3]},
    )
    image = SimpleITK.GetImageFromArray(truth)  # SimpleITK arrays are [z, y, x]
    image.SetOrigin(matrix[:3, 3].tolist())
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    image.SetSpacing(spacing.tolist())
    image.SetDirection((matrix[:3, :3] / spacing).ravel().tolist())
    mhaPath = tmp_path / "mask.mha"
    SimpleITK.WriteImage(image, str(mhaPath))
    expected = "same-grid" if series["name"] == HITACHI else "same-slices"
    for path in (nrrdPath, mhaPath):
        result = runAlign(capsys, path, series["folder"])
        if series["name"] == HITACHI or path == nrrdPath:
            assert result["relation"] == expected, path
            assert np.array_equal(recipeResult(result["numpy"]), truth)
        else:  # ITK keeps only an orthonormal direction: the tilted stack's shear is gone, so it is resampled
            assert result["relation"] in ("same-slices", "different-grid")


def test_sheared_sform_without_qform_is_accepted(capsys, tmp_path, dicomRoot):
    files = dicomFiles(case(GE))
    truth = drawTruth(files)
    image = nibabel.Nifti1Image(np.transpose(truth, (2, 1, 0)), None)
    image.header.set_sform(LPS_TO_RAS @ regularGrid(files), code=1)
    image.header.set_qform(None, code=0)
    path = tmp_path / "sheared.nii.gz"
    nibabel.save(image, path)
    result = runAlign(capsys, path, case(GE))
    assert result["image"]["affineSource"] == "sform" and result["relation"] == "same-slices"


def test_qform_and_sform_that_disagree_are_named(capsys, tmp_path, dicomRoot):
    files = dicomFiles(case(HITACHI))
    truth = drawTruth(files)
    good = LPS_TO_RAS @ regularGrid(files)
    image = nibabel.Nifti1Image(np.transpose(truth, (2, 1, 0)), None)
    shifted = good.copy()
    shifted[:3, 3] += [0, 0, 30]
    image.header.set_sform(shifted, code=2)
    image.header.set_qform(good, code=1)
    path = tmp_path / "two.nii.gz"
    nibabel.save(image, path)
    result = runAlign(capsys, path, case(HITACHI))
    assert "qform-sform-disagree" in mistakeKinds(result)
    assert result["correctedBy"] == "qform-sform-disagree" and result["correctedRelation"] == "same-grid"


def test_all_zero_output_is_refused_and_nothing_is_written(capsys, tmp_path, dicomRoot):
    files = dicomFiles(case(HITACHI))
    far = LPS_TO_RAS @ regularGrid(files)
    far[:3, 3] += 1000.0
    path = saveNIfTI(tmp_path / "far.nii.gz", np.ones((64, 64, 4), np.uint8), far)
    before = treeDigest(case(HITACHI))
    assert main(["align", path, case(HITACHI), "--output", str(tmp_path / "out.nii.gz")]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out.nii.gz")
    assert sorted(os.listdir(tmp_path)) == ["far.nii.gz"]  # no temporary file left either
    result = runAlign(capsys, path, case(HITACHI))
    assert result["relation"] == "disjoint"
    assert main(["align", path, case(HITACHI), "--fail-on", "error"]) == 3
    assert treeDigest(case(HITACHI)) == before


def test_output_never_replaces_a_file(capsys, tmp_path, dicomRoot):
    files = dicomFiles(case(HITACHI))
    path = saveNIfTI(tmp_path / "m.nii.gz", np.transpose(drawTruth(files), (2, 1, 0)), LPS_TO_RAS @ regularGrid(files))
    existing = tmp_path / "exists.nrrd"
    existing.write_text("mine")
    assert main(["align", path, case(HITACHI), "--output", str(existing)]) == 1
    assert existing.read_text() == "mine"
    assert main(["align", path, case(HITACHI), "--output", path]) == 1
    capsys.readouterr()


def test_nifti_and_nrrd_outputs_hold_the_dicom_grid(capsys, tmp_path, dicomRoot):
    """Read back with nibabel and pynrrd: the voxels are truth in (i, j, k), the affine Slicer's IJKToRAS."""
    import nrrd

    files = dicomFiles(case(HITACHI))
    truth = drawTruth(files)
    path = saveNIfTI(tmp_path / "kji.nii.gz", truth, LPS_TO_RAS @ regularGrid(files))
    runAlign(capsys, path, case(HITACHI), "--output", tmp_path / "a.nii.gz", "--map", tmp_path / "map.csv")
    written = nibabel.load(tmp_path / "a.nii.gz")
    assert np.array_equal(np.asanyarray(written.dataobj), np.transpose(truth, (2, 1, 0)))
    assert np.allclose(written.affine, LPS_TO_RAS @ regularGrid(files), atol=1e-4)
    runAlign(capsys, path, case(HITACHI), "--output", tmp_path / "a.nrrd")
    data, header = nrrd.read(str(tmp_path / "a.nrrd"))
    assert np.array_equal(data, np.transpose(truth, (2, 1, 0)))
    lines = (tmp_path / "map.csv").read_text().splitlines()
    assert lines[0] == "k,file,sopInstanceUID,imageSlice" and len(lines) == len(files) + 1
    assert lines[1].split(",")[1] == files[0][0]


def test_several_series_need_series_and_are_listed(capsys, tmp_path, dicomRoot):
    folder = tmp_path / "two"
    shutil.copytree(case(HITACHI), folder / "a")
    shutil.copytree(case("dicom2nifti/ge_anatomical/001"), folder / "b")
    files = dicomFiles(case(HITACHI))
    path = saveNIfTI(tmp_path / "m.nii.gz", np.transpose(drawTruth(files), (2, 1, 0)), LPS_TO_RAS @ regularGrid(files))
    assert main(["align", path, str(folder)]) == 1
    error = capsys.readouterr().err
    uid = str(files[0][1].SeriesInstanceUID)
    assert "--series" in error and uid in error
    result = runAlign(capsys, path, folder, "--series", uid)
    assert result["relation"] == "same-grid"
    single = runAlign(capsys, path, files[2][0])  # one file of the series
    assert single["relation"] == "same-grid"


def test_text_output_starts_with_the_verdict(capsys, tmp_path, dicomRoot):
    files = dicomFiles(case(HITACHI))
    path = saveNIfTI(tmp_path / "m.nii.gz", drawTruth(files), LPS_TO_RAS @ regularGrid(files))
    assert main(["align", path, case(HITACHI)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("needs resampling") or "kji-array-order" in text.splitlines()[0]
    assert "numpy recipe" in text and "Slice map" in text


def test_logic_align_and_aligned_volume_on_slicer_core(tmp_path, dicomRoot):
    """The console API: a DICOM volume node as the reference; the aligned labelmap's array is truth [k, j, i]."""
    import slicer

    from AffineInspectorLib.mrml.host import StandaloneHost
    from AffineInspectorLib.mrml.logic import VolumeGeometryLogic

    host = StandaloneHost(setGlobalScene=False)
    logic = VolumeGeometryLogic(host.scene, host)
    (ct,) = host.loadDICOM([case(GE)])
    files = dicomFiles(case(GE))
    truth = drawTruth(files)
    path = saveNIfTI(tmp_path / "kji.nii.gz", truth, LPS_TO_RAS @ regularGrid(files))
    result = logic.align(path, ct)
    assert "kji-array-order" in mistakeKinds(json.loads(serialize.dumps(result)))
    node = logic.alignedVolume(path, ct)
    assert node.IsA("vtkMRMLLabelMapVolumeNode")
    assert np.array_equal(slicer.util.arrayFromVolume(node), truth)
    assert node.GetImageData().GetDimensions() == ct.GetImageData().GetDimensions()
