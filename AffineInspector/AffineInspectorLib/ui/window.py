"""``affine-inspector gui``: the panel in a standalone window (PySide6 + slicer-core, no Slicer application).

A main window holds the same panel the Slicer module shows, over a
:class:`~AffineInspectorLib.host.StandaloneHost` scene; File opens a DICOM
folder (every series in it, loaded as Slicer's DICOM plugin loads them) or a
volume file. ``--offscreen --screenshot FILE`` renders the window without a
display, with the first volume and its slice table selected, and exits.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..dicom.imagefiles import VOLUME_EXTENSIONS
from ..dicom.outputs import OutputError, newFiles
from ..geometry.errors import GeometryError
from ..geometry.progress import Cancelled
from .translation import tr as _

DEFAULT_SIZE = (1000, 1100)


def _application(offscreen: bool) -> Any:
    """The QApplication (made if there is none yet)."""
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from .qtcompat import qt

    return qt.QApplication.instance() or qt.QApplication(["affine-inspector"])


class MainWindow:
    """The standalone window: File menu, the panel, a status bar. ``window`` is the QMainWindow."""

    def __init__(self, *, reportError: Optional[Callable[[str, str], None]] = None) -> None:
        from ..mrml.host import StandaloneHost
        from ..mrml.logic import VolumeGeometryLogic
        from .panel import AffineInspectorPanel
        from .qtcompat import qt

        self.host = StandaloneHost()
        self.logic = VolumeGeometryLogic(self.host.scene, self.host)
        self.window = qt.QMainWindow()
        self.window.setWindowTitle(_("Affine Inspector"))
        self.panel = AffineInspectorPanel(self.logic, reportError=reportError)
        self.window.setCentralWidget(self.panel.widget)
        self.panel.alignTab.setOpenImage(self.openImageFile)
        fileMenu = self.window.menuBar().addMenu(_("&File"))
        fileMenu.addAction(_("Open DICOM folder..."), self.onOpenDICOMFolder)
        fileMenu.addAction(_("Open volume file..."), self.onOpenVolumeFile)
        fileMenu.addSeparator()
        fileMenu.addAction(_("Quit"), self.window.close)
        self.window.resize(*DEFAULT_SIZE)

    def open(self, paths: Sequence[str]) -> List[Any]:
        """Load volume files and DICOM files/folders (every series); returns the new nodes.

        What cannot be loaded is reported through the panel (status line and
        error display), never skipped silently.
        """
        nodes = []
        for path in paths:  # in the order given: the first path's volume is the one selected
            try:
                with self.panel.errorsShown(_("Opening {path} failed").format(path=path)):
                    nodes.extend(self._openPath(path))
            except Exception:  # noqa: BLE001  shown and logged by errorsShown; the other paths still open
                continue
        self.panel.checkAll()  # refreshes the table when done
        return nodes

    def _openPath(self, path: str) -> List[Any]:
        if not os.path.exists(path):
            raise FileNotFoundError(_("no such file or folder: {path}").format(path=path))
        if os.path.isfile(path) and path.lower().endswith(VOLUME_EXTENSIONS):
            return [self.host.loadVolume(path)]
        return self._openDICOM([path])

    def _openDICOM(self, paths: Sequence[str]) -> List[Any]:

        dialog, callback = self.panel.progressDialog(_("Reading DICOM headers"))
        earlierErrors = dict(self.host.loadErrors)
        try:
            nodes = self.host.loadDICOM(list(paths), progressCallback=callback)
        except Cancelled:
            self.panel.setStatus(
                _("Opening {paths} was cancelled; nothing loaded from it.").format(paths=", ".join(paths))
            )
            return []
        finally:
            dialog.close()
        problems = [
            _("series {uid}: {why}").format(uid=uid, why=why)
            for uid, why in self.host.loadErrors.items()
            if uid not in earlierErrors
        ]
        if self.host.unreadable:
            problems.append(
                _("{count} file(s) were not DICOM images (e.g. {example})").format(
                    count=len(self.host.unreadable), example=self.host.unreadable[0].message
                )
            )
        if not nodes:
            paths = ", ".join(paths)
            raise GeometryError(
                _("no DICOM image series loaded from {paths}: {problems}").format(
                    paths=paths, problems="; ".join(problems)
                )
                if problems
                else _("no DICOM image series loaded from {paths}").format(paths=paths)
            )
        if problems:
            self.panel.setStatus(_("Loaded with problems: {problems}").format(problems="; ".join(problems)), error=True)
        return nodes

    def openImageFile(self, path: str) -> Any:
        """Load an image file for display: as a labelmap when it holds labels (the Align tab's Open...)."""
        from .aligntab import looksLikeLabels

        node = self.host.loadVolume(path, labelmap=looksLikeLabels(path))
        self.panel.refresh()
        return node

    def onOpenDICOMFolder(self) -> None:
        from .qtcompat import qt

        folder = qt.QFileDialog.getExistingDirectory(self.window, _("Open a DICOM folder"))
        if folder:
            self.open([folder])

    def onOpenVolumeFile(self) -> None:
        from .qtcompat import qt

        patterns = " ".join(f"*{extension}" for extension in VOLUME_EXTENSIONS)
        path, _filter = qt.QFileDialog.getOpenFileName(
            self.window, _("Open a volume file"), "", _("Volumes ({patterns})").format(patterns=patterns)
        )
        if path:
            self.open([path])

    def selectFirstVolume(self, tab: str = "slices") -> Optional[str]:
        """Select the first volume (its DICOM files are read if needed) and show ``tab``; returns its node ID."""
        self.panel.refresh()
        nodeIDs = self.panel.volumeNodeIDs()
        if not nodeIDs:
            return None
        self.panel.selectVolume(nodeIDs[0])
        self.panel.showTab(tab)
        return nodeIDs[0]

    def screenshot(self, path: str, *, mkdir: bool = False) -> Optional[str]:
        """Render the window into a new PNG file (never over a file: :func:`..dicom.outputs.newFiles`); returns
        the folder created for it (``mkdir``), else None. GeometryError when it cannot be written."""
        from .qtcompat import qt

        self.window.show()
        for _repeat in range(3):  # layout, then paint
            qt.QApplication.processEvents()
        with newFiles(path, mkdir=mkdir) as written:
            if not self.window.grab().save(written.staged, "PNG"):
                raise OutputError(f"{path}: could not be written (Qt could not save the PNG); nothing written")
        return written.createdFolder

    def close(self) -> None:
        self.panel.cleanup()
        self.window.close()


def showWindow(
    paths: Sequence[str], *, tab: str = "slices", size: Tuple[int, int] = DEFAULT_SIZE, offscreen: bool = False
) -> int:
    """Open the window on ``paths`` (errors get a message box) and run until it is closed; Qt's exit status."""
    application = _application(offscreen)
    main = MainWindow()
    main.window.resize(*size)
    main.open(list(paths))
    main.selectFirstVolume(tab)
    main.window.show()
    return application.exec()


@dataclasses.dataclass
class Screenshot:
    """What :func:`renderScreenshot` did: the folder it created (``mkdir``), and what could not be opened."""

    createdFolder: Optional[str] = None
    problems: List[str] = dataclasses.field(default_factory=list)


def renderScreenshot(
    paths: Sequence[str],
    screenshot: str,
    *,
    tab: str = "slices",
    size: Tuple[int, int] = DEFAULT_SIZE,
    offscreen: bool = False,
    mkdir: bool = False,
    debug: bool = False,
) -> Screenshot:
    """Open ``paths`` without blocking, select the first volume, write the window to PNG.

    What could not be opened is collected, one line each, in the result's ``problems`` (the traceback too
    with ``debug``). Raises GeometryError when no volume could be loaded, saying why in one line (nothing is
    written then).
    """
    _application(offscreen)
    problems: List[str] = []

    def report(message: str, details: str) -> None:
        lines = [line for line in details.strip().splitlines() if line.strip()]
        problems.append(
            _("{message}: {details}").format(message=message, details=lines[0] if lines else _("no details"))
        )
        if debug:
            sys.stderr.write(f"affine-inspector: {message}: {details}\n")

    main = MainWindow(reportError=report)
    try:
        main.window.resize(*size)
        main.open(list(paths))
        if main.selectFirstVolume(tab) is None:
            why = "; ".join(problems) if problems else _("no path given")
            raise GeometryError(_("no volume loaded ({why}); no screenshot written").format(why=why))
        created = main.screenshot(screenshot, mkdir=mkdir)
    finally:
        main.close()
    return Screenshot(created, problems)
