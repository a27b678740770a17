"""The audit's derived outputs: ``findings.csv`` and the one-file ``report.html``, built from ``series.jsonl``
and the manifest (so a resumed or an interrupted run rebuilds them from what is on disk).

The report is one self-contained HTML file: inline CSS, inline JavaScript, the data as inline JSON, plots
drawn as inline SVG by the page; it loads nothing from anywhere. Totals and the kind x manufacturer table
are plain HTML (readable without JavaScript); the series table (sortable, filterable, worst first) and the
per-series detail (matrix, findings by kind, label images, step and tilt per slice) are drawn by the page's
script, which puts every text from the files into the page as text, never as markup. With ``--labels``, the
label images that match no series (or several) are listed, and in ``findings.csv`` they are rows with an empty
SeriesInstanceUID and status ``unmatched``.
"""

from __future__ import annotations

import csv
import datetime
import html
import json
import os
from typing import IO, TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..geometry.findings import SEVERITIES, sliceRanges
from . import auditstore

if TYPE_CHECKING:  # annotations only: audit imports this module
    from .audit import AuditSummary

STATUS_RANK = {"unreadable": 0, "findings": 1, "ok": 2}
SEVERITY_RANK = {str(severity): rank for rank, severity in enumerate(SEVERITIES)}
CSV_COLUMNS = (
    "seriesInstanceUID",
    "seriesDescription",
    "modality",
    "manufacturer",
    "status",
    "kind",
    "severity",
    "slice",
    "value",
    "tolerance",
    "unit",
    "file",
    "message",
)
UNREADABLE_SHOWN = 200
"""Files that gave no slice listed in the report (all of them are in findings.csv)."""


def writeOutputs(out: str, summary: "AuditSummary") -> None:
    """Write ``findings.csv`` and ``report.html`` into ``out`` (each atomically) from what the folder holds.

    Memory: the page's summary of each series (findings grouped by kind, the plot's numbers), not the records;
    the CSV re-reads each record from ``series.jsonl`` in report order.
    """
    manifest = _manifestLines(out)
    roots = manifest[0].get("roots", []) if manifest else []
    labelsFolder = ((manifest[0].get("labels") if manifest else None) or {}).get("folder")
    seriesPath = os.path.join(out, auditstore.SERIES_FILE)
    entries = sorted(_seriesEntries(seriesPath, roots, labelsFolder), key=lambda entry: entry[0])
    unreadable = _unreadableFiles(manifest)
    walkFindings = [finding for line in manifest if "walk" in line for finding in line["walk"].get("findings", ())]
    labelMatch = next((line["labelMatch"] for line in manifest if "labelMatch" in line), None)
    unmatched = labelMatch["findings"] if labelMatch else []

    def writeCSV(stream: IO[str]) -> None:
        with open(seriesPath, "rb") as records:
            writeFindingsCSV(
                stream, _recordsAt(records, [offset for _, offset, _ in entries]), unreadable + walkFindings, unmatched
            )

    auditstore.writeAtomically(os.path.join(out, auditstore.FINDINGS_FILE), writeCSV, newline="")
    pages = [page for _, _, page in entries]
    labelParts = _labelParts(labelMatch, labelsFolder, pages) if labelMatch is not None else ("", "")
    auditstore.writeAtomically(
        os.path.join(out, auditstore.REPORT_FILE),
        lambda stream: stream.write(reportHTML(pages, unreadable, walkFindings, roots, summary, labelParts)),
    )


def _seriesEntries(
    path: str, roots: Sequence[str], labelsFolder: Optional[str]
) -> Iterator[Tuple[Tuple[Any, ...], int, Dict[str, Any]]]:
    """``(sort key, byte offset, the page's data)`` of each record of ``series.jsonl``."""
    for offset, record in auditstore.readJsonLinesWithOffsets(path):
        yield worstFirst(record), offset, _seriesData(record, roots, labelsFolder)


def _recordsAt(stream: IO[bytes], offsets: Sequence[int]) -> Iterator[dict]:
    for offset in offsets:
        stream.seek(offset)
        yield json.loads(stream.readline())


def _manifestLines(out: str) -> List[dict]:
    """The manifest without the records it journals (the report reads those from series.jsonl)."""
    lines = []
    for line in auditstore.readJsonLines(os.path.join(out, auditstore.MANIFEST_FILE)):
        line.pop("series", None)
        line.pop("records", None)
        lines.append(line)
    return lines


