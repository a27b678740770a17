"""The Slicer build files and module file agree with the tree (they cannot be built here: no Slicer SDK)."""

from __future__ import annotations

import ast
import os
import re
import struct

import pytest

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
    assert "Resources/requirements.txt" in cmakeList(text, "MODULE_PYTHON_RESOURCES")  # as the Wizard template


TEMPLATES = os.path.join(
    os.environ.get("AFFINE_INSPECTOR_SHARED", os.path.join(os.path.dirname(ROOT), "shared")),
    "thirdparty",
    "slicer-583e9b37",
    "Utilities",
    "Templates",
)
INDEX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(TEMPLATES))), "slicer-extensionsindex-07f1d1b2")
RAW_URL = "https://raw.githubusercontent.com/affine-inspector/SlicerAffineInspector/main/"


def test_extension_cmake_is_the_wizard_templates_shape():
    """Same cmake_minimum_required and the same EXTENSION_* fields as Slicer's current Extension Wizard template."""
    template = open(os.path.join(TEMPLATES, "Extensions", "Default", "CMakeLists.txt")).read()
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    minimum = re.compile(r"cmake_minimum_required\(VERSION ([^ )]+)")
    assert minimum.search(text).group(1) == minimum.search(template).group(1)
    fields = re.compile(r"set\((EXTENSION_\w+) ")
    assert fields.findall(text) == fields.findall(template)
    for key in fields.findall(template):
        assert re.search(rf'set\({key} "[^"]+"\)', text), key
    contributors = re.search(r'set\(EXTENSION_CONTRIBUTORS "([^"]+)"\)', text).group(1)
    person = r"[^(),]+ \([^()]+\)"  # "Firstname Lastname (Organization)", the template's form
    assert re.fullmatch(rf"{person}(, {person})*", contributors), contributors
    assert "add_subdirectory(AffineInspector)" in text


def test_icon_and_screenshot_urls_point_into_this_repository():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    urls = [re.search(r'set\(EXTENSION_ICONURL "([^"]+)"\)', text).group(1)]
    urls += re.search(r'set\(EXTENSION_SCREENSHOTURLS "([^"]+)"\)', text).group(1).split()
    for url in urls:
        assert url.startswith(RAW_URL), url
        assert os.path.isfile(os.path.join(ROOT, url[len(RAW_URL) :])), url


def test_extensions_index_entry_validates_against_the_schema():
    import json

    import jsonschema

    schemaFolder = os.path.join(INDEX, "schemas")
    (schemaName,) = [name for name in os.listdir(schemaFolder) if name.endswith(".json")]
    schema = json.load(open(os.path.join(schemaFolder, schemaName)))
    entry = json.load(open(os.path.join(ROOT, "AffineInspector.json")))
    jsonschema.validate(entry, schema)  # raises ValidationError
    assert entry["$schema"] == schema["$id"]
    # Consistent with the CMakeLists (the index's checklist): no dependencies, the same repository.
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    assert re.search(r'set\(EXTENSION_DEPENDS "NA"\)', text) and entry["build_dependencies"] == []
    homepage = re.search(r'set\(EXTENSION_HOMEPAGE "([^"#]+)', text).group(1)
    assert entry["scm_url"] == homepage.rstrip("/") + ".git"
    assert entry["category"] == "Utilities"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(entry, tier=7), schema)  # the validation has teeth


def test_license_is_bsd_3_clause_as_pyproject_says():
    text = open(os.path.join(ROOT, "LICENSE.txt")).read()
    assert text.startswith("BSD 3-Clause License") and "Neither the name of the copyright holder" in text
    assert 'license = "BSD-3-Clause"' in open(os.path.join(ROOT, "pyproject.toml")).read()


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
