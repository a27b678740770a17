"""The command-line parts that need Slicer's libraries (PyPI ``slicer-core``): ``inspect --slicer``,
``compare`` and ``resample``. Imported only when one of them is asked for.

Exit status as in :mod:`.cli`: 0 done, 1 nothing loadable, 2 usage error
(including: slicer-core missing, OUT would overwrite an input or exists).
"""

from __future__ import annotations

import json
import os
import sys

from ..dicom.report import jsonDefault, toText

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def _host():
    try:
        from ..mrml.host import StandaloneHost
        from ..mrml.logic import VolumeGeometryLogic
    except ImportError as error:
        sys.stderr.write(
            f"affine-inspector: this command needs Slicer's libraries ({error}); "
            f"install them with: pip install 'affine-inspector[slicer]' (or pip install slicer-core)\n"
        )
        return None, None
    host = StandaloneHost()
    return host, VolumeGeometryLogic(host.scene, host)


def inspectWithSlicer(arguments, result, exitForFindings) -> int:
    """Add a ``slicer`` object per series: Slicer's IJKToRAS and the per-slice corner deviations."""
    host, logic = _host()
    if host is None:
        return EXIT_USAGE
    nodes = host.loadInspection(result)  # the headers already read by `inspect`
    bySeries = {node.GetAttribute("DICOM.seriesInstanceUID"): node for node in nodes}
    document = result.toDict()
    texts = []
    for series, entry in zip(result.series, document["series"]):
        node = bySeries.get(series.seriesInstanceUID)
        if node is None:
            reason = host.loadErrors.get(series.seriesInstanceUID, "not loaded")
            entry["slicer"] = {"error": reason}
            texts.append(f"Slicer's reader on series {series.seriesInstanceUID}: {reason}\n")
            continue
        check = logic.crossCheck(node)
        entry["slicer"] = {
            "ijkToRAS": check.IJKToRAS,
            "maxCornerDeviationMm": check.maxCornerDeviationMm,
            "slicerMaxErrorMm": check.slicerMaxErrorMm,
            "toleranceMm": check.toleranceMm,
            "withinTolerance": check.withinTolerance,
            "originExplanation": check.originExplanation,
            "sliceOrderVsInstanceNumber": check.sliceOrderVsInstanceNumber,
            "deviations": [deviation.toDict() for deviation in check.deviations],
            "messages": check.messages,
        }
        texts.append(_crossCheckText(series, check))
    if arguments.json:
        sys.stdout.write(json.dumps(document, indent=2, default=jsonDefault) + "\n")
    else:
        sys.stdout.write(toText(result) + "\n".join(texts))
    return exitForFindings(arguments, result)


def _crossCheckText(series, check) -> str:
    lines = [f"Slicer's reader on series {series.seriesInstanceUID} ({check.volumeName}):", "  IJKToRAS:"]
    lines.extend("    " + "  ".join(f"{value:10.4f}" for value in row) for row in check.IJKToRAS)
    lines.extend(f"  {message}" for message in check.messages)
    if check.originExplanation:
        lines.append(f"  {check.originExplanation}")
    lines.append(f"  Slice order relative to InstanceNumber: {check.sliceOrderVsInstanceNumber}.")
    worst = sorted(check.deviations, key=lambda deviation: -deviation.deviationMm)[:5]
    if worst and not check.withinTolerance:
        lines.append("  Largest corner deviations (k, file, mm):")
        lines.extend(f"    {item.k:4d}  {item.file}  {item.deviationMm:.4g}" for item in worst)
    return "\n".join(lines) + "\n"


def compare(arguments) -> int:
    host, logic = _host()
    if host is None:
        return EXIT_USAGE
    from ..mrml.logic import GeometryError

    try:
        volume = host.load(arguments.volume)
        reference = host.load(arguments.reference)
    except GeometryError as error:
        sys.stderr.write(f"affine-inspector: {error}\n")
        return EXIT_NOTHING
    comparison = logic.compare(volume, reference)
    if arguments.json:
        sys.stdout.write(json.dumps(comparison.toDict(), indent=2, default=jsonDefault) + "\n")
    else:
        sys.stdout.write(f"{arguments.volume} compared with reference {arguments.reference}:\n")
        sys.stdout.write("".join(f"  {message}\n" for message in comparison.messages))
        sys.stdout.write("  voxel-to-voxel (input IJK -> reference IJK):\n")
        sys.stdout.write(
            "".join("    " + "  ".join(f"{v:10.4f}" for v in row) + "\n" for row in comparison.voxelToVoxel)
        )
    return EXIT_OK


def resample(arguments) -> int:
    output = arguments.output
    from ..mrml.host import VOLUME_EXTENSIONS

    if not output.lower().endswith(VOLUME_EXTENSIONS):
        sys.stderr.write(f"affine-inspector: --output must end with one of {', '.join(VOLUME_EXTENSIONS)}.\n")
        return EXIT_USAGE
    for given in (arguments.input, arguments.reference):
        if os.path.exists(output) and os.path.exists(given) and os.path.samefile(output, given):
            sys.stderr.write(f"affine-inspector: --output {output} is an input; choose a new file. Nothing written.\n")
            return EXIT_USAGE
    if os.path.exists(output):
        sys.stderr.write(f"affine-inspector: {output} exists; choose a new file name. Nothing written.\n")
        return EXIT_USAGE
    host, logic = _host()
    if host is None:
        return EXIT_USAGE
    from ..mrml.logic import GeometryError

    try:
        volume = host.load(arguments.input, labelmap=arguments.label)
        reference = host.load(arguments.reference)
        resampled = logic.resample(volume, reference, interpolation=arguments.interpolation, labelmap=arguments.label)
        host.saveVolume(resampled, output)
    except GeometryError as error:
        sys.stderr.write(f"affine-inspector: {error}\n")
        return EXIT_NOTHING
    sys.stdout.write(
        f"Wrote {output}: {arguments.input} resampled onto the grid of {arguments.reference} "
        f"({arguments.interpolation or ('nearest' if arguments.label else 'linear')} interpolation).\n"
    )
    return EXIT_OK
