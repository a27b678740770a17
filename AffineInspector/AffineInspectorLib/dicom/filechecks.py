"""Bounded checks before a file is parsed: it is a regular file, it looks like DICOM, reading it ends in time.

Why each exists (measured on fuzzed copies of real series; see ``Testing/fuzz``):

* only regular files are opened, with ``O_NONBLOCK``: a FIFO named ``x.dcm`` nobody writes to blocked the
  whole run forever, ``/dev/zero`` behind a link never ends;
* a file without the ``DICM`` prefix is handed to pydicom's forced reading only when its first bytes are a
  plausible first element (group 0x0002 or 0x0008, either byte order): forced, pydicom walked a 1 GiB
  zero-filled file for more than a minute (64 MiB: 32 s) before giving up;
* :class:`TimeBudget`: whatever a file holds, reading its header stops after :data:`FILE_SECONDS` with an
  ``unreadableFile`` finding instead of stalling the series.

:class:`UnreadableFileError` is the one exception that means "this file gives no slice, and here is why";
the header readers turn it into an ``unreadableFile`` finding for that file.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import struct
import threading
from typing import Any, Optional

from ..geometry.findings import INFO, WARNING, Severity

FILE_SECONDS = 10.0
"""Longest time (s) reading one file's header may take (a real header takes about 1 ms)."""

_PLAUSIBLE_FIRST_GROUPS = (0x0002, 0x0008)
"""Groups a DICOM data set without preamble starts with: the file meta group, or identification (ACR-NEMA)."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class UnreadableFileError(Exception):
    """A file that gives no slice; ``severity`` is ``warning`` or ``info``."""

    def __init__(self, message: str, severity: Severity = WARNING) -> None:
        super().__init__(message)
        self.severity = severity


def readHead(path: str, count: int = 132) -> bytes:
    """The first ``count`` bytes of the regular file ``path``; UnreadableFileError for anything else.

    Opened without blocking (a FIFO or device is never read), so the check itself cannot hang.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise UnreadableFileError(f"{path}: cannot be opened ({describeOSError(error)}); skipped.") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFileError(f"{path}: not a regular file ({fileTypeName(mode)}); not opened.")
        return os.read(descriptor, count)
    except OSError as error:
        raise UnreadableFileError(f"{path}: cannot be read ({describeOSError(error)}); skipped.") from None
    finally:
        os.close(descriptor)


def hasDICMPrefix(head: bytes) -> bool:
    """The 128-byte preamble followed by ``DICM`` (PS3.10 7.1)."""
    return head[128:132] == b"DICM"


def plausibleFirstElement(head: bytes) -> bool:
    """Whether a file without the ``DICM`` prefix starts like a DICOM data set (little or big endian).

    The first tag's group must be 0x0002 (meta) or 0x0008 (identification, as ACR-NEMA files start); a
    zero-filled, text or image file fails at once, so pydicom's forced reading never walks it.
    """
    if len(head) < 8:
        return False
    little, big = struct.unpack_from("<H", head)[0], struct.unpack_from(">H", head)[0]
    return little in _PLAUSIBLE_FIRST_GROUPS or big in _PLAUSIBLE_FIRST_GROUPS


def notDICOM(path: str) -> UnreadableFileError:
    return UnreadableFileError(f"{path}: not a DICOM file (no DICM prefix and no DICOM header); skipped.", INFO)


class BudgetExceeded(BaseException):
    """Raised inside a :class:`TimeBudget` when its time is up; a BaseException, so that no ``except Exception`` in
    the reading code (pydicom's or ours) mistakes it for a damaged file."""


class TimeBudget:
    """A time limit per file for a batch of files: ``with TimeBudget() as budget:`` then, per file,
    ``budget.start()`` ... ``budget.stop()``; work that runs past :data:`FILE_SECONDS` (or ``seconds``)
    raises :class:`BudgetExceeded` inside it (turn it into a finding with :meth:`exceeded`).

    Uses ``SIGALRM`` (POSIX, main thread only: elsewhere, e.g. a worker thread, the work is not timed, and a
    timer someone else set is left alone). The handler is installed once per batch and only the timer is set
    per file (about 1 us), so the fast header path keeps its speed.
    """

    def __init__(self, seconds: Optional[float] = None) -> None:
        self.seconds = FILE_SECONDS if seconds is None else seconds
        self.active = False
        self.armed = False
        self._previous: Any = None

    def __enter__(self) -> "TimeBudget":
        self.active = (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        )
        if self.active:
            self._previous = signal.signal(signal.SIGALRM, self._expire)
        return self

    def __exit__(self, *exception: Any) -> None:
        if self.active:
            self.stop()
            signal.signal(signal.SIGALRM, self._previous)
            self.active = False

    def start(self) -> None:
        if self.active:
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def stop(self) -> None:
        if self.active:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def exceeded(self, path: str) -> UnreadableFileError:
        return UnreadableFileError(
            f"{path}: reading its header took longer than {self.seconds:g} s (a damaged or unusual file); skipped."
        )

    def _expire(self, signum: int, frame: Any) -> None:
        if self.armed:  # not after stop(): a late signal is ignored
            self.armed = False
            raise BudgetExceeded()


def describeOSError(error: OSError) -> str:
    """``permission denied``, ``no such file or folder`` or the system's words."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file or folder"
    return error.strerror or type(error).__name__


def fileTypeName(mode: int) -> str:
    """``a FIFO``, ``a socket``, ``a character device``... for what is not a regular file or folder."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file"
