"""``affine-inspector align IMAGE DICOM_PATH``: does an image file (a segmentation, any volume) line up with a
DICOM series, what exactly is wrong, and (``--output``) the image on the DICOM series' own voxels."""

from __future__ import annotations

import argparse
import csv
import io
import os
from typing import List, Optional

from ..dicom import aligner
from ..dicom.imagefiles import READ_EXTENSIONS
from ..dicom.imagewriters import WRITE_EXTENSIONS
from ..dicom.outputs import newFiles, refuseOutput
from ..geometry.alignment import SAME_GRID_TOLERANCE_MM
from ..geometry.errors import GeometryError
from . import common

NAME = "align"


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME,
        parents=parents,
        help="does an image (e.g. a NIfTI mask) line up with a DICOM series; what is wrong; fix it",
        description="Compare an image file, read through its own header, with a DICOM series voxel by voxel: "
        "the relation, the axis map in the file's own index order, the named header mistakes, the slice map "
        "and a numpy recipe that turns the file's array into DICOM order [k, j, i].",
    )
    parser.add_argument("image", metavar="IMAGE", help=f"image file ({', '.join(READ_EXTENSIONS)})")
    parser.add_argument("dicom", metavar="DICOM_PATH", help="the DICOM series: its folder or one of its files")
    parser.add_argument("--series", metavar="UID", help="SeriesInstanceUID, when DICOM_PATH holds several series")
    parser.add_argument(
        "--tolerance",
        type=common.nonNegative,
        default=SAME_GRID_TOLERANCE_MM,
        metavar="MM",
        help=f"largest voxel-centre distance that counts as the same voxel (default {SAME_GRID_TOLERANCE_MM:g} mm)",
    )
    parser.add_argument(
        "--output",
        metavar="OUT",
        help=f"write IMAGE on the DICOM voxels ({', '.join(WRITE_EXTENSIONS)}; .npy is [k, j, i] in Slicer's order)",
    )
    parser.add_argument("--map", metavar="CSV", help="write the slice map (DICOM file -> image slice) as CSV")
    parser.add_argument(
        "--interpolation",
        choices=aligner.INTERPOLATIONS,
        help="when sampling: default nearest for integer (label) images, linear otherwise",
    )
    parser.add_argument(
        "--trust",
        choices=("auto", "header"),
        default="auto",
        help="auto: copy voxels through a one-to-one correspondence when there is one; header: always sample "
        "through the image header",
    )
    parser.add_argument(
        "--check-content",
        action="store_true",
        help="compare the image's pixels with the DICOM pixels slice by slice (for intensity images)",
    )
    common.addMkdirOption(parser)
    common.addJSONOptions(parser)
    common.addFailOn(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    given = (arguments.image, arguments.dicom)
    if arguments.output:  # before any work; again with the series' files once they are known
        refuseOutput(
            arguments.output, option="--output", inputs=given, extensions=WRITE_EXTENSIONS, mkdir=arguments.mkdir
        )
    if arguments.map:
        if arguments.output and os.path.abspath(arguments.map) == os.path.abspath(arguments.output):
            raise GeometryError("--map and --output name the same file; nothing written")
        refuseOutput(arguments.map, option="--map", inputs=given, mkdir=arguments.mkdir)
    inputs = aligner.loadInputs(arguments.image, arguments.dicom, seriesUID=arguments.series)
    result = aligner.align(inputs, toleranceMm=arguments.tolerance, checkContent=arguments.check_content)
    if arguments.output:
        aligner.writeAligned(
            inputs,
            result,
            arguments.output,
            trustHeader=arguments.trust == "header",
            interpolation=arguments.interpolation,
            mkdir=arguments.mkdir,
        )
        common.announceFolder(result.output.createdFolder if result.output else None, "--output")
    if arguments.map:
        common.announceFolder(writeSliceMap(arguments.map, result, mkdir=arguments.mkdir), "--map")
    if arguments.json:
        common.writeJSON(result, arguments.indent)
    else:
        common.write(aligner.textReport(result))
    return common.exitForFindings(arguments.fail_on, result.findings)


def writeSliceMap(path: str, result: aligner.AlignmentResult, *, mkdir: bool = False) -> Optional[str]:
    """CSV: k, file, sopInstanceUID, imageSlice (empty without a one-to-one correspondence); a new file, written
    through :func:`..dicom.outputs.newFiles`. Returns the folder created for it, if any."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["k", "file", "sopInstanceUID", "imageSlice"])
    for k, entry in enumerate(result.sliceMap):
        writer.writerow([k, entry.file, entry.sopInstanceUID, "" if entry.imageSlice is None else entry.imageSlice])
    with newFiles(path, mkdir=mkdir) as written:
        with open(written.staged, "w", newline="", encoding="utf-8") as stream:
            stream.write(buffer.getvalue())
    return written.createdFolder
