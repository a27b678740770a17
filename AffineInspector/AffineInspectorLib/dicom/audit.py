"""Audit a whole archive: every series under some roots, grouped across folders, analysed as ``inspect`` does,
streamed to an output folder, resumable, on local processes or any ``concurrent.futures`` executor (a Dask
cluster's included).

How the work is cut (README "Audit an archive"):

1. Walk the roots (:func:`.auditadapter.walk`) into one list of files, in ``inspect``'s order.
2. Cut the list into reading tasks of whole folders (:func:`planChunks`). A task reads its files' headers,
   partitions the slices by SeriesInstanceUID and analyses each as if it were complete
   (:func:`readChunk`); it returns, per UID, the files it saw and the records. Only small records cross
   process boundaries, never headers.
3. A series is final once every file has been read: a UID seen by one task only was analysed whole there;
   a UID seen by several tasks (a series split across folders, or a folder cut between tasks) is read
   again, whole, by a series task (:func:`analyseSeriesChunk`). Either way the analysis gets the series'
   slices in the order the files were found, so the result does not depend on the cut, the number of
   workers or the executor.
4. With label images (``labels``): once every UID is known, they are matched to series
   (:mod:`.auditlabels`); a matched UID is read again, whole, by a label task (:func:`checkLabelsChunk`)
   that analyses it and compares each of its label images with it using ``align``; the label findings join
   its records (this read replaces the series task of a split UID).

Every finished task is journaled in ``manifest.jsonl`` and every final series appended to ``series.jsonl``
(:mod:`.auditstore`), so a killed run loses only the tasks in flight and ``resume=True`` redoes only those.
Memory in the calling process: the file list and, per UID, its file numbers (headers stay in the workers).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
import warnings
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..geometry import serialize
from ..geometry.errors import GeometryError
from ..geometry.findings import INFO, Finding, Tolerances
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import SliceHeader
from . import auditadapter, auditlabels, auditreport, auditstore
from .auditstore import FORMAT, MANIFEST_FILE, SERIES_FILE, VERSION, JsonLinesWriter

DEFAULT_CHUNK_FILES = 512
"""Files per reading task: enough to amortise a task's overhead (about 1 ms on Dask), few enough to spread
a 20,000-file archive over tens of tasks and journal progress often."""

WHOLE_FOLDER_FACTOR = 4
"""A folder of up to this many times ``chunkFiles`` files stays in one task (its series need no second read);
a larger folder is cut into tasks of ``chunkFiles``."""

STATUS_OK, STATUS_FINDINGS, STATUS_UNREADABLE = "ok", "findings", "unreadable"
STATUSES = (STATUS_UNREADABLE, STATUS_FINDINGS, STATUS_OK)
"""Series statuses, worst first: ``unreadable`` (no slice with usable geometry, or the analysis failed),
``findings`` (at least one finding, not counting the ``info`` findings of label images), ``ok``."""


# --------------------------------------------------------------------------- records


@dataclasses.dataclass
class SeriesRecord:
    """One line of ``series.jsonl``: one series of the archive, final. Field names are the JSON keys.

    ``files`` lists every file of the series (slices left out by a check included) in the order they were
    found, ``folders`` the folders holding them (several when a series is split across folders).
    ``IJKToRAS`` is Slicer's (4x4, ``null`` when no slice has usable geometry); ``dimensions``,
    ``spacing``, ``seriesTiltDeg``, ``maxAffineErrorMm`` as ``inspect --json`` gives them. ``findings``
    are ``inspect``'s findings, then those of the series' label images (``file`` = the label image);
    ``labels`` the label images compared with the series (``audit --labels``). ``steps`` and ``tilts``
    the step (mm) and tilt (degrees) of each row of ``inspect``'s slice table (``null`` where there is
    none), for the report's plot. ``error`` says why the analysis failed (then ``status`` is
    ``unreadable``).
    """

    seriesInstanceUID: str
    status: str
    modality: str = ""
    manufacturer: str = ""
    seriesDescription: str = ""
    seriesNumber: Optional[int] = None
    files: List[str] = dataclasses.field(default_factory=list)
    folders: List[str] = dataclasses.field(default_factory=list)
    dimensions: Optional[Tuple[int, int, int]] = None
    numberOfVolumes: int = 1
    spacing: Optional[Tuple[float, float, float]] = None
    IJKToRAS: Optional[np.ndarray] = None
    axisCodes: Optional[Tuple[str, str, str]] = None
    seriesTiltDeg: Optional[float] = None
    maxAffineErrorMm: Optional[float] = None
    findings: List[Finding] = dataclasses.field(default_factory=list)
    labels: List[str] = dataclasses.field(default_factory=list)
    steps: List[Optional[float]] = dataclasses.field(default_factory=list)
    tilts: List[Optional[float]] = dataclasses.field(default_factory=list)
    error: Optional[str] = None


def recordsOf(slices: Sequence[SliceHeader], limits: Tolerances) -> List[SeriesRecord]:
    """The records of one SeriesInstanceUID's complete slices (one per series ``inspect`` makes of them).

    A failure of the analysis (a bug) is isolated to this UID: its record says ``unreadable`` and gives the
    error, the run goes on, and the command line reports it (exit 70).
    """
    return [record for record, _ in _analysed(slices, limits)]


def _analysed(
    slices: Sequence[SliceHeader], limits: Tolerances
) -> List[Tuple[SeriesRecord, Optional[auditadapter.SeriesGeometry]]]:
    """:func:`recordsOf`, each record with the geometry it was made from (``None`` when the analysis failed)."""
    try:
        return [(_record(group, geometry), geometry) for group, geometry in auditadapter.analyse(slices, limits)]
    except Exception as error:  # noqa: BLE001  kept in the record and reported, never dropped
        first = slices[0]
        failed = _identified(slices, first, STATUS_UNREADABLE)
        return [(dataclasses.replace(failed, error=f"analysis failed ({type(error).__name__}: {error})"), None)]


def _identified(slices: Sequence[SliceHeader], source: Any, status: str) -> SeriesRecord:
    """A record with the series' identity, files and folders; ``source`` (the first slice header or the
    analysed geometry) gives UID, modality, description and number."""
    files = _unique(header.file for header in slices)
    return SeriesRecord(
        seriesInstanceUID=source.seriesInstanceUID,
        status=status,
        modality=source.modality,
        manufacturer=_manufacturer(slices),
        seriesDescription=source.seriesDescription,
        seriesNumber=source.seriesNumber,
        files=files,
        folders=_unique(os.path.dirname(path) for path in files),
    )


def _record(slices: Sequence[SliceHeader], geometry: auditadapter.SeriesGeometry) -> SeriesRecord:
    if geometry.IJKToRAS is None:
        status = STATUS_UNREADABLE
    else:
        status = STATUS_FINDINGS if geometry.findings else STATUS_OK
    return dataclasses.replace(
        _identified(slices, geometry, status),
        dimensions=geometry.dimensions,
        numberOfVolumes=geometry.numberOfVolumes,
        spacing=geometry.spacing,
        IJKToRAS=geometry.IJKToRAS,
        axisCodes=geometry.axisCodes,
        seriesTiltDeg=geometry.seriesTiltDeg,
        maxAffineErrorMm=geometry.maxAffineErrorMm,
        findings=list(geometry.findings),
        steps=[_rounded(row.step) for row in geometry.slices],
        tilts=[_rounded(row.tilt) for row in geometry.slices],
    )


def _manufacturer(slices: Sequence[SliceHeader]) -> str:
    return next((header.manufacturer for header in slices if header.manufacturer), "")


def _rounded(value: Optional[float]) -> Optional[float]:
    # 0.1 micrometre / 0.0001 degree: far below every tolerance; keeps the report's plot data small.
    return None if value is None else round(float(value), 4)


def _unique(values: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------- tasks (run in the workers)


@dataclasses.dataclass
class ReadTask:
    """Read ``files`` (numbers ``first`` ... in the walk list) and analyse each UID found as if complete."""

    index: int
    first: int
    files: List[str]
    limits: Tolerances


@dataclasses.dataclass
class SeenSeries:
    """What one task saw of one SeriesInstanceUID: its file numbers, and its records if the UID is complete."""

    uid: str
    files: List[int]
    records: List[SeriesRecord]


@dataclasses.dataclass
class ReadResult:
    index: int
    series: List[SeenSeries]
    unreadable: List[Finding]


@dataclasses.dataclass
class SeriesTask:
    """Read and analyse whole SeriesInstanceUIDs: ``(uid, its files in walk order)``."""

    series: List[Tuple[str, List[str]]]
    limits: Tolerances


@dataclasses.dataclass
class SeriesResult:
    records: Dict[str, List[SeriesRecord]]
    unreadable: List[Finding]


def readChunk(task: ReadTask) -> ReadResult:
    """A reading task (runs in a worker): headers of ``task.files``, partitioned by UID, each UID analysed."""
    slices, unreadable = auditadapter.readFiles(task.files)
    numbers = {path: task.first + offset for offset, path in enumerate(task.files)}
    seen = [
        SeenSeries(uid, sorted({numbers[header.file] for header in group}), recordsOf(group, task.limits))
        for uid, group in _byUID(slices).items()
    ]
    return ReadResult(task.index, seen, unreadable)


def analyseSeriesChunk(task: SeriesTask) -> SeriesResult:
    """A series task (runs in a worker): read each UID's files again, whole, and analyse it."""
    records: Dict[str, List[SeriesRecord]] = {}
    unreadable: List[Finding] = []
    for uid, files in task.series:
        slices, notRead = auditadapter.readFiles(files)
        unreadable.extend(notRead)
        mine = [header for header in slices if header.seriesInstanceUID == uid]
        records[uid] = recordsOf(mine, task.limits) if mine else []
    return SeriesResult(records, unreadable)


