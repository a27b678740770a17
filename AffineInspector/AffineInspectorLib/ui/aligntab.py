"""The panel's Align tab: does a segmentation (or any volume file) line up with a DICOM series, what is wrong,
and the fix. Widgets are built in code (no .ui file), so the panel's .ui stays as it is.

Qt through :mod:`.qtcompat` with method calls for setters and ``obj.property("name")`` for reading a Qt
property (under PythonQt a property shadows its getter: calling the currentIndex getter of a combo box fails there).
The work is the MRML logic's (:meth:`..mrml.logic.VolumeGeometryLogic.align` and ``alignedVolume``);
everything shown is built by :func:`alignText` and :func:`sliceMapRows` (plain data, tested on their own).
"""

from __future__ import annotations

import os
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..dicom.aligner import AlignmentResult, defaultInterpolation, textReport
from ..dicom.imagefiles import READ_EXTENSIONS, missingPackages, readImageFile
from ..dicom.imagewriters import WRITE_EXTENSIONS
from ..geometry.errors import GeometryError
from ..mrml.nodes import volumeNodes
from .qtcompat import PYTHONQT, qt
from .translation import tr as _


def sliceMapColumns() -> Tuple[str, str, str, str]:
    """The slice map's column headers (``k`` and the DICOM attribute name SOPInstanceUID are not translated)."""
    return ("k", _("DICOM file"), "SOPInstanceUID", _("Image slice"))


def alignText(result: AlignmentResult) -> str:
    """The details shown under the verdict: explanation, axis map and mistakes (the text report without the
    slice map and the recipe, which have their own table and button)."""
    report = textReport(result)
    withoutVerdict = report.split("\n", 2)[2]  # the verdict has its own label
    return withoutVerdict.split("\nSlice map")[0].strip() + "\n"


def sliceMapRows(result: AlignmentResult) -> List[Tuple[str, str, str, str]]:
    """One row per DICOM file in Slicer's sorted order: k, file name, SOPInstanceUID, image slice."""
    return [
        (
            str(k),
            os.path.basename(entry.file),
            entry.sopInstanceUID,
            "-" if entry.imageSlice is None else str(entry.imageSlice),
        )
        for k, entry in enumerate(result.sliceMap)
    ]


def looksLikeLabels(path: str) -> bool:
    """True for an integer image (a label map: loaded as a labelmap volume, resampled with nearest neighbour)."""
    return defaultInterpolation(readImageFile(path)) == "nearest"


def openInSlicer(path: str) -> Any:
    """Inside Slicer: load the file for display, as a labelmap when it is one."""
    import slicer

    return slicer.util.loadVolume(path, properties={"labelmap": looksLikeLabels(path)})


def imagePathOf(node: Any) -> Optional[str]:
    """The file a volume node was read from (its storage node's file name), or None."""
    storage = node.GetStorageNode() if hasattr(node, "GetStorageNode") else None
    path = storage.GetFileName() if storage is not None else None
    return path if path and os.path.isfile(path) else None


