"""The Qt side: the compatibility layer (PythonQt inside Slicer, PySide6 outside), the translation of
user-visible strings (Qt-free), the panel's plain data, the panel widget and the standalone window.

May import: every lower layer (:mod:`..geometry`, :mod:`..dicom`, :mod:`..mrml`) and Qt (only through
:mod:`.qtcompat`), matplotlib. Never :mod:`..cli`.
"""
