"""The ``affine-inspector`` command line: the commands, and the one contract they all keep.

Exit status (:class:`.exitcodes.ExitCode`): 0 done; 1 an input cannot be used or an output is refused
(one line on stderr says what and where); 2 usage; 3 a finding at or above ``--fail-on``; 70 an internal
error (one line says so; ``--debug`` shows the traceback). No traceback without ``--debug``. A closed
stdout (``| head``) ends the command quietly.

Each command is a module with ``NAME``, ``addParser(commands, parents)`` and ``run(arguments) -> int``;
a new command is a new module and one entry in :data:`COMMANDS`. Only the command named on the command line
is imported (all of them for the top-level ``--help`` or a name that is no command): start-up is most of what
a short ``inspect`` costs, and the other commands' modules bring numpy, nibabel, SimpleITK or slicer-core.
Commands import heavy libraries (slicer-core, Qt) only when they run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
import warnings
from types import ModuleType
from typing import Iterator, List, Optional

from ..geometry.errors import GeometryError
from . import common
from .exitcodes import ExitCode, UsageError

COMMANDS = {
    "inspect": "inspectcmd",
    "affine": "affinecmd",
    "align": "aligncmd",
    "audit": "auditcmd",
    "compare": "comparecmd",
    "resample": "resamplecmd",
    "gui": "guicmd",
    "sample": "samplecmd",
}
"""Command name -> its module in this package, in the order ``--help`` lists them."""
PROGRAM = "affine-inspector"
ISSUES_URL = "https://github.com/affine-inspector/SlicerAffineInspector/issues"


def commandModule(name: str) -> ModuleType:
    """The module of command ``name`` (imported on first use)."""
    return importlib.import_module(f".{COMMANDS[name]}", __package__)


def _commandIn(argv: List[str]) -> Optional[str]:
    """The command named in ``argv`` (the first argument that is not an option), if it is one; else None."""
    for argument in argv:
        if argument == "--":
            return None
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def buildParser(argv: Optional[List[str]] = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names (when it names one) is imported and added."""
    chosen = _commandIn(list(sys.argv[1:] if argv is None else argv))
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy of the option must not reset what was given before the subcommand
    # ("affine-inspector --debug inspect ..." was read as no --debug); absent means no (see main).
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks, library warnings and native libraries' messages",
    )
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        parents=[common],
        description="Show the voxel-to-patient geometry of DICOM series and every slice that breaks it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in COMMANDS if chosen is None else (chosen,):
        commandModule(name).addParser(commands, [common])
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; return its exit status (never raises, never prints a traceback without ``--debug``)."""
    _reopenClosedStandardStreams()
    parser = buildParser(argv)
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit:  # argparse: 2 for usage, 0 for --help
        return int(exit.code or 0)
    arguments.debug = getattr(arguments, "debug", False)
    common.setDebug(arguments.debug)
    with _librariesQuiet(arguments.debug):
        return _run(arguments)


def _run(arguments: argparse.Namespace) -> int:
    """The command, and the one mapping from what it raised to an exit status and one line on stderr."""
    try:
        status = int(arguments.run(arguments))
        common.flush()  # a full disk or a closed pipe shows up here for buffered output
        return status
    except common.InternalErrors as error:  # the output is complete; some files met a bug
        _flushQuietly()
        _say(
            f"internal error: {error}. This is a bug: please report it at {ISSUES_URL} with the output of the "
            f"same command with --debug"
        )
        return ExitCode.INTERNAL
    except GeometryError as error:
        _flushQuietly()
        _say(str(error))
        return ExitCode.INPUT
    except UsageError as error:
        _say(str(error))
        return ExitCode.USAGE
    except BrokenPipeError:
        common.stdoutGone()
        return ExitCode.OK
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001  a bug: one line, the traceback only on request
        if arguments.debug:
            traceback.print_exc()
        _flushQuietly()
        _say(
            f"internal error ({type(error).__name__}: {_firstLine(error)}). This is a bug: please report it at "
            f"{ISSUES_URL} with the output of the same command with --debug."
        )
        return ExitCode.INTERNAL


def _flushQuietly() -> None:
    """Flush what the command already wrote to stdout (partial JSON of a refused run); an error there is not
    the message this run ends with."""
    try:
        common.flush()
    except GeometryError:
        pass


def _reopenClosedStandardStreams() -> None:
    """Give a closed file descriptor 0, 1 or 2 /dev/null, before anything opens a file.

    Started with stdout closed (``cmd >&-``), the first file this process opened would otherwise get file
    descriptor 1, and anything printed to stdout (by us or by a native library) would land in that file.
    Python has set ``sys.stdout`` to None then; :func:`.common.write` drops the output quietly.
    """
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if opened != descriptor:
                os.dup2(opened, descriptor)
                os.close(opened)


@contextlib.contextmanager
def _librariesQuiet(debug: bool) -> Iterator[None]:
    """Without ``--debug``: no Python warnings and no library log lines on stderr (a refused run prints exactly
    one line: ours). With ``--debug`` they are shown, with this library's own log messages."""
    with warnings.catch_warnings():
        root = logging.getLogger()
        handler: logging.Handler
        if debug:
            warnings.simplefilter("default")
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter(f"{PROGRAM}: %(levelname)s %(name)s: %(message)s"))
        else:
            warnings.simplefilter("ignore")
            handler = logging.NullHandler()  # with a handler on the root, logging's last resort stays silent
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


def _say(message: str) -> None:
    """The run's one line on stderr: ``affine-inspector: message.`` (:func:`.common.oneLine`)."""
    text = common.oneLine(message)
    try:
        sys.stderr.write(f"{PROGRAM}: {text.rstrip('.')}.\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _firstLine(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else "no message"


if __name__ == "__main__":
    sys.exit(main())
