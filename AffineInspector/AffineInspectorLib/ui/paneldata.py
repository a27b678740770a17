"""What the panel shows, as plain data: table rows, texts, colours and the step/tilt plot.

No Qt and no ``slicer`` import: the Qt panel (:mod:`.panel`) only copies
these strings into widgets, so everything the user reads is built, and
tested, here. Labels go through ``_()`` (:mod:`.translation`); the findings'
messages, kinds and severities, Slicer-vs-DICOM messages and matrices are
the lower layers' data (the command line prints the same) and stay as they are. Inputs are the MRML logic's results
(:class:`~AffineInspectorLib.mrmllogic.VolumeInfo`,
:class:`~AffineInspectorLib.mrmllogic.CrossCheck`), used by attribute.

Matrices: Slicer's ``IJKToRAS`` (i column, j row, k slice; RAS mm); the
DICOM affine is ``ijkToLPS`` in the same IJK, LPS mm.
"""

from __future__ import annotations

import dataclasses
import io
import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry.conventions import viewerOrigins
from ..geometry.crosscheck import SliceDeviation
from ..geometry.findings import ERROR, INFO, WARNING, Finding, Severity, perSliceRuns, sliceRanges, worstSeverity
from ..geometry.formats import formatMatrix
from ..geometry.stack import SliceRow
from .translation import tr as _

if TYPE_CHECKING:  # for annotations only: the mrml modules import slicer, this one does not
    from ..dicom.series import SeriesGeometry
    from ..mrml.dicomcheck import CrossCheck
    from ..mrml.nodes import VolumeInfo

SEVERITY_COLOURS: Dict[Severity, str] = {ERROR: "#f4c7c3", WARNING: "#fce8b2", INFO: "#d2e3fc"}
"""Row background per worst severity (light, so black text stays readable)."""


def volumeColumns() -> Tuple[str, ...]:
    """The volume table's column headers (translated when called: the language is the application's now)."""
    return (_("Name"), _("Dimensions"), _("Spacing (mm)"), _("Axes"), _("Source"), _("Findings"))


def sliceColumns() -> Tuple[str, ...]:
    """The slice table's column headers (``k``, Slicer's slice index, is a symbol, not a word)."""
    return (
        "k",
        _("File"),
        _("Instance"),
        _("IPP (LPS mm)"),
        _("Distance"),
        _("Step"),
        _("Tilt (deg)"),
        _("Slicer dev. (mm)"),
        _("Flags"),
    )


SLICE_COLUMN_COUNT = len(sliceColumns())
"""How many columns :func:`sliceColumns` has (the table model asks for it on every repaint)."""


def notCheckedText() -> str:
    """Findings cell of a DICOM volume whose files have not been read yet."""
    return _("not checked")


@dataclasses.dataclass
class VolumeRow:
    """One row of the volume table: display strings, and the severity that colours it."""

    nodeID: str
    cells: Tuple[str, ...]
    findingsCount: Optional[int]
    severity: Optional[Severity]
    toolTip: str


@dataclasses.dataclass
class SliceTable:
    """The per-slice table of one DICOM volume, in Slicer's sort order (row = Finding.slice)."""

    rows: List[Tuple[str, ...]]
    severities: List[Optional[Severity]]
    toolTips: List[str]


EMPTY_SLICE_TABLE = SliceTable([], [], [])


def _triple(values: Sequence[float], precision: int) -> str:
    return " x ".join(f"{value:.{precision}g}" for value in values)


def volumeRow(info: VolumeInfo, check: Optional[CrossCheck] = None, error: str = "") -> VolumeRow:
    """The volume table row of a :class:`VolumeInfo`; ``check`` is its CrossCheck once analysed.

    The findings cell counts the engine's findings on the volume's DICOM
    files (the same list ``affine-inspector inspect`` prints); ``error`` is
    why the analysis failed, if it did.
    """
    source = _("DICOM ({count} files)").format(count=info.numberOfInstances) if info.fromDICOM else _("file")
    if info.parentTransform:
        source = _("{source}, under {transform}").format(source=source, transform=info.parentTransform)
    count: Optional[int] = None
    severity: Optional[Severity] = None
    toolTip = ""
    if not info.fromDICOM:
        findingsText = "-"
        toolTip = _("Not loaded from DICOM: there are no DICOM files to check it against.")
    elif error:
        findingsText, severity, toolTip = _("failed"), ERROR, error
    elif check is None:
        findingsText = notCheckedText()
        toolTip = _("Select the volume or press 'Check all' to read its DICOM files.")
    else:
        findings = check.dicom.findings if check.dicom is not None else []
        count, severity = len(findings), worstSeverity(findings)
        findingsText = str(count) + (f" ({severity})" if severity else "")
        toolTip = "\n".join(f"{finding.severity}: {finding.message}" for finding in findings[:10])
        if len(findings) > 10:
            toolTip += "\n" + _("... {count} more (Findings tab)").format(count=len(findings) - 10)
    cells = (
        info.name,
        " x ".join(str(n) for n in info.dimensions),
        _triple(info.spacing, 4),
        info.axisCodes,
        source,
        findingsText,
    )
    return VolumeRow(info.nodeID, cells, count, severity, toolTip or _("No findings."))


