"""``affine-inspector compare A B``: the grids of two volumes (files or DICOM folders), A against reference B."""

from __future__ import annotations

import argparse
from typing import List

from ..geometry import serialize
from . import common
from .slicerhost import hostAndLogic

NAME = "compare"


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME, parents=parents, help="compare the grids of two volumes (files or DICOM folders)"
    )
    parser.add_argument("volume", metavar="A", help="volume file (NRRD/NIfTI/MetaImage) or DICOM file/folder")
    parser.add_argument("reference", metavar="B", help="the reference volume, same kinds")
    common.addJSONOptions(parser, help="print the comparison as JSON")
    common.addRegularizationOption(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    host, logic = hostAndLogic()
    volume = host.load(arguments.volume, regularize=arguments.regularize)
    reference = host.load(arguments.reference, regularize=arguments.regularize)
    comparison = logic.compare(volume, reference)
    if arguments.json:
        common.writeJSON(serialize.plain(comparison), arguments.indent)
        return 0
    lines = [f"{arguments.volume} compared with reference {arguments.reference}:"]
    lines += [f"  {message}" for message in comparison.messages]
    lines.append("  voxel-to-voxel (input IJK -> reference IJK):")
    lines += ["    " + "  ".join(f"{value:10.4f}" for value in row) for row in comparison.voxelToVoxel]
    common.write("\n".join(lines) + "\n")
    return 0
