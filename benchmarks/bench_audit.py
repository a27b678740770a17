"""Benchmark (run on demand: `make bench-audit`), not a test.

Files per second of `affine-inspector audit` on a generated archive of >= 20,000 files (240 series of 100
64x64 slices with the real GE CT header's other elements, the synthetic archive's defects dealt in turn),
with 1 and 2 local worker processes and on a localhost Dask cluster (a scheduler and 2 single-threaded
workers started here), against the peers doing the same header-only work on the same files:

* ``inspect`` in one process (``affine-inspector inspect --json``, output discarded);
* ``dcm2niix -b o`` (BIDS sidecars only, no NIfTI: its header pass; the one in .venv/bin, single-threaded).

The archive is generated once into a cache folder outside the repository (AFFINE_INSPECTOR_BENCH_CACHE,
default ~/.cache/affine-inspector-bench). Each configuration runs ROUNDS times, interleaved, after one warm-up
pass that fills the page cache; the table gives the median and the range of the wall-clock time, files/s and
files/s per worker (1 for inspect and dcm2niix), and the CPU seconds of every process involved (the command's
process tree, and the Dask scheduler and workers for the Dask run) with files per CPU-second: on a machine
whose cores are shared with other jobs, wall-clock per core mostly measures the other jobs, CPU time does not.
Each configuration also runs on one 100-file series of the archive: the CPU a run costs besides the files
(interpreters, imports, worker start, the Dask client), and from the difference the files per CPU-second
beyond it, which is what a larger archive tends to.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "AffineInspector"))

sys.path.insert(0, HERE)
import bench_scan  # noqa: E402

from AffineInspectorLib.dicom.syntheticarchive import writeArchive  # noqa: E402

CACHE = os.environ.get("AFFINE_INSPECTOR_BENCH_CACHE", os.path.expanduser("~/.cache/affine-inspector-bench"))
SERIES, SLICES = 240, 100
ROUNDS = int(os.environ.get("AFFINE_INSPECTOR_BENCH_ROUNDS", "3"))
BIN = os.path.dirname(sys.executable)
ALSO_KEEP = {"SeriesDescription", "Manufacturer", "PixelData"}
"""Besides ``bench_scan.REALISTIC_HEADER_KEEPS``: the archive's own description and (absent) manufacturer."""


def ensureArchive() -> str:
    root = os.path.join(CACHE, f"audit_{SERIES}x{SLICES}")
    done = os.path.join(root, ".complete")
    if os.path.exists(done):
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"writing the archive into {root} (once)...", flush=True)
    archive = writeArchive(root, series=SERIES, slices=(SLICES, SLICES), size=64, seed=1)
    if os.path.exists(bench_scan.TEMPLATE):
        bench_scan.addRealisticHeader([path for series in archive.series for path in series.files], ALSO_KEEP)
    open(done, "w").write(json.dumps({"files": archive.files}))
    return root


def countFiles(root: str) -> int:
    return sum(len([name for name in names if not name.startswith(".")]) for _, _, names in os.walk(root))


