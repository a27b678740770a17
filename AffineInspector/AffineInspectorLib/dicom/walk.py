"""From the paths a user gives to the files to read: every path accounted for, nothing blocks, nothing loops.

:func:`findFiles` expands files and folders into the regular files under them, in ``os.walk``'s top-down
order (a folder's files sorted by name, then its sub-folders, sorted), and returns a finding for every
entry it does not hand on, so that the output names each one with the reason:

* a path that does not exist, a link whose target is missing or loops (``unreadableFile``, warning);
* a FIFO, socket or device, also behind a link (``unreadableFile``, warning): never opened, since opening
  a FIFO nobody writes to blocks forever and ``/dev/zero`` never ends;
* a folder that cannot be listed (``unreadableFile``, warning: permission denied), so its files are known
  to be missing;
* hidden entries, names starting with ``.`` (``skippedPath``, info, one finding per folder listing their
  names): ``.git``, ``.DS_Store``, macOS ``._`` resource forks are not images; a hidden path given
  explicitly is read;
* a folder reached a second time, through a directory link (a loop such as ``loop -> .``) or given twice
  (``skippedPath``, info): each folder is read once.

Directory links are followed (once each, whatever the depth). The walk uses an explicit stack, so a tree
thousands of levels deep does not reach Python's recursion limit. Nothing is opened here except folders.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Dict, List, Sequence, Set, Tuple

from ..geometry.findings import INFO, WARNING, Finding, Kind
from .filechecks import describeOSError, fileTypeName

HIDDEN_NAMES_SHOWN = 8
"""How many hidden names one finding lists before "and N more"."""

_FolderKey = Tuple[int, int]
"""A folder's identity, (st_dev, st_ino): the same folder reached through a link has the same key."""


def findFiles(paths: Sequence[str]) -> Tuple[List[str], List[Finding]]:
    """The regular files under ``paths`` (files and folders, in the order given) and a finding per entry left out.

    Paths are kept as given (joined with the folder as given). See the module docstring for what is left
    out and why.
    """
    walker = _Walker()
    for path in paths:
        walker.addPath(path)
    return walker.files, walker.findings


class _Walker:
    """One walk over several paths: the files found, the findings, and the folders already read."""

    def __init__(self) -> None:
        self.files: List[str] = []
        self.findings: List[Finding] = []
        self.folders: Set[_FolderKey] = set()
        self.folderNames: Dict[_FolderKey, str] = {}  # the path each folder was first read under (for messages)

    def addPath(self, path: str) -> None:
        """Hand on ``path`` (a file), walk it (a folder), or record why not."""
        try:
            info = os.stat(path)
        except OSError as error:
            self._unusable(path, error)
            return
        if stat.S_ISDIR(info.st_mode):
            self._walk(path, info)
        elif stat.S_ISREG(info.st_mode):
            self.files.append(path)
        else:
            self._special(path, info)

    def _walk(self, top: str, info: os.stat_result) -> None:
        """Walk ``top`` depth first without recursion: a folder's files, then its sub-folders in sorted order."""
        stack: List[Tuple[str, os.stat_result]] = [(top, info)]
        while stack:
            folder, folderInfo = stack.pop()
            if not self._firstVisit(folder, folderInfo):
                continue
            subfolders = self._readFolder(folder)
            stack.extend(reversed(subfolders))  # popped in sorted order, as os.walk visits them

    def _firstVisit(self, folder: str, info: os.stat_result) -> bool:
        key = (info.st_dev, info.st_ino)
        if key in self.folders:
            first = self.folderNames[key]
            self.findings.append(
                Finding(
                    Kind.skippedPath,
                    INFO,
                    f"{folder}: the folder {first} again (a directory link or a path given twice); read once.",
                    file=folder,
                )
            )
            return False
        self.folders.add(key)
        self.folderNames[key] = folder
        return True

    def _readFolder(self, folder: str) -> List[Tuple[str, os.stat_result]]:
        """Add the files of ``folder``; return its sub-folders (sorted by name) with their stat."""
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            self.findings.append(
                Finding(
                    Kind.unreadableFile,
                    WARNING,
                    f"{folder}: folder cannot be read ({describeOSError(error)}); the files in it were not read.",
                    file=folder,
                )
            )
            return []
        hidden = [entry.name for entry in entries if entry.name.startswith(".")]
        if hidden:
            self._hidden(folder, hidden)
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(folder, entry.name)
            # The entry's type costs no system call unless it is a link (d_type); links are followed.
            try:
                if not entry.is_symlink() and entry.is_file():
                    self.files.append(path)
                    continue
                info = os.stat(path)
            except OSError as error:
                self._unusable(path, error)
                continue
            if stat.S_ISDIR(info.st_mode):
                subfolders.append((path, info))
            elif stat.S_ISREG(info.st_mode):
                self.files.append(path)
            else:
                self._special(path, info)
        return subfolders

    def _hidden(self, folder: str, names: List[str]) -> None:
        shown = ", ".join(names[:HIDDEN_NAMES_SHOWN])
        more = f" and {len(names) - HIDDEN_NAMES_SHOWN} more" if len(names) > HIDDEN_NAMES_SHOWN else ""
        self.findings.append(
            Finding(
                Kind.skippedPath,
                INFO,
                f"{folder}: {len(names)} hidden entr{'y' if len(names) == 1 else 'ies'} not read ({shown}{more}): "
                f"names starting with '.' are skipped; give such a path itself to read it.",
                file=folder,
            )
        )

    def _special(self, path: str, info: os.stat_result) -> None:
        self.findings.append(
            Finding(
                Kind.unreadableFile,
                WARNING,
                f"{path}: not a regular file ({fileTypeName(info.st_mode)}); not opened.",
                file=path,
            )
        )

    def _unusable(self, path: str, error: OSError) -> None:
        self.findings.append(
            Finding(Kind.unreadableFile, WARNING, f"{path}: {_missingReason(path, error)}; skipped.", file=path)
        )


def _missingReason(path: str, error: OSError) -> str:
    """Why ``os.stat(path)`` failed, in words: a broken or looping link, no such path, permission denied."""
    missing = error.errno in (errno.ENOENT, errno.ENOTDIR)
    if os.path.islink(path) and error.errno == errno.ELOOP:
        return "a link that loops (it points back to itself)"
    if os.path.islink(path) and missing:
        try:
            return f"a link to a missing target ({os.readlink(path)})"
        except OSError:
            return "a broken link"
    if missing:
        return "no such file or folder"
    return f"cannot be read ({describeOSError(error)})"
