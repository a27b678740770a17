"""``affine-inspector affine PATH``: the voxel-to-world matrix of one volume in every program's convention.

PATH is a DICOM file/folder (first series; Slicer IJK) or an image file (NIfTI, MGH, NRRD, MetaImage, or anything
else SimpleITK reads: :func:`..dicom.imagefiles.readVolumeHeader`; the FILE's own voxel order). ``--to OTHER`` maps
PATH's voxels to OTHER's voxels (each in its own file order) through the world both are placed in, and says
whether that is a reordering or needs interpolation.
``--trm/--spm-mat/--flirt/--tfm OUT`` write the matrix the command printed: the one convention chosen with
``--convention``, or, with ``--to``, the transform from PATH to OTHER in that convention's spaces (for
``fsl`` the FLIRT matrix, for ``aims`` the .trm between the two AIMS referentials) or, without a convention,
the voxel-to-voxel matrix. ``--transform FILE --transform-convention NAME`` (with ``--to`` and one
``--convention``) re-expresses a registration from one program in another's spaces: FILE's matrix maps
PATH's NAME space to OTHER's (FLIRT's and AIMS's direction; ``--transform-inverse`` first inverts one that
maps OTHER to PATH, as ITK/Slicer resampling transforms do).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..dicom import transformfiles
from ..dicom.imagefiles import readVolumeHeader
from ..dicom.outputs import refuseOutput
from ..geometry import conventions
from ..geometry.conventions import ConventionMatrix, VolumeHeader, VoxelMapping
from ..geometry.formats import formatMatrix
from . import common
from .exitcodes import UsageError

NAME = "affine"
_OUTPUTS = (("trm", "trm", "AIMS .trm"), ("spm_mat", "spm-mat", "SPM .mat"), ("flirt", "flirt", "FLIRT .mat"))


@dataclasses.dataclass
class OtherVolume:
    """``--to``: the voxel mapping from PATH to OTHER, and the convention's transform when one was chosen."""

    path: str
    kind: str
    shape: Tuple[int, int, int]
    voxelToVoxel: VoxelMapping
    point: Optional[List[float]] = None
    convention: Optional[str] = None
    transform: Optional[np.ndarray] = None
    transformFile: Optional[str] = None
    transformFileConvention: Optional[str] = None
    transformFileMatrix: Optional[np.ndarray] = None


