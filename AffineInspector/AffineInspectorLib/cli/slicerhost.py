"""The commands' access to Slicer's libraries (PyPI ``slicer-core``), imported only when a command needs them:
the standalone host and logic, and ``inspect --slicer`` (Slicer's reader on each series, corners compared)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Dict, Tuple

from ..dicom.report import toText
from ..dicom.series import InspectionResult
from ..geometry import serialize
from ..geometry.errors import GeometryError
from . import common

if TYPE_CHECKING:  # for annotations only: slicer-core is imported when a command needs it
    from ..dicom.series import SeriesGeometry
    from ..mrml.dicomcheck import CrossCheck, SeriesCrossCheck
    from ..mrml.host import StandaloneHost
    from ..mrml.logic import VolumeGeometryLogic


def hostAndLogic(*, displayNodes: bool = True) -> Tuple[StandaloneHost, VolumeGeometryLogic]:
    """A :class:`~..mrml.host.StandaloneHost` and a logic on its scene; GeometryError when slicer-core is missing.

    ``displayNodes=False``: volumes loaded from DICOM get no display nodes (nothing is shown: see the host).
    """
    try:
        from ..mrml import nativeload
        from ..mrml.host import StandaloneHost
        from ..mrml.logic import VolumeGeometryLogic
    except ImportError as error:
        raise GeometryError(
            f"this command needs Slicer's libraries ({error}); install them with: "
            f"pip install 'affine-inspector[slicer]' (or pip install slicer-core)"
        ) from None
    nativeload.configure(debug=common.debugRequested())  # VTK/ITK/GDCM messages only with --debug
    host = StandaloneHost(displayNodes=displayNodes)
    return host, VolumeGeometryLogic(host.scene, host)


def inspectWithSlicer(arguments: argparse.Namespace, result: InspectionResult) -> None:
    """Write the inspection with a ``slicer`` object per series: Slicer's IJKToRAS and the corner deviations.

    Each series the engine found is loaded as Slicer's scalar-volume plugin loads it (vtkITK, right-handed IJK,
    the acquisition transform unless ``--no-regularization``). A 4D series whose volumes are in separate files is
    loaded one volume per time point (as Slicer's multi-volume / volume-sequence loadable does) and its
    ``slicer`` object holds one cross-check per volume.
    """
    from ..mrml.dicomcheck import summarizeVolumes

    host, logic = hostAndLogic()
    host.loadInspection(result, regularize=arguments.regularize)  # the headers already read by `inspect`
    document = serialize.plain(result)
    texts = []
    for series, entry, nodes, error in zip(result.series, document["series"], host.seriesNodes, host.seriesErrors):
        if not nodes:
            reason = error or "not loaded"
            entry["slicer"] = {"error": reason}
            texts.append(f"Slicer's reader on series {series.seriesInstanceUID}: {reason}\n")
            continue
        checks = [logic.crossCheck(node) for node in nodes]
        if len(checks) == 1:
            entry["slicer"] = _withoutAnalysis(serialize.plain(checks[0]))
            texts.append(_crossCheckText(series, checks[0]))
            continue
        summary = summarizeVolumes(checks)
        plain = serialize.plain(summary)
        plain["volumes"] = [_withoutAnalysis(volume) for volume in plain["volumes"]]
        entry["slicer"] = plain
        texts.append(_seriesText(series, summary))
    if arguments.json:
        common.writeJSON(document, arguments.indent)
    else:
        common.write(toText(result) + "\n".join(texts))


def _withoutAnalysis(check: Dict[str, Any]) -> Dict[str, Any]:
    """A cross-check's JSON without ``dicom`` (the engine's analysis, already in the series entry)."""
    return {key: value for key, value in check.items() if key != "dicom"}


def _seriesText(series: SeriesGeometry, summary: SeriesCrossCheck) -> str:
    """A 4D series loaded one volume per node: what it is, each volume's deviation, then the worst in full."""
    lines = [f"Slicer's reader on series {series.seriesInstanceUID} ({series.seriesDescription or 'no description'}):"]
    lines.extend(f"  {message}" for message in summary.messages)
    for index, check in enumerate(summary.volumes):
        deviation = "not compared" if check.maxCornerDeviationMm is None else f"{check.maxCornerDeviationMm:.4g} mm"
        lines.append(f"    volume {index + 1}: {check.volumeName}: largest corner deviation {deviation}")
    worst = summary.volumes[summary.worstVolume if summary.worstVolume is not None else 0]
    return "\n".join(lines) + "\n" + _crossCheckText(series, worst)


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
        lines.extend(f"    {item.k:4d}  {item.label}  {item.deviationMm:.4g}" for item in worst)
    return "\n".join(lines) + "\n"
