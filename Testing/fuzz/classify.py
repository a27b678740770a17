"""What a finished command-line run says about the exit contract: pure functions over its exit code and output.

The contract (the robustness issue): exit 0 done; 1 input unusable, with
ONE line on stderr naming what and where; 2 usage; 3 a finding at or above
``--fail-on``; 70 internal error (one line; a traceback only with
``--debug``). No traceback for any input; ``--json`` output is strict JSON;
a broken pipe or closed stdout ends quietly.

Each check returns ``(class, detail)`` pairs; :data:`CLASSES` lists every
class, worst first, and :data:`INFORMATIONAL` the ones that are not failures.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

CLASSES = (
    "harnessError",
    "hang",
    "signal",
    "crash",
    "exit70",
    "nonStrictJSON",
    "inputChanged",
    "outputReplaced",
    "symlinkWrite",
    "folderCreated",
    "silentZeroOutput",
    "silentSkip",
    "exitContract",
    "brokenPipe",
    "readerHang",
    "readerCrash",
    "readerDisagreement",
    "noisyStderr",
    "ok",
)
"""Every class a run (or a case's reader comparison) can get, worst first."""

INFORMATIONAL = frozenset({"noisyStderr", "ok"})
"""Classes recorded but not counted as failures: warnings on stderr of a run that exits 0 or 3."""

SEVERITIES = ("error", "warning", "info")
EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, EXIT_FINDINGS, EXIT_INTERNAL = 0, 1, 2, 3, 70

Problem = Tuple[str, str]

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')
_FAULT_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>.+)$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)?)(: (?P<message>.*))?$")


def hasTraceback(stderr: str) -> bool:
    """A Python traceback or a faulthandler dump (fatal signal, or the dump taken before killing a hang)."""
    return "Traceback (most recent call last)" in stderr or "Fatal Python error" in stderr


def crashSite(stderr: str) -> Optional[dict]:
    """Where the last traceback (or faulthandler dump) on ``stderr`` points: exception and frames.

    ``site`` is the innermost frame, ``file:line (function)`` shortened to the
    part after ``AffineInspectorLib/`` or ``site-packages/``; ``projectSite``
    the innermost frame inside AffineInspectorLib (where a fix goes), ``None``
    if there is none. For a ``RecursionError`` both name the frame repeated
    most often (the recursion), not wherever the stack happened to run out.
    """
    if "Traceback (most recent call last)" in stderr:
        block = stderr[stderr.rindex("Traceback (most recent call last)") :]
        frames = _frames(block.splitlines(), _FRAME)
        exception = _exceptionLine(block)
        lastLine = _lastLine(block)
        if not any("AffineInspectorLib" in frame["file"] for frame in frames):
            frames = _framesOfChain(stderr) or frames  # a MemoryError while handling a MemoryError: the first one
    elif "Fatal Python error" in stderr:
        block = stderr[stderr.rindex("Fatal Python error") :]
        current = block.split("Current thread", 1)[-1].split("\n\n", 1)[0]
        frames = list(reversed(_frames(current.splitlines(), _FAULT_FRAME)))  # listed innermost first
        exception = {"type": block.splitlines()[0].replace("Fatal Python error: ", "fatal "), "message": ""}
        lastLine = f"{block.splitlines()[0]} in {_where(frames[-1]) if frames else '?'}"
    else:
        return None
    if exception["type"] == "RecursionError" and frames:
        frames = _upToRecursion(frames)
    project = [frame for frame in frames if "AffineInspectorLib" in frame["file"]]
    return {
        "exception": exception["type"],
        "message": (exception["message"] or "")[:300],
        "site": _where(frames[-1]) if frames else None,
        "projectSite": _where(project[-1]) if project else None,
        "lastLine": lastLine[:300],
    }


def _framesOfChain(stderr: str) -> List[dict]:
    """The frames of the last traceback in a chain that passes through the project, if any."""
    blocks = stderr.split("Traceback (most recent call last)")[1:]
    for block in reversed(blocks):
        frames = _frames(block.splitlines(), _FRAME)
        if any("AffineInspectorLib" in frame["file"] for frame in frames):
            return frames
    return []


_REPEATED = re.compile(r"^\s*\[Previous line repeated (\d+) more times?\]")


def _frames(lines: List[str], pattern) -> List[dict]:
    """Frames in order, each with ``count``: 1 plus the repeats Python folded into "[Previous line repeated N]"."""
    frames: List[dict] = []
    for line in lines:
        match = pattern.match(line)
        if match:
            frames.append(dict(match.groupdict(), count=1))
            continue
        repeated = _REPEATED.match(line)
        if repeated and frames:
            frames[-1]["count"] += int(repeated.group(1))
    return frames


