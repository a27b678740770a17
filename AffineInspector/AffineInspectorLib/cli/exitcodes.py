"""The one exit-status table of every ``affine-inspector`` command (README "Exit status")."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    """Done (findings do not change it unless ``--fail-on`` is given)."""
    INPUT = 1
    """An input cannot be used (missing, unreadable, nothing found) or an output is refused; one line says
    what and where."""
    USAGE = 2
    """The command line is wrong (argparse's own status)."""
    FINDINGS = 3
    """A finding at or above the ``--fail-on`` severity."""
    INTERNAL = 70
    """A bug (EX_SOFTWARE): one line says so; ``--debug`` shows the traceback."""


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see (e.g. two options that exclude each other)."""
