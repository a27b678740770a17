"""``affine-inspector inspect PATH...``: the affine and per-slice geometry of every series (headers only)."""

from __future__ import annotations

import argparse
from typing import List

from ..dicom.report import toText
from ..dicom.series import InspectionResult, inspectPaths
from ..geometry.errors import GeometryError
from ..geometry.findings import Finding, Tolerances
from . import common

NAME = "inspect"
_DEFAULTS = Tolerances()


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME, parents=parents, help="report the affine and per-slice geometry of every series under PATH(s)"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files and/or folders (searched recursively)")
    common.addJSONOptions(parser, help='print one JSON object {"series": [...], "unreadableFiles": [...], ...}')
    common.addFailOn(parser)
    _addTolerance(
        parser,
        "--spacing-tolerance",
        "spacingToleranceMm",
        "MM",
        "gap difference from the regular gap still counted as uniform (default %(default)s mm, Slicer's)",
    )
    _addTolerance(
        parser,
        "--tilt-tolerance",
        "tiltToleranceDeg",
        "DEG",
        "angle between IPP step and slice normal not reported as tilt (default %(default)s deg)",
    )
    _addTolerance(
        parser,
        "--duplicate-tolerance",
        "duplicateToleranceMm",
        "MM",
        "IPPs closer than this are the same position (default %(default)s mm)",
    )
    _addTolerance(
        parser,
        "--orientation-tolerance",
        "orientationToleranceDeg",
        "DEG",
        "IOP angle from the first file's still counted as the same orientation (default %(default)s deg)",
    )
    parser.add_argument(
        "--slicer",
        action="store_true",
        help="also load each series with Slicer's reader (slicer-core) and compare its slice corners with the DICOM",
    )
    common.addRegularizationOption(parser)
    parser.set_defaults(run=run)


def _addTolerance(parser: argparse.ArgumentParser, option: str, field: str, metavar: str, help: str) -> None:
    parser.add_argument(
        option, dest=field, type=common.nonNegative, default=getattr(_DEFAULTS, field), metavar=metavar, help=help
    )


def run(arguments: argparse.Namespace) -> int:
    result = inspectPaths(
        arguments.paths,
        spacingToleranceMm=arguments.spacingToleranceMm,
        tiltToleranceDeg=arguments.tiltToleranceDeg,
        duplicateToleranceMm=arguments.duplicateToleranceMm,
        orientationToleranceDeg=arguments.orientationToleranceDeg,
    )
    if not result.series:
        if arguments.json:
            common.writeJSON(result, arguments.indent)
        common.exitForFindings(None, result.unreadableFiles)  # a bug met on a file says so first (exit 70)
        example = f"; e.g. {result.unreadableFiles[0].message.rstrip('.')}" if result.unreadableFiles else ""
        raise GeometryError(
            f"no DICOM image found in {', '.join(arguments.paths)} "
            f"({len(result.unreadableFiles)} file(s) looked at and skipped{example})"
        )
    if arguments.slicer:
        from .slicerhost import inspectWithSlicer  # slicer-core only when asked for

        inspectWithSlicer(arguments, result)
    elif arguments.json:
        common.writeJSON(result, arguments.indent)
    else:
        common.write(toText(result))
    return common.exitForFindings(arguments.fail_on, allFindings(result))


def allFindings(result: InspectionResult) -> List[Finding]:
    return [finding for series in result.series for finding in series.findings] + result.unreadableFiles
