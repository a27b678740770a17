"""The Affine Inspector panel: Qt code over the MRML logic, the same inside Slicer and in the standalone window.

The widgets come from ``Resources/UI/AffineInspector.ui`` (standard Qt
widgets only); this class fills them from
:class:`~AffineInspectorLib.mrmllogic.VolumeGeometryLogic` results through
:mod:`.paneldata`, and turns button presses into logic calls. Qt is reached
through :mod:`.qtcompat` (PythonQt in Slicer, PySide6 outside): method calls,
and Qt properties read with :func:`.qtcompat.prop` (PythonQt's property
attributes shadow the getters). User-visible strings go through ``_()``.

Caching: the DICOM cross-check of a volume (the only slow step: it reads
every file's header) is kept per node ID with a key of everything it depends
on (IJKToRAS, dimensions, instance UIDs, parent transforms and their
modification times), so a refresh after the analysis only re-reads node
properties.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import slicer
import vtk
from slicer.util import VTKObservationMixin

from ..geometry.errors import GeometryError
from ..geometry.formats import COPY_FORMATS, formatGeometry
from ..geometry.progress import Cancelled, ProgressCallback
from ..mrml.dicomcheck import CrossCheck
from ..mrml.logic import INTERPOLATIONS, VolumeGeometryLogic
from ..mrml.nodes import VolumeInfo, volumeInfo, volumeNodes
from . import aligntab, analyses, paneldata, tablemodels
from .conventionsview import ConventionsView, storagePath
from .qtcompat import childWidgetVariables, loadUI, prop, qt, tryWithErrorDisplay
from .translation import tr as _

_MODULE_FOLDER = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UI_FILE = os.path.join(_MODULE_FOLDER, "Resources", "UI", "AffineInspector.ui")
"""The panel's Qt Designer file (next to the module, as Slicer's resourcePath finds it)."""

_TABS = {"geometry": 0, "slices": 1, "findings": 2, "conventions": 3, "align": 4}


def _partOfProgress(progressCallback: ProgressCallback, prefix: str, part: int, parts: int) -> ProgressCallback:
    """A callback reporting one of ``parts`` equal shares of a longer job to ``progressCallback``."""

    def callback(label: str, fraction: float) -> bool:
        return progressCallback(_("{volume}: {step}").format(volume=prefix, step=label), (part + fraction) / parts)

    return callback


def _fixedPitchFont() -> Any:
    """The system's fixed-pitch font, so that matrix columns line up.

    Qt 5's offscreen platform (no platform theme) answers the FixedFont query with the proportional default
    font; then fontconfig's "monospace" with the typewriter hint is asked for instead.
    """
    font = qt.QFontDatabase.systemFont(qt.QFontDatabase.FixedFont)
    if not qt.QFontInfo(font).fixedPitch():
        font = qt.QFont("monospace")
        font.setStyleHint(qt.QFont.TypeWriter)
    return font


class AffineInspectorPanel(VTKObservationMixin):
    """Fills the panel's widgets from a logic and keeps them in step with the scene.

    ``logic``: a :class:`VolumeGeometryLogic` (its ``scene`` is observed).
    ``showVolume(node)``: called when a volume is selected (Slicer: show it in
    the slice views). ``reportError(message, details)``: how errors reach the
    user outside Slicer (default: a message box; Slicer uses its own display).
    ``analyseOnShow``: when the panel is shown (``setActive(True)``), or a refresh
    picks a volume because none was selected, that DICOM volume's files are read
    at once (the Slicer module: the first look needs no click).
    ``installRequirements(packages) -> installed``: how a feature gets the Python
    packages Slicer lacks (the Slicer module asks the user, then installs with
    ``slicer.packaging.pip_ensure``): matplotlib, offered as a link where the
    step/tilt plot would be; nibabel or pynrrd, when the Align tab reads a file.
    """

    def __init__(
        self,
        logic: VolumeGeometryLogic,
        uiWidget: Any = None,
        *,
        showVolume: Optional[Callable[[Any], None]] = None,
        reportError: Optional[Callable[[str, str], None]] = None,
        analyseOnShow: bool = False,
        installRequirements: Optional[Callable[[Sequence[str]], bool]] = None,
    ) -> None:
        VTKObservationMixin.__init__(self)
        self.logic = logic
        self.widget = uiWidget if uiWidget is not None else loadUI(UI_FILE)
        self.ui = childWidgetVariables(self.widget)
        self.showVolume = showVolume
        self.reportError = reportError
        self.analyseOnShow = analyseOnShow
        self.installRequirements = installRequirements
        self.active = True
        self._analyses: Dict[str, analyses.VolumeAnalysis] = {}
        self._rowNodeIDs: List[str] = []
        self._infos: Dict[str, VolumeInfo] = {}
        self._infoCache: Dict[str, Tuple[Tuple[int, int, int], VolumeInfo]] = {}  # node ID -> (MTimes, info)
        self._refreshScheduled = False
        self._busy = False
        self.sliceModel = tablemodels.SliceTableModel()
        self._setupWidgets()
        # The Align tab is built in code (ui/aligntab.py); it joins the detail tabs as the last one.
        self.alignTab = aligntab.AlignTab(
            logic, setStatus=self.setStatus, errorsShown=self.errorsShown, installRequirements=installRequirements
        )
        self.ui.detailTabs.addTab(self.alignTab.widget, _("Align"))
        self._observeScene()

    # ------------------------------------------------------------------ setup

    def _setupWidgets(self) -> None:
        ui = self.ui
        table = ui.volumeTable
        columns = paneldata.volumeColumns()
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.setSelectionBehavior(qt.QAbstractItemView.SelectRows)
        table.setSelectionMode(qt.QAbstractItemView.SingleSelection)
        table.setEditTriggers(qt.QAbstractItemView.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setStretchLastSection(True)
        table.itemSelectionChanged.connect(self._onVolumeSelectionChanged)

        ui.sliceTable.setModel(self.sliceModel)
        ui.sliceTable.setSelectionBehavior(qt.QAbstractItemView.SelectRows)
        ui.sliceTable.verticalHeader().setVisible(False)
        ui.sliceTable.horizontalHeader().setStretchLastSection(True)
        ui.sliceTable.verticalHeader().setDefaultSectionSize(ui.sliceTable.fontMetrics().height() + 4)

        ui.geometryText.setFont(_fixedPitchFont())
        ui.geometryText.setReadOnly(True)
        ui.geometryText.setLineWrapMode(qt.QPlainTextEdit.WidgetWidth)
        for name in COPY_FORMATS:
            ui.copyFormatComboBox.addItem(name)
        ui.copyButton.clicked.connect(self.onCopy)
        ui.checkAllButton.clicked.connect(self.onCheckAll)
        for name in INTERPOLATIONS:
            ui.interpolationComboBox.addItem(name)
        ui.resampleButton.clicked.connect(self.onResample)
        self.conventionsView = ConventionsView(ui.detailTabs, self.copyToClipboard)
        ui.slicePlotLabel.linkActivated.connect(self._onPlotLinkActivated)
        ui.detailTabs.currentChanged.connect(self._onTabChanged)
        self.setStatus("")

    def _observeScene(self) -> None:
        scene = self.logic.scene
        for event in (
            scene.NodeAddedEvent,
            scene.NodeRemovedEvent,
            scene.EndBatchProcessEvent,
            scene.EndCloseEvent,
            scene.EndImportEvent,
        ):
            self.addObserver(scene, event, self._onSceneEvent)

    def cleanup(self) -> None:
        """Remove every observer (the module's cleanup, the window's close)."""
        self.removeObservers()

    def setActive(self, active: bool, *, select: Optional[str] = None) -> None:
        """Inside Slicer: refresh only while the module is shown (enter/exit); ``select`` a volume on showing."""
        self.active = active
        if active:
            self.refresh(analyseSelected=self.analyseOnShow, select=select)

    # ------------------------------------------------------------------ scene observation

    def _onSceneEvent(self, caller: Any = None, event: Any = None) -> None:
        if not self.logic.scene.IsBatchProcessing():
            self.scheduleRefresh()

    def _onNodeEvent(self, caller: Any = None, event: Any = None) -> None:
        self.scheduleRefresh()

    def scheduleRefresh(self) -> None:
        """Refresh once, after the current burst of scene events (a node is added before it has image data)."""
        if self._refreshScheduled or not self.active:
            return
        self._refreshScheduled = True
        qt.QTimer.singleShot(0, self._scheduledRefresh)

    def _scheduledRefresh(self) -> None:
        self._refreshScheduled = False
        if self._busy:  # an analysis is processing events; come back when it is done
            self.scheduleRefresh()
            return
        self.refresh()

    def _observeNodes(self, nodes: Sequence[Any]) -> None:
        """Observe exactly ``nodes`` (the volumes shown) for changes of geometry, transform and image."""
        self.removeObservers(self._onNodeEvent)
        events = (
            vtk.vtkCommand.ModifiedEvent,
            slicer.vtkMRMLTransformableNode.TransformModifiedEvent,
            slicer.vtkMRMLVolumeNode.ImageDataModifiedEvent,
        )
        for node in nodes:
            for event in events:
                self.addObserver(node, event, self._onNodeEvent)

    # ------------------------------------------------------------------ refresh

    def refresh(self, *, analyseSelected: bool = False, select: Optional[str] = None) -> None:
        """Rebuild the volume table and the selected volume's details from the scene (analyses cached).

        ``analyseSelected`` reads the selected DICOM volume's files if they have not been read (with
        ``analyseOnShow``, also done when no volume was selected and one is picked here). ``select``: the volume
        to select (if it is in the scene) instead of the current selection.
        """
        nodes = [node for node in volumeNodes(self.logic.scene) if node.GetImageData() is not None]
        infos = [self._volumeInfo(node) for node in nodes]
        self._infos = {info.nodeID: info for info in infos}
        self._infoCache = {nodeID: entry for nodeID, entry in self._infoCache.items() if nodeID in self._infos}
        self._analyses = {
            nodeID: analysis
            for nodeID, analysis in self._analyses.items()
            if nodeID in self._infos and analysis.key == analyses.analysisKey(self._node(nodeID), self._infos[nodeID])
        }
        self._observeNodes(nodes)
        selected = select if select is not None and select in self._infos else self.selectedNodeID()
        reference = self.referenceNodeID()
        self._fillVolumeTable(infos)
        self._fillReferenceComboBox(infos, reference)
        self.alignTab.refresh()
        if selected not in self._infos:
            analyseSelected = analyseSelected or (self.analyseOnShow and self.active and selected is None)
            selected = self._defaultSelection(infos)
        self._selectRow(selected)
        self._showDetails(selected, analyse=analyseSelected)

    def _defaultSelection(self, infos: Sequence[VolumeInfo]) -> Optional[str]:
        """The application's active volume if it is in the table (Slicer's DICOM loading makes the volume it
        loaded active), else the first volume."""
        active = self.logic.activeVolumeID()
        if active in self._infos:
            return str(active)
        return infos[0].nodeID if infos else None

    def _volumeInfo(self, node: Any) -> VolumeInfo:
        """The node's VolumeInfo, re-made only when the node, its image data or its parent transform changed."""
        parent = node.GetParentTransformNode()
        key = (node.GetMTime(), node.GetImageData().GetMTime(), parent.GetMTime() if parent is not None else 0)
        cached = self._infoCache.get(node.GetID())
        if cached is None or cached[0] != key:
            cached = self._infoCache[node.GetID()] = (key, volumeInfo(node))
        return cached[1]

    def _fillVolumeTable(self, infos: Sequence[VolumeInfo]) -> None:
        table = self.ui.volumeTable
        table.blockSignals(True)
        table.clearContents()
        table.setRowCount(len(infos))
        self._rowNodeIDs = []
        for rowIndex, info in enumerate(infos):
            analysis = self._analyses.get(info.nodeID)
            row = paneldata.volumeRow(info, analysis.check if analysis else None, analysis.error if analysis else "")
            for column, text in enumerate(row.cells[:-1]):
                item = qt.QTableWidgetItem(text)
                item.setToolTip(text)
                table.setItem(rowIndex, column, item)
            findingsItem = qt.QTableWidgetItem()
            tablemodels.setFindingsCell(findingsItem, row)
            table.setItem(rowIndex, len(row.cells) - 1, findingsItem)
            self._rowNodeIDs.append(info.nodeID)
        # Once, after filling: a ResizeToContents header re-measures every row on each setItem (quadratic).
        # The last column is left to stretch.
        for column in range(prop(table, "columnCount") - 1):
            table.resizeColumnToContents(column)
        table.blockSignals(False)

    def _fillReferenceComboBox(self, infos: Sequence[VolumeInfo], previous: Optional[str]) -> None:
        """Same volumes, same order as the volume table (so an index is a row of ``_rowNodeIDs``)."""
        combo = self.ui.referenceComboBox
        combo.blockSignals(True)
        combo.clear()
        for info in infos:
            combo.addItem(info.name)
        if previous in self._rowNodeIDs:
            combo.setCurrentIndex(self._rowNodeIDs.index(previous))
        combo.blockSignals(False)

    def referenceNodeID(self) -> Optional[str]:
        """Node ID of the volume chosen as resampling reference."""
        index = prop(self.ui.referenceComboBox, "currentIndex")
        return self._rowNodeIDs[index] if 0 <= index < len(self._rowNodeIDs) else None

    def _selectRow(self, nodeID: Optional[str]) -> None:
        table = self.ui.volumeTable
        table.blockSignals(True)
        table.clearSelection()
        if nodeID in self._rowNodeIDs:
            table.selectRow(self._rowNodeIDs.index(nodeID))
        table.blockSignals(False)

    # ------------------------------------------------------------------ selection and details

    def volumeNodeIDs(self) -> List[str]:
        """Node IDs of the volume table's rows, top to bottom."""
        return list(self._rowNodeIDs)

    def selectedNodeID(self) -> Optional[str]:
        rows = sorted({index.row() for index in self.ui.volumeTable.selectedIndexes()})
        return self._rowNodeIDs[rows[0]] if rows and rows[0] < len(self._rowNodeIDs) else None

    def selectVolume(self, nodeID: str, *, analyse: bool = True) -> None:
        """Select a volume's row (as a click does): its details show, its DICOM files are read if not yet."""
        if nodeID not in self._rowNodeIDs:
            self.refresh()
        if nodeID not in self._rowNodeIDs:
            raise GeometryError(_("no volume with node ID {nodeID} in the scene").format(nodeID=nodeID))
        self._selectRow(nodeID)
        self._showDetails(nodeID, analyse=analyse)

    def showTab(self, name: str) -> None:
        """Show the 'geometry', 'slices', 'findings', 'conventions' or 'align' tab."""
        self.ui.detailTabs.setCurrentIndex(_TABS[name])

    def _onVolumeSelectionChanged(self) -> None:
        nodeID = self.selectedNodeID()
        self._showDetails(nodeID, analyse=True)
        if nodeID is not None and self.showVolume is not None:
            self.showVolume(self._node(nodeID))

    def _showDetails(self, nodeID: Optional[str], *, analyse: bool) -> None:
        info = self._infos.get(nodeID) if nodeID is not None else None
        if nodeID is None or info is None:
            self.ui.geometryText.setPlainText(_("No volume in the scene: load a DICOM series or a volume file."))
            self.conventionsView.showVolume(None, None, None)
            self.sliceModel.setTable(paneldata.EMPTY_SLICE_TABLE)
            self.ui.findingsList.clear()
            self._showPlot(None)
            return
        analysis = self._analyses.get(nodeID)
        if analysis is None and analyse and info.fromDICOM:
            analysis = self.analyse(self._node(nodeID))
        check = analysis.check if analysis else None
        error = analysis.error if analysis else ""
        self.ui.geometryText.setPlainText(paneldata.geometryText(info, check, error))
        self.conventionsView.showVolume(info, check.dicom if check else None, storagePath(self._node(nodeID)))
        self.sliceModel.setTable(analysis.sliceTable if analysis else paneldata.EMPTY_SLICE_TABLE)
        self._fitSliceColumns()
        self._fillFindings(check, info.fromDICOM)
        self._showPlot(analysis)
        if info.fromDICOM and analysis is not None:
            self._updateVolumeRow(info, analysis)
        self._setDefaultInterpolation(nodeID)

    def _fitSliceColumns(self, sampleRows: int = 200) -> None:
        """Column widths from the header and the longest text in the first rows: measuring every cell of a
        3000-slice table (as resizeColumnsToContents does) would cost more than the rest of the refresh."""
        view = self.ui.sliceTable
        metrics = view.fontMetrics()
        rows = self.sliceModel.table().rows[:sampleRows]
        for column, header in enumerate(self.sliceModel.headers()):
            longest = max([header] + [row[column] for row in rows], key=len)
            view.setColumnWidth(column, metrics.horizontalAdvance(longest) + 16)

    def _fillFindings(self, check: Optional[CrossCheck], fromDICOM: bool) -> None:
        findingsList = self.ui.findingsList
        findingsList.clear()
        lines = paneldata.findingLines(check)
        if not lines:
            if not fromDICOM:
                findingsList.addItem(_("Not loaded from DICOM: there are no DICOM files to check."))
            else:
                findingsList.addItem(
                    _("No findings.") if check is not None else _("Not checked against DICOM files yet.")
                )
        for severity, text in lines:
            item = qt.QListWidgetItem(text)
            item.setToolTip(text)
            tablemodels.paintSeverity(item, severity)
            findingsList.addItem(item)

    def _plotVisible(self) -> bool:
        """Whether the step and tilt plot's tab (Slices) is the one shown."""
        return prop(self.ui.detailTabs, "currentIndex") == _TABS["slices"]

    def _onTabChanged(self, index: int = 0) -> None:
        """The Slices tab shown: draw the selected volume's plot if its analysis left it pending."""
        nodeID = self.selectedNodeID()
        analysis = self._analyses.get(nodeID) if nodeID is not None else None
        if analysis is not None and analysis.plotPending and self._plotVisible():
            self._showPlot(analysis)

    def _showPlot(self, analysis: Optional[analyses.VolumeAnalysis]) -> None:
        label = self.ui.slicePlotLabel
        if analysis is not None and analysis.plotPending and analysis.check is not None and self._plotVisible():
            analyses.renderPlot(analysis, analysis.check.dicom)
        if analysis is None or not (analysis.plotPNG or analysis.plotError):
            label.clear()
            return
        if analysis.plotError:
            if self.installRequirements is not None and analysis.plotNeedsMatplotlib:
                label.setText(
                    _(
                        "The step and tilt plot needs the Python package {package}. "
                        '<a href="{link}">Install {package}...</a>'
                    ).format(package="matplotlib", link="install")
                )
            else:
                label.setText(analysis.plotError)
            return
        pixmap = qt.QPixmap()
        pixmap.loadFromData(qt.QByteArray(analysis.plotPNG), "PNG")
        label.setPixmap(pixmap)

    def _onPlotLinkActivated(self, link: str = "install") -> None:
        with self.errorsShown(_("Installing matplotlib failed")):
            self.installPlotForSelected()

    def installPlotForSelected(self) -> bool:
        """Ask the host to install the plot's requirements; on success draw the selected volume's plot."""
        if self.installRequirements is None or not self.installRequirements(["matplotlib"]):
            self.setStatus(_("matplotlib was not installed: the step and tilt plot stays off."))
            return False
        nodeID = self.selectedNodeID()
        analysis = self._analyses.get(nodeID) if nodeID is not None else None
        if analysis is not None and analysis.check is not None:
            analyses.renderPlot(analysis, analysis.check.dicom)
            self._showPlot(analysis)
        self.setStatus(_("matplotlib is installed: the step and tilt plot is shown."))
        return True

    def setReferenceNodeID(self, nodeID: Optional[str]) -> None:
        """Choose the resampling reference (a volume in the table; None leaves the choice as it is)."""
        if nodeID in self._rowNodeIDs:
            self.ui.referenceComboBox.setCurrentIndex(self._rowNodeIDs.index(nodeID))

    def interpolation(self) -> str:
        """The interpolation chosen for resampling."""
        return str(prop(self.ui.interpolationComboBox, "currentText"))

    def setInterpolation(self, name: str) -> None:
        if name not in INTERPOLATIONS:
            raise GeometryError(
                _("interpolation must be one of {names}, not {name}").format(
                    names=", ".join(INTERPOLATIONS), name=repr(name)
                )
            )
        self.ui.interpolationComboBox.setCurrentIndex(INTERPOLATIONS.index(name))

    def _updateVolumeRow(self, info: VolumeInfo, analysis: analyses.VolumeAnalysis) -> None:
        if info.nodeID not in self._rowNodeIDs:
            return
        row = paneldata.volumeRow(info, analysis.check, analysis.error)
        item = self.ui.volumeTable.item(self._rowNodeIDs.index(info.nodeID), len(row.cells) - 1)
        if item is not None:
            tablemodels.setFindingsCell(item, row)

    def _setDefaultInterpolation(self, nodeID: str) -> None:
        node = self._node(nodeID)
        if node is not None:
            default = "nearest" if node.IsA("vtkMRMLLabelMapVolumeNode") else "linear"
            self.ui.interpolationComboBox.setCurrentIndex(INTERPOLATIONS.index(default))

    # ------------------------------------------------------------------ analysis

    def _node(self, nodeID: Optional[str]) -> Any:
        """The scene's node with this ID, or None."""
        return self.logic.scene.GetNodeByID(nodeID) if nodeID else None

    def analysis(self, nodeID: str) -> Optional[analyses.VolumeAnalysis]:
        """The cached analysis of a volume (None until it has been checked)."""
        return self._analyses.get(nodeID)

    def analyse(
        self, node: Any, progressCallback: Optional[ProgressCallback] = None
    ) -> Optional[analyses.VolumeAnalysis]:
        """Cross-check a DICOM volume with its files (cached); a progress dialog with Cancel unless a callback.

        Returns None when cancelled (nothing cached). A failure is cached as
        the analysis' ``error`` and shown in the table and the Geometry tab.
        """
        info = self._infos.get(node.GetID()) or volumeInfo(node)
        key = analyses.analysisKey(node, info)
        cached = self._analyses.get(node.GetID())
        if cached is not None and cached.key == key:
            return cached
        dialog = None
        if progressCallback is None:
            dialog, progressCallback = self.progressDialog(
                _("Reading the DICOM files of {name}").format(name=info.name)
            )
        self._busy = True
        try:
            analysis = analyses.analyse(self.logic, node, key, progressCallback, plot=self._plotVisible())
        except Cancelled:
            self.setStatus(
                _("Reading the DICOM files of {name} was cancelled; select it again to retry.").format(name=info.name)
            )
            return None
        except (GeometryError, OSError, ValueError) as error:
            analysis = analyses.VolumeAnalysis(key=key, error=str(error))
            self.setStatus(_("{name}: {error}").format(name=info.name, error=error), error=True)
        finally:
            self._busy = False
            if dialog is not None:
                dialog.close()
        if analysis.check is not None:
            self.setStatus(
                _("{name}: checked against {count} DICOM slices.").format(
                    name=info.name, count=len(analysis.check.dicom.slices)
                )
                if analysis.check.dicom is not None
                else _("{name}: no DICOM slice could be read.").format(name=info.name)
            )
        self._analyses[node.GetID()] = analysis
        return analysis

    def checkAll(self, progressCallback: Optional[ProgressCallback] = None) -> int:
        """Analyse every DICOM volume not analysed yet (one progress dialog); returns how many were analysed."""
        pending = [
            node
            for node in volumeNodes(self.logic.scene)
            if node.GetImageData() is not None
            and node.GetAttribute("DICOM.instanceUIDs")
            and node.GetID() not in self._analyses
        ]
        dialog = None
        if progressCallback is None and pending:
            dialog, progressCallback = self.progressDialog(_("Checking DICOM volumes"))
        done = 0
        try:
            for number, node in enumerate(pending):
                assert progressCallback is not None  # the caller's, or the dialog's made above (pending is not empty)
                scaled = _partOfProgress(progressCallback, node.GetName(), number, len(pending))
                if self.analyse(node, progressCallback=scaled) is None:
                    break
                done += 1
        finally:
            if dialog is not None:
                dialog.close()
        self.refresh()
        return done

    def progressDialog(self, title: str) -> Tuple[Any, ProgressCallback]:
        """A modal QProgressDialog with Cancel, and a progress callback that drives it."""
        dialog = qt.QProgressDialog(title, _("Cancel"), 0, 100, self.widget)
        dialog.setWindowTitle(_("Affine Inspector"))
        dialog.setWindowModality(qt.Qt.WindowModal)
        dialog.setMinimumDuration(500)
        dialog.setValue(0)

        def callback(label: str, fraction: float) -> bool:
            dialog.setLabelText(label)
            dialog.setValue(int(round(100 * min(max(fraction, 0.0), 1.0))))
            qt.QApplication.processEvents()
            return bool(prop(dialog, "wasCanceled"))

        return dialog, callback

    # ------------------------------------------------------------------ actions

    @contextlib.contextmanager
    def errorsShown(self, message: str) -> Iterator[None]:
        """Run a user action: an error goes to the status line and to the error display, then is re-raised.

        The display is Slicer's (``slicer.util.tryWithErrorDisplay``) inside Slicer, else ``reportError`` or a
        message box. Re-raised as Slicer's does: from a button's slot Qt prints it; a caller that goes on with
        other work after a failure (the window opening several paths) catches it itself.
        """
        with tryWithErrorDisplay(message, report=self.reportError):
            try:
                yield
            except Exception as error:
                self.setStatus(_("{message}: {error}").format(message=message, error=error), error=True)
                raise

    def onCheckAll(self) -> None:
        with self.errorsShown(_("Checking the DICOM volumes failed")):
            done = self.checkAll()
            self.setStatus(_("Checked {count} DICOM volume(s) against their files.").format(count=done))

    def copyText(self, formatName: Optional[str] = None) -> str:
        """The selected volume's IJKToRAS in one of the copy formats (default: the chosen one)."""
        nodeID = self.selectedNodeID()
        info = self._infos.get(nodeID) if nodeID is not None else None
        if info is None:
            raise GeometryError(_("select a volume first"))
        return formatGeometry(formatName or prop(self.ui.copyFormatComboBox, "currentText"), info.IJKToRAS)

    def onCopy(self) -> None:
        with self.errorsShown(_("Copying the geometry failed")):
            text = self.copyText()
            qt.QApplication.clipboard().setText(text)
            self.setStatus(_("Copied as {format}.").format(format=prop(self.ui.copyFormatComboBox, "currentText")))

    def copyToClipboard(self, makeText: Callable[[], str]) -> None:
        """Put ``makeText()`` on the clipboard; a failure is shown like every other action's."""
        with self.errorsShown(_("Copying failed")):
            qt.QApplication.clipboard().setText(makeText())
            self.setStatus(_("Copied."))

    def resampleSelected(self) -> Any:
        """Resample the selected volume onto the chosen reference; the new node is selected. Returns it."""
        inputNode = self._node(self.selectedNodeID())
        referenceNode = self._node(self.referenceNodeID())
        if inputNode is None or referenceNode is None:
            raise GeometryError(_("select the volume to resample in the table and a reference volume"))
        if inputNode.GetID() == referenceNode.GetID():
            raise GeometryError(
                _("{name} is its own reference: choose another reference volume").format(name=inputNode.GetName())
            )
        interpolation = self.interpolation()
        output = self.logic.resample(inputNode, referenceNode, interpolation=interpolation)
        self.refresh()
        self.selectVolume(output.GetID(), analyse=False)
        self.setStatus(
            _("Created {output} ({interpolation} interpolation) on the grid of {reference}.").format(
                output=output.GetName(), interpolation=interpolation, reference=referenceNode.GetName()
            )
        )
        return output

    def onResample(self) -> None:
        with self.errorsShown(_("Resampling failed")):
            self.resampleSelected()

    def setStatus(self, text: str, *, error: bool = False) -> None:
        self.ui.statusLabel.setText(text)
        self.ui.statusLabel.setStyleSheet("color: #b3261e;" if error else "")
        self.ui.statusLabel.setVisible(bool(text))