@dataclasses.dataclass
class LabelTask:
    """Read the UID's ``files`` (in walk order) again, whole, analyse them, and compare each of ``labels`` with each
    resulting series (``align``)."""

    uid: str
    files: List[str]
    labels: List[str]
    limits: Tolerances


@dataclasses.dataclass
class LabelResult:
    uid: str
    records: List[SeriesRecord]
    unreadable: List[Finding]


def checkLabelsChunk(task: LabelTask) -> LabelResult:
    """A label task (runs in a worker): the UID's records with its label images' findings
    (:func:`.auditlabels.checkLabels`; why the series is read again rather than taken from its record: there)."""
    slices, unreadable = auditadapter.readFiles(task.files)
    mine = [header for header in slices if header.seriesInstanceUID == task.uid]
    analysed = _analysed(mine, task.limits) if mine else []
    perSeries = auditlabels.checkLabels(task.labels, [geometry for _, geometry in analysed])
    records = [withLabels(record, task.labels, found) for (record, _), found in zip(analysed, perSeries)]
    return LabelResult(task.uid, records, unreadable)


def withLabels(record: SeriesRecord, labels: Sequence[str], findings: Sequence[Finding]) -> SeriesRecord:
    """The record with its label images and their findings; an ``ok`` series becomes ``findings`` when one of them
    is a warning or an error (a label on the series' own grid, an info, leaves it ``ok``)."""
    status = record.status
    if status == STATUS_OK and any(finding.severity != INFO for finding in findings):
        status = STATUS_FINDINGS
    return dataclasses.replace(record, status=status, findings=[*record.findings, *findings], labels=list(labels))