def _unreadableFiles(manifest: Sequence[dict]) -> List[dict]:
    """Each file that gave no slice once (a resumed series task may have reported it again), sorted by path."""
    byFile: Dict[str, dict] = {}
    for line in manifest:
        for finding in line.get("unreadable", ()):
            byFile.setdefault(finding.get("file") or finding["message"], finding)
    return [byFile[key] for key in sorted(byFile)]


def worstFirst(record: dict) -> Tuple[Any, ...]:
    """Sort key: unreadable series, then by worst severity, most errors, largest affine error; then UID."""
    counts = severityCounts(record)
    worst = min((SEVERITY_RANK[severity] for severity, count in counts.items() if count), default=len(SEVERITIES))
    return (
        STATUS_RANK.get(record["status"], 0),
        worst,
        -counts.get("error", 0),
        -counts.get("warning", 0),
        -(record.get("maxAffineErrorMm") or 0.0),
        record["seriesInstanceUID"],
        record["files"][:1],
    )


def severityCounts(record: dict) -> Dict[str, int]:
    counts = {str(severity): 0 for severity in SEVERITIES}
    for finding in record.get("findings", ()):
        counts[finding["severity"]] += 1
    return counts


# --------------------------------------------------------------------------- CSV


def writeFindingsCSV(
    stream: IO[str], records: Iterable[dict], unreadable: Sequence[dict], unmatchedLabels: Sequence[dict] = ()
) -> None:
    """One row per finding with its file (a series-level finding: the series' folders; a label image's: the label
    image), worst series first; then one row per file that gave no slice (status ``unreadable``) and per label
    image that matches no series or several (status ``unmatched``)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        identity = [
            record["seriesInstanceUID"],
            record.get("seriesDescription", ""),
            record.get("modality", ""),
            record.get("manufacturer", ""),
            record["status"],
        ]
        folders = "; ".join(record["folders"])
        if record.get("error"):  # the analysis of this series failed (a bug): one row says so
            writer.writerow(identity + ["analysisFailed", "error", "", "", "", "", folders, record["error"]])
        for finding in record.get("findings", ()):
            writer.writerow(identity + _findingColumns(finding, folders))
    for finding in unreadable:
        writer.writerow(["", "", "", "", "unreadable"] + _findingColumns(finding, ""))
    for finding in unmatchedLabels:
        writer.writerow(["", "", "", "", "unmatched"] + _findingColumns(finding, ""))


def _findingColumns(finding: dict, seriesFolders: str) -> List[Any]:
    return [
        finding["kind"],
        finding["severity"],
        _blank(finding.get("slice")),
        _blank(finding.get("value")),
        _blank(finding.get("tolerance")),
        _blank(finding.get("unit")),
        finding.get("file") or seriesFolders,
        finding.get("message", ""),
    ]


def _blank(value: Any) -> Any:
    return "" if value is None else value


# --------------------------------------------------------------------------- HTML


def reportHTML(
    pages: Sequence[Dict[str, Any]],
    unreadable: Sequence[dict],
    walkFindings: Sequence[dict],
    roots: Sequence[str],
    summary: "AuditSummary",
    labelParts: Tuple[str, str] = ("", ""),
) -> str:
    """The whole report page (``pages``: each series' :func:`_seriesData`, worst first; ``labelParts``: the label
    images' cards and list, :func:`_labelParts`)."""
    files = summary.files
    byStatus = {status: 0 for status in STATUS_RANK}
    for page in pages:
        byStatus[page["status"]] = byStatus.get(page["status"], 0) + 1
    generated = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = [
        _HEAD,
        "<header><h1>Geometry audit</h1>",
        f"<p class=sub>{_e(', '.join(roots))} &middot; generated {_e(generated)} by affine-inspector audit"
        f"{' &middot; <b>interrupted: run again with --resume to finish</b>' if summary.cancelled else ''}</p>",
        "</header><section class=cards>",
        _card("series", f'<b id="series-count">{len(pages):,}</b>', "series"),
        _card("files", f"<b>{files:,}</b>", "files under the roots"),
        _card("bad", f"<b>{byStatus.get('findings', 0):,}</b>", "series with findings"),
        _card("ok", f"<b>{byStatus.get('ok', 0):,}</b>", "series without findings"),
        _card("bad", f"<b>{byStatus.get('unreadable', 0):,}</b>", "series without usable geometry"),
        _card("", f"<b>{len(unreadable):,}</b>", "files that gave no slice"),
        "</section>",
        labelParts[0],
        _kindTable(pages),
        "<h2>Series, worst first</h2>",
        '<div class=filters><input id=filter type=search placeholder="filter: UID, description, folder, '
        'manufacturer" size=48> <select id=statusFilter><option value="">any status</option>'
        + "".join(f"<option>{status}</option>" for status in STATUS_RANK)
        + '</select> <select id=kindFilter><option value="">any finding</option>'
        + "".join(f"<option>{_e(kind)}</option>" for kind in sorted(_kindsPresent(pages)))
        + "</select> <span id=shown></span></div>",
        "<table id=series class=list><thead><tr>"
        + "".join(f'<th data-key="{key}" title="sort">{_e(title)}</th>' for key, title in _COLUMNS)
        + "</tr></thead><tbody></tbody></table>",
        "<p><button id=more type=button>show more</button></p>",
        "<section id=detail hidden><h2 id=detailTitle></h2><div id=detailBody></div></section>",
        labelParts[1],
        _unreadableSection(unreadable, walkFindings),
        '<script type="application/json" id=data>',
        json.dumps(list(pages), allow_nan=False, separators=(",", ":")).replace("</", "<\\/"),
        "</script>",
        _SCRIPT,
        "</body></html>\n",
    ]
    return "\n".join(parts)


_COLUMNS = (
    ("rank", "worst"),
    ("status", "status"),
    ("uid", "SeriesInstanceUID"),
    ("description", "description"),
    ("modality", "modality"),
    ("manufacturer", "manufacturer"),
    ("files", "files"),
    ("dimensions", "dimensions"),
    ("kinds", "findings"),
    ("tilt", "tilt (deg)"),
    ("affineError", "max affine error (mm)"),
    ("folders", "folders"),
)


def _seriesData(record: dict, roots: Sequence[str], labelsFolder: Optional[str] = None) -> Dict[str, Any]:
    """What the page needs of one record: identity, geometry, findings grouped by kind, its label images with
    their findings, the plot's numbers. Folders are shown relative to the root they lie under, label images
    relative to the labels folder's parent."""
    counts = severityCounts(record)
    worst = "unreadable" if record["status"] == "unreadable" else next((s for s in counts if counts[s]), "ok")
    return {
        "uid": record["seriesInstanceUID"],
        "description": record.get("seriesDescription", ""),
        "number": record.get("seriesNumber"),
        "modality": record.get("modality", ""),
        "manufacturer": record.get("manufacturer", ""),
        "status": record["status"],
        "worst": worst,
        "files": len(record["files"]),
        "folders": [_relative(folder, roots) for folder in record["folders"]],
        "dimensions": record.get("dimensions"),
        "volumes": record.get("numberOfVolumes", 1),
        "spacing": record.get("spacing"),
        "IJKToRAS": record.get("IJKToRAS"),
        "axisCodes": record.get("axisCodes"),
        "tilt": record.get("seriesTiltDeg"),
        "affineError": record.get("maxAffineErrorMm"),
        "groups": _findingGroups(record.get("findings", ())),
        "flagged": sorted({f["slice"] for f in record.get("findings", ()) if f.get("slice") is not None}),
        "labels": _labelRows(record, labelsFolder),
        "steps": record.get("steps", []),
        "tilts": record.get("tilts", []),
        "error": record.get("error"),
    }


def _labelRows(record: dict, labelsFolder: Optional[str]) -> List[Dict[str, Any]]:
    """Per label image of the record: its name and its findings ``[severity, kind, message]`` (the relation
    first, as ``align`` gives them)."""
    folders = [labelsFolder] if labelsFolder else []
    return [
        {
            "file": os.path.join(_relative(os.path.dirname(label), folders), os.path.basename(label)),
            "findings": [
                [finding["severity"], finding["kind"], finding.get("message", "")]
                for finding in record.get("findings", ())
                if finding.get("file") == label
            ],
        }
        for label in record.get("labels", ())
    ]


def _relative(folder: str, roots: Sequence[str]) -> str:
    for root in roots:
        if folder == root or folder.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.relpath(folder, os.path.dirname(root.rstrip(os.sep)))
    return folder


def _findingGroups(findings: Sequence[dict]) -> List[Dict[str, Any]]:
    """Findings by (kind, severity), worst first: count, slice ranges, value range and the first message."""
    groups: Dict[Tuple[str, str], List[dict]] = {}
    for finding in findings:
        groups.setdefault((finding["kind"], finding["severity"]), []).append(finding)
    result = []
    for (kind, severity), members in sorted(groups.items(), key=lambda item: (SEVERITY_RANK[item[0][1]], item[0][0])):
        slices = [member["slice"] for member in members if member.get("slice") is not None]
        values = [member["value"] for member in members if member.get("value") is not None]
        result.append(
            {
                "kind": kind,
                "severity": severity,
                "count": len(members),
                "slices": sliceRanges(slices) if slices else "",
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "tolerance": members[0].get("tolerance"),
                "unit": members[0].get("unit") or "",
                "message": members[0].get("message", ""),
            }
        )
    return result


def _kindsPresent(pages: Sequence[Dict[str, Any]]) -> set:
    return {group["kind"] for page in pages for group in page["groups"]}


def _kindTable(pages: Sequence[Dict[str, Any]]) -> str:
    """Series with each finding kind (rows) by manufacturer (columns): plain HTML."""
    manufacturers: Dict[str, int] = {}
    cells: Dict[Tuple[str, str], int] = {}
    for page in pages:
        manufacturer = page["manufacturer"] or "(none)"
        manufacturers[manufacturer] = manufacturers.get(manufacturer, 0) + 1
        for kind in {group["kind"] for group in page["groups"]}:
            cells[kind, manufacturer] = cells.get((kind, manufacturer), 0) + 1
    columns = sorted(manufacturers, key=lambda name: (-manufacturers[name], name))
    kinds = sorted({kind for kind, _ in cells}, key=lambda kind: (-sum(cells.get((kind, m), 0) for m in columns), kind))
    if not kinds:
        return "<h2>Findings by kind and manufacturer</h2><p>No finding in any series.</p>"
    head = "".join(f"<th>{_e(name)}<br><small>{manufacturers[name]:,} series</small></th>" for name in columns)
    rows = []
    for kind in kinds:
        total = sum(cells.get((kind, name), 0) for name in columns)
        row = "".join(f"<td class=num>{cells.get((kind, name), 0) or ''}</td>" for name in columns)
        rows.append(
            f'<tr><th class=kind><a href="#" data-kind="{_e(kind)}">{_e(kind)}</a></th>{row}'
            f"<td class=num><b>{total:,}</b></td></tr>"
        )
    return (
        "<h2>Findings by kind and manufacturer</h2><p class=sub>Number of series with at least one finding of "
        "the kind; a kind filters the table below.</p><table id=kinds class=matrix><thead><tr><th>kind</th>"
        f"{head}<th>all</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _labelParts(
    labelMatch: Dict[str, Any], labelsFolder: Optional[str], pages: Sequence[Dict[str, Any]]
) -> Tuple[str, str]:
    """Cards (label images, series with one, label checks with a finding worse than info, label images matching
    no series or several) and the list of the latter: plain HTML."""
    checked = [label for page in pages for label in page["labels"]]
    flagged = sum(any(severity != "info" for severity, _, _ in label["findings"]) for label in checked)
    unmatched = labelMatch.get("findings", [])
    folders = [labelsFolder] if labelsFolder else []
    parts = [
        "<section class=cards id=labelCards>",
        _card("", f'<b id="labels-count">{labelMatch.get("labels", 0):,}</b>', "label images"),
        _card("", f"<b>{labelMatch.get('series', 0):,}</b>", "series with label images"),
        _card("bad", f'<b id="labels-flagged">{flagged:,}</b>', "label image checks with a warning or error"),
        _card("bad", f'<b id="labels-unmatched">{len(unmatched):,}</b>', "label images matching no series or several"),
        "</section>",
    ]
    cards = "".join(parts)
    parts = [f"<h2 id=labels>Label images that match no series or several ({len(unmatched):,})</h2>"]
    if not unmatched:
        parts.append("<p>None: every label image was compared with its series (see each series' detail).</p>")
        return cards, "".join(parts)
    parts.append("<table class=list id=unmatchedLabels><thead><tr><th>kind</th><th>label image</th><th>why</th></tr>")
    parts.append("</thead><tbody>")
    for finding in unmatched:
        path = finding.get("file") or ""
        shown = os.path.join(_relative(os.path.dirname(path), folders), os.path.basename(path))
        parts.append(
            f"<tr><td class={_e(finding['severity'])}>{_e(finding['kind'])}</td><td>{_e(shown)}</td>"
            f"<td>{_e(finding['message'])}</td></tr>"
        )
    parts.append("</tbody></table>")
    return cards, "".join(parts)


def _unreadableSection(unreadable: Sequence[dict], walkFindings: Sequence[dict]) -> str:
    parts = []
    if walkFindings:
        parts.append("<h2>Walking the roots</h2><ul>")
        parts.extend(f"<li>{_e(finding['message'])}</li>" for finding in walkFindings)
        parts.append("</ul>")
    parts.append(f"<h2>Files that gave no slice ({len(unreadable):,})</h2>")
    if not unreadable:
        parts.append("<p>None.</p>")
        return "".join(parts)
    parts.append("<table class=list><thead><tr><th>severity</th><th>file</th><th>why</th></tr></thead><tbody>")
    for finding in unreadable[:UNREADABLE_SHOWN]:
        parts.append(
            f"<tr><td class={_e(finding['severity'])}>{_e(finding['severity'])}</td>"
            f"<td>{_e(finding.get('file') or '')}</td><td>{_e(finding['message'])}</td></tr>"
        )
    parts.append("</tbody></table>")
    if len(unreadable) > UNREADABLE_SHOWN:
        parts.append(f"<p>... and {len(unreadable) - UNREADABLE_SHOWN:,} more in findings.csv.</p>")
    return "".join(parts)


def _card(kind: str, value: str, label: str) -> str:
    return f"<div class='card {kind}'>{value}<span>{_e(label)}</span></div>"


def _e(text: Optional[str]) -> str:
    return html.escape(str(text or ""), quote=True)


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Geometry audit - affine-inspector</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 24px 48px;color:#1d232b;background:#fbfcfd}
h1{font-size:22px;margin:18px 0 2px}h2{font-size:17px;margin:26px 0 8px}.sub{color:#5b6673;margin:2px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #d7dde4;border-radius:6px;
padding:8px 14px;min-width:120px}.card b{display:block;font-size:24px}.card span{color:#5b6673;font-size:12px}
.card.bad b{color:#b3261e}.card.ok b{color:#1e7b34}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d7dde4;padding:3px 7px;text-align:left;
vertical-align:top}thead th{background:#eef2f6;position:sticky;top:0}.num{text-align:right}
table.list{width:100%}table.list th[data-key]{cursor:pointer;white-space:nowrap}
table.list th.sorted-up::after{content:" \\25B2"}table.list th.sorted-down::after{content:" \\25BC"}
#series tbody tr{cursor:pointer}#series tbody tr:hover{background:#f1f6fc}#series tbody tr.selected{background:#dbe9f8}
.error,.unreadable{color:#b3261e;font-weight:600}.warning{color:#9a6700;font-weight:600}.info{color:#2463a6}
.ok{color:#1e7b34}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre}
.filters{margin:6px 0}.filters input,.filters select{font:inherit;padding:2px 4px}
#detail{background:#fff;border:1px solid #b9c4d0;border-radius:6px;padding:4px 16px 16px;margin-top:12px}
.kv td:first-child{color:#5b6673}svg text{font:11px system-ui,sans-serif;fill:#38424d}
a[data-kind]{color:inherit}td.wrap{word-break:break-all;max-width:24em}small{color:#5b6673;font-weight:normal}
</style></head><body>"""

_SCRIPT = r"""<script>
"use strict";
const SERIES = JSON.parse(document.getElementById("data").textContent);
SERIES.forEach((s, i) => { s.rank = i; s.kinds = s.groups.map(g => g.kind).join(" "); });
const PAGE = 100;
let shown = PAGE, sortKey = "rank", sortUp = true, selected = null;
const $ = id => document.getElementById(id);
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function fmt(x, digits) { return x === null || x === undefined ? "" : Number(x).toFixed(digits); }
function cellText(s, key) {
  switch (key) {
    case "rank": return s.worst;
    case "dimensions": return s.dimensions ? s.dimensions.join(" x ") + (s.volumes > 1 ? " x " + s.volumes : "") : "";
    case "kinds": return s.groups.map(g => g.kind + (g.count > 1 ? " x" + g.count : "")).join(", ");
    case "tilt": return fmt(s.tilt, 2);
    case "affineError": return fmt(s.affineError, 3);
    case "folders": return s.folders.join("; ");
    default: return s[key];
  }
}
function matches(s) {
  const text = $("filter").value.trim().toLowerCase(), status = $("statusFilter").value, kind = $("kindFilter").value;
  if (status && s.status !== status) return false;
  if (kind && !s.groups.some(g => g.kind === kind)) return false;
  if (!text) return true;
  return [s.uid, s.description, s.manufacturer, s.modality, s.folders.join(" "), s.labels.map(l => l.file).join(" ")]
    .join(" ").toLowerCase().includes(text);
}
function compare(a, b) {
  let x = sortKey === "kinds" ? a.groups.length : a[sortKey], y = sortKey === "kinds" ? b.groups.length : b[sortKey];
  if (sortKey === "folders") { x = a.folders.join(); y = b.folders.join(); }
  if (sortKey === "dimensions") { x = a.dimensions ? a.dimensions[2] : -1; y = b.dimensions ? b.dimensions[2] : -1; }
  if (x === null || x === undefined) x = -Infinity;
  if (y === null || y === undefined) y = -Infinity;
  const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
  return (sortUp ? order : -order) || a.rank - b.rank;
}
function render() {
  const rows = SERIES.filter(matches).sort(compare), body = document.querySelector("#series tbody");
  body.replaceChildren();
  rows.slice(0, shown).forEach(s => {
    const tr = el("tr");
    tr.dataset.uid = s.uid;
    if (selected === s) tr.className = "selected";
    ["rank", "status", "uid", "description", "modality", "manufacturer", "files", "dimensions", "kinds", "tilt",
     "affineError", "folders"].forEach(key => {
      const td = el("td", cellText(s, key));
      if (key === "rank") td.className = s.worst;
      if (["files", "tilt", "affineError"].includes(key)) td.className = "num";
      if (key === "uid" || key === "folders") td.className = "wrap";
      tr.appendChild(td);
    });
    tr.addEventListener("click", () => { selected = s; showDetail(s, true); render(); });
    body.appendChild(tr);
  });
  $("shown").textContent = Math.min(shown, rows.length) + " of " + rows.length + " series shown";
  $("more").hidden = rows.length <= shown;
  document.querySelectorAll("#series th").forEach(th => {
    th.classList.toggle("sorted-up", th.dataset.key === sortKey && sortUp);
    th.classList.toggle("sorted-down", th.dataset.key === sortKey && !sortUp);
  });
}
function svgNode(tag, attributes, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.entries(attributes).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}
function plot(values, flagged, title, unit) {
  const width = 760, height = 150, left = 62, right = 12, top = 20, bottom = 26;
  const svg = svgNode("svg", {width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title});
  const points = values.map((v, i) => [i, v]).filter(p => p[1] !== null);
  svg.appendChild(svgNode("text", {x: left, y: 13}, title + " (" + unit + ") per slice"));
  if (!points.length) {
    svg.appendChild(svgNode("text", {x: left, y: 60}, "no value (one slice, or no geometry)"));
    return svg;
  }
  let lo = Math.min(...points.map(p => p[1])), hi = Math.max(...points.map(p => p[1]));
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const n = Math.max(1, values.length - 1);
  const X = i => left + (width - left - right) * i / n, Y = v => top + (height - top - bottom) * (hi - v) / (hi - lo);
  svg.appendChild(svgNode("rect", {x: left, y: top, width: width - left - right, height: height - top - bottom,
    fill: "none", stroke: "#d7dde4"}));
  const label = (x, y, anchor, text) => svg.appendChild(svgNode("text", {x, y, "text-anchor": anchor}, text));
  [hi, lo].forEach(v => label(left - 4, Y(v) + 4, "end", v.toFixed(3)));
  [0, values.length - 1].forEach(i => label(X(i), height - 8, "middle", String(i)));
  svg.appendChild(svgNode("text", {x: (left + width) / 2, y: height - 8, "text-anchor": "middle"}, "slice"));
  svg.appendChild(svgNode("polyline", {points: points.map(p => X(p[0]) + "," + Y(p[1])).join(" "), fill: "none",
    stroke: "#2463a6", "stroke-width": 1.2}));
  const bad = new Set(flagged);
  points.forEach(p => svg.appendChild(svgNode("circle", {cx: X(p[0]), cy: Y(p[1]), r: bad.has(p[0]) ? 3.2 : 1.8,
    fill: bad.has(p[0]) ? "#b3261e" : "#2463a6"})));
  return svg;
}
function showDetail(s, scroll) {
  $("detail").hidden = false;
  $("detailTitle").textContent = (s.description || "(no description)") + " - " + s.uid;
  const body = $("detailBody");
  body.replaceChildren();
  const kv = el("table", null, "kv");
  const matrix = s.IJKToRAS ? s.IJKToRAS.map(r => r.map(v => v.toFixed(4).padStart(11)).join(" ")).join("\n") : "none";
  [["status", s.status + (s.error ? " (" + s.error + ")" : "")],
   ["modality / manufacturer", s.modality + " / " + s.manufacturer],
   ["series number", s.number], ["files", s.files], ["folders", s.folders.join("\n")],
   ["dimensions (i, j, k)", cellText(s, "dimensions")],
   ["spacing (mm)", s.spacing ? s.spacing.map(v => v.toFixed(4)).join(", ") : ""],
   ["axis codes", s.axisCodes ? s.axisCodes.join("") : ""], ["series tilt (deg)", fmt(s.tilt, 3)],
   ["largest IPP distance from the affine (mm)", fmt(s.affineError, 4)], ["IJKToRAS", matrix]].forEach(([k, v]) => {
    const tr = el("tr");
    tr.appendChild(el("td", k));
    tr.appendChild(el("td", v, k === "IJKToRAS" || k === "folders" ? "mono" : ""));
    kv.appendChild(tr);
  });
  body.appendChild(kv);
  body.appendChild(el("h3", "Findings"));
  if (!s.groups.length) body.appendChild(el("p", "None."));
  else {
    const table = el("table", null, "list"), head = el("tr");
    ["severity", "kind", "count", "slices", "value", "tolerance", "first message"]
      .forEach(h => head.appendChild(el("th", h)));
    table.appendChild(head);
    s.groups.forEach(g => {
      const tr = el("tr");
      const range = g.min === null ? ""
        : (g.min === g.max ? fmt(g.min, 4) : fmt(g.min, 4) + " to " + fmt(g.max, 4)) + " " + g.unit;
      [[g.severity, g.severity], [g.kind], [g.count, "num"], [g.slices], [range],
       [g.tolerance === null ? "" : g.tolerance + " " + g.unit], [g.message]]
        .forEach(([v, c]) => tr.appendChild(el("td", v, c)));
      table.appendChild(tr);
    });
    body.appendChild(table);
  }
  if (s.labels.length) {
    body.appendChild(el("h3", "Label images (align)"));
    const table = el("table", null, "list labels"), head = el("tr");
    ["label image", "relation", "mistakes and other findings", "verdict"].forEach(h => head.appendChild(el("th", h)));
    table.appendChild(head);
    s.labels.forEach(l => {
      const tr = el("tr"), first = l.findings[0] || ["", "", ""];
      tr.dataset.label = l.file;
      tr.appendChild(el("td", l.file, "wrap"));
      tr.appendChild(el("td", first[1], first[0]));
      const rest = el("td");
      l.findings.slice(1).forEach(([severity, kind]) => {
        rest.appendChild(el("span", kind, severity));
        rest.appendChild(document.createTextNode(" "));
      });
      tr.appendChild(rest);
      tr.appendChild(el("td", first[2]));
      table.appendChild(tr);
    });
    body.appendChild(table);
  }
  body.appendChild(el("h3", "Step and tilt per slice (flagged slices in red)"));
  body.appendChild(plot(s.steps, s.flagged, "step along the normal", "mm"));
  body.appendChild(plot(s.tilts, s.flagged, "tilt of the IPP step", "deg"));
  if (scroll) $("detail").scrollIntoView({block: "nearest"});
}
document.querySelectorAll("#series th").forEach(th => th.addEventListener("click", () => {
  if (sortKey === th.dataset.key) sortUp = !sortUp;
  else { sortKey = th.dataset.key; sortUp = th.dataset.key === "rank"; }
  render();
}));
["filter", "statusFilter", "kindFilter"]
  .forEach(id => $(id).addEventListener("input", () => { shown = PAGE; render(); }));
$("more").addEventListener("click", () => { shown += PAGE; render(); });
document.querySelectorAll("a[data-kind]").forEach(a => a.addEventListener("click", event => {
  event.preventDefault(); $("kindFilter").value = a.dataset.kind; shown = PAGE; render();
  $("series").scrollIntoView();
}));
render();
if (SERIES.length) showDetail(SERIES[0], false);
</script>"""
