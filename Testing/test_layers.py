"""The library's layering stays true: imports go downward only, and each layer imports only its allowed packages.

Every module under ``AffineInspectorLib`` is parsed with ``ast`` (imports inside functions included); no
module is imported, so the rule holds for code paths the other tests never run.
"""

from __future__ import annotations

import ast
import os
import sys
from typing import Iterator, List, Optional, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.join(ROOT, "AffineInspector", "AffineInspectorLib")

LAYERS = ("geometry", "dicom", "mrml", "ui", "cli")
"""Lowest first: a module may import its own layer and the layers before it."""

THIRD_PARTY = {
    "geometry": {"numpy"},
    # + file formats other than DICOM, imported inside functions so that inspect never imports them: image
    # headers and voxels (NIfTI/MGH with nibabel, NRRD with pynrrd, MetaImage and ITK .h5 with SimpleITK; the
    # align and affine commands), SPM .mat with scipy.io.
    "dicom": {"pydicom", "nibabel", "nrrd", "scipy", "SimpleITK"},
    "mrml": {"slicer", "vtk", "vtkmodules"},
    "ui": {"qt", "PySide6", "matplotlib"},
    # the audit command's executor on a Dask cluster and its terminal progress bar, imported only when it runs
    "cli": {"distributed", "tqdm"},
}
"""Third-party top-level packages each layer adds to those of the layers below it."""


def allowedThirdParty(layer: str) -> set:
    allowed: set = set()
    for name in LAYERS[: LAYERS.index(layer) + 1]:
        allowed |= THIRD_PARTY[name]
    return allowed


def isStandardLibrary(name: str) -> bool:
    return name in sys.stdlib_module_names or name == "__future__"


def importedModules(tree: ast.AST, packageParts: List[str]) -> Iterator[Tuple[int, str]]:
    """``(line, absolute dotted name)`` of every import in a module; relative imports resolved against its package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module or ""
                continue
            base = packageParts[: len(packageParts) - node.level + 1]
            if node.module:
                yield node.lineno, ".".join(base + node.module.split("."))
            else:  # "from . import x": each name may be a module
                for alias in node.names:
                    yield node.lineno, ".".join(base + [alias.name])


def violations(source: str, relativePath: str) -> List[str]:
    """Layer-rule violations of one module, given its source and its path relative to ``AffineInspectorLib``."""
    parts = relativePath[: -len(".py")].split(os.sep)
    layer = parts[0] if len(parts) > 1 else None
    packageParts = ["AffineInspectorLib"] + parts[:-1]
    problems = []
    for line, name in importedModules(ast.parse(source), packageParts):
        where = f"{relativePath}:{line}: import {name}"
        top = name.split(".")[0]
        if top == "AffineInspectorLib":
            target = _layerOf(name)
            if layer is None:
                if target is not None:
                    problems.append(f"{where}: the package's __init__ imports no layer")
            elif target is not None and LAYERS.index(target) > LAYERS.index(layer):
                problems.append(f"{where}: upward import ({layer} may not import {target})")
        elif not isStandardLibrary(top) and (layer is None or top not in allowedThirdParty(layer)):
            problems.append(f"{where}: {layer or 'the top level'} may not import {top}")
    return problems


def _layerOf(dottedName: str) -> Optional[str]:
    parts = dottedName.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def libraryModules() -> List[str]:
    modules = []
    for folder, directories, names in os.walk(LIBRARY):
        directories[:] = [name for name in directories if name != "__pycache__"]
        modules.extend(os.path.relpath(os.path.join(folder, name), LIBRARY) for name in names if name.endswith(".py"))
    return sorted(modules)


def test_library_is_exactly_the_five_layers():
    entries = sorted(name for name in os.listdir(LIBRARY) if name != "__pycache__")
    assert entries == sorted(["__init__.py", *LAYERS])
    for layer in LAYERS:
        docstring = ast.get_docstring(ast.parse(open(os.path.join(LIBRARY, layer, "__init__.py")).read()))
        assert docstring and "import" in docstring, f"{layer}/__init__.py must say what the layer may import"


@pytest.mark.parametrize("relativePath", libraryModules())
def test_module_imports_only_downward_and_allowed_packages(relativePath):
    source = open(os.path.join(LIBRARY, relativePath)).read()
    assert violations(source, relativePath) == []


@pytest.mark.parametrize(
    "relativePath, source, expected",
    [
        ("geometry/affines.py", "from ..dicom import series\n", "upward import (geometry may not import dicom)"),
        ("geometry/affines.py", "def f():\n    from ..mrml.logic import x\n", "geometry may not import mrml"),
        ("dicom/series.py", "from ..ui import panel\n", "dicom may not import ui"),
        ("mrml/logic.py", "from AffineInspectorLib.cli import main\n", "mrml may not import cli"),
        ("ui/panel.py", "from .. import cli\n", "ui may not import cli"),
        ("geometry/affines.py", "import pydicom\n", "geometry may not import pydicom"),
        ("geometry/affines.py", "from nibabel import orientations\n", "geometry may not import nibabel"),
        ("dicom/headers.py", "import slicer\n", "dicom may not import slicer"),
        ("mrml/logic.py", "from PySide6 import QtCore\n", "mrml may not import PySide6"),
    ],
)
def test_the_checker_catches_a_planted_violation(relativePath, source, expected):
    problems = violations(source, relativePath)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "relativePath, source",
    [
        ("ui/panel.py", "from ..mrml import logic\nfrom ..geometry.findings import Finding\nimport numpy\n"),
        ("cli/main.py", "from ..ui import window\nimport argparse\n"),
        ("dicom/series.py", "from . import headers\nfrom ..geometry import checks\nimport pydicom\n"),
    ],
)
def test_the_checker_accepts_downward_imports(relativePath, source):
    assert violations(source, relativePath) == []
