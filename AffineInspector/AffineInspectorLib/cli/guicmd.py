"""``affine-inspector gui [PATH...]``: the panel in a standalone window (PySide6 + slicer-core)."""

from __future__ import annotations

import argparse
import os
from typing import List, Tuple

from ..geometry.errors import GeometryError
from . import common

NAME = "gui"
TABS = ("geometry", "slices", "findings")


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
    if screenshot is not None and os.path.exists(screenshot):
        if any(os.path.exists(path) and os.path.samefile(path, screenshot) for path in arguments.paths):
            raise GeometryError(f"--screenshot {screenshot} is an input; choose a new file. Nothing written")
    try:
        from ..ui import window
        from ..ui.qtcompat import qt  # noqa: F401  (is a Qt binding there?)
    except ImportError as error:
        raise GeometryError(
            f"the window needs PySide6 and slicer-core ({error}); install them with: "
            f"pip install 'affine-inspector[slicer,gui]'"
        ) from None
    if screenshot is None:
        return window.showWindow(arguments.paths, tab=arguments.tab, size=arguments.size, offscreen=arguments.offscreen)
    window.renderScreenshot(
        arguments.paths, screenshot, tab=arguments.tab, size=arguments.size, offscreen=arguments.offscreen
    )
    common.write(f"Wrote {screenshot}\n")
    return 0
