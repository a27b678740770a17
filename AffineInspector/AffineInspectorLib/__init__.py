"""AffineInspector's library, in five layers (lowest first); a module imports only from its own layer or below.

* :mod:`.geometry` -- affines, axis codes, findings, per-slice checks, copy formats, cross-check math (numpy only)
* :mod:`.dicom` -- header reading, series grouping, Slicer-order sorting, text reports, synthetic series (+ pydicom)
* :mod:`.mrml` -- module logic, standalone host, self-test scenario, resampling (+ slicer / vtk)
* :mod:`.ui` -- Qt compatibility layer, panel data, panel widget, standalone window (+ Qt)
* :mod:`.cli` -- the ``affine-inspector`` commands (may import everything; nothing imports it)

``Testing/test_layers.py`` enforces the rule.
"""

from __future__ import annotations

__version__ = "0.1.0"
