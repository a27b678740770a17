"""AffineInspector's library: DICOM geometry analysis (pure layer) and, in later
modules, the MRML logic and Qt panel.

The pure layer (``affines``, ``findings``, ``headers``, ``slicersort``,
``checks``, ``series``, ``report``, ``synthetic``, ``cli``) imports only
numpy, pydicom and nibabel: no slicer, vtk or qt.
"""

from __future__ import annotations

__version__ = "0.1.0"