def _upToRecursion(frames: List[dict]) -> List[dict]:
    """The frames down to the first call of the function repeated most often (the recursion's entry).

    Its last frame is the recursing function; its last project frame the
    project function that recurses, or that called the recursion (``os.walk``).
    """
    totals: Dict[tuple, int] = {}
    for frame in frames:
        key = (frame["file"], frame["function"])
        totals[key] = totals.get(key, 0) + frame["count"]
    best = max(totals.items(), key=lambda item: item[1])[0]
    first = next(index for index, frame in enumerate(frames) if (frame["file"], frame["function"]) == best)
    return frames[: first + 1]


_STACK_HEADER = re.compile(r"^(Stack|Current thread 0x[0-9a-f]+|Thread 0x[0-9a-f]+) \(most recent call first\):$")


def stackSamples(stderr: str) -> List[List[dict]]:
    """Every faulthandler stack printed on ``stderr`` (SIGUSR1 samples, then the SIGABRT dump), outermost first.

    Of a dump with several threads only the signalled one ("Stack" or
    "Current thread") is kept.
    """
    samples: List[List[dict]] = []
    current: Optional[List[dict]] = None
    for line in stderr.splitlines():
        header = _STACK_HEADER.match(line.strip())
        if header:
            current = [] if not header.group(1).startswith("Thread") else None
            if current is not None:
                samples.append(current)
            continue
        match = _FAULT_FRAME.match(line)
        if match and current is not None:
            current.insert(0, dict(match.groupdict(), count=1))
        elif current is not None and current and not match:
            current = None
    return [sample for sample in samples if sample]


def hangSite(stderr: str) -> Optional[dict]:
    """Where a killed process was stuck: the deepest project function all stack samples share.

    Samples agree on the frames above the loop (or blocking call) and differ
    below it, so the last project frame of their common prefix (compared by
    file and function, not line) is where the work does not end.
    """
    samples = stackSamples(stderr)
    if not samples:
        return None
    common = []
    for frames in zip(*samples):
        if len({(frame["file"], frame["function"]) for frame in frames}) != 1:
            break
        common.append(frames[-1])
    project = [frame for frame in common if "AffineInspectorLib" in frame["file"]]
    last = samples[-1]
    lastProject = [frame for frame in last if "AffineInspectorLib" in frame["file"]]
    return {
        "exception": "hang",
        "message": "",
        "site": _where(last[-1]),
        "projectSite": _function(project[-1]) if project else (_function(lastProject[-1]) if lastProject else None),
        "samples": len(samples),
        "lastLine": f"{len(samples)} stack samples; they share {_where(common[-1]) if common else 'nothing'}; "
        f"the last ends in {_where(last[-1])}",
        "chain": [_where(frame) for frame in lastProject],
    }


def _function(frame: dict) -> str:
    """``file (function)`` without the line: samples of one loop stop on different lines."""
    return _where(frame).split(":")[0] + f" ({frame['function'].strip()})"


def _exceptionLine(block: str) -> dict:
    for line in reversed([line for line in block.splitlines() if line.strip()]):
        if line.startswith(" ") or line.startswith("^"):
            continue
        match = _EXCEPTION.match(line)
        if match:
            return {"type": match.group("type"), "message": match.group("message")}
    return {"type": "unknown", "message": ""}


