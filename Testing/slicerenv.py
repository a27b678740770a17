"""Slicer's own Python layer, importable outside Slicer: the real files plus the thinnest stand-ins.

What runs is Slicer's code itself, read from ``shared/thirdparty/slicer-583e9b37``
(never copied): ``slicer.ScriptedLoadableModule``, ``slicer.i18n``,
``slicer.parameterNodeWrapper``, ``slicer.testing``, ``slicer.packaging``,
``DICOMLib.DICOMUtils``, ``DICOMLib.DICOMPlugin`` and the
``DICOMScalarVolumePlugin`` module, together with the PyPI package
``slicer-core`` (MRML, vtkITK, the volumes and colour logics, and Slicer's
``slicer/util.py``, which it ships; its ``slicer.util`` is the one used).

Under the PythonQt host (``make test-pythonqt``) ``qt`` is the real PythonQt
module, as in Slicer; under plain CPython ``qt`` is PySide6 under Qt's C++
names, which is enough for the Qt-free parts (sorting, settings, error
handling) but not for Slicer's widget code, which reads Qt properties as
attributes.

Everything Slicer's application would provide and this process has not is in
:data:`STAND_INS`, one line each; :func:`slicerEnvironment` installs exactly
those and takes them away again on exit (so that other tests in the same
process, which decide between PythonQt and PySide6 by whether ``qt`` imports,
are not affected)::

    with slicerEnvironment() as slicer:
        from DICOMLib import DICOMUtils
        files, distances, warning = DICOMUtils.getSortedImageFiles(paths)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import types
from typing import Dict, Iterator, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("AFFINE_INSPECTOR_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
SLICER_SOURCE = os.path.join(SHARED, "thirdparty", "slicer-583e9b37")
SLICER_BASE_PYTHON = os.path.join(SLICER_SOURCE, "Base", "Python", "slicer")
DICOMLIB_FOLDER = os.path.join(SLICER_SOURCE, "Modules", "Scripted", "DICOMLib")
DICOM_PLUGINS_FOLDER = os.path.join(SLICER_SOURCE, "Modules", "Scripted", "DICOMPlugins")

#: Running inside the PythonQt host: PythonQt creates this module when it starts.
PYTHONQT = "PythonQt" in sys.modules

#: Every stand-in, with why it is needed; :func:`slicerEnvironment` installs these and no others.
STAND_INS: Dict[str, str] = {
    "qt": "plain CPython only: Slicer's code imports PythonQt's qt; PySide6's classes under the same C++ names",
    "ctk": "CTK (widgets, ctkDICOMDatabase) is C++ not built here; names only, except ctkDICOMIndexer (importDicom):"
    " it indexes a folder's DICOM files into slicer.dicomDatabase",
    "vtkITK": "Slicer imports vtkITK as a top-level module; slicer-core ships it as slicer_core.vtkITK",
    "DICOMLib": "its __init__ imports the DICOM browser's modules, absent here; only DICOMUtils and DICOMPlugin load",
    "DICOMLib.DICOMExportScalarVolume": "imported by the scalar-volume plugin for export only; not in the shared tree",
    "slicer.app": "qSlicerApplication: testing mode (no modal boxes; tryWithErrorDisplay re-raises), cursor, app logic,"
    " moduleManager() (ScriptedLoadableModuleWidget connects to its moduleAboutToBeUnloaded(QString) signal;"
    " under PySide6 the stand-in takes PythonQt's connect(signature, slot) form)",
    "slicer.dicomDatabase": "ctkDICOMDatabase: the tag values of files, read with pydicom on first use; open/close/"
    "initialize as TemporaryDICOMDatabase calls them (an in-memory index, no SQL file)",
    "slicer.dicomDatabaseDirectorySettingsKey": "set by Slicer's DICOM module; TemporaryDICOMDatabase saves and"
    " restores the database folder setting under it",
    "slicer.mrmlScene": "the scene the application owns",
    "slicer.modules": "the module registry: volumes and colors logics, DICOMInstance, dicomPlugins (filled by Slicer's"
    " own DICOMScalarVolumePlugin module class, the only plugin in the shared tree), and registerModule() for a"
    " scripted module under test (the module factory's slicer.modules.<name> with its path)",
    "slicer.moduleNames": "created by Slicer's slicer/__init__.py, which slicer-core replaces with its own",
    "slicer.qSlicerSubjectHierarchyPluginHandler": "DICOMPlugin reads 4 item-naming flags from instance(): defaults",
    "slicer.qMRMLWidget": "Slicer's MRML widgets are C++ not built here; named in ScriptedLoadableModuleWidget",
    "slicer.qSlicerWidget": "named in parameterNodeWrapper's annotations",
    "slicer.qMRMLNodeComboBox": "named in parameterNodeWrapper's annotations",
    "slicer.qMRMLSliderWidget": "named in parameterNodeWrapper's annotations",
    "slicer.qMRMLSpinBox": "named in parameterNodeWrapper's annotations",
    "slicer.qMRMLRangeWidget": "named in parameterNodeWrapper's annotations",
    "QSettings": "user settings go to a temporary folder: Slicer reads e.g. DICOM/ScalarVolume/* from them",
}


def absentClass(qualifiedName: str) -> type:
    """A class standing for a C++ class not built here: usable in annotations, fails when instantiated."""
    moduleName, _, name = qualifiedName.rpartition(".")

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{qualifiedName} is not available outside Slicer (slicerenv: {STAND_INS.get(qualifiedName, 'C++')})"
        )

    return type(name, (), {"__init__": __init__, "__module__": moduleName})


#
# slicer.dicomDatabase
#


def _tagKey(tag: str) -> int:
    """``"0020,000E"`` (ctkDICOMDatabase's spelling) as pydicom's integer tag."""
    group, element = tag.split(",")
    return int(group, 16) << 16 | int(element, 16)


def _valueString(element) -> str:
    """An element's value as ctkDICOMDatabase (DCMTK) gives it: values joined by a backslash, padding stripped."""
    from pydicom.multival import MultiValue
    from pydicom.sequence import Sequence

    value = element.value
    if value is None or isinstance(value, (Sequence, bytes)):
        return ""
    values = list(value) if isinstance(value, MultiValue) else [value]
    return "\\".join(str(each).strip(" \x00") for each in values)


class DICOMFileDatabase:
    """``slicer.dicomDatabase`` for files on disk: what DICOMUtils and the DICOM plugins call.

    Each file's header is read with pydicom the first time a value of it is
    asked for (or when :meth:`insertFiles` indexes it, as Slicer's indexer
    does on import); series and instance look-ups know the files read so far.
    """

    def __init__(self):
        self.isOpen = True
        self.databaseFilename = ""
        self._headers: Dict[str, object] = {}
        self._seriesFiles: Dict[str, List[str]] = {}
        self._instanceFiles: Dict[str, str] = {}

    # What DICOMUtils' (Temporary)DICOMDatabase functions call: one in-memory index, opened, cleared, closed.
    def openDatabase(self, databaseFilename: str) -> None:
        self.databaseFilename = databaseFilename
        self.isOpen = True

    def closeDatabase(self) -> None:
        self.isOpen = False

    def initializeDatabase(self) -> None:
        self._headers.clear()
        self._seriesFiles.clear()
        self._instanceFiles.clear()

    @property
    def databaseDirectory(self) -> str:
        return os.path.dirname(self.databaseFilename)

    def _header(self, path: str):
        header = self._headers.get(path)
        if header is None:
            import pydicom

            # The whole header, pixel data deferred: fileValueExists(PixelData) must see it.
            header = pydicom.dcmread(path, defer_size="1 KB", force=True)
            self._headers[path] = header
            self._seriesFiles.setdefault(str(header.get("SeriesInstanceUID", "")), []).append(path)
            self._instanceFiles[str(header.get("SOPInstanceUID", ""))] = path
        return header

    def insertFiles(self, paths) -> None:
        """Index files, as ``DICOMUtils.importDicom`` does with Slicer's database: files that are not DICOM (no
        DICM prefix and no SOP Class UID) are skipped, as Slicer's indexer skips them."""
        for path in paths:
            if _isDICOM(path):
                self._header(path)

    def fileValue(self, path: str, tag: str) -> str:
        header = self._header(path)
        key = _tagKey(tag)
        return _valueString(header[key]) if key in header else ""

    def fileValueExists(self, path: str, tag: str) -> bool:
        return _tagKey(tag) in self._header(path)

    def instanceValue(self, instanceUID: str, tag: str) -> str:
        path = self._instanceFiles.get(instanceUID)
        return self.fileValue(path, tag) if path else ""

    def fileForInstance(self, instanceUID: str) -> str:
        return self._instanceFiles.get(instanceUID, "")

    def seriesForFile(self, path: str) -> str:
        return self.fileValue(path, "0020,000E")

    def filesForSeries(self, seriesUID: str, hits: int = -1) -> List[str]:
        files = self._seriesFiles.get(seriesUID, [])
        return list(files if hits < 0 else files[:hits])


def _isDICOM(path: str) -> bool:
    import pydicom

    try:
        with open(path, "rb") as stream:
            if stream.read(132)[128:132] == b"DICM":
                return True
        return "SOPClassUID" in pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001  unreadable: not indexed
        return False


class DICOMIndexer:
    """``ctk.ctkDICOMIndexer``: what ``DICOMUtils.importDicom`` calls; indexes at once (no background thread)."""

    def addDirectory(self, database, directory: str, copyFiles: bool = False) -> None:
        if copyFiles:
            raise NotImplementedError("slicerenv's indexer indexes files in place (copyFiles=False)")
        paths = []
        for root, folders, names in os.walk(directory):
            folders.sort()
            paths.extend(os.path.join(root, name) for name in sorted(names))
        database.insertFiles(paths)

    def addFile(self, database, path: str, copyFile: bool = False) -> None:
        database.insertFiles([path])

    def waitForImportFinished(self) -> None:
        return None


#
# slicer.app
#


class Application:
    """``slicer.app``: the part of qSlicerApplication that Slicer's Python here calls."""

    applicationName = "Slicer"

    def __init__(self, qt, applicationLogic, temporaryPath: str):
        self._qt = qt
        self._applicationLogic = applicationLogic
        self._moduleManager = None
        self.temporaryPath = temporaryPath

    def testingEnabled(self) -> bool:
        """As in Slicer's self-tests: errorDisplay logs instead of opening a modal box."""
        return True

    def applicationLogic(self):
        return self._applicationLogic

    def translate(self, context: str, text: str) -> str:
        return text

    def setOverrideCursor(self, cursor) -> None:
        if self._qt.QApplication.instance() is not None:
            self._qt.QApplication.setOverrideCursor(self._qt.QCursor(cursor))

    def processEvents(self) -> None:
        """slicer.util.delayDisplay (msec < 400, as self-tests use) lets the event loop catch up."""
        if self._qt.QApplication.instance() is not None:
            self._qt.QApplication.processEvents()

    def restoreOverrideCursor(self) -> None:
        if self._qt.QApplication.instance() is not None:
            self._qt.QApplication.restoreOverrideCursor()

    def moduleManager(self):
        """qSlicerModuleManager's one signal that ScriptedLoadableModuleWidget connects to by its C++ signature."""
        if self._moduleManager is None:
            self._moduleManager = _moduleManager(self._qt)
        return self._moduleManager

    def topLevelWidgets(self) -> list:
        """slicer.util.mainWindow() looks for "qSlicerMainWindow" here; there is none."""
        return []


def _moduleManager(qt):
    """An object with qSlicerModuleManager's ``moduleAboutToBeUnloaded(QString)`` signal.

    Under PythonQt, ``connect("moduleAboutToBeUnloaded(QString)", slot)`` (the form Slicer's widget code uses) is
    PythonQt's own. PySide6 has no such form: there the stand-in's ``connect``/``disconnect`` take that one
    signature and connect the Python signal.
    """
    if PYTHONQT:
        from PythonQt.QtCore import Signal

        class ModuleManager(qt.QObject):
            moduleAboutToBeUnloaded = Signal("QString")

        return ModuleManager()
    from PySide6.QtCore import QObject, Signal

    class PySideModuleManager(QObject):
        moduleAboutToBeUnloaded = Signal(str)
        _signatures = {"moduleAboutToBeUnloaded(QString)": "moduleAboutToBeUnloaded"}

        def connect(self, signature, slot):
            getattr(self, self._signatures[signature]).connect(slot)

        def disconnect(self, signature, slot):
            getattr(self, self._signatures[signature]).disconnect(slot)

    return PySideModuleManager()


#
# The environment
#


def _pyside6Qt() -> types.ModuleType:
    from PySide6 import QtCore, QtGui, QtUiTools, QtWidgets

    module = types.ModuleType("qt", "slicerenv stand-in: " + STAND_INS["qt"])
    kits = (QtCore, QtGui, QtWidgets, QtUiTools)

    def __getattr__(name):
        for kit in kits:
            if hasattr(kit, name):
                return getattr(kit, name)
        raise AttributeError(f"module 'qt' has no attribute '{name}'")

    module.__getattr__ = __getattr__
    return module


def _ctk() -> types.ModuleType:
    module = types.ModuleType("ctk", "slicerenv stand-in: " + STAND_INS["ctk"])
    classes: Dict[str, type] = {}

    def __getattr__(name):
        if not name.startswith("ctk"):
            raise AttributeError(f"module 'ctk' has no attribute '{name}'")
        return classes.setdefault(name, absentClass("ctk." + name))

    module.ctkDICOMIndexer = DICOMIndexer

    module.__getattr__ = __getattr__
    return module


def _dicomLib(dicomExportScalarVolume: type) -> types.ModuleType:
    """The DICOMLib package without its __init__: submodules load from Slicer's folder on import."""
    package = types.ModuleType("DICOMLib", "slicerenv stand-in: " + STAND_INS["DICOMLib"])
    package.__path__ = [DICOMLIB_FOLDER]
    package.__file__ = os.path.join(DICOMLIB_FOLDER, "__init__.py")
    package.DICOMExportScalarVolume = dicomExportScalarVolume
    return package


def _fillDICOMLib(package: types.ModuleType) -> None:
    """What DICOMLib/__init__.py does for the two modules the shared tree has: their public names on the package."""
    import importlib

    for name in ("DICOMPlugin", "DICOMUtils"):  # __init__'s order: DICOMPlugin the class wins over the module
        module = importlib.import_module("DICOMLib." + name)
        names = getattr(module, "__all__", None) or [each for each in vars(module) if not each.startswith("_")]
        for each in names:
            setattr(package, each, getattr(module, each))


def _scene():
    """A scene with Slicer's application, colour and volumes logics, wired as the application wires them."""
    import slicer

    scene = slicer.vtkMRMLScene()
    applicationLogic = slicer.vtkSlicerApplicationLogic()
    applicationLogic.SetMRMLScene(scene)
    home = tempfile.mkdtemp(prefix="slicerenv-home-")
    os.makedirs(os.path.join(home, "share", "ColorFiles"))  # the colour logic looks for user tables there
    applicationLogic.SetHomeDirectory(home)
    applicationLogic.SetShareDirectory("share")
    colorLogic = slicer.vtkSlicerColorLogic()
    colorLogic.SetMRMLApplicationLogic(applicationLogic)
    colorLogic.SetMRMLScene(scene)
    applicationLogic.SetModuleLogic("Colors", colorLogic)
    applicationLogic.SetColorLogic(colorLogic)
    volumesLogic = slicer.vtkSlicerVolumesLogic()
    volumesLogic.SetMRMLApplicationLogic(applicationLogic)
    volumesLogic.SetMRMLScene(scene)
    applicationLogic.SetModuleLogic("Volumes", volumesLogic)
    # Slicer's subject hierarchy logic keeps one subject hierarchy node in the scene (made at startup and again
    # after every scene close); without it the first DICOM load would create it, and loadSeriesByUID would
    # return its ID among the loaded nodes.
    slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    tag = scene.AddObserver(
        slicer.vtkMRMLScene.EndCloseEvent,
        lambda caller, event: slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene),
    )
    scene.slicerenvObserverTag = tag  # removed before the scene goes (a close while it is destroyed would crash)
    return scene, applicationLogic, colorLogic, volumesLogic, home


