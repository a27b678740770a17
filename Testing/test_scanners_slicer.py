"""Slicer's reader (slicer-core) on mosaics, 4D and multi-frame series: which frame lands at which k, and what the
cross-check says. The order vtkITK stacks frames in is read from the voxels (pydicom's pixel arrays), not from
the headers the cross-check uses."""

from __future__ import annotations

import json
import os

import numpy as np
import pydicom
import pytest
from slicer import util as slicerUtil

from AffineInspectorLib.cli.main import main
from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.mrml.dicomcheck import K_FILES, K_MOSAIC, K_REVERSED_FRAMES, K_STORED_FRAMES
from AffineInspectorLib.ui import paneldata
from conftest import DICOM, case
from fourddata import FourDSpec, writeClassic, writeEnhanced

MULTI_FRAME_FILES = [
    "dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm",
    "dcm_qa_enh/In/Siemens/XA10/6_1.dcm",
    "dicom2nifti/philips_enhanced_anatomical/001/IM-0001-0170-0001.dcm",
    "dicom2nifti/siemens_multiframe_anatomical/001/IM-0001-0001-0001.dcm",
]


def storedFrameOfEachK(node, path: str):
    """For each k of the loaded node, the stored frame whose pixels it holds: the one equal frame, else the one
    whose pixels correlate (vtkITK may rescale real files), -1 if none."""
    loaded = slicerUtil.arrayFromVolume(node).astype(float)  # [k, j, i]
    frames = pydicom.dcmread(path).pixel_array.astype(float)
    found = []
    for k in range(loaded.shape[0]):
        exact = [index for index, frame in enumerate(frames) if np.array_equal(loaded[k], frame)]
        if len(exact) == 1:
            found.append(exact[0])
            continue
        scores = [
            np.corrcoef(loaded[k].ravel(), frame.ravel())[0, 1] if loaded[k].std() and frame.std() else -1.0
            for frame in frames
        ]
        best = int(np.argmax(scores))
        found.append(best if scores[best] > 0.999 else -1)
    return found


@pytest.mark.parametrize("name", MULTI_FRAME_FILES)
def test_vtkitk_stacks_frames_in_stored_order_and_the_cross_check_says_so(dicomRoot, host, logic, name):
    path = os.path.join(DICOM, name)
    result = inspectPaths([path])
    nodes = host.loadInspection(result)
    (node,) = [
        node
        for node in nodes
        if os.path.basename(path) in host.fileForInstance(node.GetAttribute("DICOM.instanceUIDs").split()[0])
    ]
    count = node.GetImageData().GetDimensions()[2]
    assert storedFrameOfEachK(node, path) == list(range(count))  # the voxels: k holds stored frame k
    check = logic.crossCheck(node)
    assert check.kOrder == K_STORED_FRAMES
    assert "stored order" in " ".join(check.messages)


def test_a_consistent_enhanced_file_stored_against_the_normal_matches(tmp_path, host, logic):
    """Frames stored from the last position to the first: vtkITK stacks them in stored order, which gives a
    left-handed IJK, and Slicer's plugin reverses the slices (setVolumeNodeProperties): slice k holds stored frame
    5 - k. The check follows what the voxels show; comparing in Slicer's sort order or in plain stored order would
    be wrong here."""
    spec = FourDSpec(positions=6, volumes=1)
    (path,) = writeEnhanced(spec, str(tmp_path), frameOrder=[(p, 0) for p in reversed(range(6))])
    (node,) = host.loadDICOM([str(tmp_path)])
    assert storedFrameOfEachK(node, path) == list(reversed(range(6)))
    check = logic.crossCheck(node)
    assert check.kOrder == K_REVERSED_FRAMES
    assert check.maxCornerDeviationMm < 0.01 and check.withinTolerance
    assert [int(d.k) for d in check.deviations] == list(range(6))


def test_a_consistent_enhanced_file_stored_along_the_normal_is_not_reversed(tmp_path, host, logic):
    spec = FourDSpec(positions=6, volumes=1)
    (path,) = writeEnhanced(spec, str(tmp_path), frameOrder=[(p, 0) for p in range(6)])
    (node,) = host.loadDICOM([str(tmp_path)])
    assert storedFrameOfEachK(node, path) == list(range(6))
    check = logic.crossCheck(node)
    assert check.kOrder == K_STORED_FRAMES and check.maxCornerDeviationMm < 0.01


def test_enhanced_4d_one_file_per_volume_each_volume_matches(dicomRoot, host, logic):
    """The shared Siemens XA10 series: 4 files of 6 frames, one per time point."""
    result = inspectPaths([case("dcm_qa_enh/In/Siemens/XA10")])
    nodes = host.loadInspection(result)
    assert len(nodes) == 4 and host.seriesNodes == [nodes]
    for index, node in enumerate(nodes):
        check = logic.crossCheck(node)
        assert (check.numberOfVolumes, check.volumeIndex, check.repeatedBy) == (4, index, "TemporalPositionIdentifier")
        assert check.kOrder == K_STORED_FRAMES and check.maxCornerDeviationMm < 0.01
        assert f"4D series, 4 volumes told apart by TemporalPositionIdentifier: this node is volume {index + 1}" in (
            " ".join(check.messages)
        )


