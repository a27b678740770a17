"""Everything that needs MRML, VTK or vtkITK: the module logic, the standalone host (a Slicer-like scene on
the PyPI package slicer-core), Slicer-vs-DICOM comparison, resampling and the self-test scenario.

May import: :mod:`..geometry`, :mod:`..dicom`, slicer and vtk. Never Qt.
"""
