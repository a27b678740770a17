"""The panel's Conventions tab and the HOROS/OsiriX-vs-Slicer origin text, offscreen (PySide6 + slicer-core).

Expected values come from outside the panel: the node's IJKToRAS from slicer-core, fslpy for FLIRT's matrix,
and the DICOM files' own InstanceNumber and ImagePositionPatient read with pydicom.
"""

from __future__ import annotations

import os

import nibabel
import numpy as np
import pydicom
import pytest
from fsl.data.image import Image as FSLImage

from conftest import case

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from AffineInspectorLib.geometry import affines, conventions  # noqa: E402
from AffineInspectorLib.mrml.nodes import ijkToRAS  # noqa: E402
from AffineInspectorLib.ui.qtcompat import qt  # noqa: E402

HITACHI = "dicom2nifti/hitachi_oblique/001"


@pytest.fixture(scope="module")
def application(qtApplication):
    return qtApplication


def _choose(view, name):
    view.selector.setCurrentIndex(conventions.CONVENTION_NAMES.index(name))
    return view.text.toPlainText()


def _leftHandedNIfTI(folder) -> str:
    """i to R, j to S, k to A: determinant < 0."""
    affine = np.array([[1.5, 0, 0, 40.0], [0, 0, 2.0, -30.0], [0, 1.25, 0, 12.0], [0, 0, 0, 1]])
    path = os.path.join(folder, "left.nii.gz")
    nibabel.save(nibabel.Nifti1Image(np.zeros((6, 7, 8), dtype=np.int16), affine), path)
    return path


def test_conventions_tab_shows_the_file_conventions_and_copies_them(window, tmp_path):
    path = _leftHandedNIfTI(str(tmp_path))
    (node,) = window.open([path])
    panel = window.panel
    panel.selectVolume(node.GetID())
    panel.showTab("conventions")
    view = panel.conventionsView
    assert view.widget.isVisible() or panel.ui.detailTabs.property("currentIndex") == 3
    text = _choose(view, "slicer-loaded")
    assert "the file" in text and "k reversed" in text
    assert np.allclose(view.entries["slicer-loaded"].matrix, ijkToRAS(node), atol=1e-4)  # what Slicer made of it
    text = _choose(view, "fsl")
    assert np.allclose(view.entries["fsl"].matrix, FSLImage(path).getAffine("voxel", "fsl"), atol=1e-4)
    view.copyMatrixButton.click()
    copied = qt.QApplication.clipboard().text()
    assert copied.startswith("# fsl:") and "np.array" in copied
    namespace = {"np": np}
    exec(copied, namespace)  # the copied text is a runnable numpy literal
    assert np.allclose(eval(copied.split("\n", 1)[1], namespace), view.entries["fsl"].matrix)
    view.copyTextButton.click()
    assert qt.QApplication.clipboard().text() == view.text.toPlainText()
    assert not window.errors


def test_a_moved_node_shows_its_own_matrix_not_the_file(window, tmp_path):
    path = _leftHandedNIfTI(str(tmp_path))
    (node,) = window.open([path])
    node.SetOrigin(1.0, 2.0, 3.0)
    for _ in range(3):  # the panel refreshes after the burst of scene events
        qt.QApplication.processEvents()
    panel = window.panel
    panel.selectVolume(node.GetID())
    view = panel.conventionsView
    assert "no longer matches" in _choose(view, "slicer")
    assert np.allclose(view.entries["slicer"].matrix, ijkToRAS(node), atol=1e-6)


def test_geometry_tab_explains_horos_and_slicer_origins_with_the_files_numbers(window, dicomRoot):
    (node,) = window.open([case(HITACHI)])
    panel = window.panel
    panel.selectVolume(node.GetID())
    text = panel.ui.geometryText.toPlainText()
    files = [os.path.join(case(HITACHI), name) for name in os.listdir(case(HITACHI))]
    datasets = {path: pydicom.dcmread(path, stop_before_pixels=True) for path in files}
    byInstance = min(datasets, key=lambda path: int(datasets[path].InstanceNumber))
    horos = [float(value) for value in datasets[byInstance].ImagePositionPatient]
    assert f"HOROS/OsiriX show ({', '.join(f'{value:.6g}' for value in horos)})" in text
    assert os.path.basename(byInstance) in text
    slicerOrigin = ijkToRAS(node)[:3, 3]
    assert f"Slicer shows ({', '.join(f'{value:.6g}' for value in slicerOrigin)})" in text
    # In this series InstanceNumber runs against the normal: the two first slices differ.
    assert "different slices" in text
    view = panel.conventionsView
    _choose(view, "dicom")
    assert np.allclose(affines.lpsToRAS(view.entries["dicom"].matrix), ijkToRAS(node), atol=1e-3)
