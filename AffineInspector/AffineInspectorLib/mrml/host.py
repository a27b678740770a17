"""Hosts: where the scene, the volumes and the DICOM files come from.

* :class:`StandaloneHost` (PyPI ``slicer-core``, no Slicer application): a
  scene with the colour and volumes logics Slicer registers; DICOM loaded as
  ``DICOMUtils.loadSeriesByUID`` loads it with the scalar-volume plugin, by
  default settings: the same loadables selected
  (:mod:`..dicom.slicerloadables`, a port of the plugin's rules), each read
  by vtkITK's archetype series reader with the GDCM approach (DCMTK as
  fallback; in a child process, :mod:`.nativeload`, so that a native crash
  on a damaged series is a finding on that series), native orientation and origin, slices reversed into a
  right-handed IJK as the plugin does, the ``DICOM.instanceUIDs`` attribute,
  and the acquisition (grid) transform where slice corners leave the grid
  (Slicer's default "Acquisition geometry regularization"; ``regularize=False``
  turns it off). Its :class:`~..dicom.slicerloadables.DICOMTagIndex` stands
  for ``slicer.dicomDatabase``. NRRD / NIfTI / MetaImage come through
  ``vtkSlicerVolumesLogic``.
* Inside Slicer nothing here is needed: the module uses ``slicer.mrmlScene``
  and ``slicer.dicomDatabase`` (see ``AffineInspector.py``).

``Testing/test_slicer_parity.py`` loads every shared series with Slicer's own
plugin code and with this host and compares loadables, matrices and transforms.

:meth:`StandaloneHost.loadInspection` loads the series of an inspection the
engine already made (``inspect --slicer``), a 4D series with separate files
per volume as one node per volume, as Slicer's multi-volume / sequence
loadable gives it.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, List, Optional, Protocol, Sequence

import numpy as np
import slicer
from vtkmodules.util import numpy_support

from ..dicom import outputs
from ..dicom.imagefiles import VOLUME_EXTENSIONS, truncationProblem
from ..dicom.series import InspectionResult, SeriesGeometry
from ..dicom.slicerloadables import TAGS, DICOMTagIndex, Loadable, loadablesToLoad
from ..dicom.walk import findFiles
from ..geometry import affines, crosscheck
from ..geometry.errors import GeometryError
from ..geometry.findings import Finding
from ..geometry.progress import ProgressCallback
from . import nativeload
from . import vtkclasses as vtk
from .dicomcheck import NUMBER_OF_VOLUMES_ATTRIBUTE, REPEATED_BY_ATTRIBUTE, VOLUME_ATTRIBUTE
from .nodes import ijkToRAS, pointsToWorld


class StandaloneHost:
    """A Slicer-like environment on ``slicer-core``: scene, logics, DICOM loading, UID index."""

    def __init__(self, *, setGlobalScene: bool = True, displayNodes: bool = True) -> None:
        """``displayNodes=False``: volumes loaded from DICOM get none (their automatic window/level is computed
        from every voxel, for a view a command line never shows)."""
        self.displayNodes = displayNodes
        self.scene = slicer.vtkMRMLScene()
        # As Slicer's application registers them: the volumes logic finds the
        # colour logic (default colour tables for display nodes) through it.
        self.applicationLogic = slicer.vtkSlicerApplicationLogic()
        self.applicationLogic.SetMRMLScene(self.scene)
        # Slicer's home holds share/ColorFiles (optional user colour tables); an empty one here, so that the
        # colour logic does not log an error for the missing folder. The built-in tables need no files.
        home = os.path.join(tempfile.gettempdir(), "affine-inspector-slicer-home")
        os.makedirs(os.path.join(home, "share", "ColorFiles"), exist_ok=True)
        self.applicationLogic.SetHomeDirectory(home)
        self.applicationLogic.SetShareDirectory("share")
        self.colorLogic = slicer.vtkSlicerColorLogic()
        self.colorLogic.SetMRMLApplicationLogic(self.applicationLogic)
        self.colorLogic.SetMRMLScene(self.scene)
        self.applicationLogic.SetModuleLogic("Colors", self.colorLogic)
        self.applicationLogic.SetColorLogic(self.colorLogic)
        self.volumesLogic = slicer.vtkSlicerVolumesLogic()
        self.volumesLogic.SetMRMLApplicationLogic(self.applicationLogic)
        self.volumesLogic.SetMRMLScene(self.scene)
        self.applicationLogic.SetModuleLogic("Volumes", self.volumesLogic)
        self.dicomIndex = DICOMTagIndex()
        self.unreadable: List[Finding] = []
        self.loadErrors: Dict[str, str] = {}  # SeriesInstanceUID -> why a selected loadable of it was not loaded
        # Per series of the last loadInspection, in its order: the nodes loaded, or why none was.
        self.seriesNodes: List[List[Any]] = []
        self.seriesErrors: List[str] = []
        if setGlobalScene and getattr(slicer, "mrmlScene", None) is None:
            slicer.mrmlScene = self.scene  # so that slicer.util.getNode and friends work, as in Slicer

    # ------------------------------------------------------------------ DICOM database stand-in

    def fileForInstance(self, uid: str) -> str:
        """Path of the file holding SOPInstanceUID ``uid``, or ``""`` (as ``slicer.dicomDatabase``)."""
        return self.dicomIndex.fileForInstance(uid)

    def instanceValue(self, uid: str, tag: str) -> str:
        """The value of ``tag`` in the instance's file, or ``""`` (as ``slicer.dicomDatabase``)."""
        return self.dicomIndex.instanceValue(uid, tag)

    # ------------------------------------------------------------------ loading

    def loadDICOM(
        self,
        paths: Sequence[str],
        *,
        regularize: bool = True,
        progressCallback: Optional[ProgressCallback] = None,
    ) -> List[Any]:
        """Load every series under ``paths`` as Slicer's DICOM module does by default; return the volume nodes.

        Files are indexed (what is not DICOM goes to :attr:`unreadable`), grouped by series in the order found,
        and the loadables Slicer's scalar-volume plugin would select are loaded (a series may give several
        volumes, or none: :attr:`loadErrors` says why); ``progressCallback`` may cancel the indexing
        (:class:`~..geometry.progress.Cancelled`, nothing loaded). ``regularize`` (Slicer's default: on) adds the
        acquisition transform where slice corners deviate more than 1e-3 mm from the voxel grid; the volume
        node is then under it (``GetParentTransformNode()``).
        """
        files, missing = findFiles(list(paths))
        indexed, unreadable = self.dicomIndex.insertFiles(files, progressCallback)
        self.unreadable = missing + unreadable
        fileLists = self.dicomIndex.seriesFileLists(indexed)
        nodes = []
        selected = loadablesToLoad(
            self.dicomIndex, fileLists, failures=self.loadErrors, regularizationEnabled=regularize
        )
        for loadable in selected:
            try:
                nodes.append(self.loadLoadable(loadable, regularize=regularize))
            except GeometryError as error:  # one unreadable series does not stop the others
                seriesUID = self.dicomIndex.fileValue(loadable.files[0], TAGS["seriesUID"])
                self.loadErrors[seriesUID] = str(error)
        if progressCallback is not None:
            progressCallback("Done", 1.0)
        return nodes

    def loadLoadable(self, loadable: Loadable, *, regularize: bool = True) -> Any:
        """A new volume node from one loadable, as the plugin's ``load`` with its default reader approach."""
        return self._loadFiles(list(loadable.files), loadable.name, grayscale=loadable.grayscale, regularize=regularize)

    def loadInspection(self, result: InspectionResult, *, regularize: bool = True) -> List[Any]:
        """Load the series of an :func:`~..dicom.series.inspectPaths` result, each as the engine grouped it.

        A 3D series is one node. A 4D series whose volumes are in separate
        files (classic 4D, one enhanced or mosaic file per time point) is one
        node per volume, as Slicer's multi-volume / volume-sequence loadable
        gives it (MultiVolumeImporterPlugin: the files of each value of the
        repeating tag, loaded by the scalar-volume plugin). A 4D series whose
        volumes share files (one enhanced file holding every frame) is one
        node of all frames in stored order: no Slicer loadable splits a file.
        Each node is read, made right-handed and regularized as
        :meth:`loadLoadable` does. Nodes per series are in :attr:`seriesNodes`,
        failures in :attr:`seriesErrors` (and :attr:`loadErrors` by SeriesInstanceUID).
        """
        self.unreadable = list(result.unreadableFiles)
        self.dicomIndex.insertFiles([path for series in result.series for path in series.files])
        self.seriesNodes, self.seriesErrors = [], []
        nodes = []
        for series in result.series:
            loaded: List[Any] = []
            error = ""
            if not series.files or series.IJKToLPS is None:
                error = "no slice with usable geometry: not loaded"
            else:
                try:
                    loaded = self._loadSeries(series, regularize=regularize)
                except GeometryError as failure:  # one unreadable series does not stop the others
                    error = str(failure)
            if error:
                self.loadErrors[series.seriesInstanceUID] = error
            self.seriesNodes.append(loaded)
            self.seriesErrors.append(error)
            nodes.extend(loaded)
        return nodes

    def _loadSeries(self, series: SeriesGeometry, *, regularize: bool) -> List[Any]:
        """The new scalar volume node(s) of one series: one, or one per volume of a 4D series (see loadInspection)."""
        volumes = series.volumeFiles
        separate = len(volumes) > 1 and len({path for files in volumes for path in files}) == sum(map(len, volumes))
        batches = list(volumes) if separate else [list(series.files)]
        nodes = []
        for index, files in enumerate(batches):
            name = _seriesName(series)
            if separate:
                name += f" [volume {index + 1}/{series.numberOfVolumes}]"
            node = self._loadFiles(files, name, grayscale=True, regularize=regularize)
            if series.numberOfVolumes > 1:
                # The 4D context a per-volume node cannot know from its own files (see dicomcheck.crossCheckVolume).
                node.SetAttribute(NUMBER_OF_VOLUMES_ATTRIBUTE, str(series.numberOfVolumes))
                node.SetAttribute(REPEATED_BY_ATTRIBUTE, series.repeatedBy or "unknown")
                if separate:
                    node.SetAttribute(VOLUME_ATTRIBUTE, str(index))
            nodes.append(node)
        return nodes

    def _loadFiles(self, files: List[str], name: str, *, grayscale: bool, regularize: bool) -> Any:
        """A new volume node from ``files`` (in the order given) as the scalar-volume plugin's ``load`` makes it."""
        loaded = nativeload.readSeries(files, grayscale)  # in a child process: a native crash is a GeometryError
        if loaded is None:
            raise GeometryError(
                f"vtkITK could not read {name} ({len(files)} files, first {files[0]}) with the GDCM or "
                f"the DCMTK approach"
            )
        image, rasToIJK = loaded  # geometry in the node, not in the image data (spacing 1, origin 0), as Slicer
        className = "vtkMRMLScalarVolumeNode" if grayscale else "vtkMRMLVectorVolumeNode"
        node = self.scene.AddNewNodeByClass(className, self.scene.GenerateUniqueName(name))
        node.SetAndObserveImageData(image)
        node.SetRASToIJKMatrix(rasToIJK)
        self._refuseUnusableGrid(node, f"{name} ({len(files)} files, first {files[0]})")
        if self.displayNodes:
            node.CreateDefaultDisplayNodes()
        self._setVolumeNodeProperties(node, files)
        if regularize:
            addAcquisitionTransformIfNeeded(node, self)
        return node

    def _refuseUnusableGrid(self, node: Any, what: str) -> None:
        """GeometryError (and the node removed) when the reader placed the volume on no usable grid.

        Slicer's reader does not check the files' values (an IPP of 1e150 mm loads as it is); the engine leaves
        such slices out (``missingGeometry``), and comparing or resampling that grid meant inverting a singular
        matrix (``compare``: LinAlgError, exit 70).
        """
        problem = affines.gridMatrixProblem(ijkToRAS(node))
        if problem:
            self.scene.RemoveNode(node)
            raise GeometryError(f"{what}: its voxel grid is not usable ({problem}); not loaded")

    def _setVolumeNodeProperties(self, node: Any, files: Sequence[str]) -> None:
        """The geometry part of the plugin's ``setVolumeNodeProperties``: a left-handed IJK is made right-handed
        by reversing the slices (and the file list), then one SOPInstanceUID and InstanceNumber per slice."""
        matrix = vtk.vtkMatrix4x4()
        node.GetIJKToRASMatrix(matrix)
        fileList = list(files)
        if not slicer.vtkMRMLVolumeNode.IsIJKCoordinateSystemRightHanded(matrix):
            slicer.vtkMRMLVolumeNode.ReverseSliceOrder(node.GetImageData(), matrix)
            node.SetIJKToRASMatrix(matrix)
            fileList.reverse()
        value = self.dicomIndex.fileValue
        node.SetAttribute(
            "DICOM.instanceUIDs", " ".join(value(path, TAGS["instanceUID"]) or "Unknown" for path in fileList)
        )
        node.SetAttribute(
            "DICOM.instanceNumbers", " ".join(value(path, TAGS["instanceNumber"]) or "?" for path in fileList)
        )
        node.SetAttribute("DICOM.seriesInstanceUID", value(fileList[0], TAGS["seriesUID"]))

    def loadVolume(self, path: str, *, labelmap: bool = False) -> Any:
        """Load a NRRD, NIfTI or MetaImage file (as Slicer's Add Data); raises GeometryError if it cannot."""
        if not os.path.isfile(path):
            raise GeometryError(f"{path}: no such file")
        problem = truncationProblem(path)  # ITK would fill the missing voxels with 0 without a word
        if problem:
            raise GeometryError(f"{path}: {problem}; not loaded")
        name = self.scene.GenerateUniqueName(_stem(path))
        with nativeload.capturedStderr():  # ITK's warnings ("direction matrix coerced") go to --debug only
            node = self.volumesLogic.AddArchetypeVolume(path, name, 1 if labelmap else 0)
        if node is None or node.GetImageData() is None:
            raise GeometryError(
                f"{path}: not a volume Slicer's volumes logic can read ({', '.join(VOLUME_EXTENSIONS)})"
            )
        self._refuseUnusableGrid(node, path)
        return node

    def load(self, path: str, *, labelmap: bool = False, regularize: bool = True) -> Any:
        """A volume file, or a DICOM file/folder (its first series); returns one node."""
        if os.path.isfile(path) and path.lower().endswith(VOLUME_EXTENSIONS):
            return self.loadVolume(path, labelmap=labelmap)
        nodes = self.loadDICOM([path], regularize=regularize)
        if not nodes:
            reasons = "; ".join(self.loadErrors.values()) or f"not a volume file ({', '.join(VOLUME_EXTENSIONS)})"
            raise GeometryError(f"{path}: no DICOM image series loaded: {reasons}")
        return nodes[0]

    def saveVolume(self, node: Any, path: str, *, compress: bool = True, mkdir: bool = False) -> Optional[str]:
        """Write a volume to NRRD / NIfTI / MetaImage (by extension) as a new file, with its data file when the
        format has one (``.mhd`` + ``.zraw``), never replacing anything (:func:`..dicom.outputs.newFiles`).

        ``compress`` (Slicer's default): gzip NRRD and MetaImage data; ``.nii.gz`` is compressed either way.
        Returns the folder created for it (``mkdir``), else None; GeometryError when it cannot be written.
        """
        if not path.lower().endswith(VOLUME_EXTENSIONS):
            raise GeometryError(f"{path}: output must end with one of {', '.join(VOLUME_EXTENSIONS)}")
        storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
        self.scene.AddNode(storage)
        storage.SetUseCompression(1 if compress else 0)
        try:
            with outputs.newFiles(path, mkdir=mkdir) as written:
                storage.SetFileName(written.staged)
                with nativeload.capturedStderr() as messages:  # ITK's warnings and errors: --debug only
                    saved = storage.WriteData(node)
                if not saved:
                    reason = f" ({messages[-1][:200]})" if messages else ""
                    raise GeometryError(f"{path}: could not be written{reason}; nothing written")
        finally:
            self.scene.RemoveNode(storage)
        return written.createdFolder


