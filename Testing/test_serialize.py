"""The one serialiser: compact output (the C encoder straight from the records) is the text plain() gives."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any, Optional, Tuple

import numpy as np
import pytest

from AffineInspectorLib.dicom.series import inspectPaths
from AffineInspectorLib.geometry import serialize
from AffineInspectorLib.geometry.findings import WARNING, Finding, Kind
from AffineInspectorLib.geometry.mosaic import SliceOrderCode
from conftest import DICOM


def _reference(value: Any) -> str:
    """What compact output must be: plain() first, then the standard library's encoder."""
    return json.dumps(serialize.plain(value), allow_nan=False, separators=(",", ":"))


class _Colour(enum.Enum):
    RED = 1


@dataclasses.dataclass
class _Record:
    number: float
    vector: Tuple[float, ...] = (1.0, 2.0)
    matrix: Optional[np.ndarray] = None
    keyword: str = dataclasses.field(default="x", metadata={"json": "from"})
    nested: Any = None


@pytest.mark.parametrize(
    "value",
    [
        _Record(1.5),
        _Record(float("nan")),  # the C encoder stops: plain() writes null
        _Record(1.0, vector=(1.0, float("inf"))),
        _Record(1.0, matrix=np.eye(3)),
        _Record(1.0, matrix=np.array([[np.nan, 1.0]])),
        _Record(np.float64(2.5), nested={"a": [np.int64(3), np.float32(0.5)], "b": (None, True)}),
        _Record(1.0, nested=[Kind.duplicatePosition, WARNING, SliceOrderCode.UNKNOWN, _Colour.RED]),
        _Record(1.0, nested=_Record(2.0, nested=_Record(3.0))),
        [Finding(Kind.unreadableFile, WARNING, "a message", file="f.dcm")],
        {"series": [], "n": 0, "s": 'é\n"quoted"'},
    ],
    ids=lambda value: type(value).__name__,
)
def test_compact_output_equals_plain(value: Any) -> None:
    assert serialize.dumps(value) == _reference(value)


def test_non_finite_numbers_become_null() -> None:
    document = json.loads(serialize.dumps(_Record(float("nan"), vector=(math.inf, 1.0))))
    assert document["number"] is None and document["vector"] == [None, 1.0]
    assert document["from"] == "x"


def test_indent_gives_the_same_document() -> None:
    value = _Record(1.0, matrix=np.eye(2), nested={"k": Kind.duplicatePosition})
    assert json.loads(serialize.dumps(value, indent=2)) == json.loads(serialize.dumps(value))
    assert "\n  " in serialize.dumps(value, indent=2)


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        serialize.dumps(_Record(1.0, nested=object()))
    with pytest.raises(TypeError):
        serialize.plain(object())


def test_every_shared_series_serialises_alike(dicomRoot: str) -> None:
    """The inspection of the whole shared corpus (every kind of series and finding the data holds)."""
    result = inspectPaths([DICOM])
    assert len(result.series) > 10
    assert serialize.dumps(result) == _reference(result)
