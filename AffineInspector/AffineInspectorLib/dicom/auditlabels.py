"""``audit --labels DIR``: label images matched to the audited series (by a SeriesInstanceUID in the file name,
or by a CSV table) and each compared with its series by ``align``'s library functions (:mod:`.aligner`).

How the audit (:mod:`.audit`) uses this module (README "Audit an archive"):

* :func:`matchLabels` runs in the calling process once every file has been read (every UID is known then).
  A label image that matches no series, or several, becomes a finding of :func:`matchFindings`
  (``unmatchedLabel``, ``ambiguousLabel``), listed in the report and in ``findings.csv`` with an empty
  SeriesInstanceUID.
* Each matched series becomes one executor task that reads that series' files again (headers only) and
  analyses them as every series is analysed, then calls :func:`checkLabels`: ``align`` on each label image
  against each resulting series. The series is read again rather than rebuilt from its record because
  ``align`` compares every voxel with the DICOM voxel centres *each slice at its own ImagePositionPatient*
  and names mistakes from the files' InstanceNumbers; the record keeps only Slicer's single affine, from
  which a mask saved with that affine on an irregularly spaced stack would be "same-grid" where ``align``
  says "same-slices" and ``header-approximates-stack``, and ``instance-number-order`` could not be named.
* The findings are ``align``'s (:attr:`.aligner.AlignmentResult.findings`: the relation, and each
  mistake) with ``file`` = the label image; they join the series' findings before its record is written,
  so ``series.jsonl``, ``findings.csv`` and the report carry them as any other finding. A label image that
  cannot be compared (not readable as a 3D image, or a series without usable geometry) gives one
  ``labelNotChecked`` finding.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Set

from ..geometry.errors import GeometryError
from ..geometry.findings import ERROR, WARNING, Finding, Kind, Severity
from . import aligner
from .imagefiles import ImageFile, readImageFile
from .series import SeriesGeometry

LABEL_EXTENSIONS = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
"""Label image formats (the volume formats Slicer's volumes logic reads; ``.seg.nrrd``: a segmentation)."""

_UID_RUN = re.compile(r"[0-9]+(?:\.[0-9]+)+")


@dataclasses.dataclass
class LabelMatches:
    """Label files by SeriesInstanceUID; files that match no series (``reasons`` says why); files whose name names
    several."""

    bySeries: Dict[str, List[str]]
    unmatched: List[str]
    ambiguous: Dict[str, List[str]]
    reasons: Dict[str, str] = dataclasses.field(default_factory=dict)


def findLabelFiles(folder: str) -> List[str]:
    """Label images under ``folder`` (recursively, sorted, hidden entries skipped)."""
    found: List[str] = []
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(name for name in directories if not name.startswith("."))
        found.extend(
            os.path.join(root, name)
            for name in sorted(names)
            if not name.startswith(".") and name.lower().endswith(LABEL_EXTENSIONS)
        )
    return found


def uidsInName(path: str) -> List[str]:
    """Every run of dot-separated digits in the file name without its extension (candidate UIDs).

    Examples
    --------
    >>> uidsInName("/labels/seg_1.2.840.113619.2.55.3.604_kidney.nii.gz")
    ['1.2.840.113619.2.55.3.604']
    """
    name = os.path.basename(path)
    lowered = name.lower()
    for extension in LABEL_EXTENSIONS:
        if lowered.endswith(extension):
            name = name[: -len(extension)]
            break
    return _UID_RUN.findall(name)


def matchLabels(labelFiles: Iterable[str], seriesUIDs: Iterable[str], table: Optional[str] = None) -> LabelMatches:
    """Match label files to series: a CSV ``table`` (columns ``label``, ``seriesInstanceUID``; label paths
    relative to the table's folder) decides for the files it lists; any other file matches the series whose
    UID appears in its name. A file naming several known series is ambiguous; none, unmatched.
    """
    known: Set[str] = set(seriesUIDs)
    listed = _readTable(table) if table is not None else {}
    matches = LabelMatches({}, [], {})
    for path in labelFiles:
        key = os.path.abspath(path)
        candidates = [listed[key]] if key in listed else sorted({uid for uid in uidsInName(path) if uid in known})
        if len(candidates) > 1:
            matches.ambiguous[path] = candidates
        elif candidates and candidates[0] in known:
            matches.bySeries.setdefault(candidates[0], []).append(path)
        else:
            matches.unmatched.append(path)
            matches.reasons[path] = _unmatchedReason(path, listed.get(key))
    return matches


def _unmatchedReason(path: str, listedUID: Optional[str]) -> str:
    if listedUID is not None:
        return f"the table gives series {listedUID or '(empty)'}, which is not among the audited series"
    named = uidsInName(path)
    if named:
        return f"its name holds {', '.join(named)}, none of them an audited SeriesInstanceUID"
    return "its name holds no SeriesInstanceUID and no table lists it"


def matchFindings(matches: LabelMatches) -> List[Finding]:
    """A finding per label file that matches no series (``unmatchedLabel``) or several (``ambiguousLabel``),
    sorted by file."""
    findings = [
        Finding(
            Kind.unmatchedLabel,
            WARNING,
            f"Label image not checked: it matches no audited series ({matches.reasons.get(path, 'no match')}). "
            f"Put the series' UID in its name, or list it in --labels-table.",
            file=path,
        )
        for path in matches.unmatched
    ]
    findings.extend(
        Finding(
            Kind.ambiguousLabel,
            WARNING,
            f"Label image not checked: its name holds {len(uids)} audited SeriesInstanceUIDs ({', '.join(uids)}). "
            f"Keep one in its name, or list it in --labels-table.",
            file=path,
        )
        for path, uids in matches.ambiguous.items()
    )
    return sorted(findings, key=lambda finding: finding.file or "")


def checkLabels(labels: Sequence[str], series: Sequence[Optional[SeriesGeometry]]) -> List[List[Finding]]:
    """``align`` on each label image against each series of one SeriesInstanceUID (several when it holds several
    SOP classes; ``None`` for a series whose analysis failed): per series, the label images' findings in the
    order of ``labels``, each with ``file`` = the label image and its name first in the message.

    Each image is read once (its header; ``align`` reads no voxel without ``checkContent``). What keeps a
    label from being compared is a ``labelNotChecked`` finding: a warning when the file cannot be aligned or
    the series has no usable geometry, an error when the comparison itself failed (a bug: please report it).
    """
    perSeries: List[List[Finding]] = [[] for _ in series]
    for label in labels:
        image: Optional[ImageFile] = None
        try:
            image = readImageFile(label)
        except GeometryError as error:
            notRead = _notChecked(label, WARNING, f"not read as a 3D image ({error})")
        for findings, geometry in zip(perSeries, series):
            if image is None:
                findings.append(notRead)
            elif geometry is None:
                findings.append(_notChecked(label, WARNING, "the analysis of its series failed (see the record)"))
            else:
                findings.extend(_compare(label, image, geometry))
    return perSeries


def _compare(label: str, image: ImageFile, series: SeriesGeometry) -> List[Finding]:
    folder = os.path.dirname(series.files[0]) if series.files else ""
    try:
        result = aligner.align(aligner.inputsOf(image, series, folder))
    except GeometryError as error:
        return [_notChecked(label, WARNING, str(error))]
    except Exception as error:  # noqa: BLE001  a bug in the comparison: kept as a finding, the audit goes on
        return [_notChecked(label, ERROR, f"the comparison failed ({type(error).__name__}: {error}); please report it")]
    name = os.path.basename(label)
    return [
        dataclasses.replace(finding, file=label, message=f"Label image {name}: {finding.message}")
        for finding in result.findings
    ]


def _notChecked(label: str, severity: Severity, why: str) -> Finding:
    return Finding(
        Kind.labelNotChecked, severity, f"Label image {os.path.basename(label)} not checked: {why}", file=label
    )


def _readTable(table: str) -> Dict[str, str]:
    """``{absolute label path: SeriesInstanceUID}`` from a CSV with the columns ``label`` and
    ``seriesInstanceUID``; ValueError naming the table when the columns are missing."""
    folder = os.path.dirname(os.path.abspath(table))
    with open(table, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        if not reader.fieldnames or not {"label", "seriesInstanceUID"} <= set(reader.fieldnames):
            raise ValueError(f'{table}: needs the columns "label" and "seriesInstanceUID", has {reader.fieldnames}')
        return {
            os.path.abspath(os.path.join(folder, row["label"])): row["seriesInstanceUID"].strip()
            for row in reader
            if row["label"]
        }
