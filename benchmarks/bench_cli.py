"""Benchmark (run on demand: `make bench`), not a test: what a user runs, as whole processes, against the tool
they would run instead.

Each row times two commands, ours and a named peer doing the same work, as separate processes, interleaved
(ours, peer; then peer, ours; ...) over ROUNDS rounds; each process's CPU seconds (user + system, from
os.wait4) and wall seconds; the medians; and the speed-up = peer's median CPU / ours. Rows:

  inspect --json, 1,000 and 5,000 files   vs dcm2niix -b o (BIDS sidecar only: its whole header pass)
  inspect of one file                     vs a Python script importing numpy + pydicom, reading that header
  inspect --json of a 2,000-frame         vs benchmarks/naive_frames.py (dcmread, then each frame's groups)
    enhanced MR file (two layouts)
  resample, two volume files              vs benchmarks/sitk_resample.py (linear; nearest on labels; outputs
                                          compared: nearest equal, linear within 1 grey level)
  resample, a DICOM series                vs the same script reading the series with GDCM

``--only inspect|enhanced|resample`` runs one group of rows (repeatable). Inputs are generated once into
AFFINE_INSPECTOR_BENCH_CACHE (default ~/.cache/affine-inspector-bench). The
machine is shared: quote medians, and read the ratio, not the seconds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "AffineInspector"))
sys.path.insert(0, HERE)

import bench_scan  # noqa: E402

CACHE = bench_scan.CACHE
ROUNDS = int(os.environ.get("AFFINE_INSPECTOR_BENCH_ROUNDS", "5"))
BIN = os.path.dirname(sys.executable)
PYTHON = sys.executable
OURS = os.path.join(BIN, "affine-inspector")
DCM2NIIX = shutil.which("dcm2niix", path=BIN + os.pathsep + os.environ.get("PATH", ""))
ONE_FILE_PEER = os.path.join(HERE, "onefile_peer.py")


TIME = "/usr/bin/time"  # GNU time (Debian's 'time'): the peak memory of the command alone (see Run)


class Run:
    """One process: CPU seconds (user + system) and wall seconds, as the kernel accounted them (os.wait4).

    Peak memory: a child's ru_maxrss counts the memory of the process that forked it (this one, which holds
    images after comparing outputs), so the command runs under GNU time, which forks it from a small process;
    without /usr/bin/time the peak is not reported (0).
    """

    def __init__(self, command: Sequence[str]) -> None:
        import time

        peakFile = None
        if os.path.exists(TIME):
            handle, peakFile = tempfile.mkstemp(suffix=".peak")
            os.close(handle)
            command = [TIME, "-f", "%M", "-o", peakFile, *command]
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        _, status, usage = os.wait4(process.pid, 0)
        self.wall = time.perf_counter() - start
        self.cpu = usage.ru_utime + usage.ru_stime
        self.peakMiB = 0.0
        if peakFile is not None:
            with open(peakFile) as stream:
                words = stream.read().split()
            os.remove(peakFile)
            self.peakMiB = int(words[-1]) / 1024 if words and words[-1].isdigit() else 0.0
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {stderr[-500:]}")


def race(
    ours: Callable[[], Sequence[str]], peer: Callable[[], Sequence[str]], before: Optional[Callable[[], None]] = None
) -> Tuple[List[Run], List[Run]]:
    """ROUNDS interleaved runs of each (one warm-up each first); ``before()`` runs before every run."""
    mine: List[Run] = []
    theirs: List[Run] = []
    for warmUp in (ours, peer):
        if before:
            before()
        Run(warmUp())
    for number in range(ROUNDS):
        order = ((ours, mine), (peer, theirs)) if number % 2 == 0 else ((peer, theirs), (ours, mine))
        for command, runs in order:
            if before:
                before()
            runs.append(Run(command()))
    return mine, theirs


ROWS: List[Dict[str, str]] = []


def report(name: str, peerName: str, mine: List[Run], theirs: List[Run], target: float, note: str = "") -> float:
    """Print (and keep for the table) one row; returns the speed-up (peer median CPU / ours)."""
    ourCPU, peerCPU = statistics.median(r.cpu for r in mine), statistics.median(r.cpu for r in theirs)
    ourWall, peerWall = statistics.median(r.wall for r in mine), statistics.median(r.wall for r in theirs)
    speedUp = peerCPU / ourCPU
    verdict = "met" if speedUp >= target else "NOT MET"
    row = {
        "case": name,
        "ours": f"{ourCPU:.3f} s ({ourWall:.3f} s wall, {max(r.peakMiB for r in mine):.0f} MiB)",
        "peer": f"{peerName}: {peerCPU:.3f} s ({peerWall:.3f} s wall, {max(r.peakMiB for r in theirs):.0f} MiB)",
        "speed-up": f"{speedUp:.2f}x",
        "target": f">= {target:g}x: {verdict}",
    }
    ROWS.append(row)
    print(f"{name}\n  ours {row['ours']}\n  {row['peer']}\n  CPU speed-up {row['speed-up']} (target {row['target']})")
    print(f"  rounds, ours/peer CPU: {', '.join(f'{a.cpu / b.cpu:.2f}' for a, b in zip(mine, theirs))}")
    if note:
        print(f"  {note}")
    return speedUp


# --------------------------------------------------------------------------- inputs


def ensureCT(files: int) -> str:
    bench_scan.FILES = files
    return bench_scan.ensureSeries()


def ensureEnhanced(name: str, **spec: object) -> str:
    from AffineInspectorLib.dicom.syntheticenhanced import EnhancedSpec, writeEnhanced

    path = os.path.join(CACHE, "enhanced", f"{name}.dcm")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        writeEnhanced(EnhancedSpec(positions=200, volumes=10, rows=64, columns=64, **spec), path + ".part")  # type: ignore[arg-type]
        os.replace(path + ".part", path)
    return path


def ensureResampleInputs() -> Dict[str, str]:
    """512x512x200 CT-like NRRD, its labels, an oblique 300x300x180 NIfTI reference with content; a 300-file CT."""
    import numpy as np
    import SimpleITK as sitk

    from AffineInspectorLib.dicom.synthetic import SeriesSpec, writeSeries

    folder = os.path.join(CACHE, "resample")
    paths = {name: os.path.join(folder, name) for name in ("input.nrrd", "labels.nrrd", "reference.nii.gz")}
    paths["dicom"] = os.path.join(folder, "ct_300x512")
    if all(os.path.exists(path) for path in paths.values()):
        return paths
    os.makedirs(folder, exist_ok=True)
    random = np.random.default_rng(0)
    values = random.normal(0, 200, (200, 512, 512)).astype(np.int16)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.7, 0.7, 1.25))
    image.SetOrigin((-180.0, -170.0, -120.0))
    sitk.WriteImage(image, paths["input.nrrd"])
    labels = sitk.GetImageFromArray(((values > 150) * 3).astype(np.uint8))
    labels.CopyInformation(image)
    sitk.WriteImage(labels, paths["labels.nrrd"])
    reference = sitk.GetImageFromArray(random.normal(0, 200, (180, 300, 300)).astype(np.int16))
    reference.SetOrigin((-150.0, -160.0, -100.0))
    cosine, sine = np.cos(0.2), np.sin(0.2)
    reference.SetDirection((cosine, -sine, 0, sine, cosine, 0, 0, 0, 1))
    sitk.WriteImage(reference, paths["reference.nii.gz"])
    if not os.path.isdir(paths["dicom"]):
        spec = SeriesSpec(rows=512, columns=512, numberOfSlices=300, spacingMm=1.0, pixelSpacing=(0.7, 0.7))
        spec.origin = (-180.0, -170.0, -120.0)
        writeSeries(spec, paths["dicom"])
    return paths


# --------------------------------------------------------------------------- rows


def inspectRows(scratch: str) -> None:
    if DCM2NIIX is None:
        print("dcm2niix not found (pip install dcm2niix): the inspect rows are skipped")
        return
    output = os.path.join(scratch, "dcm2niix")
    os.makedirs(output, exist_ok=True)
    for files, target in ((1000, 1.0), (5000, 1.5)):
        folder = ensureCT(files)
        mine, theirs = race(
            lambda folder=folder: [OURS, "inspect", "--json", folder],
            lambda folder=folder: [DCM2NIIX, "-b", "o", "-o", output, "-f", "sidecar", folder],
            before=lambda: [os.remove(os.path.join(output, name)) for name in os.listdir(output)],
        )
        report(f"inspect --json, {files:,} files of 512x512 CT", "dcm2niix -b o", mine, theirs, target)
    path = os.path.join(ensureCT(1000), sorted(os.listdir(ensureCT(1000)))[0])
    mine, theirs = race(lambda: [OURS, "inspect", path], lambda: [PYTHON, ONE_FILE_PEER, path])
    report(
        "inspect, one file",
        "python: import numpy, pydicom; dcmread one header",
        mine,
        theirs,
        1.25,
        note="target: ours <= 0.8x the peer's CPU, i.e. speed-up >= 1.25x",
    )


def framesRows() -> None:
    for name, spec, label in (
        ("lean", {"extras": False}, "shared orientation, per-frame position and content"),
        (
            "rich",
            {"orientationPerFrame": True, "undefinedLengths": True},
            "every group per frame, private, echo, diffusion, VOI groups, undefined lengths",
        ),
    ):
        path = ensureEnhanced(name, **spec)
        mine, theirs = race(
            lambda path=path: [OURS, "inspect", "--json", path],
            lambda path=path: [PYTHON, os.path.join(HERE, "naive_frames.py"), path],
        )
        report(f"inspect --json, 2,000-frame enhanced MR ({label})", "naive pydicom script", mine, theirs, 2.0)


def resampleRows(scratch: str) -> None:
    paths = ensureResampleInputs()
    peer = os.path.join(HERE, "sitk_resample.py")
    cases = (
        ("linear", paths["input.nrrd"], [], "512x512x200 NRRD onto an oblique 300x300x180 NIfTI, linear"),
        ("nearest", paths["labels.nrrd"], ["--label"], "512x512x200 label NRRD onto the same, nearest"),
        ("linear", paths["dicom"], [], "300-file 512x512 DICOM series onto the same, linear (a plain series)"),
    )
    ourOutput, peerOutput = os.path.join(scratch, "ours.nrrd"), os.path.join(scratch, "peer.nrrd")

    def clean() -> None:
        for path in (ourOutput, peerOutput):
            if os.path.exists(path):
                os.remove(path)

    for mode, source, flags, label in cases:
        ours = [OURS, "resample", source, *flags, "--reference", paths["reference.nii.gz"], "--output", ourOutput]
        theirs = [PYTHON, peer, source, paths["reference.nii.gz"], peerOutput, mode]
        mine, peers = race(lambda ours=ours: ours, lambda theirs=theirs: theirs, before=clean)
        Run(ours)
        Run(theirs)
        report(f"resample: {label}", "SimpleITK script", mine, peers, 1.0, note=compareVoxels(ourOutput, peerOutput))
        clean()


def compareVoxels(ours: str, peer: str) -> str:
    import numpy as np
    import SimpleITK as sitk

    mine, theirs = sitk.ReadImage(ours), sitk.ReadImage(peer)
    same = np.allclose(mine.GetOrigin(), theirs.GetOrigin()) and np.allclose(mine.GetDirection(), theirs.GetDirection())
    difference = np.abs(sitk.GetArrayFromImage(mine).astype(float) - sitk.GetArrayFromImage(theirs).astype(float))
    equal = float(np.mean(difference == 0)) * 100
    return f"outputs: same grid {same}; {equal:.4f}% of voxels equal, largest difference {difference.max():g}"


def printTable() -> None:
    print("\n| case | ours: CPU (wall, peak) | peer: CPU (wall, peak) | CPU speed-up | target |")
    print("|---|---|---|---|---|")
    for row in ROWS:
        print(f"| {row['case']} | {row['ours']} | {row['peer']} | {row['speed-up']} | {row['target']} |")


GROUPS = ("inspect", "enhanced", "resample")
"""The groups of rows, in the order they run: inspect of CT series and of one file, enhanced files, resample."""


def main(arguments: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", choices=GROUPS, help="run only this group of rows (repeatable; default: all)"
    )
    groups = parser.parse_args(arguments).only or GROUPS
    print(f"{ROUNDS} interleaved rounds per row, medians; CPU = user + system of each whole process\n")
    scratch = tempfile.mkdtemp(prefix="affine-inspector-bench-")
    try:
        if "inspect" in groups:
            inspectRows(scratch)
        if "enhanced" in groups:
            framesRows()
        if "resample" in groups:
            resampleRows(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    printTable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
