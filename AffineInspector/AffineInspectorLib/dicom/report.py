"""Rendering an inspection as readable text or JSON (the command line uses both)."""

from __future__ import annotations

from typing import List, Optional, Sequence

from ..geometry import affines, serialize
from ..geometry.findings import SEVERITIES, Finding, perSliceRuns, sliceRanges
from ..geometry.formats import formatMatrix
from .series import InspectionResult, SeriesGeometry


def toJSON(result: InspectionResult, *, indent: Optional[int] = None) -> str:
    """``{"series": [...], "unreadableFiles": [...], "cancelled": false}`` as strict JSON (compact by default)."""
    return serialize.dumps(result, indent=indent)


def toText(result: InspectionResult) -> str:
    """The whole inspection as a readable report."""
    parts = []
    for number, series in enumerate(result.series, start=1):
        parts.append(seriesText(series, number, len(result.series)))
    if result.unreadableFiles:
        parts.append(f"Files not used ({len(result.unreadableFiles)}):")
        parts.extend(f"  {finding.severity.upper():7s} {finding.message}" for finding in result.unreadableFiles)
    if result.cancelled:
        parts.append("Cancelled: only the files read before cancelling are reported.")
    return "\n".join(parts) + "\n"


def _tiltLines(series: SeriesGeometry) -> List[str]:
    """The series tilt, unsigned and in dcm2niix's signed convention, when the stack is tilted at all."""
    if series.seriesTiltDeg is None or series.signedTiltDeg is None or series.seriesTiltDeg < 0.005:
        return []
    return [
        f"  Tilt (IPP step vs slice normal): {series.seriesTiltDeg:.3f} deg; signed as dcm2niix reports it: "
        f"{series.signedTiltDeg:+.3f} deg"
    ]


def _mosaicLines(series: SeriesGeometry) -> List[str]:
    """What one file of a mosaic series holds, and in which order its slices were acquired."""
    record = series.mosaic
    if record is None or record.problem:
        return []
    order = f"; acquisition order {record.sliceOrder}" if record.sliceOrder else ""
    return [
        f"  Mosaic: {record.vendor}, each {record.mosaicColumns}x{record.mosaicRows} file holds {record.numberOfTiles} "
        f"tiles of {record.tileColumns}x{record.tileRows} ({record.tilesAcross}x{record.tilesDown} grid){order}"
    ]


def seriesText(series: SeriesGeometry, number: int = 1, total: int = 1) -> str:
    lines = [
        f"=== Series {number}/{total}: {series.seriesDescription or '(no description)'}"
        f"  [{series.modality or '?'}, {len(series.files)} file(s)]",
        f"  SeriesInstanceUID: {series.seriesInstanceUID or '(none)'}",
    ]
    if series.IJKToLPS is None:
        lines.append("  No slice has usable geometry: no affine.")
    else:
        # _geometryOf (series.py) sets these whenever it sets IJKToLPS.
        assert series.dimensions is not None and series.spacing is not None and series.sliceSpacing is not None
        assert series.IJKToRAS is not None
        columns, rows, positions = series.dimensions
        volumes = (
            f" x {series.numberOfVolumes} volumes (repeats differ by {series.repeatedBy})"
            if series.numberOfVolumes > 1
            else ""
        )
        lines += [
            f"  Dimensions (i, j, k): {columns} x {rows} x {positions}{volumes}",
            "  Spacing (mm): {:.6g} x {:.6g} x {:.6g} (k = IPP step); between planes {:.6g}".format(
                *series.spacing, series.sliceSpacing
            ),
            # BUG (reported, kept as is): axisCodes is None for a degenerate affine and this join then raises.
            f"  Axis codes (i, j, k): {affines.axisCodesText(series.axisCodes)}    InstanceNumber order along k: "
            f"{series.instanceNumberOrder}",
            f"  Largest distance of a slice's IPP from the affine: {series.maxAffineErrorMm:.4g} mm",
            *_tiltLines(series),
            *_mosaicLines(series),
            "  IJKToLPS (DICOM patient frame; i = column, j = row, k = sorted slice):",
            formatMatrix(series.IJKToLPS),
            "  IJKToRAS (Slicer's IJKToRAS for this stack):",
            formatMatrix(series.IJKToRAS),
            "",
            sliceTable(series),
        ]
    lines += ["", findingsText(series.findings)]
    if series.slicerSortWarning:
        lines.append("  Slicer's DICOMUtils.getSortedImageFiles would say:")
        lines += ["    " + line for line in series.slicerSortWarning.strip().splitlines()]
    lines.append("")
    return "\n".join(lines)


def sliceTable(series: SeriesGeometry) -> str:
    header = ["index", "k", "file", "Instance", "IPP (LPS mm)", "distance", "step", "tilt", "flags"]
    table = [header]
    for row in series.slices:
        table.append(
            [
                str(row.index),
                str(row.k) + (f".{row.volume}" if series.numberOfVolumes > 1 else ""),
                row.file + (f" [{row.part}]" if row.part else ""),
                "" if row.instanceNumber is None else str(row.instanceNumber),
                "({:.3f}, {:.3f}, {:.3f})".format(*row.position),
                f"{row.distance:.3f}",
                "" if row.step is None else f"{row.step:.3f}",
                "" if row.tilt is None else f"{row.tilt:.2f}",
                ",".join(row.flags),
            ]
        )
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    rendered = ["  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    return "  Slices (sorted as Slicer sorts them):\n" + "\n".join(rendered)


def _counted(count: int, severity: str) -> str:
    """``1 error``, ``15 warnings``, ``2 info``."""
    return f"{count} {severity}" if count == 1 or severity == "info" else f"{count} {severity}s"


def findingsText(findings: Sequence[Finding]) -> str:
    if not findings:
        return "  Findings: none."
    counts = ", ".join(
        _counted(sum(1 for f in findings if f.severity == severity), severity)
        for severity in SEVERITIES
        if any(f.severity == severity for f in findings)
    )
    lines = [f"  Findings ({counts}):"]
    runs = perSliceRuns(findings)
    for finding in findings:
        if finding.kind in runs and finding.slice is not None:
            continue
        lines.append(_findingLine(finding))
    for kind in sorted(runs):
        lines.append(_summaryLine(runs[kind]))
    return "\n".join(lines)


def _findingLine(finding: Finding) -> str:
    where = "series" if finding.slice is None else f"slice {finding.slice}"
    return f"    {finding.severity.upper():7s} {finding.kind:26s} {where:10s} {finding.message}"


def _summaryLine(group: List[Finding]) -> str:
    values = [finding.value for finding in group if finding.value is not None]
    unit = group[0].unit or ""
    valueText = f"; values {min(values):.4g} to {max(values):.4g} {unit}" if values else ""
    slices = sliceRanges([finding.slice for finding in group if finding.slice is not None])  # all (perSliceRuns)
    return (
        f"    {group[0].severity.upper():7s} {group[0].kind:26s} {len(group)} slices ({slices}){valueText}; "
        f"first: {group[0].message}"
    )