def _seriesName(series: SeriesGeometry) -> str:
    number = f"{series.seriesNumber}: " if series.seriesNumber is not None else ""
    return f"{number}{series.seriesDescription or series.modality or 'DICOM series'}"


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for extension in VOLUME_EXTENSIONS:
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name


class InstanceValues(Protocol):
    """``slicer.dicomDatabase.instanceValue``: what the acquisition modeling reads."""

    def instanceValue(self, uid: str, tag: str) -> str: ...


def addAcquisitionTransformIfNeeded(volumeNode: Any, database: InstanceValues) -> Any:
    """Add Slicer's acquisition (grid) transform when slice corners deviate more than 1e-3 mm; return it or None.

    A reproduction of ``DICOMScalarVolumePluginClass.AcquisitionModeling.createAcquisitionTransform`` (Slicer,
    ``DICOMScalarVolumePlugin.py``): only when the volume has one instance UID per slice and every instance has
    IPP, IOP and PixelSpacing (so not for a multi-frame file); corners ``(c * columns, r * rows, k)`` from
    IJKToRAS against those from each instance's tags; above 1e-3 mm (largest coordinate difference) a
    2 x 2 x slices displacement grid in the volume's IJK directions moves each loaded corner onto the corner
    the DICOM file gives. ``Testing/test_slicer_parity.py`` compares it with Slicer's code (grid to 1e-6 mm).
    """
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    if len(uids) != count:
        return None  # Slicer: "Cannot get DICOM slice positions" (all frames in one file, or a missing file)
    geometry = []
    for uid in uids:
        values = [database.instanceValue(uid, TAGS[name]) for name in ("position", "orientation", "pixelSpacing")]
        if "" in values:
            return None  # Slicer: "No geometry information available for DICOM data"
        geometry.append(
            [_numbers(value, count, uid, name) for value, count, name in zip(values, (3, 6, 2), _GEOMETRY_NAMES)]
        )
    positions, orientations, pixelSpacings = zip(*geometry)
    target = crosscheck.cornersFromGeometry(positions, orientations, pixelSpacings, columns, rows)
    source = crosscheck.cornersFromIJKToRAS(ijkToRAS(volumeNode), (columns, rows, count))
    if np.abs(source - target).max() <= crosscheck.CORNER_TOLERANCE_MM:
        return None
    transformNode = _gridTransformFromCorners(volumeNode, source, target)
    fixed = pointsToWorld(volumeNode, source.reshape(-1, 3)).reshape(target.shape)
    if not np.allclose(fixed, target):
        raise GeometryError(
            f"{volumeNode.GetName()}: the acquisition transform did not move the slice corners onto "
            f"the DICOM positions (as Slicer checks)"
        )
    return transformNode


