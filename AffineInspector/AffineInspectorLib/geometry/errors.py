"""The errors a user can act on. Everything else that is raised is a bug (the command line says so: exit 70)."""

from __future__ import annotations


class GeometryError(ValueError):
    """A request that cannot be carried out as asked: an input that cannot be used (missing, unreadable, nothing
    found, not a volume) or an output that is refused. The message says what, where and what to do; the
    command line prints it as one line and exits with status 1."""
