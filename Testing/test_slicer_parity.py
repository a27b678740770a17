"""The standalone host loads what Slicer loads: Slicer's own DICOM code is the oracle.

For every series in ``../shared/data/dicom`` and for synthetic edge cases,
Slicer's ``DICOMScalarVolumePlugin`` (``examineForImport``, then
``DICOMUtils.selectHighestConfidenceLoadables``, then
``DICOMUtils.loadSeriesByUID`` with its ``load`` and ``AcquisitionModeling``,
default settings: regularization on) runs from
``shared/thirdparty/slicer-583e9b37`` through ``slicerenv``; the host
(``StandaloneHost.loadDICOM`` with :mod:`AffineInspectorLib.dicom.slicerloadables`)
runs on the same files. Compared: every loadable (name, files in order,
warning, confidence, selected), which series give a volume, each volume's
IJKToRAS (to 1e-6), instance UIDs, and the acquisition transform (present
exactly when Slicer adds one; grid geometry and displacements to 1e-6 mm).
Only the scalar-volume plugin exists here: in Slicer another plugin may win
a series (see ``dicom/slicerloadables.py``).
"""

from __future__ import annotations

import os

import numpy as np
import pydicom
import pytest
import slicer
import slicerenv

from AffineInspectorLib.dicom import synthetic
from AffineInspectorLib.dicom.slicerloadables import examineForImport
from AffineInspectorLib.dicom.walk import findFiles
from AffineInspectorLib.mrml.host import StandaloneHost
from AffineInspectorLib.mrml.nodes import ijkToRAS
from conftest import DICOM, case

SHARED_SERIES = [
    "dcm_qa_ct_GE",
    "dcm_qa_enh/In/Philips",
    "dcm_qa_enh/In/Siemens/XA10",
    "dcm_qa_mosaic/In/ax/axdesc36",
    "dcm_qa_mosaic/In/cor/corint36",
    "dcm_qa_mosaic/In/sag/sagasc35",
    "dicom2nifti/failing/gantrytilting/001",
    "dicom2nifti/failing/notavolume/001",
    "dicom2nifti/failing/slicecount/001",
    "dicom2nifti/failing/sliceincrement/001",
    "dicom2nifti/failing/sliceincrement/002",
    "dicom2nifti/failing/sliceorientation/001",
    "dicom2nifti/ge_anatomical/001",
    "dicom2nifti/ge_single_slice/001_single_slice",
    "dicom2nifti/hitachi_oblique/001",
    "dicom2nifti/philips_enhanced_anatomical/001",
    "dicom2nifti/philips_enhanced_anatomical/001_implicit",
    "dicom2nifti/siemens_multiframe_anatomical/001",
    "tcia_kits_duplicate_positions",
]


def test_every_shared_series_is_listed(dicomRoot):
    """A folder added to the shared data must be added here too: the folders holding DICOM files."""
    folders = set()
    for root, _, names in os.walk(DICOM):
        if any(name.lower().endswith(".dcm") or "." not in name for name in names) and "LICENSES" not in root:
            folders.add(os.path.relpath(root, DICOM))
    covered = {folder for folder in folders if any(folder.startswith(series) for series in SHARED_SERIES)}
    assert folders - covered == set()


def slicerLoads(files):
    """Slicer's code on ``files``: (every loadable of the scalar-volume plugin, the nodes loadSeriesByUID added)."""
    from DICOMLib import DICOMUtils

    database = slicer.dicomDatabase
    database.insertFiles(files)
    seriesUIDs = list(
        dict.fromkeys(database.seriesForFile(path) for path in files if database.fileValue(path, "0008,0018"))
    )
    fileLists = [database.filesForSeries(uid) for uid in seriesUIDs]
    loadablesByPlugin, _ = DICOMUtils.getLoadablesFromFileLists(fileLists, ["DICOMScalarVolumePlugin"])
    DICOMUtils.selectHighestConfidenceLoadables(loadablesByPlugin)
    (loadables,) = loadablesByPlugin.values()
    nodeIDs = DICOMUtils.loadSeriesByUID(seriesUIDs)
    nodes = [slicer.mrmlScene.GetNodeByID(nodeID) for nodeID in nodeIDs]
    return loadables, nodes, fileLists


def ourLoads(folder, fileLists):
    host = StandaloneHost(setGlobalScene=False)
    nodes = host.loadDICOM([folder])
    loadables = examineForImport(host.dicomIndex, fileLists)
    from AffineInspectorLib.dicom.slicerloadables import selectHighestConfidenceLoadables

    selectHighestConfidenceLoadables(host.dicomIndex, loadables)
    return loadables, nodes, host


