"""The panel's "Conventions" tab: the selected volume's voxel-to-world matrix as each program states it.

A selector of the convention (:data:`~..geometry.conventions.CONVENTION_NAMES`), the matrix and what it
means (monospace text from :func:`~..geometry.conventions.describe`), and two copy buttons (the matrix as
a numpy array; the whole text). Qt through :mod:`.qtcompat`, method calls and signals only; values are read
with ``property("name")`` (under PythonQt a property shadows its getter).

Which header the tab shows (:func:`headerForVolume`): a DICOM volume's series once its files were read
(Slicer IJK); else the file the node was loaded from, while the node still has that file's geometry; else
the node's own IJKToRAS, as Slicer would write it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..dicom.imagefiles import headerFromSeries, readVolumeHeader
from ..geometry import affines, conventions
from ..geometry.errors import GeometryError
from .qtcompat import qt
from .translation import tr as _

if TYPE_CHECKING:
    from ..dicom.series import SeriesGeometry
    from ..mrml.nodes import VolumeInfo

SAME_GEOMETRY_MM = 1e-3
"""A file's geometry is still the node's when Slicer's matrix of it agrees to this (mm, per entry)."""


def headerForVolume(
    info: VolumeInfo, series: Optional[SeriesGeometry], storagePath: Optional[str]
) -> Tuple[conventions.VolumeHeader, str]:
    """``(header, where it comes from)`` for the selected volume (see the module docstring)."""
    if series is not None and series.IJKToLPS is not None:
        return headerFromSeries(series, info.name), _("its DICOM files (Slicer IJK, slices in Slicer's order)")
    IJKToRAS = np.asarray(info.IJKToRAS, dtype=float)
    note = ""
    if storagePath and os.path.isfile(storagePath):
        header = readVolumeHeader(storagePath)
        loaded = conventions.conventions(header)["slicer-loaded"].matrix
        if np.abs(loaded - IJKToRAS).max() <= SAME_GEOMETRY_MM:
            return header, _("the file {path} (its own voxel order)").format(path=storagePath)
        note = _(
            "the node's IJK to RAS, as Slicer would write the volume ({file} no longer matches: the node was moved "
            "after loading)"
        ).format(file=os.path.basename(storagePath))
    header = conventions.headerFromIJKToLPS(info.name, affines.rasToLPS(IJKToRAS), info.dimensions)
    header.kind = "volume node"
    return header, note or _("the node's IJK to RAS, as Slicer would write the volume")


def storagePath(node: Any) -> Optional[str]:
    """The file a node was loaded from, if any (its storage node's file name)."""
    storage = node.GetStorageNode() if node is not None else None
    name = storage.GetFileName() if storage is not None else None
    return str(name) if name else None


class ConventionsView:
    """The tab's widgets. ``copy(makeText)`` puts ``makeText()`` on the clipboard: the panel's, which shows
    an error (no volume selected) as its other buttons do."""

    def __init__(self, tabs: Any, copy: Callable[[Callable[[], str]], None]) -> None:
        self.copy = copy
        self.entries: Dict[str, conventions.ConventionMatrix] = {}
        self.source = ""
        self._key: Any = None  # what the shown entries were computed from: refreshes recompute nothing
        self.widget = qt.QWidget()
        layout = qt.QVBoxLayout(self.widget)
        selectorRow = qt.QHBoxLayout()
        selectorRow.addWidget(qt.QLabel(_("Convention:")))
        self.selector = qt.QComboBox()
        for name in conventions.CONVENTION_NAMES:
            self.selector.addItem(name)
        self.selector.setToolTip(_("The program whose voxel-to-world convention to show"))
        selectorRow.addWidget(self.selector, 1)
        layout.addLayout(selectorRow)
        self.text = qt.QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(qt.QFontDatabase.systemFont(qt.QFontDatabase.FixedFont))
        layout.addWidget(self.text, 1)
        buttons = qt.QHBoxLayout()
        self.copyMatrixButton = qt.QPushButton(_("Copy matrix (numpy)"))
        self.copyTextButton = qt.QPushButton(_("Copy text"))
        buttons.addWidget(self.copyMatrixButton)
        buttons.addWidget(self.copyTextButton)
        layout.addLayout(buttons)
        tabs.addTab(self.widget, _("Conventions"))
        self.selector.currentIndexChanged.connect(self._show)
        self.copyMatrixButton.clicked.connect(lambda: self.copy(self.matrixText))
        self.copyTextButton.clicked.connect(lambda: self.copy(self.text.toPlainText))
        self.clear(_("No volume selected."))

    def clear(self, message: str) -> None:
        self.entries = {}
        self._key = None
        self.text.setPlainText(message)

    def showVolume(self, info: Optional[VolumeInfo], series: Optional[SeriesGeometry], path: Optional[str]) -> None:
        """Show ``info``'s conventions (``series``: its DICOM analysis, ``path``: the file it came from)."""
        if info is None:
            self.clear(_("No volume selected."))
            return
        key = (info.nodeID, str(info.IJKToRAS), info.dimensions, id(series), path)
        if key == self._key:
            return
        try:
            header, self.source = headerForVolume(info, series, path)
            self.entries = conventions.conventions(header, withInverse=True)
        except GeometryError as error:  # shown where the matrix would be; the other tabs still work
            self.clear(_("{name}: no conventions to show: {error}").format(name=info.name, error=error))
            return
        self._key = key
        self._show()

    def selectedName(self) -> str:
        return str(self.selector.property("currentText"))

    def matrixText(self) -> str:
        """The selected convention's matrix as a numpy literal, its spaces in a comment."""
        entry = self.entries.get(self.selectedName())
        if entry is None:
            raise GeometryError(_("select a volume first"))
        rows = ",\n    ".join("[" + ", ".join(f"{value:.9g}" for value in row) + "]" for row in entry.matrix)
        return f"# {entry.name}: {entry.source} -> {entry.to}\nnp.array([\n    {rows},\n])\n"

    def _show(self, *unused: Any) -> None:
        entry = self.entries.get(self.selectedName())
        if entry is None:
            return
        self.text.setPlainText(_("From {source}.").format(source=self.source) + f"\n\n{conventions.describe(entry)}\n")
