"""The fuzz harness: generate cases (:mod:`mutate`), run the command line on each, classify, report.

For every case folder it runs, as subprocesses with a timeout and an address
space limit (``RLIMIT_AS``), ``affine-inspector inspect PATH --json`` (with a
random ``--fail-on``) and, chosen per case from the seed: the text report,
one of the slicer-core commands (``inspect --slicer``, ``compare`` both ways,
``resample`` into prepared output folders, ``gui --offscreen --screenshot``)
and a run with stdout broken or closed. Each run is classified against the
exit contract (:mod:`classify`); inputs are hashed before and after every run;
output folders hold bystander files, companion files and symlinks that must
survive. A long-lived worker (:mod:`readerworker`) inspects each case with the
fast header reader and with pydicom only, and reports where they disagree.

Hangs are killed after the timeout, with ``SIGABRT`` first so that
``PYTHONFAULTHANDLER`` prints where the process was stuck. Cases that pass are
deleted; failing ones stay under ``--work`` and can be regenerated from seed
and index (``mutate.py --seed S --index I``). The JSON report lists every
failing case, per-class counts with an example each, the distinct crash and
hang sites and the reader disagreements.

Exit status: 0 no failure found, 1 failures found, 2 usage error.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import dataclasses
import hashlib
import json
import os
import platform
import random
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback
from collections import Counter, OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import classify
import mutate

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLER = os.path.join(HERE, "sampler")
STACK_SAMPLES, SAMPLE_INTERVAL = 5, 0.2
SMOKE_SEED = 20240917
SLICER_KINDS = ("inspect-slicer", "compare", "compare-reversed", "resample", "gui")
OUTPUT_SCENARIOS = ("fresh", "fresh", "exists", "companions", "danglingSymlink", "symlinkToFile", "missingFolder")
VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
COMPANION_SUFFIXES = (".raw", ".raw.gz", ".zraw", ".img", ".img.gz")
BYSTANDER = b"bystander: this file was here before the run\n"
LARGE_FILE_BYTES = 64 * 1024 * 1024  # above this, (size, mtime, ctime) stands in for SHA-256
ZERO_OUTPUT_WORDS = ("zero", "empty", "outside", "overlap", "no data", "nan")
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


@dataclasses.dataclass
class Config:
    """Everything a run depends on; stored in the report."""

    seed: int
    count: int
    start: int = 0
    jobs: int = 2
    timeout: float = 30.0
    slicerTimeout: Optional[float] = None  # slicer-core commands (default: timeout)
    memoryBytes: int = 2 * mutate.GIB
    work: str = ""
    report: str = ""
    keepAll: bool = False
    textProbability: float = 0.5
    slicerProbability: float = 0.25
    pipeProbability: float = 0.15
    allCommands: bool = False
    bigFileBytes: int = mutate.GIB
    cli: str = ""
    python: str = sys.executable

    @classmethod
    def smoke(cls, **overrides) -> "Config":
        """The fixed-seed smoke run: 200 cases, mostly ``inspect --json``, 5 s timeout, 64 MiB big file."""
        values = dict(
            seed=SMOKE_SEED,
            count=200,
            timeout=5.0,
            slicerTimeout=20.0,
            textProbability=0.1,
            slicerProbability=0.03,
            pipeProbability=0.05,
            bigFileBytes=64 * 1024 * 1024,
        )
        values.update(overrides)
        return cls(**values)


@dataclasses.dataclass
class Outcome:
    """One finished (or killed) subprocess."""

    exitCode: Optional[int]
    stdout: str
    stderr: str
    timedOut: bool
    seconds: float


# --------------------------------------------------------------------------- subprocesses


def _limits(memoryBytes: int, unprivileged: bool, closeStdout: bool):
    """The child's preexec_fn: address-space limit, optionally no DAC override (root), optionally no stdout."""

    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memoryBytes, memoryBytes))
        if unprivileged and os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # on exec, root keeps only the bounding set
        if closeStdout:
            os.close(1)

    return apply


def childEnvironment() -> Dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONFAULTHANDLER"] = "1"  # a stack on fatal signals and on the SIGABRT sent to a hang
    environment["AFFINE_FUZZ_SAMPLER"] = "1"  # sampler/sitecustomize.py: SIGUSR1 prints the stack
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [SAMPLER, environment.get("PYTHONPATH")]))
    environment["QT_QPA_PLATFORM"] = "offscreen"
    return environment


