"""``affine-inspector gui [PATH...]``: the panel in a standalone window (PySide6 + slicer-core)."""

from __future__ import annotations

import argparse
from typing import List, Tuple

from ..dicom.outputs import refuseOutput
from ..geometry.errors import GeometryError
from . import common

NAME = "gui"
TABS = ("geometry", "slices", "findings", "conventions")


def addParser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: List[argparse.ArgumentParser]
) -> None:
    parser = commands.add_parser(NAME, parents=parents, help="open the panel in a window (PySide6 + slicer-core)")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="DICOM folders/files and volume files to load")
    parser.add_argument("--offscreen", action="store_true", help="render without a display (Qt offscreen platform)")
    parser.add_argument("--screenshot", type=_png, metavar="FILE", help="write the window to FILE (.png) and exit")
    parser.add_argument("--tab", choices=TABS, default="slices", help="detail tab to show (default: %(default)s)")
    parser.add_argument(
        "--size", type=_size, default=(1000, 1100), metavar="WxH", help="window size in pixels (default 1000x1100)"
    )
    common.addMkdirOption(parser)
    parser.set_defaults(run=run)


def _png(text: str) -> str:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"--screenshot must name a .png file, got {text!r}")
    return text


def _size(text: str) -> Tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}") from None
    if width < 200 or height < 200:
        raise argparse.ArgumentTypeError(f"at least 200x200, got {text}")
    return width, height


def run(arguments: argparse.Namespace) -> int:
    screenshot = arguments.screenshot
    if screenshot is not None:  # before any work: never over a file, through a link, or into a missing folder
        refuseOutput(screenshot, option="--screenshot", inputs=arguments.paths, mkdir=arguments.mkdir)
    try:
        from ..mrml import nativeload
        from ..ui import window
        from ..ui.qtcompat import qt  # noqa: F401  (is a Qt binding there?)
    except ImportError as error:
        raise GeometryError(
            f"the window needs PySide6 and slicer-core ({error}); install them with: "
            f"pip install 'affine-inspector[slicer,gui]'"
        ) from None
    nativeload.configure(debug=common.debugRequested())
    if screenshot is None:
        return window.showWindow(arguments.paths, tab=arguments.tab, size=arguments.size, offscreen=arguments.offscreen)
    with nativeload.capturedStderr():  # Qt's and VTK's own messages ("propagateSizeHints"): --debug only
        shot = window.renderScreenshot(
            arguments.paths,
            screenshot,
            tab=arguments.tab,
            size=arguments.size,
            offscreen=arguments.offscreen,
            mkdir=arguments.mkdir,
            debug=common.debugRequested(),
        )
    common.announceFolder(shot.createdFolder, "--screenshot")
    for problem in shot.problems:  # loaded with problems: each named, on stderr, after the screenshot
        common.note(problem)
    common.write(f"Wrote {screenshot}\n")
    return 0
