"""Slicer's native DICOM reader (vtkITK over GDCM or DCMTK) run where its crashes cannot take the command down.

vtkITK's archetype series reader aborts the whole process on some damaged files (measured on fuzzed copies
of real series: an enhanced file whose frame 1 PlanePositionSequence is empty raises a gdcm::Exception nobody
catches, SIGABRT; a private sequence nested 10,000 deep overflows GDCM's stack, SIGSEGV), and prints its
complaints straight to the process's stderr. :func:`readSeries` therefore reads each series in a forked
child process: the image and its RAS-to-IJK matrix come back through a temporary ``.npz`` file; a child that
dies is a :class:`~..geometry.errors.GeometryError` naming the series and the signal, so ``gui``,
``compare``, ``resample`` and ``inspect --slicer`` report that series and go on. Where ``os.fork`` does not
exist the read runs in this process, as before.

What the native libraries print (the child's stderr, and :func:`capturedStderr` around in-process native
calls such as writing a volume) is kept out of the command's stderr, so that a refused run prints exactly one
line; :func:`configure` with ``debug=True`` (``--debug``) shows all of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import slicer
from vtkmodules.util import numpy_support

from ..dicom.childprocess import CHILD_SECONDS, runInChild, signalName
from ..geometry.errors import GeometryError
from . import vtkclasses as vtk

LOAD_SECONDS = CHILD_SECONDS
"""Longest time one series may take in the child before it is stopped (a native hang, not a slow disk)."""

_settings: Dict[str, bool] = {"debug": False}
_STATUS_UNREADABLE = 3  # the child read nothing (vtkITK's error code), as an in-process reader returning None


def configure(*, debug: bool) -> None:
    """Show (``debug``) or hide what VTK, ITK, GDCM and DCMTK print; hidden by default on the command line."""
    _settings["debug"] = debug
    vtk.vtkObject.SetGlobalWarningDisplay(1 if debug else 0)
    if hasattr(vtk, "vtkLogger"):
        vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_INFO if debug else vtk.vtkLogger.VERBOSITY_OFF)


@contextlib.contextmanager
def capturedStderr() -> Iterator[List[str]]:
    """Route file descriptor 2 (where native code prints) to a temporary file inside the block.

    Yields a list that holds the captured lines afterwards; with ``configure(debug=True)`` they are also
    written to the real stderr. Python's own ``sys.stderr`` is flushed first so that nothing is mixed up.
    """
    captured: List[str] = []
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    with tempfile.TemporaryFile() as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all: nothing to protect
            yield captured
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            captured.extend(line for line in text.splitlines() if line.strip())
            if _settings["debug"] and text:
                _writeStderr(text)


def readSeries(files: Sequence[str], grayscale: bool) -> Optional[Tuple[Any, Any]]:
    """``(vtkImageData, RAS-to-IJK vtkMatrix4x4)`` of ``files`` read as Slicer's scalar-volume plugin reads them
    (GDCM approach, DCMTK as fallback), or ``None`` when neither reads them (vtkITK reports an error).

    In a child process where ``os.fork`` exists; GeometryError when that child dies (a native crash).
    Spacing 1 and origin 0: Slicer keeps geometry in the node, not in the image data.
    """
    if not hasattr(os, "fork"):
        return readInThisProcess(files, grayscale)  # runInChild would too, without the .npz round trip
    folder = tempfile.mkdtemp(prefix="affine-inspector-read-")
    try:
        result = os.path.join(folder, "image.npz")
        errors = os.path.join(folder, "stderr.txt")
        status = runInChild(lambda: _childRead(files, grayscale, result), errors, seconds=LOAD_SECONDS)
        with open(errors, "rb") as stream:
            messages = stream.read().decode("utf-8", "replace")
        if _settings["debug"] and messages:
            _writeStderr(messages)
        if status == 0:
            return _fromFile(result)
        if status == _STATUS_UNREADABLE:
            return None
        raise GeometryError(f"{_describeDeath(status)} reading {_files(files)}{_lastWords(messages)}; not loaded")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def readInThisProcess(files: Sequence[str], grayscale: bool) -> Optional[Tuple[Any, Any]]:
    """:func:`readSeries` without the child process."""
    reader = _readWith(files, grayscale, "GDCM") or _readWith(files, grayscale, "DCMTK")
    if reader is None:
        return None
    change = vtk.vtkImageChangeInformation()
    change.SetInputConnection(reader.GetOutputPort())
    change.SetOutputSpacing(1, 1, 1)
    change.SetOutputOrigin(0, 0, 0)
    change.Update()
    image = vtk.vtkImageData()
    image.DeepCopy(change.GetOutput())
    matrix = vtk.vtkMatrix4x4()
    matrix.DeepCopy(reader.GetRasToIjkMatrix())
    return image, matrix


def _readWith(files: Sequence[str], grayscale: bool, approach: str) -> Any:
    """vtkITK's archetype series reader over ``files`` as the plugin's ``loadFilesWithSeriesReader``; None if
    it reports an error."""
    if grayscale:
        reader = slicer.vtkITKArchetypeImageSeriesScalarReader()
    elif len(files) > 1:
        reader = slicer.vtkITKArchetypeImageSeriesVectorReaderSeries()
    else:
        reader = slicer.vtkITKArchetypeImageSeriesVectorReaderFile()
    reader.SetArchetype(files[0])
    for path in files:
        reader.AddFileName(path)
    reader.SetSingleFile(0)
    reader.SetOutputScalarTypeToNative()
    reader.SetDesiredCoordinateOrientationToNative()
    reader.SetUseNativeOriginOn()
    if approach == "GDCM":
        reader.SetDICOMImageIOApproachToGDCM()
    else:
        reader.SetDICOMImageIOApproachToDCMTK()
    reader.Update()
    return reader if reader.GetErrorCode() == vtk.vtkErrorCode.NoError else None


# --------------------------------------------------------------------------- the child process


def _childRead(files: Sequence[str], grayscale: bool, result: str) -> int:
    read = readInThisProcess(files, grayscale)
    if read is None:
        return _STATUS_UNREADABLE
    image, matrix = read
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    with open(result, "wb") as stream:
        np.savez(
            stream,
            scalars=scalars,
            vtkType=np.int64(image.GetScalarType()),
            dimensions=np.asarray(image.GetDimensions(), dtype=np.int64),
            components=np.int64(image.GetNumberOfScalarComponents()),
            rasToIJK=np.asarray([matrix.GetElement(row, column) for row in range(4) for column in range(4)]),
        )
    return 0


def _fromFile(path: str) -> Tuple[Any, Any]:
    with np.load(path) as stored:
        scalars = stored["scalars"]
        array = numpy_support.numpy_to_vtk(scalars, deep=True, array_type=int(stored["vtkType"]))
        array.SetNumberOfComponents(int(stored["components"]))
        image = vtk.vtkImageData()
        image.SetDimensions(*(int(size) for size in stored["dimensions"]))
        image.GetPointData().SetScalars(array)
        matrix = vtk.vtkMatrix4x4()
        matrix.DeepCopy([float(value) for value in stored["rasToIJK"]])
    return image, matrix


def _describeDeath(status: int) -> str:
    if status < 0:
        if -status == signal.SIGKILL:
            return f"Slicer's DICOM reader (vtkITK) did not finish in {LOAD_SECONDS:g} s (stopped)"
        return f"Slicer's DICOM reader (vtkITK with GDCM/DCMTK) crashed ({signalName(status)})"
    return f"Slicer's DICOM reader (vtkITK) failed (exit status {status})"


def _files(files: Sequence[str]) -> str:
    return f"{files[0]}" if len(files) == 1 else f"{len(files)} files, first {files[0]}"


def _lastWords(messages: str) -> str:
    """The last meaningful line the child printed (the native library's complaint), shortened, or ``""``."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", messages)  # vtkLogger colours its lines
    lines = [line.strip() for line in plain.splitlines() if line.strip() and not line.startswith(" ")]
    lines = [line for line in lines if not line.startswith(("Fatal Python error", "Current thread", "Extension"))]
    return f" (it said: {lines[-1][:200]})" if lines else ""


def _writeStderr(text: str) -> None:
    try:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
