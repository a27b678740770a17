"""DICOM files: header reading (fast raw-byte reader and the pydicom path), series grouping, Slicer-order
sorting, series analysis, text reports and the synthetic series writer.

May import: :mod:`..geometry`, numpy and pydicom; nibabel, pynrrd (nrrd) and SimpleITK for image files (inside the
functions that read or write them, so that inspect never imports them). Never slicer, vtk or Qt.
"""