class AlignTab:
    """The Align tab's widgets and actions. ``setStatus(text, error=...)`` is the panel's status line;
    ``errorsShown(message)`` its context manager that shows an error to the user."""

    def __init__(
        self,
        logic: Any,
        *,
        setStatus: Callable[..., None],
        errorsShown: Callable[[str], Any],
        openImage: Optional[Callable[[str], Any]] = None,
        installRequirements: Optional[Callable[[Sequence[str]], bool]] = None,
    ) -> None:
        self.logic = logic
        self.setStatus = setStatus
        self.errorsShown = errorsShown
        self.installRequirements = installRequirements
        self.openImage = openImage if openImage is not None or not PYTHONQT else openInSlicer
        self.result: Optional[AlignmentResult] = None
        self._dicomNodeIDs: List[str] = []
        self._imageChoices: List[Tuple[str, Optional[str]]] = []
        self.widget = qt.QWidget()
        self.widget.setObjectName("alignTab")
        layout = qt.QVBoxLayout(self.widget)
        form = qt.QFormLayout()
        layout.addLayout(form)

        imageRow = qt.QHBoxLayout()
        self.imagePathEdit = qt.QLineEdit()
        self.imagePathEdit.setObjectName("alignImagePathEdit")
        self.imagePathEdit.setPlaceholderText(
            _("segmentation or volume file ({extensions})").format(extensions=".nii.gz, .nrrd, .mha, .mgz")
        )
        self.openButton = qt.QPushButton(_("Open..."))
        self.openButton.setToolTip(_("Choose an image file (a label map is loaded as a labelmap volume)"))
        imageRow.addWidget(self.imagePathEdit)
        imageRow.addWidget(self.openButton)
        form.addRow(_("Image file:"), imageRow)
        self.sceneImageCombo = qt.QComboBox()
        self.sceneImageCombo.setToolTip(_("A volume in the scene that was read from a file: its file is compared"))
        form.addRow(_("or from the scene:"), self.sceneImageCombo)
        self.dicomCombo = qt.QComboBox()
        self.dicomCombo.setObjectName("alignDicomCombo")
        self.dicomCombo.setToolTip(_("The DICOM series to compare with (volumes loaded from DICOM only)"))
        form.addRow(_("DICOM series:"), self.dicomCombo)

        buttons = qt.QHBoxLayout()
        self.compareButton = qt.QPushButton(_("Compare"))
        self.copyRecipeButton = qt.QPushButton(_("Copy numpy recipe"))
        self.resampleButton = qt.QPushButton(_("Resample onto DICOM grid"))
        self.saveButton = qt.QPushButton(_("Save..."))
        for button in (self.compareButton, self.copyRecipeButton, self.resampleButton, self.saveButton):
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self.verdictLabel = qt.QLabel(_("Choose an image file and a DICOM series, then Compare."))
        self.verdictLabel.setObjectName("alignVerdictLabel")
        self.verdictLabel.setWordWrap(True)
        self.verdictLabel.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.verdictLabel)
        self.detailsText = qt.QPlainTextEdit()
        self.detailsText.setReadOnly(True)
        self.detailsText.setFont(qt.QFontDatabase.systemFont(qt.QFontDatabase.FixedFont))
        layout.addWidget(self.detailsText, 2)
        self.sliceMapTable = qt.QTableWidget()
        self.sliceMapTable.setObjectName("alignSliceMapTable")
        columns = sliceMapColumns()
        self.sliceMapTable.setColumnCount(len(columns))
        self.sliceMapTable.setHorizontalHeaderLabels(list(columns))
        self.sliceMapTable.setEditTriggers(qt.QAbstractItemView.NoEditTriggers)
        self.sliceMapTable.verticalHeader().setVisible(False)
        self.sliceMapTable.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.sliceMapTable, 1)

        self.openButton.clicked.connect(self.onOpen)
        self.sceneImageCombo.activated.connect(self._onSceneImageChosen)
        self.compareButton.clicked.connect(self.onCompare)
        self.copyRecipeButton.clicked.connect(self.onCopyRecipe)
        self.resampleButton.clicked.connect(self.onResample)
        self.saveButton.clicked.connect(self.onSave)
        self._setActionsEnabled(False)

    def setOpenImage(self, openImage: Optional[Callable[[str], Any]]) -> None:
        """How Open... shows the chosen file in the scene (the standalone window loads it with its host)."""
        self.openImage = openImage

    # ------------------------------------------------------------------ scene

    def refresh(self) -> None:
        """Refill the two volume lists from the scene (the panel calls this on each refresh)."""
        nodes = [node for node in volumeNodes(self.logic.scene) if node.GetImageData() is not None]
        previous = self.dicomNodeID()
        self._dicomNodeIDs = [node.GetID() for node in nodes if node.GetAttribute("DICOM.instanceUIDs")]
        self.dicomCombo.blockSignals(True)
        self.dicomCombo.clear()
        for nodeID in self._dicomNodeIDs:
            self.dicomCombo.addItem(self.logic.scene.GetNodeByID(nodeID).GetName())
        if previous in self._dicomNodeIDs:
            self.dicomCombo.setCurrentIndex(self._dicomNodeIDs.index(previous))
        self.dicomCombo.blockSignals(False)
        self._imageChoices = [(node.GetName(), imagePathOf(node)) for node in nodes if imagePathOf(node)]
        self.sceneImageCombo.blockSignals(True)
        self.sceneImageCombo.clear()
        self.sceneImageCombo.addItem(_("(choose)"))
        for name, _path in self._imageChoices:
            self.sceneImageCombo.addItem(name)
        self.sceneImageCombo.blockSignals(False)

    def dicomNodeID(self) -> Optional[str]:
        index = int(self.dicomCombo.property("currentIndex"))
        return self._dicomNodeIDs[index] if 0 <= index < len(self._dicomNodeIDs) else None

    def imagePath(self) -> str:
        return str(self.imagePathEdit.property("text") or "").strip()

    def setImagePath(self, path: str) -> None:
        self.imagePathEdit.setText(path)

    def selectDICOM(self, nodeID: str) -> None:
        if nodeID not in self._dicomNodeIDs:
            self.refresh()
        if nodeID not in self._dicomNodeIDs:
            raise GeometryError(_("{nodeID} is not a volume loaded from DICOM").format(nodeID=nodeID))
        self.dicomCombo.setCurrentIndex(self._dicomNodeIDs.index(nodeID))

    def _onSceneImageChosen(self, index: int) -> None:
        if 1 <= index <= len(self._imageChoices):
            self.setImagePath(str(self._imageChoices[index - 1][1]))

    # ------------------------------------------------------------------ actions

    def compare(self) -> AlignmentResult:
        """Run align on the chosen file and series and show the result."""
        path, reference = self._inputs()
        self.result = self.logic.align(path, reference)
        self._show(self.result)
        self.setStatus(
            _("Compared {file} with {series}: {verdict}.").format(
                file=os.path.basename(path), series=reference.GetName(), verdict=self.result.verdict
            )
        )
        return self.result

    def _inputs(self) -> Tuple[str, Any]:
        path = self.imagePath()
        if not path:
            raise GeometryError(_("choose an image file first (Open..., or a volume read from a file)"))
        self.ensureReadable(path)
        nodeID = self.dicomNodeID()
        if nodeID is None:
            raise GeometryError(_("no DICOM series in the scene: load one (File > Open DICOM folder)"))
        reference = self.logic.scene.GetNodeByID(nodeID)
        storagePath = imagePathOf(reference)
        if storagePath and os.path.abspath(storagePath) == os.path.abspath(path):
            raise GeometryError(_("the image and the DICOM series are the same volume: choose another"))
        return path, reference

    def ensureReadable(self, path: str) -> None:
        """Offer to install what reading ``path`` needs (inside Slicer: nibabel or pynrrd, after asking);
        GeometryError when it is still missing. Outside Slicer the reader's own message names the pip command."""
        missing = missingPackages(path)
        if not missing or self.installRequirements is None:
            return
        if not self.installRequirements(missing):
            raise GeometryError(
                _("reading {file} needs {packages}, which is not installed").format(
                    file=os.path.basename(path), packages=", ".join(missing)
                )
            )

    def _show(self, result: AlignmentResult) -> None:
        self.verdictLabel.setText(result.verdict[0].upper() + result.verdict[1:])
        self.detailsText.setPlainText(alignText(result))
        rows = sliceMapRows(result)
        table = self.sliceMapTable
        table.clearContents()
        table.setRowCount(len(rows))
        for rowIndex, row in enumerate(rows):
            for column, text in enumerate(row):
                item = qt.QTableWidgetItem(text)
                item.setToolTip(result.sliceMap[rowIndex].file)
                table.setItem(rowIndex, column, item)
        table.resizeColumnsToContents()
        self._setActionsEnabled(True)
        self.copyRecipeButton.setEnabled(result.numpy is not None)

    def _setActionsEnabled(self, enabled: bool) -> None:
        for button in (self.copyRecipeButton, self.resampleButton, self.saveButton):
            button.setEnabled(enabled)

    def copyRecipe(self) -> str:
        if self.result is None or self.result.numpy is None:
            raise GeometryError(_("no one-to-one correspondence: there is no recipe (resample instead)"))
        qt.QApplication.clipboard().setText(self.result.numpy)
        self.setStatus(_("Copied the numpy recipe (DICOM order [k, j, i]) to the clipboard."))
        return self.result.numpy

    def resample(self) -> Any:
        """A new labelmap (or scalar) node on the DICOM voxels; returns it."""
        path, reference = self._inputs()
        node = self.logic.alignedVolume(path, reference)
        how = node.GetAttribute("AffineInspector.alignMethod")
        self.setStatus(
            (
                _("Created {output} on the grid of {series} (copied through the one-to-one correspondence).")
                if how == "copied"
                else _("Created {output} on the grid of {series} (sampled at each slice's IPP).")
            ).format(output=node.GetName(), series=reference.GetName())
        )
        return node

    def save(self, output: str) -> str:
        """Write the image on the DICOM voxels to a new file (.nii.gz, .nrrd, .npy)."""
        from ..dicom import aligner

        path, reference = self._inputs()
        inputs = self.logic.alignInputs(path, reference)
        result = aligner.align(inputs)
        record = aligner.writeAligned(inputs, result, output)
        self.setStatus(_("Wrote {file}: {note}.").format(file=output, note=record.note))
        return output

    def onOpen(self) -> None:
        patterns = " ".join(f"*{extension}" for extension in READ_EXTENSIONS)
        path, _filter = qt.QFileDialog.getOpenFileName(
            self.widget, _("Open an image file"), "", _("Images ({patterns})").format(patterns=patterns)
        )
        if path:
            self.setImagePath(path)
            if self.openImage is not None:
                with self.errorsShown(_("Opening {path} failed").format(path=path)):
                    self.openImage(path)

    def onCompare(self) -> None:
        with self.errorsShown(_("Comparing failed")):
            self.compare()

    def onCopyRecipe(self) -> None:
        with self.errorsShown(_("Copying the recipe failed")):
            self.copyRecipe()

    def onResample(self) -> None:
        with self.errorsShown(_("Resampling onto the DICOM grid failed")):
            self.resample()

    def onSave(self) -> None:
        patterns = " ".join(f"*{extension}" for extension in WRITE_EXTENSIONS)
        output, _filter = qt.QFileDialog.getSaveFileName(
            self.widget, _("Save on the DICOM grid"), "", _("Images ({patterns})").format(patterns=patterns)
        )
        if output:
            with self.errorsShown(_("Saving failed")):
                self.save(output)
