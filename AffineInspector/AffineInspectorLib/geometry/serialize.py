"""The one JSON serialiser: every result record (dataclasses) becomes plain JSON the same way.

JSON keys are the dataclass field names, so they are written in one place, the record's definition
(Slicer's acronym case: ``IJKToRAS``, ``IJKToLPS``); a field whose JSON key is a Python keyword names it in its
metadata, ``dataclasses.field(metadata={"json": "from"})``. numpy arrays become nested lists, enums their
string value. JSON has no NaN or Infinity: a non-finite number becomes ``null`` (checks report
non-finite inputs as findings before they reach here). Output is strict JSON (``allow_nan=False``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as JSON-ready builtins (dict, list, str, int, float, bool, None); records by field name.

    Examples
    --------
    >>> plain({"m": np.eye(2), "x": float("nan"), "t": (1, 2)})
    {'m': [[1.0, 0.0], [0.0, 1.0]], 'x': None, 't': [1, 2]}
    """
    # The hot path of every JSON output (a 5,000-slice series is ~100,000 values): dispatch on the exact type,
    # most common first; subclasses (enums are str subclasses) take the general path below.
    kind = type(value)
    if kind is float:
        return value if _isfinite(value) else None
    if kind in _AS_IS:
        return value
    if kind is list or kind is tuple:
        return [plain(item) for item in value]
    fields = _RECORD_FIELDS.get(kind)
    if fields is not None:
        return {key: plain(getattr(value, name)) for key, name in fields}
    return _plainOther(value)


_isfinite = math.isfinite
_AS_IS = frozenset({str, int, bool, type(None)})
_RECORD_FIELDS: Dict[type, Tuple[Tuple[str, str], ...]] = {}
"""(JSON key, field name) of each record class met so far: ``dataclasses.fields`` costs more than the record."""


def _plainOther(value: Any) -> Any:
    """:func:`plain` for what is not a builtin scalar, list, tuple or a record class already met."""
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field instead of dataclasses.asdict, which deep-copies every value first.
        _RECORD_FIELDS[type(value)] = tuple(
            (field.metadata.get("json", field.name), field.name) for field in dataclasses.fields(value)
        )
        return plain(value)
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
    """Strict JSON text of ``value``: compact unless ``indent`` is given; the same text :func:`plain` gives.

    Compact output is written by the C encoder straight from the records (:func:`_jsonDefault` turns each
    record into a dict of its fields, the encoder does the rest): a third less work than :func:`plain` first.
    A non-finite number makes that encoder stop (``allow_nan=False``); the value is then written through
    :func:`plain`, which turns it into ``null``. ``indent`` always takes that way (the pure-Python encoder).
    """
    if indent is None:
        try:
            return _COMPACT.encode(value)
        except ValueError:  # NaN or infinity somewhere: plain() writes null for it
            pass
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(plain(value), allow_nan=False, indent=indent, separators=separators)


def _jsonDefault(value: Any) -> Any:
    """The C encoder's hook for what it does not know: a record as a dict of its (not yet converted) fields.

    Everything else the encoder writes as :func:`plain` would: tuples as lists, str-valued enums as their
    value (they are str), float and int subclasses as numbers; what it passes here goes through
    :func:`_plainOther` one level deep.
    """
    fields = _RECORD_FIELDS.get(type(value))
    if fields is None:
        if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return _plainOther(value)
        plain(value)  # registers the record's fields
        fields = _RECORD_FIELDS[type(value)]
    return {key: getattr(value, name) for key, name in fields}


_COMPACT = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_jsonDefault)