def _lastLine(block: str) -> str:
    lines = [line for line in block.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _where(frame: dict) -> str:
    path = frame["file"]
    for marker in ("AffineInspectorLib/", "site-packages/", "lib/python3"):
        if marker in path:
            path = path[path.rindex(marker) :]
            break
    return f"{path}:{frame['line']} ({frame['function'].strip()})"


def strictJSON(text: str):
    """Parse ``text`` as JSON refusing NaN and Infinity (Python's json accepts them by default)."""

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def stderrLines(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def checkRun(
    *,
    exitCode: Optional[int],
    stdout: str,
    stderr: str,
    timedOut: bool,
    wantsJSON: bool,
    failOn: Optional[str] = None,
    mentions: Tuple[str, ...] = (),
    mentionsWithReason: bool = False,
) -> List[Problem]:
    """The contract problems of one finished run (output checks on files are the harness's).

    ``mentions``: names of entries the run cannot read; each must appear in
    the output, and with ``mentionsWithReason`` on a line that also says why
    (:data:`UNREADABLE_WORDS`): "no DICOM image found in X" does not count.
    """
    if timedOut:
        return [("hang", "no exit before the timeout (killed)")]
    problems: List[Problem] = []
    if exitCode is not None and exitCode < 0:
        problems.append(("signal", f"killed by signal {-exitCode}"))
    if hasTraceback(stderr):
        site = crashSite(stderr) or {}
        problems.append(("crash", f"{site.get('exception')}: {site.get('message')} at {site.get('site')}"))
    if exitCode == EXIT_INTERNAL:
        problems.append(("exit70", stderrLines(stderr)[-1] if stderr.strip() else "exit 70"))
    document = None
    if wantsJSON and stdout.strip():
        try:
            document = strictJSON(stdout)
        except ValueError as error:
            problems.append(("nonStrictJSON", str(error)[:200]))
    problems.extend(_exitCodeProblems(exitCode, stdout, stderr, wantsJSON, document, failOn))
    if exitCode in (EXIT_OK, EXIT_UNUSABLE, EXIT_FINDINGS) and not hasTraceback(stderr):
        for name in mentions:
            if not isMentioned(name, stdout + "\n" + stderr, withReason=mentionsWithReason):
                problems.append(("silentSkip", f"{name!r} was not read and nothing says so"))
    if exitCode in (EXIT_OK, EXIT_FINDINGS) and stderrLines(stderr) and not hasTraceback(stderr):
        problems.append(("noisyStderr", stderrLines(stderr)[0][:200]))
    return problems


UNREADABLE_WORDS = ("permission", "denied", "unreadable", "not readable", "cannot read", "could not read", "access")


def isMentioned(name: str, output: str, *, withReason: bool) -> bool:
    """``name`` appears in ``output`` (with ``withReason``: on a line that also says it could not be read)."""
    if not withReason:
        return name in output
    return any(name in line and any(word in line.lower() for word in UNREADABLE_WORDS) for line in output.splitlines())


def ownLines(stdout: str, stderr: str) -> str:
    """What the tool itself said: stdout and its own ``affine-inspector:`` lines on stderr (not library warnings)."""
    own = [line for line in stderr.splitlines() if line.startswith("affine-inspector")]
    return stdout + "\n" + "\n".join(own)


def _exitCodeProblems(exitCode, stdout, stderr, wantsJSON, document, failOn) -> List[Problem]:
    if exitCode is None or exitCode < 0:
        return []
    lines = stderrLines(stderr)
    if exitCode not in (EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, EXIT_FINDINGS, EXIT_INTERNAL):
        return [("exitContract", f"exit {exitCode} is not in the contract")]
    if exitCode == EXIT_USAGE:
        return [("exitContract", f"exit 2 (usage) for a valid command line: {(lines or [''])[0][:200]}")]
    if exitCode in (EXIT_UNUSABLE, EXIT_INTERNAL):
        if hasTraceback(stderr):
            return [("exitContract", f"exit {exitCode} with a traceback")]
        if len(lines) != 1:
            return [("exitContract", f"exit {exitCode} with {len(lines)} lines on stderr (one expected)")]
        return []
    problems: List[Problem] = []
    if wantsJSON and not stdout.strip():
        problems.append(("exitContract", f"exit {exitCode} with --json but nothing on stdout"))
    if failOn and isinstance(document, dict):
        worst = _worstSeverity(document)
        expected = EXIT_FINDINGS if worst is not None and SEVERITIES.index(worst) <= SEVERITIES.index(failOn) else 0
        if exitCode != expected:
            problems.append(("exitContract", f"--fail-on {failOn}: exit {exitCode}, worst finding {worst}"))
    return problems


def _worstSeverity(document: dict) -> Optional[str]:
    findings = list(document.get("unreadableFiles") or [])
    for series in document.get("series") or []:
        findings.extend(series.get("findings") or [])  # each series' findings (SeriesGeometry.findings)
    severities = {finding.get("severity") for finding in findings if isinstance(finding, dict)}
    ranked = [severity for severity in SEVERITIES if severity in severities]
    return ranked[0] if ranked else None


def checkQuietEnd(*, exitCode: Optional[int], stderr: str, timedOut: bool) -> List[Problem]:
    """A run whose stdout was a broken pipe or closed: it must end, without a traceback or 'Exception ignored'."""
    if timedOut:
        return [("hang", "no exit before the timeout with stdout broken or closed")]
    if exitCode is not None and exitCode < 0:
        return [("signal", f"killed by signal {-exitCode} with stdout broken or closed")]
    if hasTraceback(stderr) or "Exception ignored" in stderr or "BrokenPipeError" in stderr:
        line = (stderrLines(stderr) or [""])[-1]
        return [("brokenPipe", f"exit {exitCode}, stderr ends: {line[:200]}")]
    return []


def primaryClass(problems: List[Problem]) -> str:
    """The worst class among ``problems`` (``ok`` if none)."""
    names = {name for name, _ in problems}
    return next((name for name in CLASSES if name in names), "ok")


def isFailure(problems: List[Problem]) -> bool:
    return any(name not in INFORMATIONAL for name, _ in problems)
