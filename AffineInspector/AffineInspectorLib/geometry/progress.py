"""The one progress-callback type, used by every long operation (reading headers, cross-checks, audits)."""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[str, float], bool]
"""``progressCallback(label, fraction) -> cancelled``: ``fraction`` in [0, 1]; return True to stop
(DICOMLib's browser and Slicer's ScreenCapture work the same way)."""


class Cancelled(Exception):
    """The progress callback asked to stop."""
