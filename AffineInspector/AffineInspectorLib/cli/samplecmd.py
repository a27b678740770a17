"""``affine-inspector sample FOLDER``: write the built-in sample series (a tilted CT with a missing slice)."""

from __future__ import annotations

import argparse
import os
from typing import List

from ..dicom.outputs import makeFolder
from ..dicom.synthetic import builtInSampleSpec, writeSeries
from ..geometry.errors import GeometryError
from . import common

NAME = "sample"


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME, parents=parents, help="write the built-in sample series (tilted CT, one slice missing)"
    )
    parser.add_argument("folder", help="folder to write into (must be empty or not exist; its parent must exist)")
    common.addMkdirOption(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    folder = arguments.folder
    if os.path.lexists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        raise GeometryError(f"{folder} exists and is not an empty folder; nothing written")
    parent = os.path.dirname(os.path.abspath(folder))
    created = None
    if not os.path.isdir(parent):
        if not arguments.mkdir:
            raise GeometryError(f"{folder}: no such folder {parent} (add --mkdir to create it); nothing written")
        created = makeFolder(parent, folder)
    common.announceFolder(created, "FOLDER")
    paths = writeSeries(builtInSampleSpec(), folder)
    common.write(f"Wrote {len(paths)} files of the built-in sample to {folder}\n")
    return 0