_GEOMETRY_NAMES = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")


def _numbers(value: str, count: int, uid: str, name: str) -> List[float]:
    """``count`` finite numbers from a DICOM multi-value string; GeometryError naming the instance otherwise.

    Slicer's acquisition modeling parses these strings with ``float`` and indexes them, so a value such as
    ``0.5\\`` or a single PixelSpacing number fails its load with an exception; here that series is not
    loaded either, and the message says which instance and attribute (no ``--no-regularization`` needed to
    know why).
    """
    try:
        numbers = [float(each) for each in value.split("\\")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(np.isfinite(numbers)):
        raise GeometryError(
            f"instance {uid}: {name} {value!r} is not {count} finite numbers, so Slicer's acquisition modeling "
            f"cannot place its slices (load with --no-regularization to skip it)"
        )
    return numbers


def _gridTransformFromCorners(volumeNode: Any, source: np.ndarray, target: np.ndarray) -> Any:
    """The plugin's ``gridTransformFromCorners``: a grid transform node over the volume, parent of it."""
    columns, rows, count = volumeNode.GetImageData().GetDimensions()
    scene = volumeNode.GetScene()
    transformNode = scene.AddNewNodeByClass(
        "vtkMRMLGridTransformNode", scene.GenerateUniqueName(volumeNode.GetName() + " acquisition transform")
    )
    grid = vtk.vtkImageData()
    grid.SetOrigin(*volumeNode.GetOrigin())
    grid.SetDimensions(2, 2, count)
    spacing = volumeNode.GetSpacing()
    grid.SetSpacing(spacing[0] * columns, spacing[1] * rows, spacing[2])
    # Displacement at grid point (c, r, k) in VTK's x-fastest order: corners are stored (k, r, c).
    displacements = (target - source).reshape(count, 2, 2, 3)
    array = numpy_support.numpy_to_vtk(np.ascontiguousarray(displacements.reshape(-1, 3)), deep=True)
    array.SetNumberOfComponents(3)
    grid.GetPointData().SetScalars(array)
    transform = slicer.vtkOrientedGridTransform()
    direction = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASDirectionMatrix(direction)
    transform.SetGridDirectionMatrix(direction)
    transform.SetDisplacementGridData(grid)
    transformNode.SetAndObserveTransformToParent(transform)
    volumeNode.SetAndObserveTransformNodeID(transformNode.GetID())
    return transformNode
