"""DICOM files: header reading (fast raw-byte reader and the pydicom path), series grouping, Slicer-order
sorting, series analysis, text reports and the synthetic series writer.

May import: :mod:`..geometry`, numpy and pydicom. Never slicer, vtk or Qt.
"""