@dataclasses.dataclass
class AffineReport:
    """What ``affine --json`` prints: the volume, its conventions, the point in each space, ``--to``, files."""

    path: str
    kind: str
    shape: Tuple[int, int, int]
    conventions: Dict[str, ConventionMatrix]
    point: Optional[List[float]] = None
    points: Optional[Dict[str, List[float]]] = None
    to: Optional[OtherVolume] = None
    written: List[str] = dataclasses.field(default_factory=list)


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(
        NAME,
        parents=parents,
        help="one volume's voxel-to-world matrix as Slicer, ITK, DICOM, NIfTI, FSL, SPM, FreeSurfer and AIMS state it",
    )
    parser.add_argument("path", metavar="PATH", help="an image file (NIfTI, NRRD, ...) or a DICOM file/folder")
    parser.add_argument(
        "--convention",
        choices=[*conventions.CONVENTION_NAMES, "all"],
        default="all",
        help="the convention to show (default: all)",
    )
    common.addJSONOptions(parser, help='print {"conventions": {NAME: {"matrix", "from", "to", ...}}, ...} as JSON')
    parser.add_argument(
        "--point",
        nargs=3,
        type=float,
        metavar=("I", "J", "K"),
        help="a voxel of PATH (0-based, file order; Slicer IJK for DICOM) mapped into each space (and to OTHER)",
    )
    parser.add_argument("--inverse", action="store_true", help="also print each space -> voxel matrix")
    parser.add_argument("--to", metavar="OTHER", help="map PATH's voxels to OTHER's voxels (each in file order)")
    for option, _, label in _OUTPUTS:
        parser.add_argument(
            "--" + option.replace("_", "-"), dest=option, metavar="OUT", help=f"write the printed matrix as {label}"
        )
    parser.add_argument("--tfm", metavar="OUT", help="write the printed matrix as an ITK transform (.tfm text or .h5)")
    parser.add_argument(
        "--transform",
        metavar="FILE",
        help="a transform from PATH to OTHER (.trm, .tfm/.h5, SPM or FLIRT .mat) to re-express in --convention",
    )
    parser.add_argument(
        "--transform-convention",
        choices=conventions.CONVENTION_NAMES,
        metavar="NAME",
        help="the convention of --transform's spaces (e.g. fsl for a FLIRT .mat, aims for a .trm)",
    )
    parser.add_argument(
        "--transform-inverse", action="store_true", help="--transform maps OTHER to PATH: invert it first"
    )
    common.addMkdirOption(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    outputs = _outputs(arguments)
    if outputs and arguments.convention == "all" and not arguments.to:
        raise UsageError("writing a matrix needs one --convention (or --to OTHER): which matrix should be written?")
    if arguments.transform and not (arguments.to and arguments.transform_convention and arguments.convention != "all"):
        raise UsageError("--transform needs --to OTHER, --transform-convention NAME and one --convention")
    for formatName, path in outputs:  # before any work
        refuseOutput(path, option=_optionOf(formatName), inputs=_inputsOf(arguments), mkdir=arguments.mkdir)
    header = readVolumeHeader(arguments.path)
    entries = conventions.conventions(header, withInverse=arguments.inverse)
    chosen = entries if arguments.convention == "all" else {arguments.convention: entries[arguments.convention]}
    report = AffineReport(arguments.path, header.kind, header.shape, chosen)
    if arguments.point is not None:
        report.point = [float(value) for value in arguments.point]
        report.points = {
            name: conventions.mapPoint(entry.fromFileVoxels(), report.point).tolist() for name, entry in chosen.items()
        }
    written = _toOther(arguments, header, entries, report)
    if written is None:
        written = entries[arguments.convention].matrix if arguments.convention != "all" else None
    for formatName, path in outputs:
        assert written is not None  # refused above when there is nothing to write
        created = transformfiles.writeTransform(formatName, path, written, mkdir=arguments.mkdir)
        common.announceFolder(created, _optionOf(formatName))
        report.written.append(path)
    if arguments.json:
        common.writeJSON(report, arguments.indent)
    else:
        common.write(_text(report, header))
    return 0


def _optionOf(formatName: str) -> str:
    """The option that names an output of ``formatName`` (``--spm-mat``, ``--tfm``)."""
    option = next((option for option, name, _ in _OUTPUTS if name == formatName), "tfm")
    return "--" + option.replace("_", "-")


def _inputsOf(arguments: argparse.Namespace) -> List[str]:
    return [path for path in (arguments.path, arguments.to, arguments.transform) if path]


def _outputs(arguments: argparse.Namespace) -> List[Tuple[str, str]]:
    outputs = [(formatName, getattr(arguments, option)) for option, formatName, _ in _OUTPUTS]
    outputs.append(("itk", arguments.tfm))
    return [(formatName, path) for formatName, path in outputs if path]


def _toOther(
    arguments: argparse.Namespace, header: VolumeHeader, entries: Dict[str, ConventionMatrix], report: AffineReport
) -> Optional[np.ndarray]:
    """Fill ``report.to``; return the matrix to write (the convention's transform, else voxel to voxel)."""
    if not arguments.to:
        return None
    other = readVolumeHeader(arguments.to)
    worldA = conventions.bestAffine(header)[0]
    worldB = conventions.bestAffine(other)[0]
    mapping = conventions.voxelMapping(worldA, worldB)
    result = OtherVolume(arguments.to, other.kind, other.shape, mapping)
    if report.point is not None:
        result.point = conventions.mapPoint(mapping.matrix, report.point).tolist()
    written = mapping.matrix
    if arguments.convention != "all":
        otherEntries = conventions.conventions(other)
        name = arguments.convention
        result.convention = name
        if arguments.transform:
            matrix, _ = transformfiles.readAnyTransform(arguments.transform)
            if arguments.transform_inverse:
                matrix = np.linalg.inv(matrix)
            given = arguments.transform_convention
            result.transformFile, result.transformFileConvention, result.transformFileMatrix = (
                arguments.transform,
                given,
                matrix,
            )
            result.transform = conventions.reexpress(
                matrix, entries[given], otherEntries[given], entries[name], otherEntries[name]
            )
        else:
            result.transform = conventions.transformBetween(entries[name], worldA, otherEntries[name], worldB)
        written = result.transform
    report.to = result
    return written


def _text(report: AffineReport, header: VolumeHeader) -> str:
    world, worldName = conventions.bestAffine(header)
    lines = [
        f"{report.path}: {report.kind}, {' x '.join(str(n) for n in report.shape)} voxels (file order i, j, k); "
        f"world: {worldName}",
        "",
    ]
    for name, entry in report.conventions.items():
        lines.append(conventions.describe(entry))
        if report.points is not None:
            lines.append(f"  voxel {_xyz(report.point or [])} -> {_xyz(report.points[name])} ({entry.to})")
        lines.append("")
    if report.to is not None:
        other = report.to
        lines += [
            f"To {other.path}: {other.kind}, {' x '.join(str(n) for n in other.shape)} voxels.",
            "Voxel to voxel (this file's i, j, k -> the other's i, j, k; inverse(B) . A through the world):",
            formatMatrix(other.voxelToVoxel.matrix),
            f"  {other.voxelToVoxel.kind}: {other.voxelToVoxel.message}",
        ]
        if other.point is not None:
            lines.append(f"  voxel {_xyz(report.point or [])} -> voxel {_xyz(other.point)} of {other.path}")
        if other.transform is not None:
            entry = report.conventions[other.convention or ""]
            what = (
                f"{other.transformFile} ({other.transformFileConvention} spaces)"
                if other.transformFile
                else "The world alignment of the two headers"
            )
            lines += [
                f"{what} in {other.convention} spaces ({entry.to} of this file -> the same space of the other):",
                formatMatrix(other.transform),
            ]
        lines.append("")
    lines += [f"Wrote {path}" for path in report.written]
    return "\n".join(lines).rstrip("\n") + "\n"


def _xyz(values: List[float]) -> str:
    return "(" + ", ".join(f"{value:.6g}" for value in values) + ")"
