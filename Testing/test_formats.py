"""The copy-button formats, each read back by the tool it is meant for (SimpleITK, nibabel, Slicer's writer)."""

from __future__ import annotations

import re

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk

from AffineInspectorLib.geometry import formats
from AffineInspectorLib.geometry.affines import rasToLPS
from conftest import case

# Oblique, anisotropic, with a flipped axis: a matrix where any transposition or sign slip shows.
ANGLE = np.radians(17.0)
ROTATION = np.array(
    [
        [np.cos(ANGLE), -np.sin(ANGLE), 0.0],
        [np.sin(ANGLE) * 0.6, np.cos(ANGLE) * 0.6, -0.8],
        [np.sin(ANGLE) * 0.8, np.cos(ANGLE) * 0.8, 0.6],
    ]
)
IJK_TO_RAS = np.eye(4)
IJK_TO_RAS[:3, :3] = ROTATION @ np.diag([0.7, 1.3, -2.5])
IJK_TO_RAS[:3, 3] = [12.25, -40.5, 88.125]
INDICES = np.array([[0, 0, 0], [3, 5, 7], [511, 0, 33]], dtype=float)


def ijkToLPSPoints(indices):
    return (rasToLPS(IJK_TO_RAS) @ np.c_[indices, np.ones(len(indices))].T)[:3].T


def test_itk_transform_file_read_by_simpleitk_maps_ijk_to_lps(tmp_path):
    path = tmp_path / "geometry.tfm"
    path.write_text(formats.itkTransformText(IJK_TO_RAS))
    transform = sitk.ReadTransform(str(path))
    mapped = np.array([transform.TransformPoint(tuple(index)) for index in INDICES])
    assert np.allclose(mapped, ijkToLPSPoints(INDICES), atol=1e-4)


def test_simpleitk_lines_give_an_image_the_same_grid():
    image = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    exec(formats.simpleITKText(IJK_TO_RAS), {"image": image})
    mapped = np.array([image.TransformContinuousIndexToPhysicalPoint(tuple(index)) for index in INDICES])
    assert np.allclose(mapped, ijkToLPSPoints(INDICES), atol=1e-4)


def test_numpy_and_slicer_lines_round_trip(tmp_path):
    assert np.allclose(eval(formats.numpyText(IJK_TO_RAS).split("\n", 1)[1], {"np": np}), IJK_TO_RAS, atol=1e-6)
    import slicer
    import vtk

    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    exec(formats.slicerText(IJK_TO_RAS), {"volumeNode": node, "slicer": slicer, "np": np})
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    assert np.allclose(slicer.util.arrayFromVTKMatrix(matrix), IJK_TO_RAS, atol=1e-6)


def test_nifti_sform_rows_match_what_slicers_writer_stores(tmp_path):
    """Slicer writes the volume; nibabel reads the sform; the copied rows must be those."""
    from AffineInspectorLib.mrml.host import StandaloneHost
    from AffineInspectorLib.mrml.nodes import ijkToRAS

    host = StandaloneHost(setGlobalScene=False)
    (node,) = host.loadDICOM([case("dicom2nifti/hitachi_oblique")])
    path = str(tmp_path / "written.nii.gz")
    host.saveVolume(node, path)
    rows = re.findall(r"srow_[xyz] = (.*)", formats.niftiSformText(ijkToRAS(node)))
    copied = np.array([[float(value) for value in row.split()] for row in rows])
    header = nibabel.load(path).header
    assert int(header["sform_code"]) > 0
    assert np.allclose(copied, header.get_sform()[:3], atol=1e-4)


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="formatName must be one of"):
        formats.formatGeometry("DICOM", IJK_TO_RAS)
    for name in formats.COPY_FORMATS:
        assert formats.formatGeometry(name, IJK_TO_RAS).startswith("#")
