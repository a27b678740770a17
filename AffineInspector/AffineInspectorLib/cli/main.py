"""The ``affine-inspector`` command line.

Exit status: 0 done (findings do not change it unless ``--fail-on`` is
given), 1 no DICOM image found, 2 usage error, 3 a finding at or above the
``--fail-on`` severity.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from ..dicom.report import toJSON, toText
from ..dicom.series import inspectPaths
from ..dicom.synthetic import builtInSampleSpec, writeSeries
from ..geometry.findings import SEVERITIES, Tolerances

EXIT_OK, EXIT_NO_DICOM, EXIT_USAGE, EXIT_FINDINGS = 0, 1, 2, 3

_DEFAULTS = Tolerances()


def buildParser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="affine-inspector",
        description="Show the voxel-to-patient geometry of DICOM series and every slice that breaks it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    inspect = commands.add_parser(
        "inspect", help="report the affine and per-slice geometry of every series under PATH(s)"
    )
    inspect.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files and/or folders (searched recursively)")
    inspect.add_argument("--json", action="store_true", help='print one JSON object {"series": [...]}')
    inspect.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        help="exit with status 3 when any finding has this severity or worse",
    )
    inspect.add_argument(
        "--spacing-tolerance",
        type=_nonNegative,
        default=_DEFAULTS.spacingToleranceMm,
        metavar="MM",
        help="gap difference from the regular gap still counted as uniform (default %(default)s mm, Slicer's)",
    )
    inspect.add_argument(
        "--tilt-tolerance",
        type=_nonNegative,
        default=_DEFAULTS.tiltToleranceDeg,
        metavar="DEG",
        help="angle between IPP step and slice normal not reported as tilt (default %(default)s deg)",
    )
    inspect.add_argument(
        "--duplicate-tolerance",
        type=_nonNegative,
        default=_DEFAULTS.duplicateToleranceMm,
        metavar="MM",
        help="IPPs closer than this are the same position (default %(default)s mm)",
    )
    inspect.add_argument(
        "--orientation-tolerance",
        type=_nonNegative,
        default=_DEFAULTS.orientationToleranceDeg,
        metavar="DEG",
        help="IOP angle from the first file's still counted as the same orientation (default %(default)s deg)",
    )

    inspect.add_argument(
        "--slicer",
        action="store_true",
        help="also load each series with Slicer's reader (slicer-core) and compare its slice corners with the DICOM",
    )

    compare = commands.add_parser("compare", help="compare the grids of two volumes (files or DICOM folders)")
    compare.add_argument("volume", metavar="A", help="volume file (NRRD/NIfTI/MetaImage) or DICOM file/folder")
    compare.add_argument("reference", metavar="B", help="the reference volume, same kinds")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")

    resample = commands.add_parser("resample", help="resample INPUT onto REF's grid and write OUT")
    resample.add_argument("input", metavar="INPUT", help="volume file or DICOM folder to resample (not modified)")
    resample.add_argument("--reference", required=True, metavar="REF", help="volume whose grid the output takes")
    resample.add_argument("--output", required=True, metavar="OUT", help="new file: .nrrd, .nii, .nii.gz, .mha")
    resample.add_argument("--interpolation", choices=("nearest", "linear", "cubic"), help="default: by --label")
    resample.add_argument("--label", action="store_true", help="INPUT is a label map (nearest neighbour by default)")

    gui = commands.add_parser("gui", help="open the panel in a window (PySide6 + slicer-core)")
    gui.add_argument("paths", nargs="*", metavar="PATH", help="DICOM folders/files and volume files to load")
    gui.add_argument("--offscreen", action="store_true", help="render without a display (Qt offscreen platform)")
    gui.add_argument("--screenshot", metavar="FILE", help="write the window to FILE (.png) and exit")
    gui.add_argument(
        "--tab",
        choices=("geometry", "slices", "findings"),
        default="slices",
        help="detail tab to show (default: %(default)s)",
    )
    gui.add_argument(
        "--size", type=_size, default=(1000, 1100), metavar="WxH", help="window size in pixels (default 1000x1100)"
    )

    sample = commands.add_parser("sample", help="write the built-in sample series (tilted CT, one slice missing)")
    sample.add_argument("folder", help="folder to write into (must be empty or not exist)")
    return parser


def _nonNegative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _size(text: str):
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}") from None
    if width < 200 or height < 200:
        raise argparse.ArgumentTypeError(f"at least 200x200, got {text}")
    return width, height


def main(argv: Optional[List[str]] = None) -> int:
    arguments = buildParser().parse_args(argv)
    if arguments.command == "gui":
        return _gui(arguments)
    if arguments.command == "sample":
        return _sample(arguments.folder)
    if arguments.command in ("compare", "resample"):
        from . import slicercommands as clislicer  # slicer-core only when needed

        return clislicer.compare(arguments) if arguments.command == "compare" else clislicer.resample(arguments)
    return _inspect(arguments)


def _inspect(arguments) -> int:
    result = inspectPaths(
        arguments.paths,
        spacingToleranceMm=arguments.spacing_tolerance,
        tiltToleranceDeg=arguments.tilt_tolerance,
        duplicateToleranceMm=arguments.duplicate_tolerance,
        orientationToleranceDeg=arguments.orientation_tolerance,
    )
    if not result.series:
        sys.stderr.write(
            f"affine-inspector: no DICOM image found in {', '.join(arguments.paths)} "
            f"({len(result.unreadable)} file(s) looked at and skipped).\n"
        )
        for finding in result.unreadable[:20]:
            sys.stderr.write(f"  {finding.message}\n")
        if arguments.json:
            sys.stdout.write(toJSON(result) + "\n")
        return EXIT_NO_DICOM
    if arguments.slicer:
        from . import slicercommands as clislicer

        return clislicer.inspectWithSlicer(arguments, result, _exitForFindings)
    sys.stdout.write(toJSON(result) + "\n" if arguments.json else toText(result))
    return _exitForFindings(arguments, result)


def _exitForFindings(arguments, result) -> int:
    if arguments.fail_on:
        worst = SEVERITIES.index(arguments.fail_on)
        findings = [f for series in result.series for f in series.warnings] + result.unreadable
        if any(SEVERITIES.index(f.severity) <= worst for f in findings):
            return EXIT_FINDINGS
    return EXIT_OK


def _gui(arguments) -> int:
    try:
        from ..ui import window as gui
        from ..ui.qtcompat import qt  # noqa: F401  (PySide6 present?)
    except ImportError as error:
        sys.stderr.write(
            f"affine-inspector: the window needs PySide6 and slicer-core ({error}); install them with: "
            f"pip install 'affine-inspector[slicer,gui]'\n"
        )
        return EXIT_USAGE
    return gui.run(
        arguments.paths,
        offscreen=arguments.offscreen,
        screenshot=arguments.screenshot,
        tab=arguments.tab,
        size=arguments.size,
    )


def _sample(folder: str) -> int:
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        sys.stderr.write(f"affine-inspector: {folder} exists and is not an empty folder; nothing written.\n")
        return EXIT_USAGE
    paths = writeSeries(builtInSampleSpec(), folder)
    sys.stdout.write(f"Wrote {len(paths)} files of the built-in sample to {folder}\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
