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

Every finished task is journaled in ``manifest.jsonl`` and every final series appended to ``series.jsonl``
(:mod:`.auditstore`), so a killed run loses only the tasks in flight and ``resume=True`` redoes only those.
Memory in the calling process: the file list and, per UID, its file numbers (headers stay in the workers).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..geometry import serialize
from ..geometry.errors import GeometryError
from ..geometry.findings import Finding, Tolerances
from ..geometry.progress import ProgressCallback
from ..geometry.sliceheader import SliceHeader
from . import auditadapter, auditreport, auditstore
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
``findings`` (at least one finding), ``ok``."""


# --------------------------------------------------------------------------- records


@dataclasses.dataclass
class SeriesRecord:
    """One line of ``series.jsonl``: one series of the archive, final. Field names are the JSON keys.

    ``files`` lists every file of the series (slices left out by a check included) in the order they were
    found, ``folders`` the folders holding them (several when a series is split across folders).
    ``IJKToRAS`` is Slicer's (4x4, ``null`` when no slice has usable geometry); ``dimensions``,
    ``spacing``, ``seriesTiltDeg``, ``maxAffineErrorMm`` as ``inspect --json`` gives them. ``findings``
    are ``inspect``'s findings; ``steps`` and ``tilts`` the step (mm) and tilt (degrees) of each row of
    ``inspect``'s slice table (``null`` where there is none), for the report's plot. ``error`` says why
    the analysis failed (then ``status`` is ``unreadable``).
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
    steps: List[Optional[float]] = dataclasses.field(default_factory=list)
    tilts: List[Optional[float]] = dataclasses.field(default_factory=list)
    error: Optional[str] = None


def recordsOf(slices: Sequence[SliceHeader], limits: Tolerances) -> List[SeriesRecord]:
    """The records of one SeriesInstanceUID's complete slices (one per series ``inspect`` makes of them).

    A failure of the analysis (a bug) is isolated to this UID: its record says ``unreadable`` and gives the
    error, the run goes on, and the command line reports it (exit 70).
    """
    try:
        return [_record(group, geometry) for group, geometry in auditadapter.analyse(slices, limits)]
    except Exception as error:  # noqa: BLE001  kept in the record and reported, never dropped
        files = _unique(header.file for header in slices)
        first = slices[0]
        return [
            SeriesRecord(
                seriesInstanceUID=first.seriesInstanceUID,
                status=STATUS_UNREADABLE,
                modality=first.modality,
                manufacturer=_manufacturer(slices),
                seriesDescription=first.seriesDescription,
                seriesNumber=first.seriesNumber,
                files=files,
                folders=_unique(os.path.dirname(path) for path in files),
                error=f"analysis failed ({type(error).__name__}: {error})",
            )
        ]


def _record(slices: Sequence[SliceHeader], geometry: auditadapter.SeriesGeometry) -> SeriesRecord:
    files = _unique(header.file for header in slices)
    if geometry.IJKToRAS is None:
        status = STATUS_UNREADABLE
    else:
        status = STATUS_FINDINGS if geometry.findings else STATUS_OK
    return SeriesRecord(
        seriesInstanceUID=geometry.seriesInstanceUID,
        status=status,
        modality=geometry.modality,
        manufacturer=_manufacturer(slices),
        seriesDescription=geometry.seriesDescription,
        seriesNumber=geometry.seriesNumber,
        files=files,
        folders=_unique(os.path.dirname(path) for path in files),
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


def localExecutor(workers: int) -> concurrent.futures.Executor:
    """``workers`` local processes (forkserver where available: the calling process may have threads).

    The fork server imports this module (numpy, pydicom, the engine) once, before it forks the workers, so that
    each worker starts without importing them again (about 0.3 s of CPU per worker saved).
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
        max_workers=workers, mp_context=context, initializer=_startWorker, initargs=(os.getpid(),)
    )


def _startWorker(callerPid: int) -> None:
    """Set up a worker: Ctrl-C stops the run in the calling process (which shuts the pool down), not here; and
    the worker ends itself once the calling process is gone (killed with SIGKILL, a pool cannot shut down, and
    its workers would wait for tasks forever, keeping the fork server alive too)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    progressCallback: Optional[ProgressCallback] = None,
) -> AuditSummary:
    """Audit every DICOM series under ``roots`` into the folder ``out`` (module docstring; README).

    Paths are made absolute (workers may run elsewhere and must see the archive under the same paths).
    ``resume`` continues the audit already in ``out`` (same roots, tolerances and files; else GeometryError);
    without it, an audit already there is replaced. ``progressCallback(label, fraction) -> cancelled`` is
    called as tasks finish; returning True stops the run after the tasks in flight (what is finished is kept,
    ``resume`` continues it). Exceptions of the executor (a worker died, a cluster failed) propagate after
    everything finished so far is written.
    """
    started = time.monotonic()
    limits = limits or Tolerances()
    roots = [os.path.abspath(root) for root in roots]
    out = os.path.abspath(out)
    previous = auditstore.checkOutputFolder(out, resume=resume)
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
    }
    if resume:
        _checkSameAudit(previous or {}, header, out)
        auditstore.removeTemporaryFiles(out)
    else:
        _startFresh(out, header)
    run = _Run(out, executor, limits, int(header["chunkFiles"]), progressCallback)
    run.execute(files, walkFindings, resume)
    summary = run.summary(resume, time.monotonic() - started)
    auditreport.writeOutputs(out, summary)
    return summary


