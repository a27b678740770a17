"""Shared fixtures: where the real data is, geometry helpers for comparing with references, and a localhost Dask
cluster for the audit tests."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so that CI passes or fails on the code alone;
# HYPOTHESIS_PROFILE=explore draws new ones (a failure prints the example to pin with @example).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "AffineInspector"))

SHARED = os.environ.get("AFFINE_INSPECTOR_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
DICOM = os.path.join(SHARED, "data", "dicom")

#: Inside the PythonQt host (``make test`` runs the Qt-facing tests there too): PythonQt creates this module.
PYTHONQT = "PythonQt" in sys.modules

# Testing/pythonqt holds facts about PythonQt itself: it needs the host, so plain CPython does not collect it
# (``make test`` runs it in the host) instead of skipping it.
collect_ignore = [] if PYTHONQT else ["pythonqt"]

_skipped: list = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slotErrors: the test expects exceptions raised inside Qt slots")


@pytest.fixture(autouse=True)
def failOnSlotErrors(request: pytest.FixtureRequest):
    """An exception raised in a Qt slot does not reach the test: PySide6 and PythonQt print it (through
    sys.excepthook) and the emitter goes on. Record them and fail the test, unless it is marked slotErrors."""
    raised = []
    original = sys.excepthook

    def record(kind, value, traceback):  # noqa: ANN001
        raised.append(f"{kind.__name__}: {value}")
        original(kind, value, traceback)

    sys.excepthook = record
    yield raised
    sys.excepthook = original
    if raised and request.node.get_closest_marker("slotErrors") is None:
        pytest.fail("exception(s) raised in Qt slots: " + "; ".join(raised))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: every test here exists to run (missing data or tools are failures)."""
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001  (pytest's TerminalReporter)
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; a skip is a failure here: " + ", ".join(_skipped), red=True
        )
    binding = "PythonQt (AffineInspectorQtHost)" if PYTHONQT else "CPython, Qt through PySide6"
    terminalreporter.write_line(f"Binding of this run: {binding}")


