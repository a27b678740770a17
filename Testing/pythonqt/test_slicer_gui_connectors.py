"""Slicer's parameterNodeWrapper binds Qt widgets to a parameter node both ways: PythonQt only.

Its GUI connectors read and write Qt properties as attributes (``spinBox.value = 3``), which only PythonQt
does, so this is collected only inside the PythonQt host (``make test`` runs it there).
"""

from __future__ import annotations

import pytest
import qt
import slicer
import slicerenv


@pytest.fixture
def environment(dicomRoot):
    with slicerenv.slicerEnvironment() as module:
        yield module


def test_parameter_node_wrapper_connects_gui_both_ways(environment):
    from slicer.parameterNodeWrapper import parameterNodeWrapper

    @parameterNodeWrapper
    class Parameters:
        sliceCount: int = 3

    parent = qt.QWidget()
    parent.setLayout(qt.QVBoxLayout())
    spinBox = qt.QSpinBox()
    spinBox.setProperty("SlicerParameterName", "sliceCount")
    parent.layout().addWidget(spinBox)
    parameters = Parameters(slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode"))
    parameters.connectGui(parent)
    assert spinBox.value == 3
    spinBox.setValue(7)
    assert parameters.sliceCount == 7
    parameters.sliceCount = 9
    assert spinBox.value == 9
    parent.deleteLater()