def _byUID(slices: Iterable[SliceHeader]) -> Dict[str, List[SliceHeader]]:
    groups: Dict[str, List[SliceHeader]] = {}
    for header in slices:
        groups.setdefault(header.seriesInstanceUID, []).append(header)
    return groups


def planChunks(files: Sequence[str], chunkFiles: int) -> List[Tuple[int, int]]:
    """Reading tasks as ``(first, count)`` ranges of the walk list: whole folders packed up to ``chunkFiles``
    files; a folder of more than ``WHOLE_FOLDER_FACTOR * chunkFiles`` files is cut into ``chunkFiles`` parts.

    Examples
    --------
    >>> planChunks(["a/1", "a/2", "b/1", "c/1", "c/2", "c/3"], 3)
    [(0, 3), (3, 3)]
    """
    if chunkFiles < 1:
        raise ValueError(f'Argument "chunkFiles" must be >= 1, got {chunkFiles}')
    chunks: List[Tuple[int, int]] = []
    start = 0
    for first, end in _folderRuns(files):
        if end - first > WHOLE_FOLDER_FACTOR * chunkFiles:
            if first > start:
                chunks.append((start, first - start))
            chunks.extend((at, min(chunkFiles, end - at)) for at in range(first, end, chunkFiles))
            start = end
        elif first > start and end - start > chunkFiles:
            chunks.append((start, first - start))
            start = first
    if len(files) > start:
        chunks.append((start, len(files) - start))
    return chunks


