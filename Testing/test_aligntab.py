"""The panel's Align tab, offscreen (PySide6 + slicer-core), on the shared tilted GE CT and a mask built from it."""

from __future__ import annotations

import ast
import os
import re

import numpy as np
import pytest

from conftest import case

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from test_align import LPS_TO_RAS, dicomFiles, drawTruth, regularGrid, saveNIfTI  # noqa: E402

from AffineInspectorLib.ui import aligntab  # noqa: E402
from AffineInspectorLib.ui.qtcompat import qt  # noqa: E402

GE = "dcm_qa_ct_GE"


@pytest.fixture(scope="module")
def application(qtApplication):
    return qtApplication


@pytest.fixture(scope="module")
def mask(tmp_path_factory, dicomRoot):
    """A [k, j, i] numpy mask of the GE CT saved as is under the right affine (the kji-array-order story)."""
    files = dicomFiles(case(GE))
    truth = drawTruth(files)
    path = saveNIfTI(tmp_path_factory.mktemp("aligntab") / "mask_kji.nii.gz", truth, LPS_TO_RAS @ regularGrid(files))
    return path, truth


def test_align_tab_compares_copies_resamples_and_saves(window, mask, tmp_path):
    path, truth = mask
    (ct,) = window.open([case(GE)])
    tab = window.panel.alignTab
    tab.refresh()
    assert tab.dicomNodeID() == ct.GetID()
    tab.setImagePath(path)
    tab.compareButton.click()
    assert not window.errors, window.errors
    label = tab.verdictLabel.property("text")
    assert label.startswith("Needs resampling") or label.startswith("No overlap")
    assert "kji-array-order" in label and "kji-array-order" in tab.detailsText.property("plainText")
    assert tab.sliceMapTable.property("rowCount") == 28
    assert [tab.sliceMapTable.item(k, 3).text() for k in range(28)] == [str(k) for k in range(28)]
    tab.copyRecipeButton.click()
    recipe = qt.QApplication.clipboard().text()
    namespace = {}
    exec(recipe, namespace)
    assert np.array_equal(namespace["dicom_order"], truth)
    before = set(window.panel.volumeNodeIDs())
    tab.resampleButton.click()
    window.panel.refresh()
    (new,) = set(window.panel.volumeNodeIDs()) - before
    import slicer

    node = window.logic.scene.GetNodeByID(new)
    assert node.IsA("vtkMRMLLabelMapVolumeNode")
    assert np.array_equal(slicer.util.arrayFromVolume(node), truth)
    assert "Created" in window.panel.ui.statusLabel.property("text")
    output = str(tmp_path / "saved.npy")
    tab.save(output)
    assert np.array_equal(np.load(output), truth)
    assert "Wrote" in window.panel.ui.statusLabel.property("text")


@pytest.fixture(scope="module")
def regularMask(tmp_path_factory, dicomRoot):
    """A mask of the regular Hitachi MR (Slicer's storage node cannot read the GE CT's sheared NIfTI at all)."""
    files = dicomFiles(case("dicom2nifti/hitachi_oblique/001"))
    folder = tmp_path_factory.mktemp("aligntab_regular")
    return saveNIfTI(folder / "mask.nii.gz", np.transpose(drawTruth(files), (2, 1, 0)), LPS_TO_RAS @ regularGrid(files))


@pytest.mark.slotErrors  # the Compare button's slot re-raises after showing the error, as in Slicer
def test_reference_is_never_the_image_itself(window, regularMask):
    path = regularMask
    window.open([path])  # only the mask: no DICOM series to compare with
    tab = window.panel.alignTab
    tab.refresh()
    assert tab.dicomNodeID() is None
    assert tab.sceneImageCombo.property("count") == 2  # "(choose)" and the mask, read from its file
    tab.setImagePath(path)
    tab.compareButton.click()
    assert window.errors and "no DICOM series" in window.errors[-1][1]
    assert "no DICOM series" in window.panel.ui.statusLabel.property("text")


def test_open_loads_a_label_file_as_a_labelmap(window, regularMask):
    node = window.openImageFile(regularMask)
    assert node.IsA("vtkMRMLLabelMapVolumeNode")


def test_align_tab_reads_qt_properties_not_getters():
    """Under PythonQt a Qt property shadows its getter: the tab reads them with property()."""
    source = open(aligntab.__file__).read()
    getters = re.findall(
        r"\.(currentText|currentIndex|text|plainText|toPlainText|rowCount|columnCount|count)\(\)", source
    )
    assert getters == []
    tree = ast.parse(source)
    assert any(isinstance(node, ast.Constant) and node.value == "currentIndex" for node in ast.walk(tree))


def test_plot_does_not_magnify_rounding_noise():
    """A regular tilted stack: tilts 18.5 +- 1e-7 deg get a window of +-0.185 deg, not a 1e-7 offset axis."""
    from AffineInspectorLib.ui.paneldata import plotLimits

    noisy = 18.5 + np.array([0.0, 1e-7, -1e-7, 2e-7])
    low, high = plotLimits(noisy)
    assert low < 18.5 - 0.1 and high > 18.5 + 0.1
    assert plotLimits(np.array([1.081, 4.002, 6.999])) is None  # real variation keeps matplotlib's limits
    assert plotLimits(np.array([np.nan])) is None


@pytest.mark.slotErrors  # the declined case: the Compare slot re-raises after showing the error, as in Slicer
def test_a_missing_reader_package_is_offered_for_install_first(window, mask, monkeypatch):
    """Inside Slicer (no nibabel bundled) the tab asks the host to install what the file needs before reading it;
    declined, nothing is compared and the user is told why."""
    asked = []
    answer = {"value": False}

    def installRequirements(packages):
        asked.append(list(packages))
        return answer["value"]

    monkeypatch.setattr(aligntab, "missingPackages", lambda path: ["nibabel"])
    window.open([case("dcm_qa_ct_GE")])
    tab = window.panel.alignTab
    tab.installRequirements = installRequirements
    tab.refresh()
    tab.setImagePath(mask[0])
    tab.compareButton.click()
    assert asked == [["nibabel"]] and tab.result is None
    assert "needs nibabel, which is not installed" in window.errors[-1][1]
    answer["value"] = True
    assert tab.compare().relation is not None and asked == [["nibabel"], ["nibabel"]]
