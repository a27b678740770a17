"""What every command shares: the ``--json``/``--indent``/``--fail-on`` options, writing to stdout, and the
exit status for findings."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable, Optional

from ..geometry import serialize
from ..geometry.findings import SEVERITIES, Finding
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


def write(text: str) -> None:
    """Write to stdout (a closed pipe is handled once, in :func:`.main.main`)."""
    sys.stdout.write(text)


def writeJSON(value: Any, indent: Optional[int] = None) -> None:
    """Write ``value`` as strict JSON (the one serialiser) and a newline."""
    write(serialize.dumps(value, indent=indent) + "\n")


def exitForFindings(failOn: Optional[str], findings: Iterable[Finding]) -> ExitCode:
    """:attr:`ExitCode.FINDINGS` when a finding is at or above ``failOn`` (a severity name), else OK."""
    if failOn:
        worst = SEVERITIES.index(failOn)
        if any(SEVERITIES.index(finding.severity) <= worst for finding in findings):
            return ExitCode.FINDINGS
    return ExitCode.OK


def nonNegative(text: str) -> float:
    """argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value
