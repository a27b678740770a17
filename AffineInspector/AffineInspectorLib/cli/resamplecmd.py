"""``affine-inspector resample INPUT --reference REF --output OUT``: INPUT on REF's grid, written to a new file."""

from __future__ import annotations

import argparse
import os
from typing import List, Sequence

from ..geometry.errors import GeometryError
from . import common

NAME = "resample"
VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
"""What Slicer's volumes logic reads and writes (the same list as :data:`..mrml.host.VOLUME_EXTENSIONS`)."""


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(NAME, parents=parents, help="resample INPUT onto REF's grid and write OUT")
    parser.add_argument("input", metavar="INPUT", help="volume file or DICOM folder to resample (not modified)")
    parser.add_argument("--reference", required=True, metavar="REF", help="volume whose grid the output takes")
    parser.add_argument("--output", required=True, metavar="OUT", help="new file: .nrrd, .nii, .nii.gz, .mha")
    parser.add_argument("--interpolation", choices=("nearest", "linear", "cubic"), help="default: by --label")
    parser.add_argument("--label", action="store_true", help="INPUT is a label map (nearest neighbour by default)")
    parser.add_argument(
        "--compress", action="store_true", help="compress the output (gzip NRRD / MetaImage; .nii.gz always is)"
    )
    common.addRegularizationOption(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    output = arguments.output
    _refuseOutput(output, (arguments.input, arguments.reference))
    interpolation = arguments.interpolation or ("nearest" if arguments.label else "linear")
    # Two volume files: SimpleITK, no scene (dicom/imageresample.py says what differs). A DICOM series: Slicer's
    # loading (acquisition transform included) and resampling through every transform, in a scene.
    from ..dicom.imageresample import directProblem, resampleFile

    if directProblem(arguments.input, arguments.reference, interpolation) is None:
        resampleFile(
            arguments.input, arguments.reference, output, interpolation=interpolation, compress=arguments.compress
        )
    else:
        _resampleInScene(arguments, interpolation)
    print(
        f"Wrote {output}: {arguments.input} resampled onto the grid of {arguments.reference} "
        f"({interpolation} interpolation)."
    )
    return 0


def _resampleInScene(arguments: argparse.Namespace, interpolation: str) -> None:
    """Load both as Slicer does (slicer-core), resample through every transform, write; no display nodes."""
    from .slicerhost import hostAndLogic

    host, logic = hostAndLogic(displayNodes=False)
    volume = host.load(arguments.input, labelmap=arguments.label, regularize=arguments.regularize)
    reference = host.load(arguments.reference, regularize=arguments.regularize)
    resampled = logic.resample(
        volume, reference, interpolation=interpolation, labelmap=arguments.label, displayNodes=False
    )
    host.saveVolume(resampled, arguments.output, compress=arguments.compress)


def _refuseOutput(output: str, inputs: Sequence[str]) -> None:
    """GeometryError (exit 1, nothing written) for an output that is not a new file of a volume format."""
    if not output.lower().endswith(VOLUME_EXTENSIONS):
        raise GeometryError(f"--output must end with one of {', '.join(VOLUME_EXTENSIONS)}; nothing written")
    for given in inputs:
        if os.path.exists(output) and os.path.exists(given) and os.path.samefile(output, given):
            raise GeometryError(f"--output {output} is an input; choose a new file. Nothing written")
    if os.path.exists(output):
        raise GeometryError(f"{output} exists; choose a new file name. Nothing written")
