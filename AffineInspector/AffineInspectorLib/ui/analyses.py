"""The panel's analysis of one volume against its DICOM files, as plain data, and the key it is cached under.

No Qt: the panel (:mod:`.panel`) keeps these per node ID and shows them. The key holds everything the
analysis depends on (IJKToRAS, dimensions, instance UIDs, parent transforms and their modification
times), so a refresh after the analysis only re-reads node properties.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ..geometry.progress import ProgressCallback
from . import paneldata
from .translation import tr as _

if TYPE_CHECKING:  # for annotations only: the mrml modules import slicer, this one does not
    from ..dicom.series import SeriesGeometry
    from ..mrml.dicomcheck import CrossCheck
    from ..mrml.logic import VolumeGeometryLogic
    from ..mrml.nodes import VolumeInfo


@dataclasses.dataclass
class VolumeAnalysis:
    """The cached result of checking one volume against its DICOM files (see module docstring)."""

    key: tuple
    check: Optional[CrossCheck] = None  # None when it failed
    error: str = ""
    sliceTable: paneldata.SliceTable = dataclasses.field(default_factory=lambda: paneldata.EMPTY_SLICE_TABLE)
    plotPNG: bytes = b""
    plotError: str = ""
    plotNeedsMatplotlib: bool = False
    plotPending: bool = False  # analysed while the plot was not shown: drawn when it is (see renderPlot)


def analysisKey(node: Any, info: VolumeInfo) -> tuple:
    """What a volume's analysis depends on; a different key means the cached analysis is stale."""
    transforms = []
    parent = node.GetParentTransformNode()
    while parent is not None:
        transforms.append((parent.GetID(), parent.GetMTime()))
        parent = parent.GetParentTransformNode()
    uids = node.GetAttribute("DICOM.instanceUIDs") or ""
    matrix = tuple(np.round(np.asarray(info.IJKToRAS, dtype=float).ravel(), 9))
    return (matrix, tuple(info.dimensions), hash(uids), tuple(transforms))


def analyse(
    logic: VolumeGeometryLogic,
    node: Any,
    key: tuple,
    progressCallback: Optional[ProgressCallback] = None,
    *,
    plot: bool = True,
) -> VolumeAnalysis:
    """Cross-check ``node`` with its DICOM files and build the slice table and (``plot``) the plot.

    ``plot=False`` leaves the plot ``plotPending``: the panel draws it when its tab is shown. Drawing the first
    plot of a session imports matplotlib (0.4-0.9 s of CPU, more than the cross-check of 3,000 files), which
    the first selection of a volume then does not wait for.

    Raises what ``logic.crossCheck`` raises (Cancelled, GeometryError, OSError, ValueError).
    """
    check = logic.crossCheck(node, progressCallback=progressCallback)
    analysis = VolumeAnalysis(key=key, check=check)
    analysis.sliceTable = paneldata.sliceTable(check)
    if plot:
        renderPlot(analysis, check.dicom)
    else:
        analysis.plotPending = True
    return analysis


def renderPlot(analysis: VolumeAnalysis, series: Optional[SeriesGeometry]) -> None:
    """Draw the step and tilt plot into ``analysis`` (``plotError`` says why not: matplotlib missing)."""
    analysis.plotPNG, analysis.plotError, analysis.plotNeedsMatplotlib = b"", "", False
    analysis.plotPending = False
    if series is None or len(series.slices) < 2:
        return
    try:
        analysis.plotPNG = paneldata.stepTiltPlotPNG(series)
    except ImportError:
        analysis.plotNeedsMatplotlib = True
        analysis.plotError = _(
            "The step and tilt plot needs matplotlib: install the 'gui' extra ({command}), or inside Slicer use the "
            "link the panel shows."
        ).format(command="pip install 'affine-inspector[gui]'")
