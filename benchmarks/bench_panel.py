"""Benchmark (run on demand: `make bench-panel`), not a test.

Panel refresh with 50 volumes in the scene and a 3,000-slice DICOM series
selected, once its analysis is cached. Offscreen Qt (PySide6), slicer-core.

Scene: one 3,000-file tilted CT (64x64, 2 slices missing, so that rows are
flagged and coloured), written once into a cache folder outside the
repository (AFFINE_INSPECTOR_BENCH_CACHE, default
~/.cache/affine-inspector-bench), loaded as Slicer's DICOM plugin loads it;
49 small volumes made in memory.

First analysis: selecting the series for the first time in the session (its headers read, checked, the table
filled; the step/tilt plot drawn when the Slices tab shows), against the same selection with the cache dropped
(median of 3), CPU and wall seconds; target first <= 1.5x warm. Then, with the plot: the first showing of the
Slices tab imports matplotlib.

Printed (median of rounds, milliseconds, widgets painted each time):
  refresh        panel.refresh(): volume table, reference list, the selected
                 volume's matrices, slice table, findings and plot
  scene event    a volume is modified -> deferred refresh -> painted
  reselect       another volume selected, then the 3,000-slice one again
Peers, each printed as a ratio to the refresh:
  uncached       the same refresh if the DICOM analysis were not cached
                 (re-reading the 3,000 headers: what the cache saves)
  QTableWidget   filling a QTableWidget with the same 3,000 x 9 cells (what a
                 model-less table would cost on every refresh)
Target: refresh < 100 ms.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "AffineInspector"))

import numpy as np  # noqa: E402
import vtk  # noqa: E402

from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries  # noqa: E402
from AffineInspectorLib.ui import paneldata  # noqa: E402
from AffineInspectorLib.ui.qtcompat import qt  # noqa: E402
from AffineInspectorLib.ui.window import MainWindow  # noqa: E402

CACHE = os.environ.get("AFFINE_INSPECTOR_BENCH_CACHE", os.path.expanduser("~/.cache/affine-inspector-bench"))
SLICES = 3000
OTHER_VOLUMES = 49
ROUNDS = 15
TARGET_MS = 100.0
FIRST_TARGET = 1.5  # the first analysis of a session, at most this many times the same analysis warm


def ensureSeries() -> str:
    spec = SeriesSpec(rows=64, columns=64, numberOfSlices=SLICES + 2, spacingMm=0.5, tiltDeg=12.0, dropped=(700, 2100))
    folder = os.path.join(CACHE, f"ct_{SLICES}x64_tilted")
    if os.path.isdir(folder) and len(os.listdir(folder)) == SLICES:
        return folder
    os.makedirs(folder, exist_ok=True)
    writeSeries(spec, folder)
    return folder


def addSmallVolumes(scene, count: int) -> None:
    rng = np.random.default_rng(0)
    for number in range(count):
        image = vtk.vtkImageData()
        image.SetDimensions(16, 16, 8)
        image.AllocateScalars(vtk.VTK_SHORT, 1)
        className = "vtkMRMLLabelMapVolumeNode" if number % 5 == 0 else "vtkMRMLScalarVolumeNode"
        node = scene.AddNewNodeByClass(className, f"volume {number}")
        node.SetAndObserveImageData(image)
        node.SetSpacing(*rng.uniform(0.5, 3.0, 3))
        node.SetOrigin(*rng.uniform(-100, 100, 3))


def timed(action, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        qt.QApplication.processEvents()  # paint
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def cpuAndWall(action) -> tuple:
    """(CPU seconds of this process, wall seconds) of ``action()`` followed by a paint."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    qt.QApplication.processEvents()
    return time.process_time() - cpu, time.perf_counter() - wall


def medianOf(pairs) -> tuple:
    return statistics.median(pair[0] for pair in pairs), statistics.median(pair[1] for pair in pairs)


def qtableWidgetFill(table, rows) -> None:
    table.setRowCount(0)
    table.setRowCount(len(rows))
    for rowIndex, row in enumerate(rows):
        for column, text in enumerate(row):
            table.setItem(rowIndex, column, qt.QTableWidgetItem(text))


