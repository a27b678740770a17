"""``affine-inspector resample INPUT --reference REF --output OUT``: INPUT on REF's grid, written to a new file."""

from __future__ import annotations

import argparse
from typing import Any, List, Optional, Sequence

from ..dicom.imagefiles import VOLUME_EXTENSIONS
from ..dicom.outputs import refuseOutput
from . import common

NAME = "resample"


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(NAME, parents=parents, help="resample INPUT onto REF's grid and write OUT")
    parser.add_argument("input", metavar="INPUT", help="volume file or DICOM folder to resample (not modified)")
    parser.add_argument("--reference", required=True, metavar="REF", help="volume whose grid the output takes")
    parser.add_argument("--output", required=True, metavar="OUT", help=f"new file: {', '.join(VOLUME_EXTENSIONS)}")
    parser.add_argument("--interpolation", choices=("nearest", "linear", "cubic"), help="default: by --label")
    parser.add_argument("--label", action="store_true", help="INPUT is a label map (nearest neighbour by default)")
    parser.add_argument(
        "--compress", action="store_true", help="compress the output (gzip NRRD / MetaImage; .nii.gz always is)"
    )
    common.addMkdirOption(parser)
    common.addRegularizationOption(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    output = arguments.output
    _refuseOutput(output, (arguments.input, arguments.reference), mkdir=arguments.mkdir)
    interpolation = arguments.interpolation or ("nearest" if arguments.label else "linear")
    try:
        created = _resampleDirectly(arguments, interpolation)
    except _SceneNeeded as reason:
        if common.debugRequested():
            common.note(f"resample takes Slicer's scene path: {reason}")
        created = _resampleInScene(arguments, interpolation)
    common.announceFolder(created, "--output")
    common.write(
        f"Wrote {output}: {arguments.input} resampled onto the grid of {arguments.reference} "
        f"({interpolation} interpolation).\n"
    )
    return 0


class _SceneNeeded(Exception):
    """The inputs need Slicer's loading (acquisition transform included) and resampling in a scene; why."""


def _resampleDirectly(arguments: argparse.Namespace, interpolation: str) -> Optional[str]:
    """Resample with SimpleITK, no scene (dicom/imageresample.py: two volume files, or a plain DICOM series onto
    a volume file; it says what differs); returns the folder ``--mkdir`` created, if any. _SceneNeeded when
    these inputs need Slicer's path."""
    from ..dicom.imageresample import directInput, resampleFile
    from ..dicom.plainseries import SeriesReadError

    direct, reason = directInput(arguments.input, arguments.reference, interpolation)
    if direct is None:
        raise _SceneNeeded(reason)
    try:
        return resampleFile(
            direct.path,
            arguments.reference,
            arguments.output,
            interpolation=interpolation,
            compress=arguments.compress,
            mkdir=arguments.mkdir,
            series=direct.series,
        )
    except SeriesReadError as error:  # Slicer's reader would try DCMTK after GDCM: its answer is the answer
        raise _SceneNeeded(str(error)) from error


def _resampleInScene(arguments: argparse.Namespace, interpolation: str) -> Optional[str]:
    """Load both as Slicer does (slicer-core), resample through every transform, write; no display nodes.
    Returns the folder ``--mkdir`` created, if any."""
    from ..dicom.imageresample import refuseEmptyResult
    from .slicerhost import hostAndLogic

    host, logic = hostAndLogic(displayNodes=False)
    volume = host.load(arguments.input, labelmap=arguments.label, regularize=arguments.regularize)
    reference = host.load(arguments.reference, regularize=arguments.regularize)
    resampled = logic.resample(
        volume, reference, interpolation=interpolation, labelmap=arguments.label, displayNodes=False
    )
    refuseEmptyResult(
        _nodeHoldsData(resampled),
        lambda: _nodeHoldsData(volume),
        arguments.input,
        arguments.reference,
        arguments.output,
    )
    return host.saveVolume(resampled, arguments.output, compress=arguments.compress, mkdir=arguments.mkdir)


def _refuseOutput(output: str, inputs: Sequence[str], *, mkdir: bool = False) -> None:
    """GeometryError (exit 1, nothing written) for an output that is not a new file of a volume format: the one
    refusal of every output (:func:`..dicom.outputs.refuseOutput`: an existing file or symbolic link, an input,
    a companion data file in the way (``.mhd`` writes ``.zraw``/``.raw``), a missing folder without ``--mkdir``)."""
    refuseOutput(output, option="--output", inputs=inputs, extensions=VOLUME_EXTENSIONS, mkdir=mkdir)


def _nodeHoldsData(node: Any) -> bool:
    """Whether the node's image holds a nonzero finite voxel."""
    from vtkmodules.util import numpy_support

    from ..dicom.imageresample import holdsData

    image = node.GetImageData()
    scalars = image.GetPointData().GetScalars() if image is not None else None
    return scalars is not None and holdsData(numpy_support.vtk_to_numpy(scalars))