def test_enhanced_4d_in_one_file_is_one_node_of_stored_frames(dicomRoot, host, logic):
    """The shared Philips file: 64 frames = 2 image types x 32 positions; no Slicer loadable splits it."""
    result = inspectPaths([case("dcm_qa_enh/In/Philips")])
    (node,) = host.loadInspection(result)
    check = logic.crossCheck(node)
    assert check.kOrder == K_STORED_FRAMES and (check.numberOfVolumes, check.volumeIndex) == (2, None)
    text = " ".join(check.messages)
    assert "4D series, 2 volumes of 32 positions told apart by ImageType: this node holds all 64 slices" in text
    assert "no per-volume loadable" in text
    # k follows the stored frames: the origin is frame 1's IPP. (vtkITK reads this file's spacing as 1 x 1 x 1 mm,
    # not the functional groups' 4 mm: the corners of even that slice are 192 mm off, as Slicer would report.)
    assert check.originExplanation.endswith("the same point.")
    assert check.slicerMaxErrorMm == pytest.approx(192.0, abs=0.01)


@pytest.mark.parametrize("volumes", [3])
def test_classic_4d_is_loaded_one_volume_per_time_point(tmp_path, host, logic, volumes):
    spec = FourDSpec(positions=5, volumes=volumes)
    writeClassic(spec, str(tmp_path), order=[(p, v) for p in range(5) for v in range(volumes)])
    nodes = host.loadInspection(inspectPaths([str(tmp_path)]))
    assert len(nodes) == volumes
    for index, node in enumerate(nodes):
        assert node.GetImageData().GetDimensions() == (spec.columns, spec.rows, 5)
        assert np.all(slicerUtil.arrayFromVolume(node) // 1000 == index)  # its own time point's voxels
        check = logic.crossCheck(node)
        assert check.kOrder == K_FILES and check.maxCornerDeviationMm < 0.01
        assert check.volumeIndex == index and check.repeatedBy == "TemporalPositionIdentifier"
        spacing = np.linalg.norm(np.asarray(check.IJKToRAS)[:3, 2])
        assert spacing == pytest.approx(spec.spacingMm, abs=1e-4)  # not the 0 mm of all files stacked


def test_mosaic_is_compared_tile_by_tile_as_slicer_loads_it(dicomRoot, host, logic):
    result = inspectPaths([case("dcm_qa_mosaic/In/ax/axdesc36")])
    (series,) = result.series
    nodes = host.loadInspection(result)
    assert len(nodes) == 2  # one mosaic file per time point
    mosaicFinding = next(f for f in series.findings if f.kind == "mosaic")
    for node in nodes:
        assert node.GetImageData().GetDimensions() == (384, 384, 1)  # not de-mosaicked
        check = logic.crossCheck(node)
        assert check.kOrder == K_MOSAIC and len(check.deviations) == 36
        # What the engine predicted from the headers alone equals what Slicer's reader actually did.
        assert check.maxCornerDeviationMm == pytest.approx(mosaicFinding.value, abs=1e-3)
        assert "does not de-mosaic" in " ".join(check.messages)


def test_inspect_slicer_json_for_a_4d_series(dicomRoot, capsys):
    status = main(["inspect", "--slicer", "--json", case("dcm_qa_enh/In/Siemens/XA10")])
    out = capsys.readouterr().out
    assert status == 0
    (series,) = json.loads(out)["series"]
    part = series["slicer"]
    assert part["numberOfVolumes"] == 4 and part["repeatedBy"] == "TemporalPositionIdentifier"
    assert len(part["volumes"]) == 4 and part["maxCornerDeviationMm"] < 0.01 and part["withinTolerance"] is True
    assert all(len(volume["deviations"]) == 6 and "dicom" not in volume for volume in part["volumes"])
    assert part["messages"][0].startswith("4D series: 4 volumes")


@pytest.mark.parametrize("name", ["dcm_qa_enh/In/Philips", "dcm_qa_mosaic/In/sag/sagasc35"])
def test_slice_table_matches_deviations_by_frame_and_tile(dicomRoot, host, logic, name):
    """The panel's rows are in Slicer's sort order; the reader's k is not: each row gets its own slice's number."""
    check = logic.crossCheck(host.loadInspection(inspectPaths([case(name)]))[0])
    table = paneldata.sliceTable(check)
    expected = {(d.file, d.frame, d.tile): d.deviationMm for d in check.deviations}
    shown = 0
    for row, cells in zip(check.dicom.slices, table.rows):
        deviation = expected.get((row.file, row.frame, row.tile))
        if deviation is not None:
            assert cells[7] == f"{deviation:.3g}"
            shown += 1
    assert shown == len(check.deviations) > 0


def test_classic_4d_loaded_as_one_scalar_volume_is_explained(tmp_path, host, logic):
    """What Slicer's scalar-volume plugin's all-files loadable gives for a classic 4D series: every file in one
    volume. The check says it is 4D, how many volumes, what repeats, and what to load instead."""
    spec = FourDSpec(positions=5, volumes=3)
    writeClassic(spec, str(tmp_path))
    (series,) = inspectPaths([str(tmp_path)]).series
    node = host._loadFiles(list(series.files), "all files", grayscale=True, regularize=False)  # Slicer's sort order
    assert node.GetImageData().GetDimensions()[2] == 15
    check = logic.crossCheck(node)
    assert (check.numberOfVolumes, check.volumeIndex, check.kOrder) == (3, None, K_FILES)
    text = " ".join(check.messages)
    assert "4D series, 3 volumes of 5 positions told apart by TemporalPositionIdentifier" in text
    assert "Load it as a multi-volume / volume sequence" in text
    assert not check.withinTolerance
