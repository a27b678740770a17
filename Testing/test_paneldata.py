"""What the panel shows, without Qt: rows, states and summaries from the engine's results on real data."""

from __future__ import annotations

import types

import numpy as np

from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.geometry.crosscheck import SliceDeviation
from AffineInspectorLib.geometry.findings import ERROR, RUN_SUMMARY_THRESHOLD
from AffineInspectorLib.ui import paneldata
from conftest import case


def info(fromDICOM=True, **changes):
    values = dict(
        name="CT",
        nodeID="vtkMRMLScalarVolumeNode1",
        className="vtkMRMLScalarVolumeNode",
        dimensions=(4, 5, 6),
        spacing=(0.5, 0.5, 2.0),
        origin=(0, 0, 0),
        IJKToRAS=np.diag([0.5, 0.5, 2.0, 1]).tolist(),
        RASToIJK=np.diag([2, 2, 0.5, 1]).tolist(),
        axisCodes="RAS",
        scanOrder="IS",
        parentTransform=None,
        parentTransformLinear=None,
        fromDICOM=fromDICOM,
        numberOfInstances=6 if fromDICOM else 0,
    )
    values.update(changes)
    return types.SimpleNamespace(**values)


def checkOf(series, deviations=()):
    return types.SimpleNamespace(
        dicom=series,
        deviations=list(deviations),
        messages=["m"],
        originExplanation="o",
        instanceNumberOrder="ascending",
    )


def test_volume_row_states():
    assert paneldata.volumeRow(info(fromDICOM=False)).cells[4:] == ("file", "-")
    assert paneldata.volumeRow(info()).cells[5] == paneldata.notCheckedText()
    failed = paneldata.volumeRow(info(), error="3 files missing")
    assert failed.cells[5] == "failed" and failed.severity == ERROR and failed.toolTip == "3 files missing"
    moved = paneldata.volumeRow(info(parentTransform="T", parentTransformLinear=True))
    assert moved.cells[4] == "DICOM (6 files), under T"


def test_tilted_ct_rows_and_summary():
    (series,) = inspectPaths([case("dcm_qa_ct_GE")]).series
    row = paneldata.volumeRow(info(), checkOf(series))
    assert row.findingsCount == len(series.findings) and row.severity == ERROR
    lines = paneldata.findingLines(checkOf(series))
    tiltPerSlice = [f for f in series.findings if f.kind == "gantryTilt" and f.slice is not None]
    assert len(tiltPerSlice) > RUN_SUMMARY_THRESHOLD
    summaries = [text for _, text in lines if "gantryTilt" in text and "slices:" in text]
    assert len(summaries) == 1 and f"({len(tiltPerSlice)} slices: 1-27)" in summaries[0]
    assert [severity for severity, _ in lines] == sorted((s for s, _ in lines), key=["error", "warning", "info"].index)
    table = paneldata.sliceTable(checkOf(series))
    assert len(table.rows) == 28 and table.rows[0][7] == ""  # no deviations given: column left empty
    deviations = [SliceDeviation(r.k, r.file, r.instanceNumber, float(r.index), 0.0) for r in series.slices]
    assert paneldata.sliceTable(checkOf(series, deviations)).rows[14][7] == "14"
    deviations[3].file = "other.dcm"  # a deviation of another file is no row's: that row is left empty
    rows = paneldata.sliceTable(checkOf(series, deviations)).rows
    assert [r[7] == "" for r in rows] == [index == 3 for index in range(28)] and rows[14][7] == "14"


def test_geometry_text_for_a_volume_not_from_dicom():
    text = paneldata.geometryText(info(fromDICOM=False))
    assert "IJK to RAS" in text and "RAS to IJK" in text and "Not loaded from DICOM" in text
    assert "DICOM IJK to LPS" not in text


def test_plot_is_a_png():
    (series,) = inspectPaths([case("dcm_qa_ct_GE")]).series
    assert paneldata.stepTiltPlotPNG(series)[:8] == b"\x89PNG\r\n\x1a\n"
