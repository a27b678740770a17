"""``affine-inspector audit ROOT... --out DIR``: every series of an archive, on local processes or a Dask cluster.

The engine is :func:`..dicom.audit.auditArchive`, which takes any ``concurrent.futures`` executor: local
processes (``--workers N``) or a Dask distributed cluster's (``--scheduler ADDRESS``, through
``Client.get_executor``), so both runs take the same code path and give the same records. dask and tqdm
are imported here only when this command runs (``inspect`` never imports them).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import sys
from typing import Any, Callable, Iterator, List

from ..dicom import audit, auditstore
from ..dicom.outputs import makeFolder
from ..geometry.errors import GeometryError
from ..geometry.findings import Finding
from . import common
from .exitcodes import ExitCode, UsageError

NAME = "audit"


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME,
        parents=parents,
        help="audit every series under ROOT(s) into DIR: series.jsonl, findings.csv, report.html",
        description="Audit every DICOM series under the roots (grouped by SeriesInstanceUID across folders) "
        "into DIR: series.jsonl (one record per series, appended as each is final), findings.csv, "
        "report.html, and manifest.jsonl (the journal --resume continues from).",
    )
    parser.add_argument("roots", nargs="+", metavar="ROOT", help="folders (searched recursively) and/or files")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder: new, empty, or an earlier audit's")
    common.addMkdirOption(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_positive, metavar="N", help=f"local worker processes (default: all cores, {_cores()})"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask distributed cluster (e.g. tcp://HOST:8786); its workers must have the same "
        "affine-inspector installed and see the archive under the same paths",
    )
    parser.add_argument(
        "--labels",
        metavar="DIR",
        help="label images (.nii.gz, .nii, .nrrd, .seg.nrrd, .nhdr, .mha, .mhd; searched recursively), each matched to "
        "the series whose SeriesInstanceUID is in its name and compared with it as align does; the findings join "
        "the series' findings",
    )
    parser.add_argument(
        "--labels-table",
        metavar="CSV",
        help="match label images by this table instead of their names, for the files it lists: columns label (path "
        "relative to the table's folder) and seriesInstanceUID",
    )
    parser.add_argument("--resume", action="store_true", help="continue the audit in DIR: redo only what is missing")
    parser.add_argument(
        "--chunk-files", type=_positive, default=audit.DEFAULT_CHUNK_FILES, metavar="N", help=argparse.SUPPRESS
    )
    common.addFailOn(parser)
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def run(arguments: argparse.Namespace) -> int:
    if arguments.labels_table and not arguments.labels:
        raise UsageError("--labels-table needs --labels DIR (the folder of the label images it lists)")
    out = arguments.out
    auditstore.checkOutputFolder(out, resume=arguments.resume, mkdir=arguments.mkdir)  # before starting workers
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):  # --mkdir: say so (the audit creates out itself, as documented)
        common.announceFolder(makeFolder(parent, out), "--out")
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    executorContext = (
        daskExecutor(arguments.scheduler) if arguments.scheduler else _localExecutor(arguments.workers or _cores())
    )
    try:
        with executorContext as executor:
            summary = audit.auditArchive(
                arguments.roots,
                out,
                executor=executor,
                resume=arguments.resume,
                chunkFiles=arguments.chunk_files,
                labels=arguments.labels,
                labelsTable=arguments.labels_table,
                progressCallback=progress,
            )
    except KeyboardInterrupt:
        common.write(f"Interrupted: what was finished is kept in {out}; continue with --resume.\n")
        raise
    except concurrent.futures.BrokenExecutor as error:
        raise GeometryError(
            f"a worker process died ({type(error).__name__}: {error}); what was finished is kept in {out}: run the "
            f"same command with --resume"
        ) from error
    finally:
        if progress is not None:
            progress.close()
    common.write(_summaryText(summary))
    if summary.failedAnalyses:
        sys.stderr.write(
            f"affine-inspector: the analysis of {summary.failedAnalyses} series failed (a bug: their records in "
            f"{os.path.join(out, auditstore.SERIES_FILE)} give the error; please report it).\n"
        )
        return ExitCode.INTERNAL
    if summary.series == 0:
        raise GeometryError(
            f"no DICOM series found under {', '.join(arguments.roots)} ({summary.files} files looked at, "
            f"{summary.unreadableFiles} gave no slice); the report is in {out}"
        )
    return common.exitForFindings(arguments.fail_on, _allFindings(out))


def _allFindings(out: str) -> Iterator[Finding]:
    for record in auditstore.readJsonLines(os.path.join(out, auditstore.SERIES_FILE)):
        for finding in record["findings"]:
            yield Finding(**finding)
    for line in auditstore.readJsonLines(os.path.join(out, auditstore.MANIFEST_FILE)):
        for finding in line.get("unreadable", ()):
            yield Finding(**finding)
        for finding in line.get("labelMatch", {}).get("findings", ()):
            yield Finding(**finding)


def _summaryText(summary: audit.AuditSummary) -> str:
    counts = summary.byStatus
    return (
        f"Audited {summary.series:,} series in {summary.files:,} files in {summary.seconds:.1f} s"
        f"{' (resumed)' if summary.resumed else ''}: {counts.get('findings', 0):,} with findings, "
        f"{counts.get('ok', 0):,} without, {counts.get('unreadable', 0):,} without usable geometry; "
        f"{summary.unreadableFiles:,} files gave no slice.\n"
        + (
            f"Label images: {summary.labelImages:,}, compared with {summary.labelledSeries:,} series; "
            f"{summary.unmatchedLabels:,} match no series or several.\n"
            if summary.labelImages
            else ""
        )
        + f"Report: {os.path.join(summary.out, auditstore.REPORT_FILE)}\n"
    )


# --------------------------------------------------------------------------- executors


@contextlib.contextmanager
def _localExecutor(workers: int) -> Iterator[concurrent.futures.Executor]:
    executor = audit.localExecutor(workers, quiet=not common.debugRequested())
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def daskExecutor(address: str) -> Iterator[concurrent.futures.Executor]:
    """A ``concurrent.futures`` executor on the Dask cluster at ``address`` (``Client.get_executor``).

    Fails (GeometryError, exit 1) when the scheduler cannot be reached, has no worker within 30 s, or a worker
    runs other AffineInspector code than this process (results would differ).
    """
    try:
        import distributed
    except ImportError as error:
        raise GeometryError(
            f"--scheduler needs dask.distributed ({error}); install it with: pip install 'affine-inspector[audit]'"
        ) from None
    try:
        client = distributed.Client(address, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise GeometryError(f"cannot reach the Dask scheduler at {address} ({error})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise GeometryError(f"the Dask scheduler at {address} has no worker (waited 30 s)") from None
        _checkWorkersRunSameCode(client, address)
        yield client.get_executor(pure=False)
    except (distributed.client.FutureCancelledError, OSError) as error:
        raise GeometryError(
            f"the Dask cluster at {address} failed ({type(error).__name__}: {error}); what was finished is kept: "
            f"run the same command with --resume"
        ) from error
    finally:
        client.close()


def _checkWorkersRunSameCode(client: Any, address: str) -> None:
    probe = _codeProbe()
    mine = probe()
    theirs = client.run(probe)
    different = {worker: answer for worker, answer in theirs.items() if answer != mine}
    if different:
        worker, answer = next(iter(different.items()))
        raise GeometryError(
            f"{len(different)} of {len(theirs)} Dask workers at {address} run other AffineInspector code than this "
            f"command (e.g. {worker}: {answer[:120]}); install the same affine-inspector on the workers"
        )


def _codeProbe() -> Callable[[], str]:
    """A function (sent by value, so it runs where the package is missing too) that digests the geometry and
    dicom layers' sources: the code the workers run for the audit."""

    def probe() -> str:
        import hashlib
        import os

        try:
            import AffineInspectorLib
        except ImportError as error:
            return f"cannot import AffineInspectorLib ({error})"
        root = os.path.dirname(os.path.abspath(AffineInspectorLib.__file__))
        digest = hashlib.sha256()
        for layer in ("geometry", "dicom"):
            folder = os.path.join(root, layer)
            for name in sorted(os.listdir(folder)):
                if name.endswith(".py"):
                    with open(os.path.join(folder, name), "rb") as stream:
                        digest.update(name.encode() + b"\0" + stream.read())
        return "AffineInspectorLib " + digest.hexdigest()

    return probe


# --------------------------------------------------------------------------- progress


class _TerminalProgress:
    """A tqdm bar on stderr (used only when stderr is a terminal): the engine's label and fraction."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=1000, file=sys.stderr, bar_format="{desc} |{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]"
        )

    def __call__(self, label: str, fraction: float) -> bool:
        self.bar.set_description_str(label, refresh=False)
        self.bar.update(max(0, int(fraction * 1000) - self.bar.n))
        return False

    def close(self) -> None:
        self.bar.close()
