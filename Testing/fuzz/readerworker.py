"""Long-lived worker: inspects paths with the fast header reader and with the pydicom path, and compares.

The harness starts it once per harness process (importing numpy, pydicom
and the library costs more than inspecting a small folder), sends one JSON
line ``{"paths": [...]}`` per case and reads one JSON line back. A request
that does not answer in time is a hang: the harness kills the worker and
starts a new one.

The library is reached through :func:`inspectWithReader` only, so the move
of ``series`` into ``AffineInspectorLib.dicom`` changes one import here.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
import warnings
from typing import List

MAX_DIFFERENCES = 8


def inspectWithReader(paths: List[str], fast: bool) -> dict:
    """The whole inspection of ``paths`` as a JSON-ready dict, with the fast reader or with pydicom only."""
    from AffineInspectorLib.dicom.series import inspectPaths
    from AffineInspectorLib.geometry import serialize

    return serialize.plain(inspectPaths(paths, fast=fast))


def compareReaders(paths: List[str]) -> dict:
    """``{"agree": bool, "differences": [...], "fastError": ..., "pydicomError": ...}`` for one case."""
    results, errors = {}, {}
    for name, fast in (("fast", True), ("pydicom", False)):
        try:
            results[name] = inspectWithReader(paths, fast)
        except BaseException as error:  # RecursionError, MemoryError and the like are findings here
            errors[name] = describeError(error)
    answer = {"fastError": errors.get("fast"), "pydicomError": errors.get("pydicom")}
    if errors:
        sameError = len(errors) == 2 and errors["fast"]["exception"] == errors["pydicom"]["exception"]
        answer.update(agree=sameError, differences=[] if sameError else ["one reader raised, the other did not"])
        return answer
    differences = list(differencesBetween(results["fast"], results["pydicom"], "$"))
    answer.update(agree=not differences, differences=differences[:MAX_DIFFERENCES], count=len(differences))
    return answer


def describeError(error: BaseException) -> dict:
    """Exception type, message and site, as :func:`classify.crashSite` names them from the printed traceback."""
    import classify

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    site = classify.crashSite(text) or {}
    return {
        "exception": type(error).__name__,
        "message": str(error)[:300],
        "site": site.get("projectSite") or site.get("site"),
    }


def differencesBetween(fast, pydicom, path: str):
    """Yield ``"path: fast=... pydicom=..."`` for every leaf that differs (NaN equals NaN)."""
    if isinstance(fast, dict) and isinstance(pydicom, dict):
        for key in sorted(set(fast) | set(pydicom)):
            if key not in fast or key not in pydicom:
                yield f"{path}.{key}: only in {'fast' if key in fast else 'pydicom'}"
            else:
                yield from differencesBetween(fast[key], pydicom[key], f"{path}.{key}")
    elif isinstance(fast, list) and isinstance(pydicom, list):
        if len(fast) != len(pydicom):
            yield f"{path}: {len(fast)} items with fast, {len(pydicom)} with pydicom"
        for index, (left, right) in enumerate(zip(fast, pydicom)):
            yield from differencesBetween(left, right, f"{path}[{index}]")
    elif not _same(fast, pydicom):
        yield f"{path}: fast={_short(fast)} pydicom={_short(pydicom)}"


def _same(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    return type(left) is type(right) and left == right


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _default(value):
    try:
        return value.tolist()  # numpy scalars and arrays
    except AttributeError:
        return repr(value)


def main() -> int:
    """Answer one JSON line per request line until stdin closes."""
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(1000)  # the command line's default: reader recursion limits are findings
    for line in sys.stdin:
        request = json.loads(line)
        answer = compareReaders(request["paths"])
        sys.stdout.write(json.dumps(answer, default=_default) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