def main() -> int:
    application = qt.QApplication.instance() or qt.QApplication(["bench"])
    folder = ensureSeries()
    window = MainWindow(reportError=lambda message, details: print("ERROR", message, details))
    window.window.show()
    start = time.perf_counter()
    (big,) = window.host.loadDICOM([folder])
    loadSeconds = time.perf_counter() - start
    addSmallVolumes(window.host.scene, OTHER_VOLUMES)
    panel = window.panel
    panel.refresh()
    panel.showTab("geometry")  # the tab a new panel shows
    first = cpuAndWall(lambda: panel.selectVolume(big.GetID()))  # reads the 3,000 headers: the analysis cached
    firstPlot = cpuAndWall(lambda: panel.showTab("slices"))  # draws the plot: matplotlib's first import
    panel.showTab("geometry")

    def warmAnalysis():
        panel._analyses.pop(big.GetID(), None)
        panel.selectVolume(big.GetID())

    warm = medianOf([cpuAndWall(warmAnalysis) for _ in range(3)])
    warmPlot = medianOf([cpuAndWall(lambda: (warmAnalysis(), panel.showTab("slices"), panel.showTab("geometry")))])
    analysis = panel.analysis(big.GetID())
    assert len(panel.volumeNodeIDs()) == OTHER_VOLUMES + 1
    assert panel.sliceModel.rowCount() == SLICES and analysis is not None
    flagged = sum(severity is not None for severity in analysis.sliceTable.severities)
    panel.showTab("slices")
    application.processEvents()

    refreshMs = timed(panel.refresh)
    someNode = window.host.scene.GetNodeByID(panel.volumeNodeIDs()[5])
    eventMs = timed(lambda: someNode.SetSpacing(1.0 + time.perf_counter() % 1, 1.0, 1.0))
    otherID = panel.volumeNodeIDs()[3]

    def reselect():
        panel.selectVolume(otherID)
        panel.selectVolume(big.GetID())

    reselectMs = timed(reselect)

    def uncached():
        panel._analyses.pop(big.GetID(), None)  # what refresh + selection would cost without the cache
        panel.refresh()
        panel.selectVolume(big.GetID())

    uncachedMs = timed(uncached, rounds=3)
    table = qt.QTableWidget()
    table.setColumnCount(paneldata.SLICE_COLUMN_COUNT)
    widgetMs = timed(lambda: qtableWidgetFill(table, analysis.sliceTable.rows), rounds=5)

    print(f"Scene: {len(panel.volumeNodeIDs())} volumes; selected: {SLICES}-slice series ({flagged} rows flagged)")
    print(f"  load with Slicer's reader (vtkITK): {loadSeconds:.1f} s")
    print("First analysis of the session against the same analysis again (cache dropped), CPU s / wall s:")
    ratio = first[0] / warm[0]
    verdict = "met" if ratio <= FIRST_TARGET else "MISSED"
    print(
        f"  selection (Geometry tab)   first {first[0]:.3f} / {first[1]:.3f}   warm {warm[0]:.3f} / {warm[1]:.3f}   "
        f"first/warm {ratio:.2f}x (target <= {FIRST_TARGET}x: {verdict})"
    )
    print(
        f"  + Slices tab (the plot)    first {first[0] + firstPlot[0]:.3f} / {first[1] + firstPlot[1]:.3f}   "
        f"warm {warmPlot[0]:.3f} / {warmPlot[1]:.3f}   first/warm {(first[0] + firstPlot[0]) / warmPlot[0]:.2f}x "
        f"(matplotlib's first import and figure: {firstPlot[0]:.3f} s CPU)"
    )
    verdict = "met" if refreshMs < TARGET_MS else "MISSED"
    print(f"  refresh        {refreshMs:7.1f} ms   target < {TARGET_MS:.0f} ms: {verdict}")
    print(f"  scene event    {eventMs:7.1f} ms")
    print(f"  reselect       {reselectMs:7.1f} ms   (two selections)")
    print("Peers (ratio = peer time / our refresh):")
    print(f"  uncached       {uncachedMs:7.1f} ms   {uncachedMs / refreshMs:6.1f}x")
    print(f"  QTableWidget   {widgetMs:7.1f} ms   {widgetMs / refreshMs:6.1f}x  (slice table alone, 3000 x 9 items)")
    window.close()
    return 0 if refreshMs < TARGET_MS and ratio <= FIRST_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
