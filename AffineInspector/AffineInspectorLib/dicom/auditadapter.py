"""The audit's one seam to the inspect engine: walking, reading and analysing go through these three functions.

The archive audit (:mod:`.audit`) never walks folders, parses headers, groups or checks slices itself: it
calls :func:`walk`, :func:`readFiles` and :func:`analyse`, which call the same public functions as
``inspect`` (:func:`.walk.findFiles`, :func:`.headers.readAll`, :func:`.series.analyseGroups`). So every
improvement to walking (symlinks, hidden files, FIFOs), to reading (per-file isolation of errors), to
grouping (classic and enhanced copies, mosaics) and to the checks reaches the audit unchanged, and an
audited series gives exactly what ``inspect`` gives for it.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

from ..geometry.findings import Finding, Tolerances
from ..geometry.sliceheader import SliceHeader
from .headers import readAll
from .series import SeriesGeometry, analyseGroups
from .walk import findFiles


def walk(roots: Sequence[str]) -> Tuple[List[str], List[Finding]]:
    """Every file under ``roots`` in ``inspect``'s order, and the findings of the walk (missing roots, ...)."""
    return findFiles(roots)


def readFiles(files: Sequence[str]) -> Tuple[List[SliceHeader], List[Finding]]:
    """The slice headers of ``files`` (pixel data is never read) and an ``unreadableFile`` finding per file that
    gave none."""
    return readAll(files)


def analyse(slices: Sequence[SliceHeader], limits: Tolerances) -> List[Tuple[List[SliceHeader], SeriesGeometry]]:
    """Group ``slices`` into series as ``inspect`` does and analyse each: ``(the group's slices, its geometry)``.

    ``slices`` must hold every slice of the series they belong to (the audit passes one SeriesInstanceUID's
    slices at a time, in the order the files were found).
    """
    return analyseGroups(slices, limits)