_active = False


@contextlib.contextmanager
def slicerEnvironment(*, settingsFolder: Optional[str] = None) -> Iterator[types.ModuleType]:
    """Slicer's Python importable, with :data:`STAND_INS` in place; yields ``slicer``. All undone on exit.

    ``settingsFolder`` receives QSettings' files (default: a temporary folder removed on exit).
    """
    global _active
    if _active:
        raise RuntimeError("slicerEnvironment is already active")
    for folder in (SLICER_BASE_PYTHON, DICOMLIB_FOLDER, DICOM_PLUGINS_FOLDER):
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"Slicer's sources not found at {folder} (set AFFINE_INSPECTOR_SHARED)")

    modules: Dict[str, types.ModuleType] = {}
    if not PYTHONQT:
        modules["qt"] = _pyside6Qt()
    modules["ctk"] = _ctk()
    import slicer
    import slicer_core.vtkITK

    modules["vtkITK"] = slicer_core.vtkITK
    exportClass = absentClass("DICOMLib.DICOMExportScalarVolume")
    modules["DICOMLib"] = _dicomLib(exportClass)
    qt = modules.get("qt") or __import__("qt")

    scene, applicationLogic, colorLogic, volumesLogic, home = _scene()
    temporary = tempfile.mkdtemp(prefix="slicerenv-")
    registry = types.ModuleType("slicer.modules", "slicerenv stand-in: " + STAND_INS["slicer.modules"])
    registry.volumes = types.SimpleNamespace(logic=lambda: volumesLogic)
    registry.colors = types.SimpleNamespace(logic=lambda: colorLogic)
    registry.dicomPlugins = {}
    registry.DICOMInstance = types.SimpleNamespace()  # the scalar-volume plugin keeps its last reader here
    modules["slicer.modules"] = registry
    modules["slicer.moduleNames"] = types.ModuleType("slicer.moduleNames", STAND_INS["slicer.moduleNames"])
    registered: List[str] = []
    registry.registerModule = lambda path: _registerModule(registry, registered, path)
    attributes = {
        "app": Application(qt, applicationLogic, temporary),
        "dicomDatabase": DICOMFileDatabase(),
        "dicomDatabaseDirectorySettingsKey": "DatabaseDirectory_slicerenv",
        "mrmlScene": scene,
        "modules": registry,
        "moduleNames": modules["slicer.moduleNames"],
    }
    # Defaults documented in qSlicerSubjectHierarchyPluginHandler.h (its Q_PROPERTY comments).
    pluginHandler = types.SimpleNamespace(
        displayPatientIDInSubjectHierarchyItemName=True,
        displayPatientBirthDateInSubjectHierarchyItemName=False,
        displayStudyIDInSubjectHierarchyItemName=False,
        displayStudyDateInSubjectHierarchyItemName=True,
    )
    attributes["qSlicerSubjectHierarchyPluginHandler"] = types.SimpleNamespace(instance=lambda: pluginHandler)
    for name in STAND_INS:  # the C++ widget classes: names only
        if name.startswith(("slicer.qMRML", "slicer.qSlicerWidget")):
            attributes[name.split(".", 1)[1]] = absentClass(name)
    installed = {*modules, *("slicer." + name for name in attributes), "DICOMLib.DICOMExportScalarVolume", "QSettings"}
    if installed != set(STAND_INS) - ({"qt"} if PYTHONQT else set()):
        raise RuntimeError(
            f"STAND_INS differs from what slicerEnvironment installs: {sorted(installed ^ set(STAND_INS))}"
        )

    settingsFolder = settingsFolder or os.path.join(temporary, "settings")
    savedModules = {name: sys.modules.get(name) for name in modules}
    savedAttributes = {name: getattr(slicer, name) for name in attributes if hasattr(slicer, name)}
    namesBefore = set(vars(slicer))
    _active = True
    try:
        sys.modules.update(modules)
        for name, value in attributes.items():
            setattr(slicer, name, value)
        slicer.__path__.append(SLICER_BASE_PYTHON)
        sys.path.insert(0, DICOM_PLUGINS_FOLDER)
        _redirectSettings(qt, settingsFolder)
        _fillDICOMLib(modules["DICOMLib"])
        _registerDICOMPlugins()
        yield slicer
    finally:
        for name in registered:  # scripted modules under test: loaded again over the next environment
            sys.modules.pop(name, None)
        _redirectSettings(qt, None)
        if DICOM_PLUGINS_FOLDER in sys.path:
            sys.path.remove(DICOM_PLUGINS_FOLDER)
        if SLICER_BASE_PYTHON in slicer.__path__:
            slicer.__path__.remove(SLICER_BASE_PYTHON)
        _forgetSlicerModules()
        for name in set(vars(slicer)) - namesBefore:  # stand-ins, submodules, slicer.selfTests
            delattr(slicer, name)
        for name, value in savedAttributes.items():
            setattr(slicer, name, value)
        for name, module in savedModules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        scene.RemoveObserver(scene.slicerenvObserverTag)
        scene.Clear(True)
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        _active = False