def _folderRuns(files: Sequence[str]) -> Iterator[Tuple[int, int]]:
    """``(first, end)`` of each run of consecutive files in one folder."""
    start = 0
    for index in range(1, len(files) + 1):
        if index == len(files) or os.path.dirname(files[index]) != os.path.dirname(files[start]):
            yield start, index
            start = index


# --------------------------------------------------------------------------- executors


def localExecutor(workers: int, *, quiet: bool = False) -> concurrent.futures.Executor:
    """``workers`` local processes (forkserver where available: the calling process may have threads).

    The fork server imports this module (numpy, pydicom, the engine) once, before it forks the workers, so that
    each worker starts without importing them again (about 0.3 s of CPU per worker saved). ``quiet``: the
    workers print no Python warnings or library log lines (they share the command's stderr; the command line
    shows them only with ``--debug``).
    """
    if workers < 1:
        raise ValueError(f'Argument "workers" must be >= 1, got {workers}')
    context: multiprocessing.context.BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload([__name__])
        context = forkserver
    else:
        context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_startWorker, initargs=(os.getpid(), quiet)
    )


def _startWorker(callerPid: int, quiet: bool = False) -> None:
    """Set up a worker: Ctrl-C stops the run in the calling process (which shuts the pool down), not here; the
    worker ends itself once the calling process is gone (killed with SIGKILL, a pool cannot shut down, and
    its workers would wait for tasks forever, keeping the fork server alive too); ``quiet``: no warnings or
    log lines on the shared stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if quiet:
        warnings.simplefilter("ignore")
        logging.getLogger().addHandler(logging.NullHandler())
    threading.Thread(target=_exitWhenGone, args=(callerPid,), name="audit-caller-watch", daemon=True).start()


def _exitWhenGone(pid: int) -> None:
    while _isRunning(pid):
        time.sleep(1.0)
    os._exit(1)


def _isRunning(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process not yet reaped by its parent still answers kill(pid, 0): a zombie
        with open(f"/proc/{pid}/stat", "rb") as stream:
            return stream.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass
class AuditSummary:
    """What a run did: counts over the whole output folder (a resumed run included)."""

    out: str
    files: int
    series: int
    byStatus: Dict[str, int]
    unreadableFiles: int
    failedAnalyses: int
    tasks: int
    tasksDone: int
    rereadFiles: int
    resumed: bool
    cancelled: bool
    seconds: float
    labelImages: int = 0
    """Label images found under ``labels`` (0 without)."""
    labelledSeries: int = 0
    """SeriesInstanceUIDs with at least one label image matched."""
    unmatchedLabels: int = 0
    """Label images that match no series or several."""


class _Stopped(Exception):
    """The progress callback asked to stop."""


class _SeriesIndex:
    """Per SeriesInstanceUID: the reading tasks that saw it and its file numbers (no headers, no records)."""

    def __init__(self) -> None:
        self.tasks: Dict[str, Set[int]] = {}
        self.files: Dict[str, Set[int]] = {}

    def add(self, task: int, uid: str, files: Iterable[int]) -> None:
        self.tasks.setdefault(uid, set()).add(task)
        self.files.setdefault(uid, set()).update(files)


def auditArchive(
    roots: Sequence[str],
    out: str,
    *,
    executor: concurrent.futures.Executor,
    resume: bool = False,
    limits: Optional[Tolerances] = None,
    chunkFiles: int = DEFAULT_CHUNK_FILES,
    labels: Optional[str] = None,
    labelsTable: Optional[str] = None,
    progressCallback: Optional[ProgressCallback] = None,
) -> AuditSummary:
    """Audit every DICOM series under ``roots`` into the folder ``out`` (module docstring; README).

    ``labels``: a folder of label images (:data:`.auditlabels.LABEL_EXTENSIONS`, searched recursively), each
    matched to a series by a SeriesInstanceUID in its name or by ``labelsTable`` (a CSV with the columns
    ``label`` and ``seriesInstanceUID``) and compared with it by ``align`` (:mod:`.auditlabels`).
    Paths are made absolute (workers may run elsewhere and must see the archive under the same paths).
    ``resume`` continues the audit already in ``out`` (same roots, tolerances, label options and files; else
    GeometryError); without it, an audit already there is replaced. ``progressCallback(label, fraction) ->
    cancelled`` is called as tasks finish; returning True stops the run after the tasks in flight (what is
    finished is kept, ``resume`` continues it). Exceptions of the executor (a worker died, a cluster failed)
    propagate after everything finished so far is written.
    """
    started = time.monotonic()
    limits = limits or Tolerances()
    roots = [os.path.abspath(root) for root in roots]
    out = os.path.abspath(out)
    previous = auditstore.checkOutputFolder(out, resume=resume)
    labelFiles = _labelFiles(labels, labelsTable)
    files, walkFindings = auditadapter.walk(roots)
    files = [path for path in files if not _inside(path, out)]
    if not files:
        raise GeometryError(f"no file found under {', '.join(roots)}; nothing written")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "roots": roots,
        "tolerances": serialize.plain(limits),
        "chunkFiles": chunkFiles,
        "labels": None if labels is None else {"folder": os.path.abspath(labels), "table": _absolute(labelsTable)},
    }
    if resume:
        _checkSameAudit(previous or {}, header, out)
        auditstore.removeTemporaryFiles(out)
    else:
        _startFresh(out, header)
    run = _Run(out, executor, limits, int(header["chunkFiles"]), progressCallback)
    run.labelFiles, run.labelsTable = labelFiles, _absolute(labelsTable)
    run.execute(files, walkFindings, resume)
    summary = run.summary(resume, time.monotonic() - started)
    auditreport.writeOutputs(out, summary)
    return summary


def _labelFiles(labels: Optional[str], table: Optional[str]) -> List[str]:
    """The label images under ``labels`` (absolute paths, sorted); GeometryError, before anything is written, for a
    missing folder, a folder without label images, a table without ``labels`` or a table that cannot be used."""
    if labels is None:
        if table is not None:
            raise GeometryError("--labels-table needs --labels DIR (the folder of the label images it lists)")
        return []
    if not os.path.isdir(labels):
        raise GeometryError(f"--labels {labels}: no such folder; nothing written")
    found = auditlabels.findLabelFiles(os.path.abspath(labels))
    if not found:
        raise GeometryError(
            f"--labels {labels}: no label image ({', '.join(auditlabels.LABEL_EXTENSIONS)}) in it; nothing written"
        )
    if table is not None:
        try:
            auditlabels.matchLabels([], [], table)  # reads the table: refused now rather than after the reading
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise GeometryError(f"--labels-table {table}: cannot be used ({error}); nothing written") from None
    return found


def _absolute(path: Optional[str]) -> Optional[str]:
    return None if path is None else os.path.abspath(path)


def _labelsDigest(labelFiles: Sequence[str], table: Optional[str]) -> str:
    """What the label matching depends on besides the series: the label files' paths and the table's bytes."""
    digest = hashlib.sha256("\n".join(labelFiles).encode("utf-8", "surrogateescape"))
    if table is not None:
        with open(table, "rb") as stream:
            digest.update(b"\0" + stream.read())
    return digest.hexdigest()


def _checkSameAudit(previous: dict, header: dict, out: str) -> None:
    for key in ("version", "roots", "tolerances", "labels"):
        if previous.get(key) != header[key]:
            raise GeometryError(
                f"--resume: the audit in {out} has other {key} ({previous.get(key)}, now {header[key]}); "
                f"resume with the same ones, or audit into a new folder. Nothing written"
            )
    header["chunkFiles"] = previous["chunkFiles"]  # the tasks are those of the first run


def _startFresh(out: str, header: dict) -> None:
    os.makedirs(out, exist_ok=True)
    auditstore.removeTemporaryFiles(out)
    for name in auditstore.OUTPUT_FILES:
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)  # a previous audit's output (checkOutputFolder made sure): replaced
    manifest = os.path.join(out, MANIFEST_FILE)
    auditstore.writeAtomically(manifest, lambda stream: stream.write(serialize.dumps(header) + "\n"))


class _Run:
    def __init__(
        self,
        out: str,
        executor: concurrent.futures.Executor,
        limits: Tolerances,
        chunkFiles: int,
        progressCallback: Optional[ProgressCallback],
    ) -> None:
        self.out, self.executor, self.limits, self.chunkFiles = out, executor, limits, chunkFiles
        self.progressCallback = progressCallback
        self.manifestPath = os.path.join(out, MANIFEST_FILE)
        self.seriesPath = os.path.join(out, SERIES_FILE)
        self.index = _SeriesIndex()
        self.readDone: Set[int] = set()
        self.uidsDone: Set[str] = set()
        self.files: List[str] = []
        self.chunks: List[Tuple[int, int]] = []
        self.cancelled = False
        self.rereadFiles = 0
        self.labelFiles: List[str] = []
        self.labelsTable: Optional[str] = None
        self.labelsBySeries: Dict[str, List[str]] = {}
        self.unmatchedLabels = 0
        self.labelsMatched = False
        self.labelled: Dict[str, int] = {}
        """Per UID whose label check has finished: the offset of its line in the manifest (records stay there)."""

    # ---- journal

    def _loadJournal(self) -> Optional[dict]:
        """Read the manifest of the run being resumed; return its walk line (``None`` if the walk never ended)."""
        walkLine = None
        seriesBytes = 0
        for offset, line in auditstore.readJsonLinesWithOffsets(self.manifestPath):
            if "walk" in line:
                walkLine = line["walk"]
            elif "read" in line:
                self.readDone.add(int(line["read"]))
                for seen in line["series"]:
                    self.index.add(int(line["read"]), seen["uid"], seen["files"])
            elif "labelMatch" in line:
                self.labelsMatched = True
            elif "labelled" in line:
                self.labelled[line["labelled"]] = offset
            elif "done" in line:
                self.uidsDone.add(line["done"])
                seriesBytes = int(line["seriesBytes"])
        # Records written after the last "done" line belong to a UID whose writing was cut: written again.
        auditstore.truncate(self.seriesPath, seriesBytes)
        auditstore.truncate(self.manifestPath, auditstore.wholeLinesLength(self.manifestPath))
        return walkLine

    def execute(self, files: List[str], walkFindings: List[Finding], resume: bool) -> None:
        walkLine = self._loadJournal() if resume else None
        self.files = files
        digest = hashlib.sha256("\n".join(self.files).encode("utf-8", "surrogateescape")).hexdigest()
        labels = (
            {"files": len(self.labelFiles), "digest": _labelsDigest(self.labelFiles, self.labelsTable)}
            if self.labelFiles
            else None
        )
        manifest = JsonLinesWriter(self.manifestPath)
        series = JsonLinesWriter(self.seriesPath)
        try:
            if walkLine is None:
                walk = {"files": len(self.files), "digest": digest, "findings": walkFindings}
                manifest.append({"walk": {**walk, "labels": labels} if labels else walk})
            elif walkLine["digest"] != digest:
                raise GeometryError(
                    f"--resume: the files under the roots changed since the audit in {self.out} began "
                    f"({walkLine['files']} files then, {len(self.files)} now); audit into a new folder"
                )
            elif walkLine.get("labels") != labels:
                raise GeometryError(
                    f"--resume: the label images or their table changed since the audit in {self.out} began "
                    f"({(walkLine.get('labels') or {}).get('files', 0)} label images then, {len(self.labelFiles)} "
                    f"now); audit into a new folder"
                )
            self.chunks = planChunks(self.files, self.chunkFiles)
            self._readAll(manifest)
            if not self.cancelled:
                self._matchLabels(manifest)
                self._finishSeries(manifest, series)
        finally:
            manifest.close()
            series.close()

    # ---- phase 1: reading tasks

    def _readAll(self, manifest: JsonLinesWriter) -> None:
        pending = [number for number in range(len(self.chunks)) if number not in self.readDone]
        total = sum(self.chunks[number][1] for number in pending)
        done = 0
        futures = {
            self.executor.submit(readChunk, self._readTask(number)): self.chunks[number][1] for number in pending
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                manifest.append(
                    {
                        "read": result.index,
                        "series": [
                            {"uid": seen.uid, "files": seen.files, "records": seen.records} for seen in result.series
                        ],
                        "unreadable": result.unreadable,
                    }
                )
                self.readDone.add(result.index)
                for seen in result.series:
                    self.index.add(result.index, seen.uid, seen.files)
                done += futures[future]
                if self._progress(f"Reading headers: {done:,} of {total:,} files", 0.9 * done / max(1, total)):
                    self.cancelled = True
                    break
        finally:
            _cancel(futures)

    def _readTask(self, number: int) -> ReadTask:
        first, count = self.chunks[number]
        return ReadTask(number, first, self.files[first : first + count], self.limits)

    # ---- label images: matched once every UID is known

    def _matchLabels(self, manifest: JsonLinesWriter) -> None:
        """Match the label images to the UIDs read (in the calling process: names and a table only), and journal the
        counts and the findings of those matching none or several, once (a resumed run matches them again, the
        same way, but does not journal them twice)."""
        if not self.labelFiles:
            return
        matches = auditlabels.matchLabels(self.labelFiles, self.index.files, self.labelsTable)
        self.labelsBySeries = matches.bySeries
        findings = auditlabels.matchFindings(matches)
        self.unmatchedLabels = len(findings)
        if not self.labelsMatched:
            counts = {"labels": len(self.labelFiles), "series": len(matches.bySeries), "findings": findings}
            manifest.append({"labelMatch": counts})
            self.labelsMatched = True

    # ---- phase 2: final series

    def _finishSeries(self, manifest: JsonLinesWriter, series: JsonLinesWriter) -> None:
        """Write every final series in walk order (by its first file), so that ``series.jsonl`` is the same file
        whatever the executor, the number of workers and the size of the tasks: a UID seen by one reading task
        comes from the journal; one seen by several is read again by series tasks, one with label images by a
        label task (each journals its records); tasks are submitted in walk order, and a UID is written as soon
        as the series before it are."""
        first = {uid: min(files) for uid, files in self.index.files.items()}
        awaited = sorted(
            (
                uid
                for uid, tasks in self.index.tasks.items()
                if uid not in self.uidsDone and (len(tasks) > 1 or uid in self.labelsBySeries)
            ),
            key=first.__getitem__,
        )
        split = [uid for uid in awaited if uid not in self.labelsBySeries]
        toCheck = [uid for uid in awaited if uid in self.labelsBySeries and uid not in self.labelled]
        submissions: List[Tuple[int, Any, Any]] = [
            (first[task.series[0][0]], analyseSeriesChunk, task) for task in self._seriesTasks(split)
        ]
        submissions.extend((first[uid], checkLabelsChunk, self._labelTask(uid)) for uid in toCheck)
        submissions.sort(key=lambda submission: submission[0])
        futures = [self.executor.submit(function, task) for _, function, task in submissions]
        completed = concurrent.futures.as_completed(futures)
        reread: Dict[str, List[SeriesRecord]] = {}
        counts = {"series": 0, "labels": 0}
        totals = {"series": len(submissions) - len(toCheck), "labels": len(toCheck)}

        def ready(uid: str) -> bool:
            return uid in self.labelled if uid in self.labelsBySeries else uid in reread

        def writeAwaitedBefore(limit: float) -> None:
            while awaited and first[awaited[0]] < limit:
                uid = awaited.pop(0)
                while not ready(uid):
                    label = self._take(next(completed).result(), reread, manifest, counts, totals)
                    if self._progress(label, 0.9 + 0.1 * sum(counts.values()) / max(1, len(futures))):
                        raise _Stopped
                if uid in self.labelsBySeries:
                    records: Sequence[Any] = auditstore.readLineAt(self.manifestPath, self.labelled[uid])["records"]
                else:
                    records = reread.pop(uid)
                self._writeFinal(uid, records, manifest, series)

        try:
            for uid, journaled in self._wholeSeries():
                writeAwaitedBefore(first[uid])
                self._writeFinal(uid, journaled, manifest, series)
            writeAwaitedBefore(math.inf)
        except _Stopped:
            self.cancelled = True
        finally:
            _cancel(futures)
        if not self.cancelled:
            self._progress("Done", 1.0)

    def _take(
        self,
        result: Any,
        reread: Dict[str, List[SeriesRecord]],
        manifest: JsonLinesWriter,
        counts: Dict[str, int],
        totals: Dict[str, int],
    ) -> str:
        """Keep a finished series or label task's records (a label check's in the journal: never done twice); return
        the progress label."""
        if isinstance(result, LabelResult):
            offset = manifest.length()
            manifest.append({"labelled": result.uid, "records": result.records, "unreadable": result.unreadable})
            self.labelled[result.uid] = offset
            counts["labels"] += 1
            return f"Label images: {counts['labels']:,} of {totals['labels']:,} series checked"
        if result.unreadable:  # read before, unreadable now: the archive changed during the run
            manifest.append({"reread": True, "unreadable": result.unreadable})
        reread.update(result.records)
        counts["series"] += 1
        return f"Series split across folders or tasks: {counts['series']:,} of {totals['series']:,} tasks"

    def _labelTask(self, uid: str) -> LabelTask:
        files = [self.files[number] for number in sorted(self.index.files[uid])]
        self.rereadFiles += len(files)
        return LabelTask(uid, files, self.labelsBySeries[uid], self.limits)

    def _seriesTasks(self, uids: Sequence[str]) -> List[SeriesTask]:
        tasks: List[SeriesTask] = []
        batch: List[Tuple[str, List[str]]] = []
        size = 0
        for uid in uids:
            files = [self.files[number] for number in sorted(self.index.files[uid])]
            self.rereadFiles += len(files)
            batch.append((uid, files))
            size += len(files)
            if size >= self.chunkFiles:
                tasks.append(SeriesTask(batch, self.limits))
                batch, size = [], 0
        if batch:
            tasks.append(SeriesTask(batch, self.limits))
        return tasks

    def _wholeSeries(self) -> Iterator[Tuple[str, List[dict]]]:
        """``(uid, records)`` of every UID seen by one reading task only (and not yet written, and without label
        images), from the journal, in walk order: task by task in task order (the journal holds them in the order
        the tasks ended), and in a task in the order of their first file."""
        offsets: Dict[int, int] = {}
        with open(self.manifestPath, "rb") as stream:
            offset = 0
            for line in stream:
                entry = json.loads(line) if line.endswith(b"\n") else {}
                if "read" in entry:
                    offsets[int(entry["read"])] = offset
                offset += len(line)
            for task in sorted(offsets):
                stream.seek(offsets[task])
                for seen in json.loads(stream.readline())["series"]:
                    uid = seen["uid"]
                    if len(self.index.tasks[uid]) == 1 and uid not in self.uidsDone and uid not in self.labelsBySeries:
                        yield uid, seen["records"]

    def _writeFinal(self, uid: str, records: Sequence[Any], manifest: JsonLinesWriter, series: JsonLinesWriter) -> None:
        seriesBytes = series.append(*records)
        manifest.append({"done": uid, "seriesBytes": seriesBytes})
        self.uidsDone.add(uid)

    def _progress(self, label: str, fraction: float) -> bool:
        return bool(self.progressCallback(label, fraction)) if self.progressCallback is not None else False

    def summary(self, resumed: bool, seconds: float) -> AuditSummary:
        byStatus = {status: 0 for status in STATUSES}
        count = failed = 0
        for record in auditstore.readJsonLines(self.seriesPath):
            count += 1
            byStatus[record["status"]] += 1
            failed += record.get("error") is not None
        unreadable = sum(len(line.get("unreadable", ())) for line in auditstore.readJsonLines(self.manifestPath))
        return AuditSummary(
            out=self.out,
            files=len(self.files),
            series=count,
            byStatus=byStatus,
            unreadableFiles=unreadable,
            failedAnalyses=failed,
            tasks=len(self.chunks),
            tasksDone=len(self.readDone),
            rereadFiles=self.rereadFiles,
            resumed=resumed,
            cancelled=self.cancelled,
            seconds=seconds,
            labelImages=len(self.labelFiles),
            labelledSeries=len(self.labelsBySeries),
            unmatchedLabels=self.unmatchedLabels,
        )


def _cancel(futures: Iterable[concurrent.futures.Future]) -> None:
    for future in futures:
        future.cancel()


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies in ``folder`` (the output folder is never audited, even inside a root)."""
    return os.path.abspath(path).startswith(folder + os.sep)
