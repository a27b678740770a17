"""What every command shares: the ``--json``/``--indent``/``--fail-on`` options, writing to stdout, and the
exit status for findings."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Iterable, List, Optional

from ..dicom.outputs import OutputError
from ..geometry import serialize
from ..geometry.findings import SEVERITIES, Finding, Kind
from .exitcodes import ExitCode


def addJSONOptions(parser: argparse.ArgumentParser, help: str = "print strict JSON instead of text") -> None:
    parser.add_argument("--json", action="store_true", help=help)
    parser.add_argument(
        "--indent", type=int, default=None, metavar="N", help="indent the JSON by N spaces (default: compact)"
    )


def addFailOn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        choices=[str(severity) for severity in SEVERITIES],
        help="exit with status 3 when any finding has this severity or worse",
    )


def addRegularizationOption(parser: argparse.ArgumentParser) -> None:
    """``--no-regularization``: load DICOM without Slicer's acquisition transform (on by default, as in Slicer)."""
    parser.add_argument(
        "--no-regularization",
        dest="regularize",
        action="store_false",
        help="load DICOM without the acquisition (grid) transform that Slicer adds by default to a volume whose "
        "slices leave its grid (Slicer's setting 'Acquisition geometry regularization' = none)",
    )


_state = {"debug": False, "stdoutGone": False}


def setDebug(debug: bool) -> None:
    """``--debug`` was given: library warnings, native messages and tracebacks are shown."""
    _state["debug"] = debug


def debugRequested() -> bool:
    return _state["debug"]


def addMkdirOption(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mkdir", action="store_true", help="create the output's folder if it does not exist (else refused)"
    )


def announceFolder(folder: Optional[str], option: str) -> None:
    """Say on stderr that ``folder`` was created for ``option`` (``--mkdir``): a new folder is never silent."""
    if folder:
        note(f"created the folder {folder} for {option}")


MESSAGE_CHARACTERS = 2000
"""Longest message printed: a name read from a file (a SeriesDescription whose length field lies can hold the
whole rest of the file) must not turn one line into thousands."""


def oneLine(message: str) -> str:
    """``message`` as one line: line breaks and control characters (from file contents) become spaces, and it
    is shortened to :data:`MESSAGE_CHARACTERS`."""
    text = " ".join("".join(character if character.isprintable() else " " for character in message).split())
    return text if len(text) <= MESSAGE_CHARACTERS else text[: MESSAGE_CHARACTERS - 3] + "..."


def note(message: str) -> None:
    """One line on stderr, ``affine-inspector: message``."""
    try:
        sys.stderr.write(f"affine-inspector: {oneLine(message)}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def write(text: str) -> None:
    """Write to stdout; once stdout is closed or a broken pipe, the rest of the output is dropped quietly.

    The command goes on, so its exit status still says what it found (``inspect ... --fail-on error | head``
    ends with 3 when there is an error, as without ``head``). A full disk (ENOSPC) or another write error
    raises OutputError: exit 1, one line.
    """
    stream = sys.stdout
    if stream is None or _state["stdoutGone"]:  # started with file descriptor 1 closed, or the reader left
        return
    try:
        stream.write(text)
    except BrokenPipeError:
        stdoutGone()
    except OSError as error:
        raise OutputError(f"cannot write the output to stdout ({error.strerror or error})") from None


def flush() -> None:
    """Flush stdout (where a full disk or a closed pipe shows up for buffered output); see :func:`write`."""
    stream = sys.stdout
    if stream is None or _state["stdoutGone"]:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        stdoutGone()
    except OSError as error:
        stdoutGone()  # what is buffered cannot be written: drop it, so that exiting does not try again
        raise OutputError(f"cannot write the output to stdout ({error.strerror or error})") from None


def stdoutGone() -> None:
    """Stdout's reader left: point stdout at /dev/null so that nothing (the interpreter's final flush
    included) tries to write there again."""
    _state["stdoutGone"] = True
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def writeJSON(value: Any, indent: Optional[int] = None) -> None:
    """Write ``value`` as strict JSON (the one serialiser) and a newline."""
    write(serialize.dumps(value, indent=indent) + "\n")


def exitForFindings(failOn: Optional[str], findings: Iterable[Finding]) -> ExitCode:
    """:attr:`ExitCode.FINDINGS` when a finding is at or above ``failOn`` (a severity name), else OK.

    An ``internalError`` finding (a bug met on one file, which was left out while the rest was analysed and
    written) raises :class:`InternalErrors` instead: the output is complete, and exit 70 says it holds a bug.
    """
    findings = list(findings)
    internal = [finding for finding in findings if finding.kind == Kind.internalError]
    if internal:
        raise InternalErrors(internal)
    if failOn:
        worst = SEVERITIES.index(failOn)
        if any(SEVERITIES.index(finding.severity) <= worst for finding in findings):
            return ExitCode.FINDINGS
    return ExitCode.OK


class InternalErrors(Exception):
    """Some files met a bug (``internalError`` findings, already in the output): exit 70 with one line."""

    def __init__(self, findings: List[Finding]) -> None:
        first = findings[0]
        super().__init__(
            f"{len(findings)} file(s) were left out after an internal error, reported as internalError findings in "
            f"the output (first: {first.message})"
        )


def nonNegative(text: str) -> float:
    """argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value