def execute(
    argv: Sequence[str], *, timeout: float, memoryBytes: int, unprivileged: bool = False, stdoutMode: str = "pipe"
) -> Outcome:
    """Run ``argv`` in its own session; on timeout send SIGABRT (stack dump), then SIGKILL to its group.

    ``stdoutMode``: ``pipe`` (captured), ``broken`` (a pipe whose reader is
    already closed) or ``closed`` (file descriptor 1 not open).
    """
    readEnd = writeEnd = None
    stdout = subprocess.PIPE
    if stdoutMode == "broken":
        readEnd, writeEnd = os.pipe()
        os.close(readEnd)
        stdout = writeEnd
    elif stdoutMode == "closed":
        stdout = subprocess.DEVNULL
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=childEnvironment(),
        start_new_session=True,
        preexec_fn=_limits(memoryBytes, unprivileged, stdoutMode == "closed"),
    )
    if writeEnd is not None:
        os.close(writeEnd)
    timedOut = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timedOut = True
        out, err = _abortThenKill(process)
    return Outcome(
        exitCode=None if timedOut else process.returncode,
        stdout=(out or b"").decode("utf-8", "replace"),
        stderr=(err or b"").decode("utf-8", "replace"),
        timedOut=timedOut,
        seconds=round(time.monotonic() - started, 3),
    )


def _abortThenKill(process: subprocess.Popen) -> Tuple[bytes, bytes]:
    """Stack samples (SIGUSR1), a last dump (SIGABRT), then SIGKILL to the whole process group."""
    try:
        for _ in range(STACK_SAMPLES):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGUSR1)
                time.sleep(SAMPLE_INTERVAL)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGABRT)
        return process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything the process started
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- reader comparison


