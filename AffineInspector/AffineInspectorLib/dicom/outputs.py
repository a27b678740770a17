"""Every file a command writes: refused before any work when it could clobber something, then written so that
nothing that existed is ever replaced.

One helper for ``resample --output``, ``gui --screenshot``, ``align --output/--map`` and
``affine --trm/--tfm/...`` (``audit --out`` is a folder: ``auditstore.checkOutputFolder``; ``--mkdir`` folders
for it and for ``sample`` come from :func:`makeFolder`):

* :func:`refuseOutput` (before any work; GeometryError, exit 1, one line saying why, nothing written): the
  output exists; it is a symbolic link (dangling or not: writing would follow it); it is an input; a
  companion file it implies exists (``result.mhd`` writes its voxels to ``result.zraw`` or ``result.raw``, a
  ``.nhdr`` to ``.raw``/``.raw.gz``, an Analyze ``.hdr`` to ``.img``) or its name is such a data file's; its
  folder does not exist (unless ``--mkdir``).
* :func:`newFiles` (the write): the writer writes into a new private folder beside the target, under the
  target's own name (so a header that names its data file by a relative name stays right); then each file it
  made is hard-linked to the same name in the target folder, which fails if the name exists by then, and the
  private folder is removed. A failure (a full disk, a name that appeared meanwhile) leaves nothing behind
  and says so; a folder created because of ``--mkdir`` is announced by the caller
  (:attr:`NewFiles.createdFolder`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from typing import Iterator, List, Optional, Sequence

from ..geometry.errors import GeometryError

COMPANION_SUFFIXES = (".raw", ".raw.gz", ".zraw", ".img", ".img.gz")
"""Data files that sit beside a header file: an output never takes their names, nor replaces one."""

_COMPANIONS_OF = {
    ".mhd": (".raw", ".zraw", ".raw.gz"),
    ".nhdr": (".raw", ".raw.gz", ".zraw"),
    ".hdr": (".img", ".img.gz"),
}
"""The data files a header format may write beside itself (MetaImage, detached NRRD, Analyze/NIfTI pair)."""


class OutputError(GeometryError):
    """An output that cannot be written or is refused: exit 1 with one line."""


def companions(path: str) -> List[str]:
    """The data files ``path`` implies (``result.mhd``: ``result.raw``, ``result.zraw``...); [] for one file."""
    lower = path.lower()
    for extension, suffixes in _COMPANIONS_OF.items():
        if lower.endswith(extension):
            stem = path[: -len(extension)]
            return [stem + suffix for suffix in suffixes]
    return []


def refuseOutput(
    path: str,
    *,
    option: str = "--output",
    inputs: Sequence[str] = (),
    extensions: Sequence[str] = (),
    mkdir: bool = False,
) -> None:
    """GeometryError (nothing written) for an output that could replace or follow something, or has nowhere to go.

    ``extensions``: the accepted name endings (any if empty); ``inputs``: paths the output must not be;
    ``mkdir``: a missing folder will be created (else refused).
    """
    lower = path.lower()
    option = f"{option} " if option else ""
    if extensions and not lower.endswith(tuple(extensions)):
        raise OutputError(f"{option}must end with one of {', '.join(extensions)}; nothing written")
    if lower.endswith(COMPANION_SUFFIXES):
        raise OutputError(f"{option}{path}: a data file name of another image's header; nothing written")
    if os.path.islink(path):
        raise OutputError(
            f"{option}{path} is a symbolic link (to {os.readlink(path)}); writing would follow it. Nothing written"
        )
    for given in inputs:
        if given and os.path.exists(given) and _same(path, given):
            raise OutputError(f"{option}{path} is an input; choose a new file. Nothing written")
    if os.path.lexists(path):
        raise OutputError(f"{option}{path} exists: refusing to replace it (choose a new file name); nothing written")
    for companion in companions(path):
        if os.path.lexists(companion):
            raise OutputError(
                f"{option}{path}: its data file would be written beside it and {companion} exists (not written by "
                f"this run); choose a new file name. Nothing written"
            )
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder):
        return
    existing = _existingAncestor(folder)
    if not os.path.isdir(existing):
        raise OutputError(f"{option}{path}: {existing} is not a folder; nothing written")
    if not mkdir:
        raise OutputError(f"{option}{path}: no such folder {folder} (add --mkdir to create it); nothing written")


def _same(path: str, other: str) -> bool:
    if os.path.abspath(path) == os.path.abspath(other):
        return True
    try:
        return os.path.exists(path) and os.path.samefile(path, other)
    except OSError:
        return False


def _existingAncestor(folder: str) -> str:
    while not os.path.lexists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


@dataclasses.dataclass
class NewFiles:
    """What :func:`newFiles` did: the files published (final paths) and the folder it created, if any."""

    path: str
    staged: str
    published: List[str] = dataclasses.field(default_factory=list)
    createdFolder: Optional[str] = None


@contextlib.contextmanager
def newFiles(path: str, *, mkdir: bool = False) -> Iterator[NewFiles]:
    """Write ``path`` (and its companions) without ever replacing a file: see the module docstring.

    The block writes to ``result.staged``; on leaving it every file there is published beside ``path``.
    OutputError if the folder is missing (without ``mkdir``), a name exists by then, or writing fails (for
    example a full disk): nothing of this write is left behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    created = makeFolder(folder, path) if mkdir and not os.path.isdir(folder) else None
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: no such folder {folder} (add --mkdir to create it); nothing written")
    try:
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=folder)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written ({error.strerror or error}); nothing written") from None
    result = NewFiles(path=path, staged=os.path.join(staging, os.path.basename(path)), createdFolder=created)
    try:
        try:
            yield result
        except OSError as error:
            raise OutputError(f"{path}: could not be written ({error.strerror or error}); nothing written") from None
        names = sorted(os.listdir(staging))
        if os.path.basename(path) not in names:
            raise OutputError(f"{path}: the writer made no file; nothing written")
        _publish(staging, folder, names, result)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def makeFolder(folder: str, path: str) -> str:
    """Create ``folder`` and missing parents (``--mkdir``) for the output ``path``; return the top-most folder
    created (what the caller announces). OutputError, naming ``path``, if that fails."""
    top = folder
    while not os.path.lexists(os.path.dirname(top)):
        top = os.path.dirname(top)
    try:
        os.makedirs(folder)
    except OSError as error:
        raise OutputError(
            f"{path}: cannot create the folder {folder} ({error.strerror or error}); nothing written"
        ) from None
    return top


def _publish(staging: str, folder: str, names: List[str], result: NewFiles) -> None:
    """Link each staged file to its name in ``folder``; if one name exists, undo and refuse."""
    for name in names:
        target = os.path.join(folder, name)
        try:
            os.link(os.path.join(staging, name), target)  # atomic; fails if the name exists
        except FileExistsError:
            _unpublish(result)
            raise OutputError(f"{target} appeared while writing; nothing replaced, nothing written") from None
        except OSError as error:  # a file system without hard links: rename, after one more check
            if os.path.lexists(target):
                _unpublish(result)
                raise OutputError(f"{target} appeared while writing; nothing replaced, nothing written") from None
            try:
                os.rename(os.path.join(staging, name), target)
            except OSError:
                _unpublish(result)
                raise OutputError(f"{target}: cannot be written ({error.strerror or error}); nothing written") from None
        result.published.append(target)


def _unpublish(result: NewFiles) -> None:
    for path in result.published:
        with contextlib.suppress(OSError):
            os.unlink(path)
    result.published.clear()