def _registerDICOMPlugins() -> None:
    """What Slicer's module factory does at startup for the DICOM plugin modules: instantiate each module class,
    which adds its plugin class to ``slicer.modules.dicomPlugins`` (the scalar-volume plugin: the only one here)."""
    import DICOMScalarVolumePlugin

    DICOMScalarVolumePlugin.DICOMScalarVolumePlugin(types.SimpleNamespace())


def _registerModule(registry, registered: List[str], path: str):
    """Load a scripted module file as Slicer's module factory does: import it, instantiate the module class with a
    parent that has its ``path``, and register that parent as ``slicer.modules.<name in lower case>`` (what
    ``slicer.util.modulePath`` and the widget's ``resourcePath`` read). Returns the Python module."""
    import importlib

    name = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules.pop(name, None)
    module = importlib.import_module(name)
    if os.path.abspath(module.__file__) != os.path.abspath(path):
        raise ImportError(f"{name} imported from {module.__file__}, not {path}")
    registered.append(name)
    parent = types.SimpleNamespace(path=os.path.abspath(path), name=name)
    parent.module = getattr(module, name)(parent)
    setattr(registry, name.lower(), parent)
    return module


def _redirectSettings(qt, folder: Optional[str]) -> None:
    """Point QSettings' user and system scopes at ``folder``, or back at Qt's defaults (XDG) with None."""
    userFolder = folder or os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    systemFolder = folder or "/etc/xdg"
    for settingsFormat in (qt.QSettings.NativeFormat, qt.QSettings.IniFormat):
        qt.QSettings.setPath(settingsFormat, qt.QSettings.UserScope, userFolder)
        qt.QSettings.setPath(settingsFormat, qt.QSettings.SystemScope, systemFolder)


def _forgetSlicerModules() -> None:
    """Drop the modules loaded from Slicer's tree, so that the next environment loads them over its stand-ins."""
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(SLICER_SOURCE + os.sep):
            del sys.modules[name]