class ReaderWorker:
    """One long-lived :mod:`readerworker` process, restarted after a hang or a death."""

    def __init__(self, config: Config, logPath: str):
        self.config, self.logPath = config, logPath
        self.process: Optional[subprocess.Popen] = None
        self.buffer = b""

    def _start(self) -> None:
        log = open(self.logPath, "ab")
        self.process = subprocess.Popen(
            [self.config.python, os.path.join(HERE, "readerworker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=childEnvironment(),
            start_new_session=True,
            preexec_fn=_limits(self.config.memoryBytes, False, False),
        )
        log.close()
        self.buffer = b""

    def compare(self, paths: List[str]) -> dict:
        """The worker's answer, or ``{"hang": ...}`` / ``{"died": ...}`` with the stack it printed."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        logStart = os.path.getsize(self.logPath)
        try:
            self.process.stdin.write((json.dumps({"paths": paths}) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            return self._lost("died", logStart)
        line = self._readLine(time.monotonic() + self.config.timeout)
        if line is None:
            return self._lost("hang" if self.process.poll() is None else "died", logStart)
        return json.loads(line)

    def _readLine(self, deadline: float) -> Optional[bytes]:
        descriptor = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
                return None
            chunk = os.read(descriptor, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _lost(self, what: str, logStart: int) -> dict:
        if self.process.poll() is None:
            _abortThenKill(self.process)
        exitCode = self.process.wait()
        with open(self.logPath, "rb") as stream:
            stream.seek(logStart)
            log = stream.read().decode("utf-8", "replace")
        self.process = None
        site = classify.hangSite(log) if what == "hang" else classify.crashSite(log)
        return {what: True, "exitCode": exitCode, "crash": site}


_READERS: Optional[ReaderWorker] = None


def readers(config: Config) -> ReaderWorker:
    """This process's reader worker (one per harness process)."""
    global _READERS
    if _READERS is None:
        _READERS = ReaderWorker(config, os.path.join(config.work, f"readers-{os.getpid()}.log"))
    return _READERS


def readerProblems(answer: dict) -> List[classify.Problem]:
    if answer.get("hang"):
        site = (answer.get("crash") or {}).get("projectSite") or (answer.get("crash") or {}).get("site")
        return [("readerHang", f"reader comparison did not answer in time (stuck at {site})")]
    if answer.get("died"):
        return [("readerCrash", f"reader worker died: {(answer.get('crash') or {}).get('lastLine')}")]
    problems = []
    for name in ("fastError", "pydicomError"):
        error = answer.get(name)
        if error:
            problems.append(("readerCrash", f"{name[:-5]} reader: {error['exception']}: {error['message'][:150]}"))
    if not answer.get("agree", True) and not problems:
        problems.append(("readerDisagreement", "; ".join(answer.get("differences", [])[:2])[:300]))
    return problems


# --------------------------------------------------------------------------- snapshots


def snapshot(roots: Sequence[str], exclude: Sequence[str] = ()) -> Dict[str, tuple]:
    """Type, mode and content digest of every entry under ``roots``, never following symlinks, without recursion."""
    entries: Dict[str, tuple] = {}
    stack = [root for root in roots if root]
    excluded = set(exclude)
    while stack:
        path = stack.pop()
        if path in excluded:
            continue
        try:
            info = os.lstat(path)
        except OSError as error:
            entries[path] = ("missing", error.errno)
            continue
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            entries[path] = ("dir", stat.S_IMODE(mode))
            try:
                with os.scandir(path) as listing:
                    stack.extend(entry.path for entry in listing)
            except OSError as error:
                entries[path] = ("dir", stat.S_IMODE(mode), "unlistable", error.errno)
        elif stat.S_ISREG(mode):
            entries[path] = ("file", stat.S_IMODE(mode), _digest(path, info))
        elif stat.S_ISLNK(mode):
            entries[path] = ("link", os.readlink(path))
        else:
            entries[path] = ("special", stat.S_IFMT(mode), stat.S_IMODE(mode))
    return entries


def _digest(path: str, info: os.stat_result) -> str:
    if info.st_size > LARGE_FILE_BYTES:
        return f"size={info.st_size} mtime={info.st_mtime_ns} ctime={info.st_ctime_ns}"
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        return f"unreadable errno {error.errno}"
    return digest.hexdigest()


def changedEntries(before: Dict[str, tuple], after: Dict[str, tuple]) -> List[str]:
    """Paths added, removed or changed between two snapshots, sorted."""
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


# --------------------------------------------------------------------------- output folders


@dataclasses.dataclass
class OutputPlan:
    """Where a command writes, what was placed there before, and what must happen."""

    scenario: str
    path: str
    folder: str
    mustRefuse: bool
    symlinkTarget: Optional[str] = None


def prepareOutput(folder: str, scenario: str, extension: str) -> OutputPlan:
    """Make ``folder`` with the bystanders of ``scenario``; return where the command is told to write."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "result" + extension)
    stem = path[: -len(extension)]
    if scenario == "exists":
        _writeBytes(path, BYSTANDER)
    elif scenario == "companions":
        for suffix in COMPANION_SUFFIXES:
            _writeBytes(stem + suffix, BYSTANDER)
    elif scenario == "danglingSymlink":
        target = os.path.join(folder, "elsewhere" + extension)
        os.symlink(os.path.basename(target), path)
        return OutputPlan(scenario, path, folder, True, target)
    elif scenario == "symlinkToFile":
        target = os.path.join(folder, "victim" + extension)
        _writeBytes(target, BYSTANDER)
        os.symlink(os.path.basename(target), path)
        return OutputPlan(scenario, path, folder, True, target)
    elif scenario == "missingFolder":  # creating it is allowed if the run says so
        path = os.path.join(folder, "new", "deeper", "result" + extension)
    return OutputPlan(scenario, path, folder, scenario == "exists")


def _writeBytes(path: str, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)


def outputProblems(
    plan: OutputPlan, before: Dict[str, tuple], after: Dict[str, tuple], outcome: Outcome, checkPixels: bool
) -> List[classify.Problem]:
    """Replaced bystanders, writes through symlinks, created folders, a missing or silently all-zero output."""
    problems: List[classify.Problem] = []
    for path in changedEntries(before, after):
        relative = os.path.relpath(path, plan.folder)
        if path in before and before[path][0] != "dir":
            if path == plan.symlinkTarget:
                problems.append(
                    (
                        "symlinkWrite",
                        f"replaced {relative} through the symlink {os.path.relpath(plan.path, plan.folder)}",
                    )
                )
            elif before[path][0] == "link":
                problems.append(("outputReplaced", f"the symlink {relative} was replaced or removed"))
            else:
                problems.append(("outputReplaced", f"{relative} was there before the run and was replaced or removed"))
        elif path == plan.symlinkTarget:
            problems.append(
                ("symlinkWrite", f"created {relative} through the symlink {os.path.relpath(plan.path, plan.folder)}")
            )
        elif after.get(path, ("",))[0] == "dir" and path not in before and os.path.dirname(path) in before:
            said = classify.ownLines(outcome.stdout, outcome.stderr)
            if not (
                "creat" in said.lower() and os.path.basename(path) in said
            ):  # "Wrote new/x.nrrd" is not a word about it
                problems.append(("folderCreated", f"created the folder {relative} and said nothing"))
    if outcome.exitCode == 0 and plan.mustRefuse:
        problems.append(("exitContract", f"exit 0 although the output ({plan.scenario}) had to be refused"))
    elif outcome.exitCode == 0 and not os.path.lexists(plan.path):
        problems.append(("exitContract", "exit 0 but the output file was not written"))
    elif outcome.exitCode == 0 and checkPixels and plan.scenario in ("fresh", "companions"):
        problems.extend(_zeroOutput(plan.path, outcome))
    return problems


def _zeroOutput(path: str, outcome: Outcome) -> List[classify.Problem]:
    try:
        import numpy
        import SimpleITK
    except ImportError:
        return []
    try:
        values = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path))  # a copy: a view dies with the image
    except RuntimeError as error:
        return [("exitContract", f"exit 0 but the output cannot be read back: {str(error).splitlines()[0][:150]}")]
    said = classify.ownLines(outcome.stdout, outcome.stderr).lower()
    if any(word in said for word in ZERO_OUTPUT_WORDS):
        return []
    floating = numpy.issubdtype(values.dtype, numpy.floating)
    if values.size and floating and numpy.isnan(values).all():
        return [("silentZeroOutput", f"every voxel of {os.path.basename(path)} is NaN and nothing says so")]
    if not numpy.any(values):
        return [("silentZeroOutput", f"every voxel of {os.path.basename(path)} is 0 and nothing says so")]
    return []


# --------------------------------------------------------------------------- one case


def referenceFolder(config: Config, baseName: str) -> str:
    return os.path.join(config.work, "reference", baseName.replace(os.sep, "__"))


def prepareReferences(config: Config) -> None:
    """Pristine copies of every base series: the reference of ``compare`` and ``resample`` (never /work/shared)."""
    for base in mutate.findBases():
        folder = referenceFolder(config, base.name)
        if os.path.isdir(folder):
            continue
        os.makedirs(folder)
        for path in base.files:
            shutil.copyfile(path, os.path.join(folder, os.path.basename(path)))


def planCommands(config: Config, manifest: dict) -> List[str]:
    """Which commands this case gets, chosen from the seed and index (the case's own random stream)."""
    rng = random.Random(f"run:{config.seed}:{manifest['index']}")
    plan = ["inspect-json"]
    if rng.random() < config.textProbability:
        plan.append("inspect-text")
    slicerProbability = config.slicerProbability * (3 if manifest.get("preferSlicer") else 1)
    if config.allCommands:
        plan.extend(SLICER_KINDS)
    elif rng.random() < slicerProbability:
        plan.append(rng.choice(SLICER_KINDS))
    if rng.random() < config.pipeProbability:
        plan.append(rng.choice(("brokenPipe", "closedStdout")))
    return plan


@dataclasses.dataclass
class Command:
    """A command line to run, how to judge it, and its output plan (if it writes)."""

    label: str
    argv: List[str]
    wantsJSON: bool = False
    failOn: Optional[str] = None
    stdoutMode: str = "pipe"
    output: Optional[OutputPlan] = None
    usesReference: bool = False


def buildCommand(config: Config, kind: str, caseFolder: str, manifest: dict, rng: random.Random) -> Command:
    """The argv of ``kind`` for this case (outputs go to a fresh folder under the case)."""
    targets = [os.path.join(caseFolder, target) if target else "" for target in manifest["targets"]]
    first = targets[0]
    reference = referenceFolder(config, manifest["base"])
    cli = [config.cli]
    if kind == "inspect-json":
        failOn = rng.choice(classify.SEVERITIES + (None,))
        argv = cli + ["inspect", *targets, "--json"] + (["--fail-on", failOn] if failOn else [])
        return Command(kind, argv, wantsJSON=True, failOn=failOn)
    if kind == "inspect-text":
        return Command(kind, cli + ["inspect", *targets])
    if kind in ("brokenPipe", "closedStdout"):
        return Command(kind, cli + ["inspect", *targets], stdoutMode="broken" if kind == "brokenPipe" else "closed")
    if kind == "inspect-slicer":
        return Command(kind, cli + ["inspect", *targets, "--json", "--slicer"], wantsJSON=True)
    if kind == "compare":
        return Command(kind, cli + ["compare", first, reference, "--json"], wantsJSON=True, usesReference=True)
    if kind == "compare-reversed":
        return Command(kind, cli + ["compare", reference, first, "--json"], wantsJSON=True, usesReference=True)
    scenario = rng.choice(OUTPUT_SCENARIOS)
    outFolder = os.path.join(caseFolder, "out", kind)
    if kind == "resample":
        plan = prepareOutput(outFolder, scenario, rng.choice(VOLUME_EXTENSIONS))
        argv = cli + ["resample", first, "--reference", reference, "--output", plan.path]
        return Command(kind, argv, output=plan, usesReference=True)
    plan = prepareOutput(outFolder, scenario, ".png")
    return Command(kind, cli + ["gui", "--offscreen", "--screenshot", plan.path, *targets], output=plan)


def runCommand(config: Config, command: Command, caseFolder: str, manifest: dict) -> dict:
    """Run one command and judge it: contract, inputs unchanged, outputs."""
    inputs = [caseFolder] + ([referenceFolder(config, manifest["base"])] if command.usesReference else [])
    excluded = [os.path.join(caseFolder, "out"), os.path.join(caseFolder, "manifest.json")]
    inputBefore = snapshot(inputs, excluded)
    outputBefore = snapshot([command.output.folder]) if command.output else {}
    slicerCommand = command.label in SLICER_KINDS
    outcome = execute(
        command.argv,
        timeout=config.slicerTimeout if slicerCommand and config.slicerTimeout else config.timeout,
        memoryBytes=config.memoryBytes,
        unprivileged=manifest.get("unprivileged", False),
        stdoutMode=command.stdoutMode,
    )
    if command.stdoutMode != "pipe":
        problems = classify.checkQuietEnd(exitCode=outcome.exitCode, stderr=outcome.stderr, timedOut=outcome.timedOut)
    else:
        problems = classify.checkRun(
            exitCode=outcome.exitCode,
            stdout=outcome.stdout,
            stderr=outcome.stderr,
            timedOut=outcome.timedOut,
            wantsJSON=command.wantsJSON,
            failOn=command.failOn,
            mentions=tuple(manifest.get("mustMention", ())) if command.label.startswith("inspect") else (),
            mentionsWithReason=manifest.get("unprivileged", False),
        )
    changed = changedEntries(inputBefore, snapshot(inputs, excluded))
    if changed:
        problems.append(
            ("inputChanged", f"{len(changed)} input entries changed, e.g. {_relative(changed[0], caseFolder)}")
        )
    if command.output and not outcome.timedOut:
        after = snapshot([command.output.folder])
        problems.extend(outputProblems(command.output, outputBefore, after, outcome, command.label == "resample"))
    return {
        "label": command.label,
        "argv": [_relative(argument, caseFolder) for argument in command.argv[1:]],
        "exitCode": outcome.exitCode,
        "seconds": outcome.seconds,
        "timedOut": outcome.timedOut,
        "output": dataclasses.asdict(command.output) if command.output else None,
        "problems": problems,
        "site": classify.hangSite(outcome.stderr) if outcome.timedOut else classify.crashSite(outcome.stderr),
        "stderrTail": [line[:300] for line in classify.stderrLines(outcome.stderr) if "Extension modules:" not in line][
            -6:
        ],
    }


def _relative(path: str, caseFolder: str) -> str:
    return path.replace(caseFolder, "$CASE") if isinstance(path, str) else path


def runCase(config: Config, index: int) -> dict:
    """:func:`runOneCase`, or a ``harnessError`` case if the fuzzer itself failed (the run goes on)."""
    try:
        return runOneCase(config, index)
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        detail = f"{type(error).__name__}: {error} at {os.path.basename(where.filename)}:{where.lineno}"
        return {
            "index": index,
            "family": "?",
            "base": "?",
            "mutations": [],
            "targets": [],
            "unprivileged": False,
            "folder": os.path.join(config.work, mutate.caseFolderName(index)),
            "regenerate": regenerateCommand(config, index),
            "runs": [],
            "readers": {},
            "problems": [("harnessError", detail[:300], "harness")],
            "failed": True,
            "seconds": None,
        }


def runOneCase(config: Config, index: int) -> dict:
    """Generate case ``index``, run its commands and the reader comparison; delete it if nothing failed."""
    started = time.monotonic()
    manifest = mutate.generateCase(config.seed, index, config.work, mutate.Options(bigFileBytes=config.bigFileBytes))
    caseFolder = os.path.join(config.work, mutate.caseFolderName(index))
    rng = random.Random(f"commands:{config.seed}:{index}")
    runs, hung = [], False
    for kind in planCommands(config, manifest):
        if hung:
            runs.append({"label": kind, "skipped": "an earlier command of this case hung", "problems": []})
            continue
        run = runCommand(config, buildCommand(config, kind, caseFolder, manifest, rng), caseFolder, manifest)
        hung = hung or run["timedOut"]
        runs.append(run)
    targets = [os.path.join(caseFolder, target) if target else "" for target in manifest["targets"]]
    readersStarted = time.monotonic()
    answer = {"skipped": "the command line hung on this case"} if hung else readers(config).compare(targets)
    answer["seconds"] = round(time.monotonic() - readersStarted, 3)
    problems = [(name, detail, run["label"]) for run in runs for name, detail in run["problems"]]
    problems += [(name, detail, "readers") for name, detail in readerProblems(answer)]
    failed = classify.isFailure([(name, detail) for name, detail, _ in problems])
    if not failed and not config.keepAll:
        mutate.removeTree(caseFolder)
    return {
        "index": index,
        "family": manifest["family"],
        "base": manifest["base"],
        "mutations": manifest["mutations"],
        "targets": manifest["targets"],
        "unprivileged": manifest["unprivileged"],
        "folder": caseFolder if failed or config.keepAll else None,
        "regenerate": regenerateCommand(config, index),
        "runs": runs,
        "readers": answer,
        "problems": problems,
        "failed": failed,
        "seconds": round(time.monotonic() - started, 3),
    }


def regenerateCommand(config: Config, index: int) -> str:
    return (
        f".venv/bin/python Testing/fuzz/mutate.py --seed {config.seed} --index {index} --out /tmp/fuzz-repro "
        f"--big-file-bytes {config.bigFileBytes}"
    )


# --------------------------------------------------------------------------- report


def summarize(config: Config, cases: List[dict], seconds: float) -> dict:
    """Counts per class (runs and cases, with one example each), distinct crash and hang sites, disagreements."""
    classes: "OrderedDict[str, dict]" = OrderedDict(
        (name, {"runs": 0, "cases": 0, "example": None}) for name in classify.CLASSES
    )
    totalRuns = 0
    for case in sorted(cases, key=lambda item: item["index"]):
        seen = set()
        for run in case["runs"]:
            totalRuns += "skipped" not in run
            names = {name for name, _ in run["problems"]} or ({"ok"} if "skipped" not in run else set())
            for name in names:
                classes[name]["runs"] += 1
                _example(classes[name], case, run, name)
            seen |= names
        for name, detail, source in case["problems"]:
            if source in ("readers", "harness") and name not in seen:
                classes[name]["runs"] += 1
                _example(classes[name], case, {"label": source, "problems": [(name, detail)]}, name)
        for name in seen | {name for name, _, _ in case["problems"]}:
            classes[name]["cases"] += 1
    return {
        "seed": config.seed,
        "cases": len(cases),
        "runs": totalRuns,
        "failedCases": sum(case["failed"] for case in cases),
        "seconds": round(seconds, 1),
        "classes": {name: value for name, value in classes.items() if value["runs"] or value["cases"]},
        "crashSites": _sites(cases, "crash"),
        "hangSites": _sites(cases, "hang"),
        "readerSites": _readerSites(cases),
        "readerDisagreements": _disagreements(cases),
        "families": dict(Counter(case["family"] for case in cases)),
        "secondsByCommand": _secondsByCommand(cases),
    }


def _secondsByCommand(cases: List[dict]) -> dict:
    """Runs and total seconds per command label (and the reader comparison, and whole cases): where time goes."""
    totals: Dict[str, List[float]] = {}
    for case in cases:
        timed = [(run["label"], run.get("seconds")) for run in case["runs"]]
        timed += [("readers", case["readers"].get("seconds")), ("case", case.get("seconds"))]
        for label, seconds in timed:
            if seconds is not None:  # a harness error has no timing
                entry = totals.setdefault(label, [0, 0.0])
                entry[0] += 1
                entry[1] = round(entry[1] + seconds, 3)
    return {label: {"runs": count, "seconds": seconds} for label, (count, seconds) in sorted(totals.items())}


def _example(entry: dict, case: dict, run: dict, name: str) -> None:
    if entry["example"] is not None:
        return
    detail = next((detail for problem, detail in run["problems"] if problem == name), "")
    entry["example"] = {
        "index": case["index"],
        "family": case["family"],
        "mutations": case["mutations"][:2],
        "command": run.get("label"),
        "argv": run.get("argv"),
        "exitCode": run.get("exitCode"),
        "detail": detail,
        "lastLine": (run.get("site") or {}).get("lastLine") or ((run.get("stderrTail") or [""])[-1:] or [""])[0],
        "regenerate": case["regenerate"],
    }


def _sites(cases: List[dict], kind: str) -> List[dict]:
    """Distinct (project frame, exception) of crashes, or stuck frames of hangs, with counts and one example."""
    sites: "OrderedDict[tuple, dict]" = OrderedDict()
    for case in sorted(cases, key=lambda item: item["index"]):
        for run in case["runs"]:
            if kind not in {name for name, _ in run.get("problems", [])}:
                continue
            crash = run.get("site") or {}
            key = (crash.get("projectSite") or crash.get("site") or "unknown", crash.get("exception") or "none")
            entry = sites.setdefault(
                key,
                {
                    "site": key[0],
                    "exception": key[1],
                    "innermost": crash.get("site"),
                    "count": 0,
                    "commands": Counter(),
                    "families": Counter(),
                    "example": {
                        "index": case["index"],
                        "command": run["label"],
                        "argv": run["argv"],
                        "mutations": case["mutations"][:2],
                        "lastLine": crash.get("lastLine"),
                        "regenerate": case["regenerate"],
                    },
                },
            )
            entry["count"] += 1
            entry["commands"][run["label"]] += 1
            entry["families"][case["family"]] += 1
    return [dict(entry, commands=dict(entry["commands"]), families=dict(entry["families"])) for entry in sites.values()]


def _readerSites(cases: List[dict]) -> List[dict]:
    """Distinct exceptions raised inside the reader comparison (either reader) and reader hangs."""
    sites: "OrderedDict[tuple, dict]" = OrderedDict()
    for case in sorted(cases, key=lambda item: item["index"]):
        answer = case["readers"]
        found = []
        for name in ("fastError", "pydicomError"):
            if answer.get(name):
                found.append((name[:-5], answer[name]["site"], answer[name]["exception"], answer[name]["message"]))
        if answer.get("hang") or answer.get("died"):
            crash = answer.get("crash") or {}
            what = "hang" if answer.get("hang") else "died"
            found.append((what, crash.get("projectSite") or crash.get("site"), what, crash.get("lastLine")))
        for reader, site, exception, message in found:
            entry = sites.setdefault(
                (reader, site, exception),
                {"reader": reader, "site": site, "exception": exception, "count": 0, "example": None},
            )
            entry["count"] += 1
            entry["example"] = entry["example"] or {
                "index": case["index"],
                "mutations": case["mutations"][:2],
                "message": message,
                "regenerate": case["regenerate"],
            }
    return list(sites.values())


def _disagreements(cases: List[dict]) -> List[dict]:
    """Fast-vs-pydicom differences grouped by where they first differ (list indices folded to [*])."""
    groups: "OrderedDict[str, dict]" = OrderedDict()
    for case in sorted(cases, key=lambda item: item["index"]):
        answer = case["readers"]
        if answer.get("agree", True) or answer.get("fastError") or answer.get("pydicomError"):
            continue
        first = (answer.get("differences") or ["?"])[0]
        key = re.sub(r"\[\d+\]", "[*]", first.split(":")[0])
        entry = groups.setdefault(key, {"where": key, "count": 0, "families": Counter(), "example": None})
        entry["count"] += 1
        entry["families"][case["family"]] += 1
        entry["example"] = entry["example"] or {
            "index": case["index"],
            "mutations": case["mutations"][:2],
            "differences": answer.get("differences"),
            "regenerate": case["regenerate"],
        }
    return [dict(entry, families=dict(entry["families"])) for entry in groups.values()]


def printSummary(summary: dict, stream=sys.stdout) -> None:
    """The per-class table, crash and hang sites and disagreements, as plain text."""
    write = stream.write
    write(
        f"\nseed {summary['seed']}: {summary['cases']} cases, {summary['runs']} command runs, "
        f"{summary['failedCases']} failing cases, {summary['seconds']} s\n\n"
    )
    timing = ", ".join(
        f"{label} {entry['runs']}x {entry['seconds']:.0f} s" for label, entry in summary["secondsByCommand"].items()
    )
    write(f"time (one process each): {timing}\n\n")
    write(f"{'class':20s} {'runs':>5s} {'cases':>5s}  example (case index: command; what; last line)\n")
    for name, entry in summary["classes"].items():
        example = entry["example"] or {}
        text = f"#{example.get('index')}: {example.get('command')}; {example.get('detail', '')[:90]}"
        if example.get("lastLine") and name not in ("ok", "noisyStderr"):
            text += f"; {example['lastLine'][:90]}"
        write(f"{name:20s} {entry['runs']:5d} {entry['cases']:5d}  {text if name != 'ok' else ''}\n")
    for title, key in (("Crash sites", "crashSites"), ("Hang sites (stack at SIGABRT)", "hangSites")):
        write(f"\n{title} ({len(summary[key])}):\n")
        for entry in summary[key]:
            write(
                f"  {entry['count']:4d}x {entry['exception']} at {entry['site']}  [innermost "
                f"{entry['innermost']}; e.g. case {entry['example']['index']} {entry['example']['command']}]\n"
            )
    write(f"\nReader comparison: exceptions and hangs ({len(summary['readerSites'])}):\n")
    for entry in summary["readerSites"]:
        where = f"{entry['exception']} at {entry['site']}"
        write(f"  {entry['count']:4d}x {entry['reader']}: {where} (e.g. case {entry['example']['index']})\n")
    write(f"\nFast reader vs pydicom disagreements ({len(summary['readerDisagreements'])} kinds):\n")
    for entry in summary["readerDisagreements"]:
        differences = entry["example"]["differences"] or []
        write(f"  {entry['count']:4d}x {entry['where']}  e.g. case {entry['example']['index']}: {differences[:1]}\n")


def environment() -> dict:
    """What the figures were measured on."""
    try:
        commit = subprocess.run(
            ["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    try:
        import pydicom

        pydicomVersion = pydicom.__version__
    except ImportError:
        pydicomVersion = None
    return {
        "python": platform.python_version(),
        "pydicom": pydicomVersion,
        "commit": commit,
        "euid": os.geteuid(),
        "cpus": os.cpu_count(),
    }


# --------------------------------------------------------------------------- main


def _runAll(config: Config) -> List[dict]:
    indices = list(range(config.start, config.start + config.count))
    results, done = [], 0
    step = max(1, len(indices) // 10)
    if config.jobs <= 1:
        for index in indices:
            results.append(runCase(config, index))
            done += 1
            _progress(done, len(indices), step)
        return results
    with concurrent.futures.ProcessPoolExecutor(max_workers=config.jobs) as pool:
        futures = [pool.submit(runCase, config, index) for index in indices]
        for future in concurrent.futures.as_completed(futures):
            results.append(future.result())
            done += 1
            _progress(done, len(indices), step)
    return results


def _progress(done: int, total: int, step: int) -> None:
    if done % step == 0 or done == total:
        sys.stderr.write(f"  {done}/{total} cases\n")


def run(config: Config) -> dict:
    """Generate and run every case of ``config``; write the JSON report; return it."""
    os.makedirs(config.work, exist_ok=True)
    prepareReferences(config)
    referencesBefore = snapshot([os.path.join(config.work, "reference")])
    started = time.monotonic()
    cases = _runAll(config)
    summary = summarize(config, cases, time.monotonic() - started)
    referencesChanged = changedEntries(referencesBefore, snapshot([os.path.join(config.work, "reference")]))
    report = {
        "config": dataclasses.asdict(config),
        "environment": environment(),
        "summary": summary,
        "referencesChanged": referencesChanged,
        "failingCases": [case for case in sorted(cases, key=lambda item: item["index"]) if case["failed"]],
        "passingCases": [
            {"index": case["index"], "family": case["family"], "problems": case["problems"], "seconds": case["seconds"]}
            for case in sorted(cases, key=lambda item: item["index"])
            if not case["failed"]
        ],
    }
    if config.report:
        os.makedirs(os.path.dirname(os.path.abspath(config.report)), exist_ok=True)
        with open(config.report, "w") as stream:
            json.dump(report, stream, indent=1, default=str)
    return report


def parseArguments(argv: Optional[Sequence[str]]) -> Config:
    parser = argparse.ArgumentParser(description="Fuzz the affine-inspector command line (see the module docstring).")
    parser.add_argument("--smoke", action="store_true", help=f"the fixed smoke run (seed {SMOKE_SEED}, 200 cases)")
    parser.add_argument("--seed", type=int, help="random seed (required unless --smoke)")
    parser.add_argument("--count", type=int, help="number of cases (default 200; smoke 200)")
    parser.add_argument("--start", type=int, default=0, help="first case index (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2; at most 2 here)")
    parser.add_argument("--timeout", type=float, help="seconds before a run is a hang (default 30; smoke 5)")
    parser.add_argument("--slicer-timeout", type=float, help="the same for slicer-core commands (default --timeout)")
    parser.add_argument("--memory-gib", type=float, default=2.0, help="RLIMIT_AS of each run (default 2 GiB)")
    parser.add_argument("--work", help="case folders (default build/fuzz/seed-SEED)")
    parser.add_argument("--report", help="JSON report (default WORK/report.json)")
    parser.add_argument("--keep-all", action="store_true", help="keep passing case folders too")
    parser.add_argument("--all-commands", action="store_true", help="run every slicer-core command on every case")
    parser.add_argument("--big-file-bytes", type=int, help="size of the zero-filled file (default 1 GiB; smoke 64 MiB)")
    parser.add_argument("--cli", help="the command to test (default: affine-inspector next to this Python)")
    arguments = parser.parse_args(argv)
    if arguments.seed is None and not arguments.smoke:
        parser.error("--seed is required (or --smoke)")
    overrides = {
        "start": arguments.start,
        "jobs": max(1, arguments.jobs),
        "memoryBytes": int(arguments.memory_gib * mutate.GIB),
        "keepAll": arguments.keep_all,
        "allCommands": arguments.all_commands,
        "cli": arguments.cli or os.path.join(os.path.dirname(sys.executable), "affine-inspector"),
    }
    for name, value in (
        ("seed", arguments.seed),
        ("count", arguments.count),
        ("timeout", arguments.timeout),
        ("slicerTimeout", arguments.slicer_timeout),
        ("bigFileBytes", arguments.big_file_bytes),
    ):
        if value is not None:
            overrides[name] = value
    if arguments.smoke:
        config = Config.smoke(**overrides)
    else:
        config = Config(**{"count": 200, **overrides})
    config.work = os.path.abspath(arguments.work or os.path.join(mutate.ROOT, "build", "fuzz", f"seed-{config.seed}"))
    config.report = arguments.report or os.path.join(config.work, "report.json")
    return config


def main(argv: Optional[Sequence[str]] = None) -> int:
    config = parseArguments(argv)
    if not os.path.exists(config.cli):
        sys.stderr.write(f"run.py: {config.cli} not found (make test creates .venv; or pass --cli)\n")
        return 2
    report = run(config)
    printSummary(report["summary"])
    sys.stdout.write(f"\nReport: {config.report}\nFailing case folders: {config.work}/case-*\n")
    return 1 if report["summary"]["failedCases"] else 0


if __name__ == "__main__":
    sys.exit(main())
