"""Pure geometry: affines and axis codes, findings and tolerances, the per-slice checks, slice-stack
measurements, cross-check math, copy formats and the JSON serialiser.

May import: the standard library and numpy. Never pydicom, slicer, vtk or Qt, and nothing from the
other layers. Functions take and return numpy arrays and plain records; no I/O.
"""