# --------------------------------------------------------------------------- geometry text


def geometryText(info: VolumeInfo, check: Optional[CrossCheck] = None, error: str = "") -> str:
    """The Geometry tab: matrices (aligned, monospace), the Slicer-vs-DICOM deviation and the origin."""
    IJKToRAS = np.asarray(info.IJKToRAS)
    if not info.parentTransform:
        parent = _("none")
    elif info.parentTransformLinear:
        parent = _("under {transform} (linear)").format(transform=info.parentTransform)
    else:
        parent = _("under {transform} (not linear)").format(transform=info.parentTransform)
    parts = [
        _(
            "{name}  ({className}; {dimensions} voxels; spacing {spacing} mm; axes {axes}; scan order {scanOrder}; "
            "parent transform: {parent})"
        ).format(
            name=info.name,
            className=info.className,
            dimensions=" x ".join(map(str, info.dimensions)),
            spacing=_triple(info.spacing, 6),
            axes=info.axisCodes,
            scanOrder=info.scanOrder,
            parent=parent,
        ),
        "",
        _("IJK to RAS (Slicer; i column, j row, k slice -> RAS mm; parent transform not applied):"),
        formatMatrix(IJKToRAS),
        _("RAS to IJK:"),
        formatMatrix(np.asarray(info.RASToIJK)),
    ]
    if not info.fromDICOM:
        parts += ["", _("Not loaded from DICOM: no DICOM-derived affine to compare with.")]
        return "\n".join(parts) + "\n"
    if error:
        parts += ["", _("Checking against the DICOM files failed: {error}").format(error=error)]
        return "\n".join(parts) + "\n"
    if check is None:
        parts += ["", _("DICOM files not read yet: select the volume again or press 'Check all'.")]
        return "\n".join(parts) + "\n"
    series = check.dicom
    if series is not None and series.IJKToLPS is not None:
        assert series.IJKToRAS is not None  # set together with IJKToLPS (dicom.series._geometryOf)
        parts += [
            "",
            _("DICOM IJK to LPS (from the files' IPP, IOP and PixelSpacing, slices in Slicer's sort order):"),
            formatMatrix(series.IJKToLPS),
            _("DICOM IJK to RAS (= diag(-1, -1, 1, 1) . LPS):"),
            formatMatrix(series.IJKToRAS),
        ]
        if series.maxAffineErrorMm is not None:
            distance = f"{series.maxAffineErrorMm:.4g}"
            parts.append(
                _("Largest distance of a slice's IPP from this affine: {distance} mm (series tilt {tilt} deg)").format(
                    distance=distance, tilt=f"{series.seriesTiltDeg:.3g}"
                )
                if series.seriesTiltDeg
                else _("Largest distance of a slice's IPP from this affine: {distance} mm").format(distance=distance)
            )
    parts += ["", _("Slicer vs DICOM:")] + [f"  {message}" for message in check.messages]
    if check.originExplanation:
        parts += ["", _("Origin:"), f"  {check.originExplanation}"]
    if series is not None and series.IJKToLPS is not None:  # HOROS/OsiriX vs Slicer, with this volume's numbers
        parts += [f"  {line}" for line in viewerOrigins(series.IJKToLPS, series.slices)]
    parts += ["", _("InstanceNumber along k: {order}.").format(order=check.instanceNumberOrder)]
    return "\n".join(parts) + "\n"


def findingLines(check: Optional[CrossCheck]) -> List[Tuple[Severity, str]]:
    """``(severity, text)`` per finding for the Findings tab, worst first; a kind on more than
    ``report.RUN_SUMMARY_THRESHOLD`` slices is one summary line (each slice stays coloured in the slice table)."""
    if check is None or check.dicom is None:
        return []
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    runs = perSliceRuns(check.dicom.findings)
    lines: List[Tuple[Severity, str]] = []
    summarized = set()
    for finding in check.dicom.findings:
        if finding.kind in runs and finding.slice is not None:
            if finding.kind not in summarized:
                summarized.add(finding.kind)
                lines.append((finding.severity, _summaryText(runs[finding.kind])))
            continue
        where = _("series") if finding.slice is None else _("slice {index}").format(index=finding.slice)
        lines.append((finding.severity, f"{finding.severity.upper()}  {finding.kind}  ({where})  {finding.message}"))
    return sorted(lines, key=lambda line: order[line[0]])


def _summaryText(group: Sequence[Finding]) -> str:
    values = [finding.value for finding in group if finding.value is not None]
    first = group[0]
    if values:
        valueRange = _("{low} to {high}").format(low=f"{min(values):.4g}", high=f"{max(values):.4g}")
        valueText = f"; {valueRange} {first.unit or ''}".rstrip()
    else:
        valueText = ""
    return _("{severity}  {kind}  ({count} slices: {slices}){values}. First: {message}").format(
        severity=first.severity.upper(),
        kind=first.kind,
        count=len(group),
        slices=sliceRanges(_sliceIndices(group)),
        values=valueText,
        message=first.message,
    )


