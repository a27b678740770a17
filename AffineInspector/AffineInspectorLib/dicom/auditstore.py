"""The audit's output folder: which files it holds, how each is written, and what a run may replace.

Files (README "Audit an archive"):

* ``manifest.jsonl``: the journal. First line: what is audited (format, version, roots, tolerances, chunk
  size); then the walk (file count and digest); then one line per finished reading task (the series seen in
  it, their files, their records if the series lies in that task alone, the files that gave no slice); then
  ``{"done": UID, "seriesBytes": N}`` once a SeriesInstanceUID's records are in ``series.jsonl`` (N: that
  file's length then, so a resumed run cuts off records written after the last such line). With ``--labels``
  also: the label images' digest in the walk line; ``{"labelMatch": ...}`` once they are matched to series
  (counts, and the findings of those matching none or several); ``{"labelled": UID, ...}`` per finished label
  check (the series' records with the label findings, written to ``series.jsonl`` in walk order).
  ``--resume`` redoes only the tasks, label checks and series without a line here.
* ``series.jsonl``: one strict-JSON record per series, appended and flushed as each is final.
* ``findings.csv``, ``report.html``: derived from the two above at the end of every run, each written to
  a temporary file in the folder and renamed (a reader never sees half a file).

A run writes only these names (and its temporary files, ``.affine-inspector-tmp-*``): it refuses a folder
holding anything else, or holding these names without an audit's manifest, so it never replaces a file it
did not create.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import IO, Any, Callable, Iterator, Optional, Tuple

from ..geometry import serialize
from ..geometry.errors import GeometryError

MANIFEST_FILE = "manifest.jsonl"
SERIES_FILE = "series.jsonl"
FINDINGS_FILE = "findings.csv"
REPORT_FILE = "report.html"
OUTPUT_FILES = (MANIFEST_FILE, SERIES_FILE, FINDINGS_FILE, REPORT_FILE)
TEMP_PREFIX = ".affine-inspector-tmp-"
FORMAT = "affine-inspector audit"
VERSION = 2
"""2: records have ``labels``, the manifest the label images' lines (an audit of version 1 is not resumed)."""


def checkOutputFolder(out: str, *, resume: bool, mkdir: bool = False) -> Optional[dict]:
    """Refuse an ``out`` this run may not write into; return the previous audit's manifest header, if any.

    Raises GeometryError (exit 1, nothing written) for: a symbolic link (writing would follow it), a file in
    the way, a missing parent folder (unless ``mkdir``), a folder holding files that are not an audit's, output
    names without an audit manifest, ``resume`` with nothing to resume.
    """
    if os.path.islink(out):
        raise GeometryError(
            f"--out {out} is a symbolic link (to {os.readlink(out)}); writing would follow it. Nothing written"
        )
    if os.path.exists(out) and not os.path.isdir(out):
        raise GeometryError(f"--out {out} exists and is not a folder; nothing written")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out) and not os.path.isdir(parent) and not mkdir:
        raise GeometryError(f"--out {out}: no such folder {parent} (add --mkdir to create it); nothing written")
    entries = sorted(os.listdir(out)) if os.path.isdir(out) else []
    foreign = [name for name in entries if name not in OUTPUT_FILES and not name.startswith(TEMP_PREFIX)]
    if foreign:
        raise GeometryError(
            f"--out {out} holds files that are not from an audit ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); choose a new or empty folder. Nothing written"
        )
    header = readManifestHeader(os.path.join(out, MANIFEST_FILE))
    if header is None and any(name in OUTPUT_FILES for name in entries):
        raise GeometryError(
            f"--out {out} holds {', '.join(name for name in entries if name in OUTPUT_FILES)} but no audit manifest "
            f"({MANIFEST_FILE}): not written by an audit; choose a new or empty folder. Nothing written"
        )
    if resume and header is None:
        raise GeometryError(f"--resume: {out} holds no audit to resume (no {MANIFEST_FILE}); nothing written")
    return header


def readManifestHeader(path: str) -> Optional[dict]:
    """The first line of an audit manifest, or ``None`` when ``path`` is missing or not an audit manifest."""
    try:
        with open(path, encoding="utf-8") as stream:
            header = json.loads(stream.readline())
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    return header


def removeTemporaryFiles(out: str) -> None:
    """Remove temporary files a killed run left (only this module's, by their prefix)."""
    for name in os.listdir(out):
        if name.startswith(TEMP_PREFIX):
            os.remove(os.path.join(out, name))


def writeAtomically(path: str, write: Callable[[IO[str]], object], *, newline: Optional[str] = None) -> None:
    """Write a text file through ``write(stream)`` into a temporary file beside ``path``, then rename it.

    A reader (or a killed run) sees the old file or the new one, never half of one.
    """
    temporary = os.path.join(os.path.dirname(os.path.abspath(path)), TEMP_PREFIX + secrets.token_hex(8))
    # os.open with 0o666: the new file gets the user's usual permissions (umask), unlike mkstemp's 0o600.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline=newline) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class JsonLinesWriter:
    """Appends strict-JSON lines (the one serialiser), each written whole and flushed at once.

    A killed run leaves whole lines (a power cut may leave a torn last line: :func:`readJsonLines` drops it).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream: IO[str] = open(path, "a", encoding="utf-8")

    def length(self) -> int:
        """The file's length now: the offset at which the next line starts."""
        return self._stream.tell()

    def append(self, *values: Any) -> int:
        """Append one line per value with a single write, then flush; return the file's length after it."""
        self._stream.write("".join(serialize.dumps(value) + "\n" for value in values))
        self._stream.flush()
        return self._stream.tell()

    def close(self) -> None:
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()


def readJsonLines(path: str) -> Iterator[dict]:
    """The objects of a JSON-lines file, without a torn (unterminated) last line; a corrupt whole line raises."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if not line.endswith("\n"):
                return  # torn by a kill during the write: that work is redone
            yield json.loads(line)


def readJsonLinesWithOffsets(path: str) -> Iterator[Tuple[int, dict]]:
    """``(byte offset, object)`` of each whole line of a JSON-lines file (as :func:`readJsonLines`)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as stream:
        offset = 0
        for line in stream:
            if not line.endswith(b"\n"):
                return
            yield offset, json.loads(line)
            offset += len(line)


def readLineAt(path: str, offset: int) -> dict:
    """The object of the JSON line starting at byte ``offset`` (one an offset above pointed at)."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        return dict(json.loads(stream.readline()))


def wholeLinesLength(path: str) -> int:
    """Length in bytes of the file's whole lines (a torn last line excluded); 0 for a missing file."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as stream:
        data = stream.read()
    return data.rfind(b"\n") + 1


def truncate(path: str, length: int) -> None:
    """Cut a JSON-lines file this audit wrote back to ``length`` bytes (the end of its last journaled line)."""
    size = os.path.getsize(path) if os.path.exists(path) else 0
    if size < length:
        raise GeometryError(
            f"--resume: {path} is shorter ({size} bytes) than its journal says ({length}); it was changed by "
            f"something else: audit into a new folder"
        )
    if size > length:
        os.truncate(path, length)