class Measured:
    """Wall-clock seconds and CPU seconds (user + system) of one run: of the command's whole process tree (its
    worker processes included, sampled every 20 ms), plus the CPU the given long-lived processes (the Dask
    cluster) spent meanwhile. CPU seconds do not grow when other jobs share the cores; wall-clock does."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu


def timed(command: List[str], accepted: Sequence[int] = (0,), alsoCounting: Sequence[int] = ()) -> Measured:
    import psutil

    def cpuOf(process: "psutil.Process") -> float:
        times = process.cpu_times()
        return times.user + times.system

    # A `dask worker` is a nanny process whose child runs the tasks: count the children too.
    others = [member for pid in alsoCounting for member in [psutil.Process(pid)] + psutil.Process(pid).children(True)]
    othersBefore = sum(cpuOf(process) for process in others)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree = psutil.Process(process.pid)
    seen: Dict[int, float] = {}
    while process.poll() is None:
        try:
            for member in [tree] + tree.children(recursive=True):
                try:
                    seen[member.pid] = max(seen.get(member.pid, 0.0), cpuOf(member))
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if process.returncode not in accepted:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
    cpu = sum(seen.values()) + sum(cpuOf(process) for process in others) - othersBefore
    return Measured(wall, cpu)


def auditCommand(root: str, *options: str, cluster: Sequence[int] = ()) -> Callable[[], Measured]:
    def run() -> Measured:
        with tempfile.TemporaryDirectory() as folder:
            command = [os.path.join(BIN, "affine-inspector"), "audit", root, "--out", folder + "/a", *options]
            return timed(command, alsoCounting=cluster)

    return run


def inspectCommand(root: str) -> Callable[[], Measured]:
    return lambda: timed([os.path.join(BIN, "affine-inspector"), "inspect", "--json", root])


def dcm2niixCommand(root: str) -> Callable[[], Measured]:
    def run() -> Measured:
        with tempfile.TemporaryDirectory() as folder:
            # 8: "some files not converted" (the archive's junk files), as expected
            return timed([os.path.join(BIN, "dcm2niix"), "-b", "o", "-d", "9", "-o", folder, root], (0, 8))

    return run


class DaskCluster:
    """A scheduler and two single-threaded workers on 127.0.0.1 (ended by their process ids on exit)."""

    def __enter__(self) -> "DaskCluster":
        self.folder = tempfile.mkdtemp()
        schedulerFile = os.path.join(self.folder, "scheduler.json")
        dask = os.path.join(BIN, "dask")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": self.folder}
        self.processes = [
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
                + ["--scheduler-file", schedulerFile],
                **quiet,
            )
        ]
        while not os.path.exists(schedulerFile):
            time.sleep(0.2)
        for _ in range(2):
            self.processes.append(
                subprocess.Popen(
                    [dask, "worker", "--scheduler-file", schedulerFile, "--nthreads", "1", "--no-dashboard"]
                    + ["--host", "127.0.0.1"],
                    **quiet,
                )
            )
        self.address = json.load(open(schedulerFile))["address"]
        from distributed import Client

        with Client(self.address) as client:
            client.wait_for_workers(2, timeout=120)
        return self

    def __exit__(self, *exception: object) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def contendersFor(root: str, cluster: DaskCluster) -> Dict[str, tuple]:
    """``name: (run, worker processes)`` of every configuration on ``root``."""
    return {
        "inspect (1 process)": (inspectCommand(root), 1),
        "audit --workers 1": (auditCommand(root, "--workers", "1"), 1),
        "audit --workers 2": (auditCommand(root, "--workers", "2"), 2),
        "audit --scheduler (Dask, 2 workers)": (
            auditCommand(root, "--scheduler", cluster.address, cluster=[p.pid for p in cluster.processes]),
            2,
        ),
        "dcm2niix -b o (1 process)": (dcm2niixCommand(root), 1),
    }


def main() -> int:
    root = ensureArchive()
    small = os.path.join(root, "patient000", "series0000")  # one series: what a run costs besides the files
    files, smallFiles = countFiles(root), countFiles(small)
    print(f"archive: {files:,} files in {root}; {os.cpu_count()} cores; {ROUNDS} rounds", flush=True)
    with DaskCluster() as cluster:
        contenders, fixed = contendersFor(root, cluster), contendersFor(small, cluster)
        for run, _ in contenders.values():  # warm-up: page cache, imports, the cluster's first tasks
            run()
        runs: Dict[str, List[Measured]] = {name: [] for name in contenders}
        smallRuns: Dict[str, List[Measured]] = {name: [] for name in contenders}
        for _ in range(ROUNDS):
            for name, (run, _) in contenders.items():
                runs[name].append(run())
                smallRuns[name].append(fixed[name][0]())
    print(
        "\n| configuration | wall s (median, range) | files/s | files/s per worker | CPU s "
        f"| files per CPU-second | CPU s for {smallFiles} files | files per CPU-second beyond that |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (_, cores) in contenders.items():
        walls = [run.wall for run in runs[name]]
        wall = statistics.median(walls)
        cpu = statistics.median(run.cpu for run in runs[name])
        smallCPU = statistics.median(run.cpu for run in smallRuns[name])
        print(
            f"| {name} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) | {files / wall:,.0f} | "
            f"{files / wall / cores:,.0f} | {cpu:.2f} | {files / cpu:,.0f} | {smallCPU:.2f} | "
            f"{(files - smallFiles) / (cpu - smallCPU):,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