@pytest.fixture(scope="session")
def qtApplication():
    """The QApplication: made here under PySide6 (offscreen); the host's own under PythonQt."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from AffineInspectorLib.ui.qtcompat import qt

    return qt.QApplication.instance() or qt.QApplication(["pytest"])


@pytest.fixture(scope="session")
def dicomRoot() -> str:
    """The shared real-data folder; the suite fails (not skips) without it."""
    if not os.path.isdir(DICOM):
        pytest.fail(f"shared test data not found at {DICOM} (set AFFINE_INSPECTOR_SHARED)")
    return DICOM


def case(*parts: str) -> str:
    return os.path.join(DICOM, *parts)


def dcm2niixExecutable() -> str:
    """dcm2niix from the PyPI package installed in this environment."""
    candidate = os.path.join(os.path.dirname(sys.executable), "dcm2niix")
    found = candidate if os.path.exists(candidate) else shutil.which("dcm2niix")
    if not found:
        pytest.fail("dcm2niix is not installed: it is a test dependency (pip install .[test])")
    return found


def voxelCornersRAS(ijkToRAS: np.ndarray, dimensions) -> np.ndarray:
    """The RAS centres (3 x 8) of the corner voxels of an (i, j, k) grid."""
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in dimensions])), dtype=float).T
    return (np.asarray(ijkToRAS) @ np.vstack([corners, np.ones(corners.shape[1])]))[:3]


def assertSameVoxelCentres(ijkToRAS, dimensions, referenceAffine, referenceShape, toleranceMm=1e-3):
    """Both grids hold the same set of voxel centres (in any axis order and direction) within toleranceMm.

    Both grids are affine, so they are the same set when they have the same
    number of voxels along matching axes and our corner voxels land on the
    reference's corner voxels.
    """
    referenceShape = tuple(int(n) for n in referenceShape[:3])
    assert sorted(dimensions) == sorted(referenceShape), (dimensions, referenceShape)
    ours = voxelCornersRAS(ijkToRAS, dimensions)
    referenceIndex = np.linalg.inv(referenceAffine) @ np.vstack([ours, np.ones(ours.shape[1])])
    rounded = np.round(referenceIndex[:3])
    back = (np.asarray(referenceAffine) @ np.vstack([rounded, np.ones(rounded.shape[1])]))[:3]
    distances = np.linalg.norm(back - ours, axis=0)
    assert distances.max() < toleranceMm, f"voxel centres differ by up to {distances.max():.3g} mm"
    referenceCorners = {tuple(c) for c in itertools.product(*[(0, n - 1) for n in referenceShape])}
    assert {tuple(int(v) for v in column) for column in rounded.T} == referenceCorners
    return float(distances.max())


def modulesAfterCommand(arguments: list) -> set:
    """Run ``main(arguments)`` in a new interpreter (stdout discarded; exit 0 asserted); the names of the modules
    it left in ``sys.modules``."""
    code = (
        "import sys, json, io, contextlib\n"
        "from AffineInspectorLib.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main({list(arguments)!r})\n"
        "sys.stderr.write(json.dumps([status, sorted(sys.modules)]))\n"
    )
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "AffineInspector"))
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    status, modules = json.loads(completed.stderr.strip().splitlines()[-1])
    assert status == 0, completed.stderr
    return set(modules)


def treeDigest(folder: str) -> dict:
    """SHA-256 and mtime of every file under folder: to prove inputs are untouched."""
    digests = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as stream:
                digests[path] = (hashlib.sha256(stream.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return digests


# --------------------------------------------------------------------------- Dask

BIN = os.path.dirname(sys.executable)


@pytest.fixture()
def page():
    """A headless Chromium page (``browser.py``: Debian's chromium); a missing browser fails the test."""
    from browser import BrowserMissing, chromiumPage

    try:
        with chromiumPage() as opened:
            yield opened
    except BrowserMissing as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def daskCluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on 127.0.0.1, started for the first test that asks and torn down
    after the session (the audit tests with and without label images share it)."""
    tmp_path = tmp_path_factory.mktemp("dask")
    schedulerFile = str(tmp_path / "scheduler.json")
    processes = []

    def start(*arguments):
        command = [os.path.join(BIN, "dask"), *arguments]
        log = open(tmp_path / f"dask-{len(processes)}.log", "w")
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path)))

    start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", schedulerFile)
    for _ in range(60):
        if os.path.exists(schedulerFile):
            break
        time.sleep(0.5)
    for number in range(2):
        worker = ["worker", "--scheduler-file", schedulerFile, "--nthreads", "1", "--host", "127.0.0.1"]
        start(*worker, "--no-dashboard", "--local-directory", str(tmp_path / f"worker{number}"))
    try:
        address = json.load(open(schedulerFile))["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def window(qtApplication, dicomRoot):
    """The standalone window on a new scene; errors it would show in a message box are collected in
    ``window.errors`` as ``(message, details)`` instead."""
    from AffineInspectorLib.ui.qtcompat import qt
    from AffineInspectorLib.ui.window import MainWindow

    errors = []
    main = MainWindow(reportError=lambda message, details: errors.append((message, details)))
    main.errors = errors
    yield main
    main.close()
    qt.QApplication.processEvents()


@pytest.fixture()
def host():
    """A standalone host (slicer-core) of its own; slicer.mrmlScene is left alone."""
    from AffineInspectorLib.mrml.host import StandaloneHost

    return StandaloneHost(setGlobalScene=False)


@pytest.fixture()
def logic(host):
    """The logic on :func:`host`'s scene, with the host as DICOM source."""
    from AffineInspectorLib.mrml.logic import VolumeGeometryLogic

    return VolumeGeometryLogic(host.scene, host)