def _sliceIndices(group: Sequence[Finding]) -> List[int]:
    """The slices of a run of per-slice findings (:func:`perSliceRuns` keeps only findings with a slice)."""
    return [finding.slice for finding in group if finding.slice is not None]


# --------------------------------------------------------------------------- slice table


def sliceTable(check: Optional[CrossCheck]) -> SliceTable:
    """Rows of the per-slice table: one per DICOM slice (sorted as Slicer sorts), coloured by its findings.

    The deviation column is Slicer's corner deviation of slice k, filled
    when the loaded volume has one slice per DICOM slice in the same files.
    """
    if check is None or check.dicom is None:
        return EMPTY_SLICE_TABLE
    series = check.dicom
    bySlice: Dict[int, List[Finding]] = {}
    for finding in series.findings:
        if finding.slice is not None:
            bySlice.setdefault(finding.slice, []).append(finding)
    deviations = _deviationsByRow(check.deviations, series.slices)
    rows: List[Tuple[str, ...]] = []
    severities: List[Optional[Severity]] = []
    toolTips: List[str] = []
    repeated = series.numberOfVolumes > 1
    for row in series.slices:
        findings = bySlice.get(row.index, [])
        deviation = deviations[row.index]
        rows.append(
            (
                str(row.k) + (f".{row.volume}" if repeated else ""),
                os.path.basename(row.file) + (f" [{row.part}]" if row.part else ""),
                "" if row.instanceNumber is None else str(row.instanceNumber),
                "{:.3f}, {:.3f}, {:.3f}".format(*row.position),
                f"{row.distance:.3f}",
                "" if row.step is None else f"{row.step:.3f}",
                "" if row.tilt is None else f"{row.tilt:.2f}",
                "" if deviation is None else f"{deviation:.3g}",
                ", ".join(row.flags),
            )
        )
        severities.append(worstSeverity(findings))
        toolTips.append("\n".join([row.file] + [finding.message for finding in findings]))
    return SliceTable(rows, severities, toolTips)


def _deviationsByRow(deviations: Sequence[SliceDeviation], rows: Sequence[SliceRow]) -> List[Optional[float]]:
    """Each row's deviation, matched by file, frame and tile: the reader's k order (stored frames, one mosaic
    image per file) need not be the rows' sorted order."""
    byPart = {(d.file, d.frame, d.tile): d.deviationMm for d in deviations}
    if len(byPart) != len(deviations):
        return [None] * len(rows)
    return [byPart.get((row.file, row.frame, row.tile)) for row in rows]


# --------------------------------------------------------------------------- plot


def plotLimits(values: np.ndarray, *, relative: float = 0.01, absolute: float = 0.01) -> Optional[Tuple[float, float]]:
    """Y limits for nearly constant values, else None (matplotlib's own).

    A regular stack's steps or tilts differ only by rounding (18.5 +- 1e-7 deg); left to itself matplotlib zooms
    onto that range with an offset axis and draws the noise as a staircase. Values spread by less than
    ``relative`` of their size (and ``absolute``) are shown in a window of that half-width around their middle.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    margin = max(relative * max(abs(low), abs(high)), absolute)
    if high - low >= margin:
        return None
    middle = (low + high) / 2
    return (middle - margin, middle + margin)


def stepTiltPlotPNG(
    series: SeriesGeometry, *, widthInches: float = 6.0, heightInches: float = 2.6, dpi: int = 100
) -> bytes:
    """PNG of the IPP step (mm) and tilt (deg) per slice, flagged slices marked; matplotlib (Agg), no display.

    Raises ImportError when matplotlib is missing (the panel says so).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [row for row in series.slices if row.step is not None]
    index = np.array([row.index for row in rows], dtype=int)
    steps = np.array([row.step for row in rows], dtype=float)
    tilts = np.array([np.nan if row.tilt is None else row.tilt for row in rows], dtype=float)
    flagged = np.array([bool(row.flags) for row in rows], dtype=bool)
    figure = Figure(figsize=(widthInches, heightInches), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    stepAxes, tiltAxes = figure.subplots(2, 1, sharex=True)
    for axes, values, label in ((stepAxes, steps, _("step (mm)")), (tiltAxes, tilts, _("tilt (deg)"))):
        axes.plot(index, values, color="#1a73e8", linewidth=1, marker="." if len(index) < 200 else None)
        if flagged.any():
            axes.plot(index[flagged], values[flagged], linestyle="none", marker="o", color="#d93025", markersize=4)
        limits = plotLimits(values)
        if limits is not None:
            axes.set_ylim(*limits)
        axes.ticklabel_format(axis="y", useOffset=False, style="plain")  # no "+1.85e1" offset axis
        axes.set_ylabel(label, fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, linewidth=0.3)
    tiltAxes.set_xlabel(_("slice (sorted as Slicer sorts)"), fontsize=8)
    if len(steps):
        stepAxes.axhline(float(np.median(steps)), color="#5f6368", linewidth=0.6, linestyle="--", label=_("median"))
        stepAxes.legend(fontsize=7, loc="best", frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
