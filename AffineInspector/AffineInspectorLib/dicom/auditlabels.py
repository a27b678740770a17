"""Matching label images to the audited series: by a SeriesInstanceUID in the file name, or by a CSV table.

This is the first half of ``audit --labels DIR``. The second half, checking each matched label image against
its series with ``align`` (a label image vs its DICOM series), is wired by the integrator once ``align`` is
merged; until then the option is not offered. The hook, as designed:

* :func:`matchLabels` runs in the calling process once every series is final (the UIDs are known then).
* Each matched ``(series record, label files)`` becomes one more executor task that calls ``align``'s
  library function on the label file and the record's ``IJKToRAS`` and ``dimensions`` (the series is not
  read again); its findings are ordinary :class:`~..geometry.findings.Finding` records with ``file`` = the
  label image, appended to the series' ``findings`` before the record is written, so ``series.jsonl``,
  ``findings.csv`` (one row each, with the label file) and the report (kind x manufacturer table, the
  series' detail) carry them unchanged, and ``status`` becomes ``findings``. The record gains ``labels``:
  the matched label files.
* A label image that matches no series, or several, is reported in the report's "Label images" list and in
  ``findings.csv`` with an empty SeriesInstanceUID (as files that gave no slice are).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
from typing import Dict, Iterable, List, Optional, Set

LABEL_EXTENSIONS = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
"""Label image formats (the volume formats Slicer's volumes logic reads; ``.seg.nrrd``: a segmentation)."""

_UID_RUN = re.compile(r"[0-9]+(?:\.[0-9]+)+")


@dataclasses.dataclass
class LabelMatches:
    """Label files by SeriesInstanceUID; files that match no series; files whose name or row names several."""

    bySeries: Dict[str, List[str]]
    unmatched: List[str]
    ambiguous: Dict[str, List[str]]


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
    return matches


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