def _checkSameAudit(previous: dict, header: dict, out: str) -> None:
    for key in ("version", "roots", "tolerances"):
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

    # ---- journal

    def _loadJournal(self) -> Optional[dict]:
        """Read the manifest of the run being resumed; return its walk line (``None`` if the walk never ended)."""
        walkLine = None
        seriesBytes = 0
        for line in auditstore.readJsonLines(self.manifestPath):
            if "walk" in line:
                walkLine = line["walk"]
            elif "read" in line:
                self.readDone.add(int(line["read"]))
                for seen in line["series"]:
                    self.index.add(int(line["read"]), seen["uid"], seen["files"])
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
        manifest = JsonLinesWriter(self.manifestPath)
        series = JsonLinesWriter(self.seriesPath)
        try:
            if walkLine is None:
                manifest.append({"walk": {"files": len(self.files), "digest": digest, "findings": walkFindings}})
            elif walkLine["digest"] != digest:
                raise GeometryError(
                    f"--resume: the files under the roots changed since the audit in {self.out} began "
                    f"({walkLine['files']} files then, {len(self.files)} now); audit into a new folder"
                )
            self.chunks = planChunks(self.files, self.chunkFiles)
            self._readAll(manifest)
            if not self.cancelled:
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

    # ---- phase 2: final series

    def _finishSeries(self, manifest: JsonLinesWriter, series: JsonLinesWriter) -> None:
        """Write every final series in walk order (by its first file), so that ``series.jsonl`` is the same file
        whatever the executor, the number of workers and the size of the tasks: a UID seen by one reading task
        comes from the journal; one seen by several is read again by series tasks (submitted first, in walk
        order) and written as soon as the series before it are."""
        first = {uid: min(files) for uid, files in self.index.files.items()}
        split = sorted(
            (uid for uid, tasks in self.index.tasks.items() if len(tasks) > 1 and uid not in self.uidsDone),
            key=first.__getitem__,
        )
        futures = {self.executor.submit(analyseSeriesChunk, task): task for task in self._seriesTasks(split)}
        completed = concurrent.futures.as_completed(futures)
        reread: Dict[str, List[SeriesRecord]] = {}
        finishedTasks = 0

        def writeSplitBefore(limit: float) -> None:
            nonlocal finishedTasks
            while split and first[split[0]] < limit:
                uid = split.pop(0)
                while uid not in reread:
                    result = next(completed).result()
                    if result.unreadable:  # read before, unreadable now: the archive changed during the run
                        manifest.append({"reread": True, "unreadable": result.unreadable})
                    reread.update(result.records)
                    finishedTasks += 1
                    label = f"Series split across folders or tasks: {finishedTasks:,} of {len(futures):,} tasks"
                    if self._progress(label, 0.9 + 0.1 * finishedTasks / max(1, len(futures))):
                        raise _Stopped
                self._writeFinal(uid, reread.pop(uid), manifest, series)

        try:
            for uid, records in self._wholeSeries():
                writeSplitBefore(first[uid])
                self._writeFinal(uid, records, manifest, series)
            writeSplitBefore(math.inf)
        except _Stopped:
            self.cancelled = True
        finally:
            _cancel(futures)
        if not self.cancelled:
            self._progress("Done", 1.0)

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
        """``(uid, records)`` of every UID seen by one reading task only (and not yet written), from the journal,
        in walk order: task by task in task order (the journal holds them in the order the tasks ended), and in a
        task in the order of their first file."""
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
                    if len(self.index.tasks[uid]) == 1 and uid not in self.uidsDone:
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
        )


def _cancel(futures: Iterable[concurrent.futures.Future]) -> None:
    for future in futures:
        future.cancel()


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies in ``folder`` (the output folder is never audited, even inside a root)."""
    return os.path.abspath(path).startswith(folder + os.sep)
