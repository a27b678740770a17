"""The Slicer build files and module file agree with the tree (they cannot be built here: no Slicer SDK)."""

from __future__ import annotations

import ast
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(ROOT, "AffineInspector")


def cmakeList(text: str, variable: str):
    body = re.search(rf"set\({variable}\s+(.*?)\)", text, re.S).group(1)
    return [item.replace("${MODULE_NAME}", "AffineInspector") for item in body.split()]


def test_module_cmake_lists_every_script_and_resource():
    text = open(os.path.join(MODULE, "CMakeLists.txt")).read()
    scripts = cmakeList(text, "MODULE_PYTHON_SCRIPTS")
    onDisk = ["AffineInspector.py"] + sorted(
        os.path.relpath(os.path.join(folder, name), MODULE)
        for folder, _, names in os.walk(os.path.join(MODULE, "AffineInspectorLib"))
        for name in names
        if name.endswith(".py")
    )
    assert sorted(scripts) == sorted(onDisk)
    for resource in cmakeList(text, "MODULE_PYTHON_RESOURCES"):
        assert os.path.isfile(os.path.join(MODULE, resource)), resource
    assert "WITH_GENERIC_TESTS" in text and "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text


def test_extension_cmake_has_index_metadata():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    for key in ("HOMEPAGE", "CATEGORY", "CONTRIBUTORS", "DESCRIPTION", "ICONURL", "SCREENSHOTURLS", "DEPENDS"):
        assert re.search(rf'set\(EXTENSION_{key} "[^"]+"\)', text), key
    assert "add_subdirectory(AffineInspector)" in text


def test_icons_are_128_pixel_pngs():
    for path in (
        os.path.join(ROOT, "Resources", "Icons", "AffineInspector.png"),
        os.path.join(MODULE, "Resources", "Icons", "AffineInspector.png"),
    ):
        data = open(path, "rb").read(32)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (128, 128)


def test_module_file_has_the_wizard_classes():
    tree = ast.parse(open(os.path.join(MODULE, "AffineInspector.py")).read())
    classes = {
        node.name: [ast.unparse(base) for base in node.bases] for node in tree.body if isinstance(node, ast.ClassDef)
    }
    assert classes["AffineInspector"] == ["ScriptedLoadableModule"]
    assert classes["AffineInspectorWidget"][0] == "ScriptedLoadableModuleWidget"
    assert classes["AffineInspectorLogic"] == ["ScriptedLoadableModuleLogic", "VolumeGeometryLogic"]
    assert classes["AffineInspectorTest"] == ["ScriptedLoadableModuleTest"]
    testMethods = {
        item.name
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == "AffineInspectorTest"
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    }
    assert {"setUp", "runTest", "test_scenario"} <= testMethods


def test_screenshots_are_listed_and_shown_first():
    folder = os.path.join(ROOT, "Screenshots")
    pngs = sorted(name for name in os.listdir(folder) if name.endswith(".png"))
    assert "panel.png" in pngs
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    urls = re.search(r'set\(EXTENSION_SCREENSHOTURLS "([^"]+)"\)', cmake).group(1).split()
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == pngs
    readme = open(os.path.join(ROOT, "README.md")).read()
    firstImage = re.search(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert firstImage.group(1) == "Screenshots/panel.png"
    assert readme.index("Screenshots/panel.png") < readme.index("## The two commands")
    for name in pngs:
        data = open(os.path.join(folder, name), "rb").read(8)
        assert data == b"\x89PNG\r\n\x1a\n", name
