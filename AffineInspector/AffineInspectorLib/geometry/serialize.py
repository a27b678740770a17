"""The one JSON serialiser: every result record (dataclasses) becomes plain JSON the same way.

JSON keys are the dataclass field names, so they are written in one place, the record's definition
(Slicer's acronym case: ``IJKToRAS``, ``IJKToLPS``). numpy arrays become nested lists, enums their
string value. JSON has no NaN or Infinity: a non-finite number becomes ``null`` (checks report
non-finite inputs as findings before they reach here). Output is strict JSON (``allow_nan=False``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any, Optional

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as JSON-ready builtins (dict, list, str, int, float, bool, None); records by field name.

    Examples
    --------
    >>> plain({"m": np.eye(2), "x": float("nan"), "t": (1, 2)})
    {'m': [[1.0, 0.0], [0.0, 1.0]], 'x': None, 't': [1, 2]}
    """
    if isinstance(value, float):  # the common case first
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field instead of dataclasses.asdict, which deep-copies every value first.
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any, *, indent: Optional[int] = None) -> str:
    """Strict JSON text of ``value``: compact (the C encoder) unless ``indent`` is given."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(plain(value), allow_nan=False, indent=indent, separators=separators)
