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
import importlib
import os
import sys
import traceback
from types import ModuleType
from typing import List, Optional

from ..geometry.errors import GeometryError
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
    common.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
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
    parser = buildParser(argv)
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit:  # argparse: 2 for usage, 0 for --help
        return int(exit.code or 0)
    try:
        return int(arguments.run(arguments))
    except GeometryError as error:
        _say(str(error))
        return ExitCode.INPUT
    except UsageError as error:
        _say(str(error))
        return ExitCode.USAGE
    except BrokenPipeError:
        _silenceStdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001  a bug: one line, the traceback only on request
        if arguments.debug:
            traceback.print_exc()
        _say(
            f"internal error ({type(error).__name__}: {_firstLine(error)}). This is a bug: please report it at "
            f"{ISSUES_URL} with the output of the same command with --debug."
        )
        return ExitCode.INTERNAL


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"{PROGRAM}: {message.rstrip('.')}.\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _firstLine(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else "no message"


def _silenceStdout() -> None:
    """After a closed pipe: point stdout at /dev/null so that the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
