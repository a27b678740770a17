"""Native work that may kill its process (GDCM on damaged files) run in a forked child, so that it cannot.

GDCM aborts or overflows its stack on some damaged files that the engine's header readers accept (a private
sequence nested 10,000 deep with defined lengths, which they skip by length), and a crash in the command's
own process would end it without an answer. :func:`runInChild` forks; the child runs the work and leaves
with its status; a child that dies gives ``-signal``. Where ``os.fork`` does not exist the work runs in this
process. Used by Slicer's reader (``mrml/nativeload.py``) and by the direct read of a plain DICOM series
(``dicom/imageresample.py``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from typing import Callable

CHILD_SECONDS = 600.0
"""Longest time a child may take before it is stopped (a native hang, not a slow disk)."""

STATUS_EXCEPTION = 4
"""The child's status when its work raised (the traceback is in its stderr file)."""


def runInChild(work: Callable[[], int], errors: str, *, seconds: float = CHILD_SECONDS) -> int:
    """Fork; the child runs ``work() -> status`` with stdout on /dev/null and stderr in the file ``errors``.

    Returns the child's exit status (:data:`STATUS_EXCEPTION` when ``work`` raised), or ``-signal`` when a
    signal ended it (SIGKILL after ``seconds``). Without ``os.fork``: ``work()`` here, its stderr not captured.
    """
    if not hasattr(os, "fork"):
        return work()
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice (by the child too)
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            _redirect(1, os.devnull)
            _redirect(2, errors)
            status = work()
        except BaseException:  # noqa: BLE001  reported through the exit status and its stderr
            try:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                status = STATUS_EXCEPTION
        finally:
            os._exit(status)
    return _waitFor(pid, seconds)


def _waitFor(pid: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        finished, waitStatus = os.waitpid(pid, os.WNOHANG)
        if finished:
            return -os.WTERMSIG(waitStatus) if os.WIFSIGNALED(waitStatus) else os.WEXITSTATUS(waitStatus)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -int(signal.SIGKILL)
        time.sleep(0.005)


def _redirect(descriptor: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, descriptor)
    os.close(target)


def signalName(status: int) -> str:
    """``"SIGSEGV"`` for the status ``-11`` of :func:`runInChild`."""
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"