def describe(loadable):
    return (loadable.name, list(loadable.files), loadable.warning, loadable.confidence, loadable.selected)


def assertSameLoading(folder):
    files, _ = findFiles([folder])
    with slicerenv.slicerEnvironment():
        slicerLoadables, slicerNodes, fileLists = slicerLoads(files)
        ourLoadables, ourNodes, host = ourLoads(folder, fileLists)
        assert [describe(each) for each in ourLoadables] == [describe(each) for each in slicerLoadables]
        slicerVolumes = [node for node in slicerNodes if node.IsA("vtkMRMLVolumeNode")]
        slicerTransforms = [node for node in slicerNodes if node.IsA("vtkMRMLTransformNode")]
        assert len(slicerVolumes) + len(slicerTransforms) == len(slicerNodes)
        assert [node.GetName() for node in ourNodes] == [node.GetName() for node in slicerVolumes]
        for ours, theirs in zip(ourNodes, slicerVolumes):
            assertSameVolume(ours, theirs)
        ourTransforms = [node.GetParentTransformNode() for node in ourNodes if node.GetParentTransformNode()]
        assert len(ourTransforms) == len(slicerTransforms)
        return [(node, node.GetParentTransformNode()) for node in ourNodes], host


def assertSameVolume(ours, theirs):
    assert ours.GetClassName() == theirs.GetClassName()
    assert ours.GetImageData().GetDimensions() == theirs.GetImageData().GetDimensions()
    np.testing.assert_allclose(ijkToRAS(ours), ijkToRAS(theirs), rtol=0, atol=1e-6)
    assert ours.GetAttribute("DICOM.instanceUIDs") == theirs.GetAttribute("DICOM.instanceUIDs")
    assert ours.GetAttribute("DICOM.instanceNumbers") == theirs.GetAttribute("DICOM.instanceNumbers")
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(ours), slicer.util.arrayFromVolume(theirs))
    ourTransform, theirTransform = ours.GetParentTransformNode(), theirs.GetParentTransformNode()
    assert (ourTransform is None) == (theirTransform is None), (ours.GetName(), ourTransform, theirTransform)
    if theirTransform is None:
        return
    assert ourTransform.GetName() == theirTransform.GetName()
    ourGrid, theirGrid = gridOf(ourTransform), gridOf(theirTransform)
    assert ourGrid.GetDimensions() == theirGrid.GetDimensions()
    np.testing.assert_allclose(ourGrid.GetOrigin(), theirGrid.GetOrigin(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ourGrid.GetSpacing(), theirGrid.GetSpacing(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        slicer.util.arrayFromGridTransform(ourTransform),
        slicer.util.arrayFromGridTransform(theirTransform),
        rtol=0,
        atol=1e-6,
    )
    np.testing.assert_allclose(directionOf(ourTransform), directionOf(theirTransform), rtol=0, atol=1e-12)


def gridOf(transformNode):
    return transformNode.GetTransformToParent().GetDisplacementGrid()


def directionOf(transformNode):
    return slicer.util.arrayFromVTKMatrix(transformNode.GetTransformToParent().GetGridDirectionMatrix())


@pytest.mark.parametrize("name", SHARED_SERIES)
def test_shared_series_load_as_in_slicer(dicomRoot, name):
    assertSameLoading(case(name))


def test_the_differences_are_real(dicomRoot):
    """The comparison has teeth: these series load differently from the engine's view of them."""
    loaded, _ = assertSameLoading(case("dicom2nifti/failing/sliceincrement/001"))
    assert [node.GetImageData().GetDimensions()[2] for node, _ in loaded] == [2, 2]  # split by AcquisitionNumber
    ((tilted, transform),), _ = assertSameLoading(case("dcm_qa_ct_GE"))
    assert transform.IsA("vtkMRMLGridTransformNode")
    ((multiFrame, transform),), _ = assertSameLoading(case("dcm_qa_enh/In/Philips"))
    assert transform is None  # one UID for 64 frames: Slicer adds no transform
    ((mixed, transform),), _ = assertSameLoading(case("dicom2nifti/failing/sliceorientation/001"))
    # Slicer loads all 4 files of two orientations; ITK stacks 2 of them, so no transform either.
    assert len(mixed.GetAttribute("DICOM.instanceUIDs").split()) == 4
    assert mixed.GetImageData().GetDimensions()[2] == 2 and transform is None


# --------------------------------------------------------------------------- synthetic edge cases


def writeRegular(folder, **changes):
    spec = synthetic.SeriesSpec(
        rows=16, columns=12, numberOfSlices=9, spacingMm=3.0, rotation=synthetic.rotationFromAngles(10, 5, -8)
    )
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec, synthetic.writeSeries(spec, str(folder))


def rewrite(path, **values):
    dataset = pydicom.dcmread(path)
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    dataset.save_as(path)


def rotatedOrientation(spec, degrees):
    """The series' IOP turned in-plane by ``degrees`` (same normal, same position)."""
    angle = np.radians(degrees)
    x, y = spec.rotation[:, 0], spec.rotation[:, 1]
    rotatedX = np.cos(angle) * x + np.sin(angle) * y
    rotatedY = -np.sin(angle) * x + np.cos(angle) * y
    return [f"{value:.10f}" for value in np.concatenate([rotatedX, rotatedY])]


def test_one_slice_of_another_orientation_selects_all_nine_files_as_slicer_does(dicomRoot, tmp_path):
    """The issue's case: Slicer's examineForImport selects the 9-file loadable (its positions are evenly spaced),
    where the host used to load the engine's 8 files. ITK then stacks only the 8 slices of the first file's
    orientation, so the volume has 9 instance UIDs for 8 slices and Slicer adds no acquisition transform."""
    spec, paths = writeRegular(tmp_path)
    rewrite(paths[4], ImageOrientationPatient=rotatedOrientation(spec, 20.0))
    ((node, transform),), _ = assertSameLoading(str(tmp_path))
    assert len(node.GetAttribute("DICOM.instanceUIDs").split()) == 9
    assert node.GetImageData().GetDimensions()[2] == 8 and transform is None


def test_a_localizer_in_the_series_is_left_out_as_slicer_does(dicomRoot, tmp_path):
    """One file of another orientation and image type, far from the stack: the all-files sort warns, so Slicer
    prefers the two warning-free localizer-free subseries (by ImageType and by IOP: the same 8 files, loaded
    twice, as Slicer does)."""
    spec, paths = writeRegular(tmp_path)
    rewrite(
        paths[-1],
        ImageOrientationPatient=rotatedOrientation(spec, 90.0),
        ImagePositionPatient=["150.0", "-20.0", "200.0"],
        ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
    )
    loaded, _ = assertSameLoading(str(tmp_path))
    assert [len(node.GetAttribute("DICOM.instanceUIDs").split()) for node, _ in loaded] == [8, 8]
    assert [node.GetName() for node, _ in loaded] == [
        "1: Synthetic CT - imageType ORIGINAL-PRIMARY-AXIAL",
        "1: Synthetic CT - imageOrientationPatient 1",
    ]


def test_the_built_in_tilted_sample_gets_slicers_transform(dicomRoot, tmp_path):
    synthetic.writeSeries(synthetic.builtInSampleSpec(), str(tmp_path))
    ((node, transform),), _ = assertSameLoading(str(tmp_path))
    assert transform is not None


def test_a_file_without_pixel_data_is_not_loaded(dicomRoot, tmp_path):
    _, paths = writeRegular(tmp_path)
    dataset = pydicom.dcmread(paths[0])
    del dataset.PixelData
    dataset.save_as(paths[0])
    ((node, _),), _ = assertSameLoading(str(tmp_path))
    assert len(node.GetAttribute("DICOM.instanceUIDs").split()) == 8


@pytest.mark.parametrize(("shiftMm", "transformAdded"), [(0.0004, False), (0.004, True), (0.04, True)])
def test_transform_added_exactly_when_a_slice_is_off_by_more_than_a_micrometre(
    dicomRoot, tmp_path, shiftMm, transformAdded
):
    """One slice moved along the normal: Slicer's corner rule (1e-3 mm, largest coordinate) decides, not the sort
    warning (0.01 mm); the host must agree at each side of the threshold."""
    spec, paths = writeRegular(tmp_path, rotation=np.eye(3))
    position = spec.plannedPosition(4) + [0.0, 0.0, shiftMm]
    rewrite(paths[4], ImagePositionPatient=[f"{value:.6f}" for value in position])
    ((node, transform),), _ = assertSameLoading(str(tmp_path))
    assert (transform is not None) == transformAdded
