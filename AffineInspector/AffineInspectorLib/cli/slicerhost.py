"""The commands' access to Slicer's libraries (PyPI ``slicer-core``), imported only when a command needs them:
the standalone host and logic, and ``inspect --slicer`` (Slicer's reader on each series, corners compared)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ..dicom.report import toText
from ..dicom.series import InspectionResult
from ..geometry import serialize
from ..geometry.errors import GeometryError
from . import common

if TYPE_CHECKING:  # for annotations only: slicer-core is imported when a command needs it
    from ..dicom.series import SeriesGeometry
    from ..mrml.dicomcheck import CrossCheck
    from ..mrml.host import StandaloneHost
    from ..mrml.logic import VolumeGeometryLogic


def hostAndLogic() -> Tuple[StandaloneHost, VolumeGeometryLogic]:
    """A :class:`~..mrml.host.StandaloneHost` and a logic on its scene; GeometryError when slicer-core is missing."""
    try:
        from ..mrml.host import StandaloneHost
        from ..mrml.logic import VolumeGeometryLogic
    except ImportError as error:
        raise GeometryError(
            f"this command needs Slicer's libraries ({error}); install them with: "
            f"pip install 'affine-inspector[slicer]' (or pip install slicer-core)"
        ) from None
    host = StandaloneHost()
    return host, VolumeGeometryLogic(host.scene, host)


def inspectWithSlicer(arguments: argparse.Namespace, result: InspectionResult) -> None:
    """Write the inspection with a ``slicer`` object per series: the cross-check of the volume Slicer loads.

    The paths are loaded as Slicer's DICOM module loads them (its loadable selection; the acquisition transform
    unless ``--no-regularization``). A series Slicer loads as several volumes gets the first one's cross-check
    under ``slicer`` and the count under ``slicer.volumesLoaded``; the text report lists each.
    """
    host, logic = hostAndLogic()
    nodes = host.loadDICOM(arguments.paths, regularize=arguments.regularize)
    bySeries: Dict[str, List[Any]] = {}
    for node in nodes:
        bySeries.setdefault(node.GetAttribute("DICOM.seriesInstanceUID"), []).append(node)
    document = serialize.plain(result)
    texts = []
    for series, entry in zip(result.series, document["series"]):
        seriesNodes = bySeries.get(series.seriesInstanceUID, [])
        if not seriesNodes:
            reason = host.loadErrors.get(series.seriesInstanceUID, "not loaded")
            entry["slicer"] = {"error": reason}
            texts.append(f"Slicer's reader on series {series.seriesInstanceUID}: {reason}\n")
            continue
        checks = [logic.crossCheck(node) for node in seriesNodes]
        entry["slicer"] = {key: value for key, value in serialize.plain(checks[0]).items() if key != "dicom"}
        entry["slicer"]["volumesLoaded"] = len(checks)
        texts.extend(_crossCheckText(series, check) for check in checks)
    if arguments.json:
        common.writeJSON(document, arguments.indent)
    else:
        common.write(toText(result) + "\n".join(texts))


def _crossCheckText(series: SeriesGeometry, check: CrossCheck) -> str:
    lines = [f"Slicer's reader on series {series.seriesInstanceUID} ({check.volumeName}):", "  IJKToRAS:"]
    lines.extend("    " + "  ".join(f"{value:10.4f}" for value in row) for row in check.IJKToRAS)
    lines.extend(f"  {message}" for message in check.messages)
    if check.originExplanation:
        lines.append(f"  {check.originExplanation}")
    lines.append(f"  InstanceNumber along k: {check.instanceNumberOrder}.")
    worst = sorted(check.deviations, key=lambda deviation: -deviation.deviationMm)[:5]
    if worst and not check.withinTolerance:
        lines.append("  Largest corner deviations (k, file, mm):")
        lines.extend(f"    {item.k:4d}  {item.file}  {item.deviationMm:.4g}" for item in worst)
    return "\n".join(lines) + "\n"
