"""Facts about start-up: what each command imports (no timings here; speed is measured by ``make bench``).

Each check runs the command in a fresh interpreter, then lists the modules it left in ``sys.modules``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries
from AffineInspectorLib.dicom.syntheticenhanced import EnhancedSpec, writeEnhanced
from conftest import DICOM, ROOT, modulesAfterCommand

# Libraries `inspect` of ordinary single-frame and enhanced multi-frame files must not import: each costs start-up
# time it does not need. pydicom comes only when a fast reader hands a file over to it (and brings tqdm when that
# is installed).
NOT_FOR_INSPECT = (
    "pydicom",
    "tqdm",
    "nibabel",
    "scipy",
    "SimpleITK",
    "nrrd",
    "vtk",
    "vtkmodules",
    "slicer",
    "PySide6",
    "PythonQt",
    "matplotlib",
    "PIL",
    "dask",
    "distributed",
)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = str(tmp_path_factory.mktemp("startup"))
    writeSeries(SeriesSpec(numberOfSlices=4), folder)
    return folder


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_inspect_imports_no_heavy_library(series: str, output: list) -> None:
    modules = modulesAfterCommand(["inspect", *output, series])
    heavy = sorted(name for name in modules if name.split(".")[0] in NOT_FOR_INSPECT)
    assert heavy == [], heavy
    assert "numpy" in modules  # the one library it needs (the checks are vectorized)


@pytest.mark.parametrize("implicit", [False, True])
def test_inspect_of_an_enhanced_file_imports_no_pydicom(tmp_path: str, implicit: bool) -> None:
    """Its header and functional groups are read from raw bytes (dicom/fastframes.py, dicom/fastreader.py)."""
    path = writeEnhanced(EnhancedSpec(implicit=implicit, undefinedLengths=implicit), os.path.join(tmp_path, "e.dcm"))
    modules = modulesAfterCommand(["inspect", "--json", path])
    heavy = sorted(name for name in modules if name.split(".")[0] in NOT_FOR_INSPECT)
    assert heavy == [], heavy


@pytest.mark.parametrize(
    "case",
    [
        "dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm",
        "dcm_qa_enh/In/Siemens/XA10",
        "dicom2nifti/philips_enhanced_anatomical/001_implicit/IM1.dcm",
        "dicom2nifti/siemens_multiframe_anatomical/001",
    ],
)
def test_inspect_of_real_enhanced_files_imports_no_pydicom(dicomRoot: str, case: str) -> None:
    modules = modulesAfterCommand(["inspect", os.path.join(DICOM, case)])
    assert not any(name.split(".")[0] == "pydicom" for name in modules)


def test_inspect_imports_only_its_own_command(series: str) -> None:
    commands = {name for name in modulesAfterCommand(["inspect", series]) if name.startswith("AffineInspectorLib.cli.")}
    assert commands == {
        "AffineInspectorLib.cli.main",
        "AffineInspectorLib.cli.inspectcmd",
        "AffineInspectorLib.cli.common",
        "AffineInspectorLib.cli.exitcodes",
    }


def test_inspect_imports_pydicom_when_a_file_needs_it(tmp_path: str) -> None:
    """A multi-frame file without functional groups goes to pydicom's path: then pydicom is imported (the fact
    above is about what is avoided, not about what breaks)."""
    spec = SeriesSpec(numberOfSlices=2)
    (path, _) = writeSeries(spec, str(tmp_path))
    import pydicom

    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = 2
    dataset.PixelData = dataset.PixelData * 2
    dataset.save_as(path)
    assert "pydicom" in modulesAfterCommand(["inspect", str(tmp_path)])


def test_top_level_help_lists_every_command() -> None:
    from AffineInspectorLib.cli.main import COMMANDS

    completed = subprocess.run(
        [sys.executable, "-m", "AffineInspectorLib.cli", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "AffineInspector")),
    )
    assert completed.returncode == 0, completed.stderr
    for name in COMMANDS:
        assert f"    {name} " in completed.stdout, name


@pytest.mark.parametrize("given, expected", [(None, "1"), ("3", "3")])
def test_the_executable_runs_openblas_on_one_thread_unless_told(series: str, given: str, expected: str) -> None:
    """OpenBLAS's idle worker threads cost about 0.1 s of CPU per process; the command line never needs them.
    numpy must not be imported before the entry point sets this, or the setting comes too late."""
    code = (
        "import sys, os\n"
        "from AffineInspectorLib.cli import entry\n"
        "before = 'numpy' in sys.modules\n"
        f"status = entry.main(['inspect', {series!r}])\n"
        "import numpy\n"
        "sys.stderr.write(repr((status, before, os.environ.get('OPENBLAS_NUM_THREADS'), "
        "numpy.__config__.CONFIG['Build Dependencies']['blas']['name'])))\n"
    )
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "AffineInspector"))
    environment.pop("OPENBLAS_NUM_THREADS", None)
    if given is not None:
        environment["OPENBLAS_NUM_THREADS"] = given
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    status, numpyBefore, setting, blas = ast.literal_eval(completed.stderr.strip().splitlines()[-1])
    assert (status, numpyBefore, setting) == (0, False, expected)
    assert "openblas" in blas  # the library the setting is for
